// Builds projections from scratch into twin tables by folding whole streams (stream by stream, not in
// commit order: each stream is folded once, so a rebuild reads every event once and writes every row once).
// The report build stops at a commit-order point, so the live projector's catch-up can continue from it.

import { readStream, toRecorded, type RecordedEvent } from '../event-store.js';
import { foldClaim, newClaimRow, type ClaimProjectionContext } from '../projections/claims.js';
import { foldRecorded, planColumns, projectPlan } from '../projections/plans.js';
import type { Database, EventRow } from '../schema.js';
import { sql, type Kysely, type Transaction } from 'kysely';
import { claimStep, planStep, refreshClaimRows, streamKind, writeClaimStates, writePlans, type Folded } from './apply.js';
import { LOG_ORIGIN, type LogPosition } from './commit-order.js';
import { tableSet, type ReportDatabase } from './read-model.js';
import type { ExistingClaim } from './report-rows.js';
import { RenameTablesPlugin } from './tables.js';
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

/** Every stream of a kind, whole, in stream-id order; with `belowXid`, only events of earlier transactions. */
async function* streams(db: Db, kind: Kind, belowXid: string | null, onEvents: (n: number) => void, pageSize = 5_000): AsyncGenerator<RecordedEvent[]> {
  let after: [string, number] = ['', 0];
  let current: RecordedEvent[] = [];
  for (;;) {
    const { rows } = await sql<EventRow>`
      select * from events
      where (stream_id, stream_version) > (${after[0]}, ${after[1]})
        and stream_id ${kind === 'claim' ? sql`like 'claim-%'` : sql`not like 'claim-%'`}
        ${belowXid === null ? sql`` : sql`and transaction_id < ${belowXid}::xid8`}
      order by stream_id, stream_version
      limit ${pageSize}`.execute(db);
    for (const row of rows) {
      const e = toRecorded(row);
      if (current.length > 0 && current[0]!.streamId !== e.streamId) {
        yield current;
        current = [];
      }
      if (streamKind(e.streamId) === kind) current.push(e);
    }
    onEvents(rows.length);
    const last = rows.at(-1);
    if (!last || rows.length < pageSize) break;
    after = [last.stream_id, last.stream_version];
  }
  if (current.length > 0) yield current;
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
  const { rows } = await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(db);
  const xmin = rows[0]!.xmin;
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

/** A view of the database in which `plans`/`claims` are the twins: the inline projection code fills them unchanged. */
export const twinView = (db: Db, names: Readonly<Record<string, string>>): Kysely<Database> =>
  (db as Kysely<Database>).withPlugin(new RenameTablesPlugin(names));

/** Folds every plan stream into `plans<suffix>`, row for row what the append activity's projectPlan writes. */
export async function buildPlans(db: Kysely<Database>, suffix: string, onProgress: OnRebuildProgress = () => undefined): Promise<number> {
  const total = await countEvents(db, null);
  let done = 0;
  let batch: RecordedEvent[][] = [];
  const flush = async () => {
    const b = batch;
    batch = [];
    if (b.length === 0) return;
    // Folded in memory and written in one statement per batch: the same rows projectPlan would write.
    const rows = b.flatMap((events) => {
      const state = foldRecorded(initialState(), events);
      if (state.status === 'none') return [];
      return [{ plan_id: events[0]!.streamId, created_at: events[0]!.occurredAt, ...planColumns(state, events.at(-1)!) }];
    });
    if (rows.length > 0) await twinView(db, { plans: `plans${suffix}` }).insertInto('plans').values(rows).execute();
  };
  for await (const events of streams(db, 'plan', null, (n) => {
    done += n;
    onProgress({ projection: 'plans', phase: 'plans', done, total });
  })) {
    batch.push(events);
    if (batch.length >= 200) await flush();
  }
  await flush();
  return done;
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
  if (rows.length > 0) await twinView(db, { claims: `claims${suffix}` }).insertInto('claims').values(rows).execute();
  return orphans;
}

/** Folds every claim stream into `claims<suffix>`, filed under the plan rows of `plansTable`. */
export async function buildClaims(db: Kysely<Database>, suffix: string, plansTable: string, onProgress: OnRebuildProgress = () => undefined): Promise<{ events: number; orphans: string[] }> {
  const total = await countEvents(db, null);
  let done = 0;
  const orphans: string[] = [];
  let batch: RecordedEvent[][] = [];
  const flush = async () => {
    const b = batch;
    batch = [];
    if (b.length > 0) orphans.push(...(await db.transaction().execute((trx) => projectClaimStreams(trx, suffix, plansTable, b))));
  };
  for await (const events of streams(db, 'claim', null, (n) => {
    done += n;
    onProgress({ projection: 'claims', phase: 'claims', done, total });
  })) {
    batch.push(events);
    if (batch.length >= 200) await flush();
  }
  await flush();
  return { events: done, orphans };
}

/**
 * Inside the swap (or compare) transaction, with the live table locked against writers: refolds into the
 * twin every stream whose live version differs from the twin's (appended while the twin was built).
 */
export async function catchUpInline(trx: Transaction<any>, table: 'plans' | 'claims', suffix: string, plansTable: string): Promise<number> {
  const key = table === 'plans' ? 'plan_id' : 'stream_id';
  const twin = `${table}${suffix}`;
  const { rows } = await sql<{ id: string }>`
    select coalesce(l.${sql.ref(key)}, n.${sql.ref(key)}) as id
    from ${sql.table(table)} l full join ${sql.table(twin)} n on n.${sql.ref(key)} = l.${sql.ref(key)}
    where l.version is distinct from n.version`.execute(trx);
  for (const { id } of rows) {
    await sql`delete from ${sql.table(twin)} where ${sql.ref(key)} = ${id}`.execute(trx);
    const events = await readStream(trx, id);
    if (events.length === 0) continue;
    if (table === 'plans') await projectPlan(twinView(trx, { plans: twin }), id, events);
    else await projectClaimStreams(trx, suffix, plansTable, [events]);
  }
  return rows.length;
}
