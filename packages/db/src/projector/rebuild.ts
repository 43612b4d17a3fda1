// Blue/green rebuild of projections from the event log: build into `<table>__next`, then in one
// transaction catch up what was appended meanwhile and swap the twin in, so readers never see a half-built
// projection. One rebuild (or check) at a time, cluster-wide per database (a session advisory lock).

import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { applyEvents } from './apply.js';
import { buildTwins, catchUpInline, type OnRebuildProgress, type TwinBuild } from './build.js';
import { positionOf, readCommitted, type LogPosition } from './commit-order.js';
import { LOCK_CLASS, PROJECTOR_LOCK, REBUILD_LOCK, writeCheckpoint } from './projector.js';
import { PROJECTIONS, REPORT_TABLES, tableSet, tablesOf, type ProjectionName, type ReportDatabase } from './read-model.js';
import { createTwin, dropTwin, swapInTwin } from './tables.js';

export class RebuildInProgressError extends Error {
  override readonly name = 'RebuildInProgressError';
  constructor() {
    super('another rebuild or check is running on this database; try again when it has finished');
  }
}

/**
 * Runs `fn` holding the rebuild lock, or refuses at once. The lock is a session lock on one pinned
 * connection, so it is released even if the process dies.
 */
export async function withRebuildLock<T>(db: Kysely<any>, fn: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, ${REBUILD_LOCK}) as ok`.execute(conn);
    if (!rows[0]?.ok) throw new RebuildInProgressError();
    try {
      return await fn();
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_CLASS}, ${REBUILD_LOCK})`.execute(conn);
    }
  });
}

export interface RebuildOutcome {
  readonly projection: ProjectionName;
  readonly events: number;
  /** From the start of the rebuild (one build for all the projections asked for) to this one's swap. */
  readonly ms: number;
  /** Streams caught up in the swap transaction (appended while the twin was built). */
  readonly caughtUp: number;
  /** For reports: the commit-order position the swapped-in tables reflect. */
  readonly position?: LogPosition;
  /** Claims whose plan row was missing (should be none). */
  readonly orphans?: readonly string[];
}

const NEXT = '__next';
const CATCH_UP_BATCH = 5_000;

/** Applies committed events after `from` to the report tables with `suffix`, in commit order. */
export async function catchUpReports(trx: Kysely<ReportDatabase>, suffix: string, from: LogPosition, upTo?: LogPosition): Promise<{ position: LogPosition; events: number }> {
  let at = from;
  let events = 0;
  for (;;) {
    const batch = await readCommitted(trx, at, CATCH_UP_BATCH, upTo);
    const last = batch.at(-1);
    if (!last) return { position: at, events };
    await applyEvents(trx, tableSet(suffix), batch);
    at = positionOf(last);
    events += batch.length;
  }
}

/** Swaps the built twins in, one projection per transaction (plans before claims: claims catch up under the plan rows). */
async function swapIn(db: Kysely<Database>, p: ProjectionName, built: TwinBuild, t0: number): Promise<RebuildOutcome> {
  const events = built.events[p] ?? 0;
  if (p === 'reports') {
    return (db as unknown as Kysely<ReportDatabase>).transaction().execute(async (trx) => {
      await sql`set local lock_timeout = '30s'`.execute(trx);
      // Waits for a running projector batch, and keeps the next one out until the swap commits.
      await sql`select pg_advisory_xact_lock(${LOCK_CLASS}, ${PROJECTOR_LOCK})`.execute(trx);
      const caught = await catchUpReports(trx, NEXT, built.position);
      for (const table of REPORT_TABLES) await swapInTwin(trx, table, NEXT);
      await writeCheckpoint(trx, caught.position, events + caught.events, 'set');
      return { projection: p, events: events + caught.events, ms: Date.now() - t0, caughtUp: caught.events, position: caught.position };
    });
  }
  return db.transaction().execute(async (trx) => {
    await sql`set local lock_timeout = '30s'`.execute(trx);
    // Appends wait here (the activity retries them if this takes long), and go to the new table after.
    await sql`lock table ${sql.table(p)} in access exclusive mode`.execute(trx);
    const caughtUp = await catchUpInline(trx, p, NEXT, 'plans', built.xmin);
    await swapInTwin(trx, p, NEXT);
    return { projection: p, events, ms: Date.now() - t0, caughtUp, ...(p === 'claims' ? { orphans: built.orphans } : {}) };
  });
}

/**
 * Rebuilds the named projections (all by default): one pass over the log builds every twin (plans, claims,
 * reports), then each is swapped in, in that order.
 */
export async function rebuildProjections(
  db: Kysely<Database>,
  opts: { projections?: readonly ProjectionName[]; onProgress?: OnRebuildProgress } = {},
): Promise<RebuildOutcome[]> {
  const wanted = PROJECTIONS.filter((p) => (opts.projections ?? PROJECTIONS).includes(p));
  return withRebuildLock(db, async () => {
    const t0 = Date.now();
    const tables = wanted.flatMap(tablesOf);
    for (const table of tables) await createTwin(db, table, NEXT);
    try {
      const built = await buildTwins(db, wanted, NEXT, opts.onProgress);
      const out: RebuildOutcome[] = [];
      for (const p of wanted) out.push(await swapIn(db, p, built, t0));
      return out;
    } finally {
      for (const table of tables) await dropTwin(db, table, NEXT);
    }
  });
}
