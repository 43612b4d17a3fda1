// Reading the event log in commit order. global_position is handed out at insert, not at commit, so a
// reader that followed it would pass an event whose transaction commits late. Instead: order by the
// writing transaction's xid8, and read only below the oldest transaction still running
// (pg_snapshot_xmin), where every transaction has either committed (its events are visible) or rolled
// back (its events never will be). A rolled-back transaction leaves nothing to wait for.

import { sql, type Kysely, type Transaction } from 'kysely';
import { toRecorded, type RecordedEvent } from '../event-store.js';
import type { EventRow } from '../schema.js';

/** A point in commit order: every event at or before (transactionId, globalPosition). */
export interface LogPosition {
  /** xid8 of the writing transaction, as text. */
  readonly transactionId: string;
  readonly globalPosition: string;
}

export const LOG_ORIGIN: LogPosition = { transactionId: '0', globalPosition: '0' };

export const positionOf = (e: Pick<RecordedEvent, 'transactionId' | 'globalPosition'>): LogPosition => ({
  transactionId: e.transactionId,
  globalPosition: e.globalPosition,
});

/** Compares two positions as Postgres orders them: by transaction, then by global position. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  const t = BigInt(a.transactionId) - BigInt(b.transactionId);
  if (t !== 0n) return t < 0n ? -1 : 1;
  const g = BigInt(a.globalPosition) - BigInt(b.globalPosition);
  return g === 0n ? 0 : g < 0n ? -1 : 1;
}

type Db = Kysely<any> | Transaction<any>;

/**
 * Up to `limit` events after `after` whose transactions have all finished, in commit order; with `upTo`,
 * none after that position.
 */
export async function readCommitted(db: Db, after: LogPosition, limit: number, upTo?: LogPosition): Promise<RecordedEvent[]> {
  const bound = upTo
    ? sql`and (transaction_id, global_position) <= (${upTo.transactionId}::xid8, ${upTo.globalPosition}::bigint)`
    : sql``;
  const { rows } = await sql<EventRow>`
    select * from events
    where (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
      and transaction_id < (select pg_snapshot_xmin(pg_current_snapshot()))
      ${bound}
    order by transaction_id, global_position
    limit ${limit}`.execute(db);
  return rows.map(toRecorded);
}

/** The last event a commit-order reader can see now (LOG_ORIGIN when none). */
export async function committedHead(db: Db): Promise<LogPosition> {
  const { rows } = await sql<{ tx: string; pos: string }>`
    select transaction_id::text as tx, global_position::text as pos from events
    where transaction_id < (select pg_snapshot_xmin(pg_current_snapshot()))
    order by transaction_id desc, global_position desc
    limit 1`.execute(db);
  const r = rows[0];
  return r ? { transactionId: r.tx, globalPosition: r.pos } : LOG_ORIGIN;
}

/** How many events lie after `after` (committed or not yet visible to a commit-order reader). */
export async function eventsAfter(db: Db, after: LogPosition): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*)::text as n from events
    where (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
