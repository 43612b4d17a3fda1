// `check`: builds each projection afresh beside the live one and names every row that differs. Both sides
// are compared at the same point of the log: the inline tables with their writers paused, the report
// tables after both are brought to the same commit-order position in a transaction that is rolled back.

import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.js';
import { buildTwins, catchUpInline, type OnRebuildProgress } from './build.js';
import { committedHead } from './commit-order.js';
import { LOCK_CLASS, PROJECTOR_LOCK, readCheckpoint } from './projector.js';
import { PROJECTIONS, tablesOf, type ProjectionName, type ReportDatabase } from './read-model.js';
import { catchUpReports, withRebuildLock } from './rebuild.js';
import { compareTables, createTwin, dropTwin, type RowDifference } from './tables.js';

export interface CheckOutcome {
  readonly projection: ProjectionName;
  readonly ok: boolean;
  /** How many rows differ in all (the list below stops at a limit per table). */
  readonly total: number;
  readonly differences: readonly RowDifference[];
}

const CHECK = '__check';

class Compared extends Error {
  constructor(readonly outcome: CheckOutcome) {
    super('compared');
  }
}

async function compareAll(trx: Transaction<any>, p: ProjectionName): Promise<CheckOutcome> {
  const differences: RowDifference[] = [];
  let total = 0;
  for (const table of tablesOf(p)) {
    const r = await compareTables(trx, table, `${table}${CHECK}`);
    differences.push(...r.differences);
    total += r.total;
  }
  return { projection: p, ok: total === 0, total, differences };
}

async function checkOne(db: Kysely<Database>, p: ProjectionName, plansTable: string, onProgress: OnRebuildProgress): Promise<CheckOutcome> {
  for (const table of tablesOf(p)) await createTwin(db, table, CHECK);
  try {
    const built = await buildTwins(db, [p], CHECK, onProgress);
    if (p === 'reports') {
      const rdb = db as unknown as Kysely<ReportDatabase>;
      // Both sides go to the same position inside a transaction that is then rolled back: the live
      // tables are compared as the projector will have them, and are left as they were.
      try {
        await rdb.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(${LOCK_CLASS}, ${PROJECTOR_LOCK})`.execute(trx);
          const head = await committedHead(trx);
          await catchUpReports(trx, '', await readCheckpoint(trx), head);
          await catchUpReports(trx, CHECK, built.position, head);
          throw new Compared(await compareAll(trx, p));
        });
      } catch (err) {
        if (err instanceof Compared) return err.outcome;
        throw err;
      }
      throw new Error('unreachable');
    }
    return await db.transaction().execute(async (trx) => {
      await sql`set local lock_timeout = '30s'`.execute(trx);
      // Share mode: readers go on, appends wait until the comparison is done.
      await sql`lock table ${sql.table(p)} in share mode`.execute(trx);
      await catchUpInline(trx, p, CHECK, plansTable, built.xmin);
      return compareAll(trx, p);
    });
  } finally {
    for (const table of tablesOf(p)) await dropTwin(db, table, CHECK);
  }
}

/** Compares the named projections (all by default) with a fresh build; ok when no row differs. */
export async function checkProjections(
  db: Kysely<Database>,
  opts: { projections?: readonly ProjectionName[]; onProgress?: OnRebuildProgress } = {},
): Promise<CheckOutcome[]> {
  const wanted = PROJECTIONS.filter((p) => (opts.projections ?? PROJECTIONS).includes(p));
  return withRebuildLock(db, async () => {
    const out: CheckOutcome[] = [];
    for (const p of wanted) out.push(await checkOne(db, p, 'plans', opts.onProgress ?? (() => undefined)));
    return out;
  });
}

