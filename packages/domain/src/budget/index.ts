// A partner's compensation budget for one semester. Finance staff (of that partner) or the national
// coordinator set the allocation; what is approved and paid against it comes from the claims' own events,
// and the database keeps approvals within it (a row constraint every approval's transaction must pass).

import type { Actor, Role } from '../actor.js';
import { assertNever } from '../assert.js';
import { DomainError } from '../errors.js';
import type { PartnerId } from '../ids.js';
import type { Cents } from '../money.js';
import { DEFAULT_DOMAIN_CONFIG, type DomainConfig, isValidSemester } from '../config.js';
import type { Semester } from '../semester.js';

export type BudgetCommand = { readonly type: 'SetBudget'; readonly data: { readonly allocatedCents: Cents; readonly note?: string } };

export type BudgetEvent = {
  readonly type: 'BudgetAllocated';
  readonly data: { readonly partnerId: PartnerId; readonly semester: Semester; readonly allocatedCents: Cents; readonly note: string | null; readonly by: string };
};

export const BUDGET_EVENT_SCHEMA_VERSIONS: { readonly [T in BudgetEvent['type']]: number } = { BudgetAllocated: 1 };

export type BudgetState =
  | { readonly status: 'none'; readonly version: 0 }
  | { readonly status: 'allocated'; readonly version: number; readonly partnerId: PartnerId; readonly semester: Semester; readonly allocatedCents: Cents; readonly allocatedAt: string };

export const initialBudgetState = (): BudgetState => ({ status: 'none', version: 0 });

export interface BudgetContext {
  readonly now: string;
  readonly actor: Actor;
  readonly partnerId: PartnerId;
  readonly semester: Semester;
  /** The programme's rules (its school years bound the semester); the defaults when absent. */
  readonly config?: DomainConfig;
}

const SETTERS: readonly Role[] = ['finance', 'national_coordinator'];

export function decideBudget(command: BudgetCommand, state: BudgetState, ctx: BudgetContext): BudgetEvent[] {
  switch (command.type) {
    case 'SetBudget': {
      if (!SETTERS.includes(ctx.actor.role)) {
        throw new DomainError('budget.forbidden_role', 'forbidden', `a ${ctx.actor.role} may not set a budget; allowed: ${SETTERS.join(', ')}`);
      }
      if (!isValidSemester(ctx.semester, ctx.config ?? DEFAULT_DOMAIN_CONFIG)) throw new DomainError('budget.invalid_semester', 'rule', `${ctx.semester} is not a semester`, 'semester');
      const cents = command.data.allocatedCents;
      if (!Number.isSafeInteger(cents) || cents < 0) {
        throw new DomainError('budget.amount_invalid', 'rule', 'allocatedCents must be a whole number of cents, 0 or more', 'data.allocatedCents');
      }
      // Setting the amount it already has changes nothing (a PUT retried after a lost answer): no event.
      if (state.status === 'allocated' && state.allocatedCents === cents) return [];
      return [
        {
          type: 'BudgetAllocated',
          data: { partnerId: ctx.partnerId, semester: ctx.semester, allocatedCents: cents, note: command.data.note ?? null, by: ctx.actor.id },
        },
      ];
    }
    default:
      return assertNever(command.type);
  }
}

export function evolveBudget(_state: BudgetState, event: BudgetEvent, meta: { occurredAt: string; version: number }): BudgetState {
  switch (event.type) {
    case 'BudgetAllocated':
      return {
        status: 'allocated',
        version: meta.version,
        partnerId: event.data.partnerId,
        semester: event.data.semester,
        allocatedCents: event.data.allocatedCents,
        allocatedAt: meta.occurredAt,
      };
    default:
      return assertNever(event.type);
  }
}
