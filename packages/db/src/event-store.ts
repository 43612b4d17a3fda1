// Appending to and reading from the event log. Appends are idempotent (a retried append with the same
// event ids is a no-op that returns what was recorded) and optimistic (a stale expected version fails).

import type { Kysely, Transaction } from 'kysely';
import { canonicalJson } from './canonical.js';
import { chainHash, type HashedEvent } from './hash-chain.js';
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
 * Appends `events` to `streamId` if the stream is at `expectedVersion`. Run it inside the transaction
 * that also writes the inline projections.
 */
export async function appendToStream(
  trx: Db,
  streamId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
  now: () => Date = () => new Date(),
): Promise<AppendResult> {
  if (events.length === 0) return { events: [], alreadyRecorded: true };

  const head = await trx
    .selectFrom('events')
    .select(['stream_version', 'hash'])
    .where('stream_id', '=', streamId)
    .orderBy('stream_version', 'desc')
    .limit(1)
    .executeTakeFirst();
  const actual = head?.stream_version ?? 0;
  // Only a stream already past the expected version can hold this batch (a retry): look for it then, so
  // the common path is one read and one insert.
  if (actual !== expectedVersion) {
    const retried = await alreadyRecorded(trx, streamId, events);
    if (retried) return { events: retried, alreadyRecorded: true };
    throw new ConcurrencyError(streamId, expectedVersion, actual);
  }

  const recordedAt = now().toISOString();
  let prevHash = head?.hash ?? null;
  const rows = events.map((e, i) => {
    const hashed: HashedEvent = { ...e, streamId, streamVersion: expectedVersion + i + 1, recordedAt };
    const hash = chainHash(prevHash, hashed);
    const row = {
      stream_id: streamId,
      stream_version: hashed.streamVersion,
      event_id: e.eventId,
      event_type: e.type,
      schema_version: e.schemaVersion,
      data: JSON.stringify(e.data),
      metadata: JSON.stringify(e.metadata),
      occurred_at: e.occurredAt,
      recorded_at: recordedAt,
      prev_hash: prevHash,
      hash,
    };
    prevHash = hash;
    return row;
  });

  try {
    const inserted = await trx
      .insertInto('events')
      .values(rows)
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returningAll()
      .execute();
    if (inserted.length !== rows.length) {
      // Some of these ids are recorded elsewhere already: never a retry (that would have been found above).
      throw new AppendIntegrityError(`append to ${streamId}: ${rows.length - inserted.length} of ${rows.length} event ids are already recorded`);
    }
    return { events: inserted.map(toRecorded), alreadyRecorded: false };
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
}

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
