// Blue/green rebuild of projections from the event log: build into `<table>__next`, then in one
// transaction catch up what was appended meanwhile and swap the twin in, so readers never see a half-built
// projection. One rebuild (or check) at a time, cluster-wide per database (a session advisory lock).

import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { applyEvents } from './apply.js';
import { buildClaims, buildPlans, buildReports, catchUpInline, type OnRebuildProgress } from './build.js';
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

async function rebuildOne(db: Kysely<Database>, p: ProjectionName, onProgress: OnRebuildProgress): Promise<RebuildOutcome> {
  const t0 = Date.now();
  for (const table of tablesOf(p)) await createTwin(db, table, NEXT);
  try {
    if (p === 'reports') {
      const rdb = db as unknown as Kysely<ReportDatabase>;
      const built = await buildReports(rdb, NEXT, onProgress);
      return await rdb.transaction().execute(async (trx) => {
        await sql`set local lock_timeout = '30s'`.execute(trx);
        // Waits for a running projector batch, and keeps the next one out until the swap commits.
        await sql`select pg_advisory_xact_lock(${LOCK_CLASS}, ${PROJECTOR_LOCK})`.execute(trx);
        const caught = await catchUpReports(trx, NEXT, built.position);
        for (const table of REPORT_TABLES) await swapInTwin(trx, table, NEXT);
        await writeCheckpoint(trx, caught.position, built.events + caught.events, 'set');
        return { projection: p, events: built.events + caught.events, ms: Date.now() - t0, caughtUp: caught.events, position: caught.position };
      });
    }
    const built = p === 'plans' ? { ...(await buildPlans(db, NEXT, onProgress)), orphans: [] } : await buildClaims(db, NEXT, 'plans', onProgress);
    return await db.transaction().execute(async (trx) => {
      await sql`set local lock_timeout = '30s'`.execute(trx);
      // Appends wait here (the activity retries them if this takes long), and go to the new table after.
      await sql`lock table ${sql.table(p)} in access exclusive mode`.execute(trx);
      const caughtUp = await catchUpInline(trx, p, NEXT, 'plans', built.xmin);
      await swapInTwin(trx, p, NEXT);
      return { projection: p, events: built.events, ms: Date.now() - t0, caughtUp, orphans: built.orphans };
    });
  } finally {
    for (const table of tablesOf(p)) await dropTwin(db, table, NEXT);
  }
}

/** Rebuilds the named projections (all by default) in order: plans, claims (filed under plans), reports. */
export async function rebuildProjections(
  db: Kysely<Database>,
  opts: { projections?: readonly ProjectionName[]; onProgress?: OnRebuildProgress } = {},
): Promise<RebuildOutcome[]> {
  const wanted = PROJECTIONS.filter((p) => (opts.projections ?? PROJECTIONS).includes(p));
  return withRebuildLock(db, async () => {
    const out: RebuildOutcome[] = [];
    for (const p of wanted) out.push(await rebuildOne(db, p, opts.onProgress ?? (() => undefined)));
    return out;
  });
}
