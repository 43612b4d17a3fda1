// Appending to and reading from the event log. Appends are idempotent (a retried append with the same
// event ids is a no-op that returns what was recorded) and optimistic (a stale expected version fails).

import { sql, type Kysely, type Transaction } from 'kysely';
import { canonicalJson } from './canonical.js';
import { chainBody, chainHash, linkHash, type HashedEvent } from './hash-chain.js';
import type { Database, EventMetadata, EventRow } from './schema.js';

export interface NewEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly occurredAt: string;
}

export interface RecordedEvent extends HashedEvent {
  readonly globalPosition: string;
  readonly transactionId: string;
  readonly prevHash: string | null;
  readonly hash: string;
}

export interface AppendResult {
  readonly events: RecordedEvent[];
  /** True when every event was already in the log (a retry): nothing was written. */
  readonly alreadyRecorded: boolean;
}

/** The stream is not at the version the writer expected: someone else appended first. */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`stream ${streamId} is at version ${actualVersion}, expected ${expectedVersion}`);
  }
}

/** A batch whose event ids are partly in the log, or in another stream: a bug, never retried. */
export class AppendIntegrityError extends Error {
  override readonly name = 'AppendIntegrityError';
}

/** Another transaction is appending the same events right now; retrying finds them recorded. */
export class ConcurrentDuplicateError extends Error {
  override readonly name = 'ConcurrentDuplicateError';
}

type Db = Kysely<Database> | Transaction<Database>;

export function toRecorded(r: EventRow): RecordedEvent {
  return {
    globalPosition: String(r.global_position),
    transactionId: String(r.transaction_id),
    eventId: r.event_id,
    streamId: r.stream_id,
    streamVersion: r.stream_version,
    type: r.event_type,
    schemaVersion: r.schema_version,
    data: r.data,
    metadata: r.metadata,
    occurredAt: r.occurred_at.toISOString(),
    recordedAt: r.recorded_at.toISOString(),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * Appends `events` to `streamId` if the stream is at `expectedVersion`, in one statement: atomic on its own,
 * or run it inside the transaction that also writes the inline projections.
 *
 * The statement reads the previous link's hash and computes the new links in the database
 * (`sha256(prev + "\n" + body)`, the body being the event's canonical JSON made here), so the common path
 * is one round trip. A conflict on the stream's next version is a second writer (ConcurrencyError); a
 * conflict on the event ids is a retry, found recorded and answered as such without writing.
 */
export async function appendToStream(
  trx: Db,
  streamId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
  now: () => Date = () => new Date(),
): Promise<AppendResult> {
  if (events.length === 0) return { events: [], alreadyRecorded: true };

  const recordedAt = now().toISOString();
  const rows = events.map((e, i) => {
    const hashed: HashedEvent = { ...e, streamId, streamVersion: expectedVersion + i + 1, recordedAt };
    return { e, version: hashed.streamVersion, body: chainBody(hashed) };
  });
  const values = (r: (typeof rows)[number]) =>
    sql`${streamId}, ${r.version}::int, ${r.e.eventId}, ${r.e.type}, ${r.e.schemaVersion}::int, ${JSON.stringify(r.e.data)}::jsonb, ${JSON.stringify(r.e.metadata)}::jsonb, ${r.e.occurredAt}::timestamptz, ${recordedAt}::timestamptz`;

  let statement;
  if (expectedVersion === 0) {
    // A new stream: every link is known here (the first one hangs off the genesis hash).
    let prev: string | null = null;
    const links = rows.map((r) => {
      const link = { r, prev, hash: linkHash(prev, r.body) };
      prev = link.hash;
      return sql`(${values(r)}, ${link.prev}::text, ${link.hash})`;
    });
    statement = sql<EventRow>`insert into events (${COLUMNS}) values ${sql.join(links)}
      on conflict (event_id) do nothing returning *`;
  } else {
    // link_k hangs off link_(k-1); link_1 off the stream's event at the expected version, which must exist.
    const links = rows.map((r, k) => {
      const from = k === 0 ? sql`(select hash from events where stream_id = ${streamId} and stream_version = ${expectedVersion}) p` : sql`link_${sql.raw(String(k - 1))} p`;
      return sql`link_${sql.raw(String(k))} as (select p.hash as prev_hash, encode(sha256(convert_to(p.hash || E'\n', 'UTF8') || ${Buffer.from(r.body, 'utf8')}::bytea), 'hex') as hash from ${from})`;
    });
    const selects = rows.map((r, k) => sql`select ${values(r)}, prev_hash, hash from link_${sql.raw(String(k))}`);
    statement = sql<EventRow>`with ${sql.join(links)}
      insert into events (${COLUMNS}) ${sql.join(selects, sql` union all `)}
      on conflict (event_id) do nothing returning *`;
  }

  let inserted: EventRow[];
  try {
    inserted = (await statement.execute(trx)).rows;
  } catch (err) {
    const pgErr = err as { code?: string; constraint?: string };
    if (pgErr.code === '23505' && pgErr.constraint === 'events_stream_version_key') {
      throw new ConcurrencyError(streamId, expectedVersion, expectedVersion + 1);
    }
    if (pgErr.code === '23505' && pgErr.constraint === 'events_event_id_key') {
      throw new ConcurrentDuplicateError(`events of ${streamId} are being appended by another transaction`, { cause: err });
    }
    throw err;
  }
  if (inserted.length === rows.length) {
    return { events: inserted.map(toRecorded).sort((a, b) => a.streamVersion - b.streamVersion), alreadyRecorded: false };
  }
  if (inserted.length > 0) {
    // Some of these ids are recorded already and some are not: never a retry.
    throw new AppendIntegrityError(`append to ${streamId}: ${rows.length - inserted.length} of ${rows.length} event ids are already recorded`);
  }
  // Nothing written: a retry whose events are recorded, or a stream not (yet) at the expected version.
  const retried = await alreadyRecorded(trx, streamId, events);
  if (retried) return { events: retried, alreadyRecorded: true };
  const head = await trx.selectFrom('events').select('stream_version').where('stream_id', '=', streamId).orderBy('stream_version', 'desc').limit(1).executeTakeFirst();
  throw new ConcurrencyError(streamId, expectedVersion, head?.stream_version ?? 0);
}

const COLUMNS = sql.raw('stream_id, stream_version, event_id, event_type, schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash');

/** The batch as recorded, when every one of its ids is already in the stream with the same content. */
export async function alreadyRecorded(trx: Db, streamId: string, events: readonly NewEvent[]): Promise<RecordedEvent[] | null> {
  const ids = events.map((e) => e.eventId);
  const existing = await trx.selectFrom('events').selectAll().where('event_id', 'in', ids).orderBy('stream_version').execute();
  if (existing.length === 0) return null;
  const sameStream = existing.every((r) => r.stream_id === streamId);
  if (existing.length !== events.length || !sameStream) {
    throw new AppendIntegrityError(
      `append to ${streamId}: ${existing.length} of ${events.length} event ids are already recorded${sameStream ? '' : ' in another stream'}`,
    );
  }
  // A retry carries the same decision. Anything else under the same ids means the writer's history
  // diverged from the log (a reset workflow deciding differently): refuse rather than pretend.
  existing.forEach((r, i) => {
    const e = events[i]!;
    if (r.event_id !== e.eventId || r.event_type !== e.type || canonicalJson(r.data) !== canonicalJson(e.data)) {
      throw new AppendIntegrityError(`append to ${streamId}: event ${e.eventId} is recorded with other content`);
    }
  });
  return existing.map(toRecorded);
}

export async function readStream(db: Db, streamId: string, opts: { upTo?: Date } = {}): Promise<RecordedEvent[]> {
  let q = db.selectFrom('events').selectAll().where('stream_id', '=', streamId);
  if (opts.upTo) q = q.where('occurred_at', '<=', opts.upTo as never);
  const rows = await q.orderBy('stream_version').execute();
  return rows.map(toRecorded);
}


export interface ChainBreak {
  readonly streamId: string;
  readonly streamVersion: number;
  readonly eventId: string;
  readonly reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'version_gap';
  readonly expected: string;
  readonly found: string;
}

/** Recomputes a stream's chain and names the first broken link, or returns null when it is intact. */
export function verifyChain(events: readonly RecordedEvent[]): ChainBreak | null {
  let prev: string | null = null;
  let version = 0;
  for (const e of events) {
    const base = { streamId: e.streamId, streamVersion: e.streamVersion, eventId: e.eventId };
    if (e.streamVersion !== version + 1) {
      return { ...base, reason: 'version_gap', expected: String(version + 1), found: String(e.streamVersion) };
    }
    if (e.prevHash !== prev) {
      return { ...base, reason: 'prev_hash_mismatch', expected: String(prev), found: String(e.prevHash) };
    }
    const expected = chainHash(prev, e);
    if (expected !== e.hash) return { ...base, reason: 'hash_mismatch', expected, found: e.hash };
    prev = e.hash;
    version = e.streamVersion;
  }
  return null;
}
