// Applies a batch of recorded events to a set of report tables: folds each touched plan and claim from
// the state the projector kept, then rewrites their rows. Used by the live projector, by the rebuild's
// catch-up, and (with whole streams) by the rebuild itself.

import {
  evolve,
  evolveReimbursement,
  initialReimbursementState,
  initialState,
  isUuid,
  upcastPlanEvent,
  type ExistingPlan,
  type PlanState,
  type ReimbursementEvent,
  type ReimbursementState,
} from '@iap/domain';
import type { Insertable, Kysely } from 'kysely';
import type { RecordedEvent } from '../event-store.js';
import { claimRow, planRows, type ExistingClaim } from './report-rows.js';
import type { ReportDatabase, ReportTableName, ScopeColumns, TableSet } from './read-model.js';

type Db = Kysely<ReportDatabase>;
/** What the projections read of an event. */
export type ProjectedEvent = Pick<RecordedEvent, 'streamId' | 'streamVersion' | 'type' | 'schemaVersion' | 'data' | 'occurredAt' | 'globalPosition'>;

/** A stream the report projector cannot continue: an event is missing or cannot be read. Never skipped. */
export class ProjectionGapError extends Error {
  override readonly name = 'ProjectionGapError';
}

export type StreamKind = 'plan' | 'claim' | 'other';

/** Plan streams are named by the plan's uuid, claims `claim-<planId>-<claimId>`; others are not reported. */
export const streamKind = (streamId: string): StreamKind =>
  isUuid(streamId) ? 'plan' : streamId.startsWith('claim-') ? 'claim' : 'other';

export interface Folded<S> {
  readonly state: S;
  readonly lastGlobalPosition: string;
}

function foldStream<S extends { version: number }>(
  streamId: string,
  from: Folded<S> | undefined,
  initial: S,
  events: readonly ProjectedEvent[],
  step: (s: S, e: ProjectedEvent) => S,
): Folded<S> | undefined {
  let state = from?.state ?? initial;
  let last = from?.lastGlobalPosition;
  for (const e of events) {
    if (e.streamVersion <= state.version) continue; // applied already (a retried batch)
    if (e.streamVersion !== state.version + 1) {
      throw new ProjectionGapError(`${streamId}: event v${e.streamVersion} follows v${state.version}; an event is missing`);
    }
    state = step(state, e);
    last = e.globalPosition;
  }
  return last === undefined || last === from?.lastGlobalPosition ? undefined : { state, lastGlobalPosition: last };
}

export const planStep = (s: PlanState, e: ProjectedEvent): PlanState =>
  evolve(s, upcastPlanEvent(e), { occurredAt: e.occurredAt, version: e.streamVersion });

export const claimStep = (s: ReimbursementState, e: ProjectedEvent): ReimbursementState =>
  evolveReimbursement(s, { type: e.type, data: e.data } as ReimbursementEvent, { occurredAt: e.occurredAt, version: e.streamVersion });

export function groupByStream(events: readonly ProjectedEvent[]): Map<string, ProjectedEvent[]> {
  const by = new Map<string, ProjectedEvent[]>();
  for (const e of events) {
    const list = by.get(e.streamId);
    if (list) list.push(e);
    else by.set(e.streamId, [e]);
  }
  for (const list of by.values()) list.sort((a, b) => a.streamVersion - b.streamVersion);
  return by;
}

const CHUNK = 400;

export async function insertChunked<T extends ReportTableName>(db: Db, table: T, rows: readonly Insertable<ReportDatabase[T]>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto(table)
      .values(rows.slice(i, i + CHUNK) as never)
      .execute();
  }
}

/** What a build into fresh tables may skip: each plan or claim is written once, so none has rows to replace. */
export interface WriteOptions {
  readonly fresh?: boolean;
}

/** Replaces the rows of these plans (and their state) with the ones their folded state gives. */
export async function writePlans(db: Db, t: TableSet, plans: readonly Folded<ExistingPlan>[], opts: WriteOptions = {}): Promise<void> {
  if (plans.length === 0) return;
  const ids = plans.map((p) => p.state.planId);
  for (const table of opts.fresh ? [] : (['rpt_plans', 'rpt_plan_states', 'rpt_plan_risks', 'rpt_measures'] as const)) {
    await db.deleteFrom(t.name(table)).where('plan_id', 'in', ids).execute();
  }
  const rows = plans.map((p) => planRows(p.state, p.lastGlobalPosition));
  await insertChunked(db, t.name('rpt_plan_states'), plans.map((p) => ({ plan_id: p.state.planId, state: JSON.stringify(p.state), last_global_position: p.lastGlobalPosition })));
  await insertChunked(db, t.name('rpt_plans'), rows.map((r) => r.plan));
  await insertChunked(db, t.name('rpt_plan_risks'), rows.flatMap((r) => r.risks));
  await insertChunked(db, t.name('rpt_measures'), rows.flatMap((r) => r.measures));
}

export async function writeClaimStates(db: Db, t: TableSet, claims: ReadonlyMap<string, Folded<ExistingClaim>>, opts: WriteOptions = {}): Promise<void> {
  if (claims.size === 0) return;
  if (!opts.fresh) await db.deleteFrom(t.name('rpt_claim_states')).where('stream_id', 'in', [...claims.keys()]).execute();
  await insertChunked(
    db,
    t.name('rpt_claim_states'),
    [...claims].map(([streamId, c]) => ({ stream_id: streamId, plan_id: c.state.planId, state: JSON.stringify(c.state), last_global_position: c.lastGlobalPosition })),
  );
}

/**
 * Rewrites the claim rows of these plans from the claims' states and the plans' rows: a claim row needs
 * both, and either may change (a deleted plan stops counting its claims).
 */
export async function refreshClaimRows(db: Db, t: TableSet, planIds: readonly string[]): Promise<void> {
  if (planIds.length === 0) return;
  const ids = [...new Set(planIds)];
  await db.deleteFrom(t.name('rpt_claims')).where('plan_id', 'in', ids).execute();
  const claims = await db.selectFrom(t.name('rpt_claim_states')).select(['stream_id', 'plan_id', 'state']).where('plan_id', 'in', ids).execute();
  if (claims.length === 0) return;
  const scopes = new Map<string, ScopeColumns>();
  const plans = await db
    .selectFrom(t.name('rpt_plans'))
    .select(['plan_id', 'learner_ref', 'school_id', 'municipality_id', 'partner_id', 'partner_type', 'semester', 'school_year', 'counted'])
    .where('plan_id', 'in', [...new Set(claims.map((c) => c.plan_id))])
    .execute();
  for (const { plan_id, ...scope } of plans) scopes.set(plan_id, scope);
  const rows = claims.flatMap((c) => {
    const scope = scopes.get(c.plan_id);
    // A claim always follows its plan in commit order; a rebuild that folds claims first fills them in later.
    return scope ? [claimRow(c.stream_id, c.state as ExistingClaim, scope)] : [];
  });
  await insertChunked(db, t.name('rpt_claims'), rows);
}

/** Applies events (of any streams, in commit order) to the tables of `t`; events already applied are skipped. */
export async function applyEvents(db: Db, t: TableSet, events: readonly ProjectedEvent[]): Promise<void> {
  const byStream = groupByStream(events);
  const planIds = [...byStream.keys()].filter((s) => streamKind(s) === 'plan');
  const claimIds = [...byStream.keys()].filter((s) => streamKind(s) === 'claim');

  const plansBefore = new Map<string, Folded<PlanState>>();
  if (planIds.length > 0) {
    const rows = await db.selectFrom(t.name('rpt_plan_states')).select(['plan_id', 'state', 'last_global_position']).where('plan_id', 'in', planIds).execute();
    for (const r of rows) plansBefore.set(r.plan_id, { state: r.state as PlanState, lastGlobalPosition: String(r.last_global_position) });
  }
  const plans: Folded<ExistingPlan>[] = [];
  for (const id of planIds) {
    const f = foldStream(id, plansBefore.get(id), initialState(), byStream.get(id)!, planStep);
    if (!f) continue;
    if (f.state.status === 'none') throw new ProjectionGapError(`${id}: events left the plan without a status`);
    plans.push(f as Folded<ExistingPlan>);
  }

  const claimsBefore = new Map<string, Folded<ReimbursementState>>();
  if (claimIds.length > 0) {
    const rows = await db.selectFrom(t.name('rpt_claim_states')).select(['stream_id', 'state', 'last_global_position']).where('stream_id', 'in', claimIds).execute();
    for (const r of rows) claimsBefore.set(r.stream_id, { state: r.state as ReimbursementState, lastGlobalPosition: String(r.last_global_position) });
  }
  const claims = new Map<string, Folded<ExistingClaim>>();
  for (const id of claimIds) {
    const f = foldStream(id, claimsBefore.get(id), initialReimbursementState(), byStream.get(id)!, claimStep);
    if (!f) continue;
    if (f.state.status === 'none') throw new ProjectionGapError(`${id}: events left the claim without a status`);
    claims.set(id, f as Folded<ExistingClaim>);
  }

  await writePlans(db, t, plans);
  await writeClaimStates(db, t, claims);
  await refreshClaimRows(db, t, [...plans.map((p) => p.state.planId), ...[...claims.values()].map((c) => c.state.planId)]);
}

