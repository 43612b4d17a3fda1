// The inline claims projection: folds a claim's reimbursement events into its row, in the transaction
// that appended them, with the same `evolveReimbursement` the workflow uses.

import { evolveReimbursement, initialReimbursementState, type ReimbursementEvent, type ReimbursementState } from '@iap/domain';
import type { Kysely, Transaction } from 'kysely';
import type { RecordedEvent } from '../event-store.js';
import type { Database } from '../schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Where the claim belongs; the workflow passes it along with the claim's first events. */
export interface ClaimProjectionContext {
  readonly schoolId: string;
  readonly municipalityId: string;
  readonly partnerType: string;
  readonly semester: string;
}

export function foldClaim(state: ReimbursementState, events: readonly RecordedEvent[]): ReimbursementState {
  let s = state;
  for (const e of events) {
    s = evolveReimbursement(s, { type: e.type, data: e.data } as ReimbursementEvent, { occurredAt: e.occurredAt, version: e.streamVersion });
  }
  return s;
}

export async function projectClaim(trx: Db, streamId: string, events: readonly RecordedEvent[], ctx: ClaimProjectionContext): Promise<ReimbursementState> {
  const last = events.at(-1);
  if (!last) throw new Error('projectClaim needs at least one event');
  const row = await trx.selectFrom('claims').select(['state']).where('stream_id', '=', streamId).forUpdate().executeTakeFirst();
  const before = row ? (row.state as ReimbursementState) : initialReimbursementState();
  const fresh = events.filter((e) => e.streamVersion > before.version);
  if (fresh.length === 0) return before;
  const s = foldClaim(before, fresh);
  if (s.status === 'none') throw new Error(`claim ${streamId}: events left it without a status`);
  if (row) {
    await trx.updateTable('claims').set(claimColumns(s, last)).where('stream_id', '=', streamId).execute();
  } else {
    await trx.insertInto('claims').values(newClaimRow(streamId, s, ctx, fresh[0]!, last)).execute();
  }
  return s;
}

type ExistingClaimState = Exclude<ReimbursementState, { status: 'none' }>;

/** The columns a folded claim changes as it moves on. */
export function claimColumns(s: ExistingClaimState, last: Pick<RecordedEvent, 'occurredAt' | 'globalPosition'>) {
  const decision = s.status === 'approved' || s.status === 'paid' ? s.decision : null;
  const payment = s.status === 'paid' ? s.payment : null;
  return {
    status: s.status,
    version: s.version,
    approved_cents: decision?.approvedCents ?? null,
    paid_cents: payment?.paidCents ?? null,
    paid_on: payment?.paidOn ?? null,
    payment_ref: payment?.paymentRef ?? null,
    state: JSON.stringify(s),
    updated_at: last.occurredAt,
    last_global_position: last.globalPosition,
  };
}

/** A claim's whole row; the rebuild writes many at once. */
export function newClaimRow(
  streamId: string,
  s: ExistingClaimState,
  ctx: ClaimProjectionContext,
  first: Pick<RecordedEvent, 'occurredAt'>,
  last: Pick<RecordedEvent, 'occurredAt' | 'globalPosition'>,
) {
  return {
    stream_id: streamId,
    claim_id: s.claimId,
    plan_id: s.planId,
    measure_id: s.measureId,
    partner_id: s.partnerId,
    partner_type: ctx.partnerType,
    school_id: ctx.schoolId,
    municipality_id: ctx.municipalityId,
    semester: ctx.semester,
    compensation_type: s.compensationType,
    amount_cents: s.amountCents,
    submitted_at: first.occurredAt,
    ...claimColumns(s, last),
  };
}
