// Budgets: the allocation comes from a budget stream's events; approvals and payments from the claims'
// events, applied in the same transaction that appends them. An approval that would take the partner past
// its allocation fails the whole transaction (row lock + CHECK), so nothing of it is written.

import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { RecordedEvent } from '../event-store.js';
import type { Database } from '../schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A budget rule a transaction broke; the append activity turns it into the caller's refusal. */
export class BudgetError extends Error {
  override readonly name = 'BudgetError';
  constructor(
    readonly code: 'claim.no_budget' | 'claim.budget_exceeded' | 'budget.below_approved',
    message: string,
  ) {
    super(message);
  }
}

const isCheckViolation = (e: unknown, constraint: string) =>
  (e as { code?: string; constraint?: string }).code === '23514' && (e as { constraint?: string }).constraint === constraint;

export async function projectBudget(trx: Db, events: readonly RecordedEvent[]): Promise<void> {
  for (const e of events) {
    if (e.type !== 'BudgetAllocated') continue;
    const d = e.data as { partnerId: string; semester: string; allocatedCents: number };
    try {
      await trx
        .insertInto('budgets')
        .values({ partner_id: d.partnerId, semester: d.semester, allocated_cents: d.allocatedCents, version: e.streamVersion, updated_at: e.occurredAt })
        .onConflict((oc) =>
          oc
            .columns(['partner_id', 'semester'])
            .doUpdateSet({ allocated_cents: d.allocatedCents, version: e.streamVersion, revision: sql`budgets.revision + 1`, updated_at: e.occurredAt } as never),
        )
        .execute();
    } catch (err) {
      if (isCheckViolation(err, 'budgets_approved_within_allocated')) {
        throw new BudgetError('budget.below_approved', `more than ${d.allocatedCents} cents is already approved against this budget`);
      }
      throw err;
    }
  }
}

/** Applies a claim's approvals and payments to its partner's budget for the claim's semester. */
export async function applyClaimToBudget(trx: Db, partnerId: string, semester: string, events: readonly RecordedEvent[]): Promise<void> {
  for (const e of events) {
    const d = e.data as { approvedCents?: number; paidCents?: number };
    const column = e.type === 'ClaimApproved' ? 'approved_cents' : e.type === 'ClaimPaid' ? 'paid_cents' : null;
    const cents = e.type === 'ClaimApproved' ? d.approvedCents : d.paidCents;
    if (!column || cents === undefined) continue;
    try {
      const r = await trx
        .updateTable('budgets')
        .set({ [column]: sql`${sql.ref(column)} + ${cents}`, revision: sql`revision + 1`, updated_at: e.occurredAt } as never)
        .where('partner_id', '=', partnerId)
        .where('semester', '=', semester)
        .executeTakeFirst();
      if (r.numUpdatedRows === 0n) {
        throw new BudgetError('claim.no_budget', `partner ${partnerId} has no compensation budget for ${semester}`);
      }
    } catch (err) {
      if (isCheckViolation(err, 'budgets_approved_within_allocated')) {
        throw new BudgetError('claim.budget_exceeded', `approving ${cents} cents would exceed the budget of ${partnerId} for ${semester}`);
      }
      throw err;
    }
  }
}
