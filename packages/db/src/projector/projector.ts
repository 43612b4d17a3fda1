// The async report projector: reads the event log in commit order from its checkpoint, applies a batch
// to the report tables and moves the checkpoint in the same transaction, so a crash never applies a batch
// twice or loses one. Any number of processes may run it; an advisory lock lets one batch run at a time, and
// with a lease (lease.ts) one process does the work while the others stand by.

import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.js';
import { applyEvents } from './apply.js';
import type { ProjectorLease } from './lease.js';
import { LOG_ORIGIN, eventsAfter, readCommitted, type LogPosition } from './commit-order.js';
import { REPORTS_PROJECTOR, tableSet, type ReportDatabase } from './read-model.js';

/** Advisory lock keys (classid, objid): one projector batch at a time; one rebuild or check at a time. */
export const LOCK_CLASS = 0x1a9;
export const PROJECTOR_LOCK = 1;
export const REBUILD_LOCK = 2;

type Db = Kysely<ReportDatabase> | Transaction<ReportDatabase>;
const asReports = (db: Kysely<Database> | Kysely<ReportDatabase>) => db as unknown as Kysely<ReportDatabase>;

export interface ProjectorCheckpoint extends LogPosition {
  readonly eventsApplied: number;
  readonly updatedAt: string;
}

export async function readCheckpoint(db: Db, name = REPORTS_PROJECTOR): Promise<ProjectorCheckpoint> {
  const r = await db
    .selectFrom('projector_checkpoints')
    .select([sql<string>`transaction_id::text`.as('tx'), sql<string>`global_position::text`.as('pos'), 'events_applied', 'updated_at'])
    .where('name', '=', name)
    .executeTakeFirst();
  if (!r) return { ...LOG_ORIGIN, eventsApplied: 0, updatedAt: new Date(0).toISOString() };
  return { transactionId: r.tx, globalPosition: r.pos, eventsApplied: Number(r.events_applied), updatedAt: r.updated_at.toISOString() };
}

/** Moves the checkpoint; `applied` adds to the count of events applied, or with `set` replaces it (a rebuild). */
export async function writeCheckpoint(db: Db, p: LogPosition, applied: number, mode: 'add' | 'set' = 'add', name = REPORTS_PROJECTOR): Promise<void> {
  const events = mode === 'set' ? sql<string>`${applied}::bigint` : sql<string>`projector_checkpoints.events_applied + ${applied}`;
  await db
    .insertInto('projector_checkpoints')
    .values({ name, transaction_id: p.transactionId, global_position: p.globalPosition, events_applied: 0, updated_at: new Date().toISOString() })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        transaction_id: sql`excluded.transaction_id`,
        global_position: sql`excluded.global_position`,
        events_applied: events,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

export interface BatchResult {
  /** Events applied; 0 when caught up. */
  readonly applied: number;
  readonly position: LogPosition;
  /** True when another process held the projector lock, so nothing was tried. */
  readonly busy: boolean;
}

/** Applies the next batch (at most `batchSize` events) to the live report tables. */
export async function projectBatch(db: Kysely<Database> | Kysely<ReportDatabase>, opts: { batchSize?: number } = {}): Promise<BatchResult> {
  const batchSize = opts.batchSize ?? 1_000;
  return asReports(db)
    .transaction()
    .execute(async (trx) => {
      // A transaction-level lock: taking it assigns no xid, so it does not hold back the snapshot's xmin.
      const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${LOCK_CLASS}, ${PROJECTOR_LOCK}) as ok`.execute(trx);
      const at = await readCheckpoint(trx);
      if (!rows[0]?.ok) return { applied: 0, position: at, busy: true };
      const events = await readCommitted(trx, at, batchSize);
      const last = events.at(-1);
      if (!last) return { applied: 0, position: at, busy: false };
      await applyEvents(trx, tableSet(), events);
      const position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
      await writeCheckpoint(trx, position, events.length);
      return { applied: events.length, position, busy: false };
    });
}

/** Projects until nothing committed is left (tests, the CLI's `project`). Returns the events applied. */
export async function projectUntilIdle(db: Kysely<Database> | Kysely<ReportDatabase>, opts: { batchSize?: number; timeoutMs?: number } = {}): Promise<number> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let total = 0;
  for (;;) {
    const r = await projectBatch(db, opts);
    total += r.applied;
    if (!r.busy && r.applied === 0) return total;
    if (Date.now() > deadline) throw new Error(`projector not idle after ${opts.timeoutMs ?? 60_000} ms (${total} events applied)`);
    if (r.busy) await new Promise((res) => setTimeout(res, 50));
  }
}

export interface ProjectorStatus {
  readonly checkpoint: ProjectorCheckpoint;
  /** Events after the checkpoint, including those of transactions still open. */
  readonly behind: number;
}

export async function projectorStatus(db: Kysely<Database> | Kysely<ReportDatabase>): Promise<ProjectorStatus> {
  const checkpoint = await readCheckpoint(asReports(db));
  return { checkpoint, behind: await eventsAfter(db, checkpoint) };
}

/** The little of a pino logger the projector uses. */
export interface ProjectorLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ProjectorOptions {
  readonly db: Kysely<Database> | Kysely<ReportDatabase>;
  readonly logger: ProjectorLogger;
  /** Pause between polls when caught up. */
  readonly intervalMs?: number;
  readonly batchSize?: number;
  /** Several processes: only the lease's holder projects; the others try to take it every `intervalMs`. */
  readonly lease?: ProjectorLease;
}

/**
 * Runs the projector in the background until stop() (which resolves once the current batch has finished).
 * A failing batch is logged and retried with back-off: the checkpoint never moves past an event that
 * could not be applied.
 */
export function startProjector(opts: ProjectorOptions): { stop(): Promise<void> } {
  const interval = opts.intervalMs ?? 500;
  let stopped = false;
  let wake: (() => void) | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        if (opts.lease && !(await opts.lease.held())) {
          await sleep(interval);
          continue;
        }
        const r = await projectBatch(opts.db, opts.batchSize === undefined ? {} : { batchSize: opts.batchSize });
        failures = 0;
        if (r.applied > 0) opts.logger.info({ applied: r.applied, position: r.position }, 'report projector applied events');
        // A full batch means more is waiting: go on at once.
        if (r.applied < (opts.batchSize ?? 1_000)) await sleep(interval);
      } catch (err) {
        failures += 1;
        opts.logger.error({ err, failures }, 'report projector batch failed; retrying');
        await sleep(Math.min(30_000, interval * 2 ** Math.min(failures, 6)));
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      (wake as (() => void) | null)?.();
      await loop;
      await opts.lease?.release();
    },
  };
}
