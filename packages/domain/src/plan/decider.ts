// The plan decider: decide(command, state, ctx) → events; evolve(state, event, meta) → state.
// Pure: time and the actor arrive as data, so the same code runs in the Temporal workflow and in an
// auditor's replay of the event log.

import type { Actor } from '../actor.js';
import { DomainError } from '../errors.js';
import type { PlanCommand } from './commands.js';
import type { PlanEvent } from './events.js';
import type { PlanState } from './state.js';

export interface DecideContext {
  /** ISO-8601 instant the command is decided at (workflow time). */
  readonly now: string;
  readonly actor: Actor;
}

export interface EventMeta {
  readonly occurredAt: string;
  /** The stream version this event has in the log (1 for the first). */
  readonly version: number;
}

const DRAFTERS: ReadonlySet<string> = new Set(['preparer', 'school_director']);

export function decide(command: PlanCommand, state: PlanState, ctx: DecideContext): PlanEvent[] {
  switch (command.type) {
    case 'DraftPlan': {
      if (state.status !== 'none') {
        throw new DomainError('plan.already_exists', 'conflict', `plan ${command.data.planId} already exists`);
      }
      if (!DRAFTERS.has(ctx.actor.role)) {
        throw new DomainError('plan.forbidden_role', 'forbidden', `a ${ctx.actor.role} may not draft a plan`);
      }
      if (!Number.isInteger(command.data.grade) || command.data.grade < 1 || command.data.grade > 12) {
        throw new DomainError('plan.grade_out_of_range', 'rule', 'grade must be 1–12', 'data.grade');
      }
      return [{ type: 'PlanDrafted', data: command.data }];
    }
    default:
      return assertNever(command.type);
  }
}

export function evolve(state: PlanState, event: PlanEvent, meta: EventMeta): PlanState {
  switch (event.type) {
    case 'PlanDrafted':
      return { status: 'draft', version: meta.version, draftedAt: meta.occurredAt, ...event.data };
    default:
      return assertNever(event.type);
  }
}

/** Folds a stream of events into a state: the auditor's replay and the workflow's recovery use it. */
export function fold(events: Iterable<{ event: PlanEvent; meta: EventMeta }>, from: PlanState): PlanState {
  let s = from;
  for (const { event, meta } of events) s = evolve(s, event, meta);
  return s;
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${String(x)}`);
}
