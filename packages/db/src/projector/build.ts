// Builds projections from scratch into twin tables by folding whole streams (stream by stream, not in
// commit order: each stream is folded once, so a rebuild reads every event once and writes every row once).
// The report build stops at a commit-order point, so the live projector's catch-up can continue from it.

import { toRecorded, type RecordedEvent } from '../event-store.js';
import { foldClaim, newClaimRow, type ClaimProjectionContext } from '../projections/claims.js';
import { foldRecorded, planColumns } from '../projections/plans.js';
import type { Database, EventRow } from '../schema.js';
import { sql, type Kysely, type QueryResult, type Transaction } from 'kysely';
import { claimStep, planStep, refreshClaimRows, streamKind, writeClaimStates, writePlans, type Folded } from './apply.js';
import { LOG_ORIGIN, type LogPosition } from './commit-order.js';
import { tableSet, type ReportDatabase } from './read-model.js';
import type { ExistingClaim } from './report-rows.js';
import { initialReimbursementState, initialState, type ExistingPlan, type PlanState, type ReimbursementState } from '@iap/domain';

export interface RebuildProgress {
  readonly projection: string;
  readonly phase: string;
  /** Events read so far. */
  readonly done: number;
  readonly total: number;
}
export type OnRebuildProgress = (p: RebuildProgress) => void;

type Db = Kysely<any> | Transaction<any>;
type Kind = 'plan' | 'claim';

/**
 * Every stream of a kind, whole, in stream-id order; with `belowXid`, only events of earlier transactions.
 * The next page is read while the caller folds the current one.
 */
async function* streams(db: Db, kind: Kind, belowXid: string | null, onEvents: (n: number) => void, pageSize = 5_000): AsyncGenerator<RecordedEvent[]> {
  const page = (after: readonly [string, number]): Promise<QueryResult<EventRow>> =>
    sql<EventRow>`
      select * from events
      where (stream_id, stream_version) > (${after[0]}, ${after[1]})
        and stream_id ${kind === 'claim' ? sql`like 'claim-%'` : sql`not like 'claim-%'`}
        ${belowXid === null ? sql`` : sql`and transaction_id < ${belowXid}::xid8`}
      order by stream_id, stream_version
      limit ${pageSize}`.execute(db);
  let current: RecordedEvent[] = [];
  // Claim streams are named `claim-…`: in any collation they sort at or after that prefix, so their scan
  // starts there instead of at the first plan.
  let next: Promise<QueryResult<EventRow>> | null = page([kind === 'claim' ? 'claim-' : '', 0]);
  while (next) {
    const rows: EventRow[] = (await next).rows;
    const last: EventRow | undefined = rows.at(-1);
    next = last && rows.length === pageSize ? page([last.stream_id, last.stream_version]) : null;
    // Should the caller stop early, the prefetched page's failure is not left unhandled.
    next?.catch(() => undefined);
    for (const row of rows) {
      const e = toRecorded(row);
      if (current.length > 0 && current[0]!.streamId !== e.streamId) {
        yield current;
        current = [];
      }
      if (streamKind(e.streamId) === kind) current.push(e);
    }
    onEvents(rows.length);
  }
  if (current.length > 0) yield current;
}

/** The oldest transaction still running: every event of an earlier one is committed (or never will be). */
async function snapshotXmin(db: Db): Promise<string> {
  const { rows } = await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(db);
  return rows[0]!.xmin;
}

async function countEvents(db: Db, belowXid: string | null): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*)::text as n from events ${belowXid === null ? sql`` : sql`where transaction_id < ${belowXid}::xid8`}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

function fold<S extends { version: number }>(initial: S, events: readonly RecordedEvent[], step: (s: S, e: RecordedEvent) => S): Folded<S> {
  let s = initial;
  for (const e of events) s = step(s, e);
  return { state: s, lastGlobalPosition: events.at(-1)!.globalPosition };
}

const FLUSH = 500;

/**
 * Folds every plan and claim stream whose transaction finished before now into the report tables with
 * `suffix`. Returns the commit-order position the build reflects: the live projector's catch-up starts there.
 */
export async function buildReports(db: Kysely<ReportDatabase>, suffix: string, onProgress: OnRebuildProgress = () => undefined): Promise<{ position: LogPosition; events: number }> {
  const t = tableSet(suffix);
  const xmin = await snapshotXmin(db);
  // The last event below xmin: every transaction before it has finished, so the set read is complete.
  const head = await sql<{ tx: string; pos: string }>`
    select transaction_id::text as tx, global_position::text as pos from events where transaction_id < ${xmin}::xid8
    order by transaction_id desc, global_position desc limit 1`.execute(db);
  const position: LogPosition = head.rows[0] ? { transactionId: head.rows[0].tx, globalPosition: head.rows[0].pos } : LOG_ORIGIN;
  const total = await countEvents(db, xmin);
  let done = 0;
  const tick = (phase: string) => (n: number) => {
    done += n;
    onProgress({ projection: 'reports', phase, done, total });
  };

  let plans: Folded<ExistingPlan>[] = [];
  for await (const events of streams(db, 'plan', xmin, tick('plans'))) {
    const f = fold<PlanState>(initialState(), events, planStep);
    if (f.state.status !== 'none') plans.push(f as Folded<ExistingPlan>);
    if (plans.length >= FLUSH) {
      await writePlans(db, t, plans);
      plans = [];
    }
  }
  await writePlans(db, t, plans);

  let claims = new Map<string, Folded<ExistingClaim>>();
  for await (const events of streams(db, 'claim', xmin, tick('claims'))) {
    const f = fold<ReimbursementState>(initialReimbursementState(), events, claimStep);
    if (f.state.status !== 'none') claims.set(events[0]!.streamId, f as Folded<ExistingClaim>);
    if (claims.size >= FLUSH) {
      await writeClaimStates(db, t, claims);
      claims = new Map();
    }
  }
  await writeClaimStates(db, t, claims);
  const withClaims = await db.selectFrom(t.name('rpt_claim_states')).select('plan_id').distinct().execute();
  for (let i = 0; i < withClaims.length; i += 1_000) {
    await refreshClaimRows(db, t, withClaims.slice(i, i + 1_000).map((r) => r.plan_id));
  }
  return { position, events: total };
}

/** What an inline build read: events of transactions before `xmin`; the swap catches up the rest. */
export interface InlineBuild {
  readonly events: number;
  readonly xmin: string;
}

/** The rows projectPlan would write for these whole streams, in one statement. */
async function insertPlanStreams(db: Db, twin: string, list: readonly RecordedEvent[][]): Promise<void> {
  const rows = list.flatMap((events) => {
    const state = foldRecorded(initialState(), events);
    if (state.status === 'none') return [];
    return [{ plan_id: events[0]!.streamId, created_at: events[0]!.occurredAt, ...planColumns(state, events.at(-1)!) }];
  });
  if (rows.length > 0) await (db as Kysely<Database>).insertInto(twin as 'plans').values(rows).execute();
}

/** Folds every plan stream into `plans<suffix>`, row for row what the append activity's projectPlan writes. */
export async function buildPlans(db: Kysely<Database>, suffix: string, onProgress: OnRebuildProgress = () => undefined): Promise<InlineBuild> {
  const xmin = await snapshotXmin(db);
  const total = await countEvents(db, xmin);
  let done = 0;
  let batch: RecordedEvent[][] = [];
  for await (const events of streams(db, 'plan', xmin, (n) => {
    done += n;
    onProgress({ projection: 'plans', phase: 'plans', done, total });
  })) {
    batch.push(events);
    if (batch.length >= 200) {
      await insertPlanStreams(db, `plans${suffix}`, batch);
      batch = [];
    }
  }
  await insertPlanStreams(db, `plans${suffix}`, batch);
  return { events: done, xmin };
}

/** Where each claim belongs, from the plans table given (the live one, or the twin being built). */
async function claimContexts(db: Db, plansTable: string, planIds: readonly string[]): Promise<Map<string, ClaimProjectionContext>> {
  if (planIds.length === 0) return new Map();
  const { rows } = await sql<{ plan_id: string; school_id: string; municipality_id: string; partner_type: string; semester: string }>`
    select plan_id, school_id, municipality_id, partner_type, semester from ${sql.table(plansTable)}
    where plan_id in (${sql.join([...new Set(planIds)])})`.execute(db);
  return new Map(rows.map((r) => [r.plan_id, { schoolId: r.school_id, municipalityId: r.municipality_id, partnerType: r.partner_type, semester: r.semester }]));
}

const planIdOfClaim = (events: readonly RecordedEvent[]): string => (events[0]!.data as { planId: string }).planId;

/** Projects whole claim streams into `claims<suffix>`; returns the stream ids whose plan was not found. */
export async function projectClaimStreams(db: Db, suffix: string, plansTable: string, list: readonly RecordedEvent[][]): Promise<string[]> {
  const ctx = await claimContexts(db, plansTable, list.map(planIdOfClaim));
  const orphans: string[] = [];
  const rows = [];
  for (const events of list) {
    const c = ctx.get(planIdOfClaim(events));
    const s = foldClaim(initialReimbursementState(), events);
    if (!c) orphans.push(events[0]!.streamId);
    else if (s.status !== 'none') rows.push(newClaimRow(events[0]!.streamId, s, c, events[0]!, events.at(-1)!));
  }
  // One statement per batch: the same rows projectClaim would write.
  if (rows.length > 0) await (db as Kysely<Database>).insertInto(`claims${suffix}` as 'claims').values(rows).execute();
  return orphans;
}

/** Folds every claim stream into `claims<suffix>`, filed under the plan rows of `plansTable`. */
export async function buildClaims(db: Kysely<Database>, suffix: string, plansTable: string, onProgress: OnRebuildProgress = () => undefined): Promise<InlineBuild & { orphans: string[] }> {
  const xmin = await snapshotXmin(db);
  const total = await countEvents(db, xmin);
  let done = 0;
  const orphans: string[] = [];
  let batch: RecordedEvent[][] = [];
  const flush = async () => {
    const b = batch;
    batch = [];
    if (b.length > 0) orphans.push(...(await projectClaimStreams(db, suffix, plansTable, b)));
  };
  for await (const events of streams(db, 'claim', xmin, (n) => {
    done += n;
    onProgress({ projection: 'claims', phase: 'claims', done, total });
  })) {
    batch.push(events);
    if (batch.length >= 200) await flush();
  }
  await flush();
  return { events: done, orphans, xmin };
}

/**
 * Inside the swap (or compare) transaction, with the live table locked against writers: refolds into the
 * twin every stream with events of transactions at or after the build's `xmin` (the build did not read
 * them, or not all of them). Exact whatever state the live table is in, so a rebuild of an empty or
 * damaged projection costs no more than one of a healthy one.
 */
export async function catchUpInline(trx: Transaction<any>, table: 'plans' | 'claims', suffix: string, plansTable: string, xmin: string): Promise<number> {
  const key = table === 'plans' ? 'plan_id' : 'stream_id';
  const twin = `${table}${suffix}`;
  const { rows } = await sql<{ id: string }>`
    select distinct stream_id as id from events
    where transaction_id >= ${xmin}::xid8 and stream_id ${table === 'claims' ? sql`like 'claim-%'` : sql`not like 'claim-%'`}`.execute(trx);
  const ids = rows.map((r) => r.id).filter((id) => streamKind(id) === (table === 'plans' ? 'plan' : 'claim'));
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    await sql`delete from ${sql.table(twin)} where ${sql.ref(key)} in (${sql.join(chunk)})`.execute(trx);
    const { rows: events } = await sql<EventRow>`
      select * from events where stream_id in (${sql.join(chunk)}) order by stream_id, stream_version`.execute(trx);
    const list: RecordedEvent[][] = [];
    for (const e of events.map(toRecorded)) {
      if (list.at(-1)?.[0]!.streamId === e.streamId) list.at(-1)!.push(e);
      else list.push([e]);
    }
    if (table === 'plans') await insertPlanStreams(trx, twin, list);
    else await projectClaimStreams(trx, suffix, plansTable, list);
  }
  return ids.length;
}
