// Appending to and reading from the event log. Appends are idempotent (a retried append with the same
// event ids is a no-op that returns what was recorded) and optimistic (a stale expected version fails).

import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { sameCommand } from '@iap/domain';
import { canonicalJson } from './canonical.js';
import { chainBodyWith, chainHash, type HashedEvent } from './hash-chain.js';
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
 * The body of each link (the event's canonical JSON) is made here; the database function reads the previous
 * link's hash and computes `sha256(prev + "\n" + body)` beside the insert, so the common path is one round
 * trip. A conflict on the stream's next version is a second writer (ConcurrencyError); a conflict on the
 * event ids is a retry, found recorded and answered as such without writing.
 */
export async function appendToStream(
  trx: Db,
  streamId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
  now: () => Date = () => new Date(),
): Promise<AppendResult> {
  if (events.length === 0) return { events: [], alreadyRecorded: true };
  const batch = prepareBatch(streamId, expectedVersion, events, now);
  // One call: the database function links each event to the previous one (the stream's event at the
  // expected version, read there) and inserts it; see migrations/…_0300_append_function.ts.
  const appended = await insertBatch(trx, batch, sql<Inserted>`select * from iap_append_events(${batch.args})`);
  if (appended) return appended;
  // Nothing written: a retry whose events are recorded, or a stream not (yet) at the expected version.
  const retried = await alreadyRecorded(trx, streamId, events);
  if (retried) return { events: retried, alreadyRecorded: true };
  const head = await trx.selectFrom('events').select('stream_version').where('stream_id', '=', streamId).orderBy('stream_version', 'desc').limit(1).executeTakeFirst();
  throw new ConcurrencyError(streamId, expectedVersion, head?.stream_version ?? 0);
}

/** A batch ready for the append functions: each event's link body, and the functions' first ten arguments. */
export interface PreparedBatch {
  readonly streamId: string;
  readonly expectedVersion: number;
  readonly links: ReadonlyArray<Omit<RecordedEvent, 'globalPosition' | 'transactionId' | 'prevHash' | 'hash'>>;
  readonly args: RawBuilder<unknown>;
}

export function prepareBatch(streamId: string, expectedVersion: number, events: readonly NewEvent[], now: () => Date = () => new Date()): PreparedBatch {
  const recordedAt = now().toISOString();
  const rows = events.map((e, i) => {
    // Data and metadata are serialised once, canonically: the same strings go to the jsonb columns and into
    // the link's body. The time is normalised as reading it back gives it, so the stored link verifies.
    const link = { ...e, occurredAt: new Date(e.occurredAt).toISOString(), streamId, streamVersion: expectedVersion + i + 1, recordedAt };
    const data = canonicalJson(e.data);
    const metadata = canonicalJson(e.metadata);
    return { link, data, metadata, body: chainBodyWith(link, data, metadata) };
  });
  const args = sql`${streamId}, ${expectedVersion}::int, ${rows.map((r) => r.link.eventId)}::text[], ${rows.map((r) => r.link.type)}::text[],
    ${rows.map((r) => r.link.schemaVersion)}::int[], ${rows.map((r) => r.data)}::jsonb[], ${rows.map((r) => r.metadata)}::jsonb[],
    ${rows.map((r) => r.link.occurredAt)}::timestamptz[], ${recordedAt}::timestamptz, ${rows.map((r) => r.body)}::text[]`;
  return { streamId, expectedVersion, links: rows.map((r) => r.link), args };
}

/**
 * Runs an append function's statement: the recorded batch, or null when it wrote nothing (a retry, or a
 * stream not at the expected version). A conflict on the next version is a second writer.
 */
export async function insertBatch(trx: Db, batch: PreparedBatch, statement: RawBuilder<Inserted>): Promise<AppendResult | null> {
  const { streamId, expectedVersion, links } = batch;
  let inserted: Inserted[];
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
    if (pgErr.code === 'IAP01') {
      // Some of these ids are recorded already and some are not (nothing was written): never a retry.
      throw new AppendIntegrityError(`append to ${streamId}: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
  if (inserted.length === 0) return null;
  if (inserted.length !== links.length) {
    // Some of these ids are recorded already and some are not: never a retry.
    throw new AppendIntegrityError(`append to ${streamId}: ${links.length - inserted.length} of ${links.length} event ids are already recorded`);
  }
  const byVersion = new Map(inserted.map((r) => [r.out_stream_version, r]));
  const recorded = links.map((link): RecordedEvent => {
    const db = byVersion.get(link.streamVersion)!;
    return { ...link, globalPosition: String(db.out_global_position), transactionId: String(db.out_transaction_id), prevHash: db.out_prev_hash, hash: db.out_hash };
  });
  return { events: recorded, alreadyRecorded: false };
}

/** What only the database knows of a new event, as the append functions return it; the rest is what was sent. */
export interface Inserted {
  readonly out_global_position: string;
  readonly out_transaction_id: string;
  readonly out_stream_version: number;
  readonly out_prev_hash: string | null;
  readonly out_hash: string;
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
  // A retry carries the same decision, or the same command of the same workflow run decided again: a local
  // append whose workflow task was retried (its worker died after the commit) runs the command anew, later,
  // and what depends on the time (a deadline in the data) may differ. The log's version stands; the caller
  // folds what is recorded. Anything else under the same ids means the writer's history diverged from the
  // log (a reset workflow deciding differently): refuse rather than pretend.
  existing.forEach((r, i) => {
    const e = events[i]!;
    // The same command (its request, or its command id when it is retried in a new request) of the same run.
    const retried = sameCommand(e.metadata, r.metadata) && r.metadata.runId === e.metadata.runId;
    if (r.event_id !== e.eventId || r.event_type !== e.type || (!retried && canonicalJson(r.data) !== canonicalJson(e.data))) {
      throw new AppendIntegrityError(`append to ${streamId}: event ${e.eventId} is recorded with other content`);
    }
  });
  return existing.map(toRecorded);
}

/**
 * The stream's events after `version` when every one of them was recorded by workflow run `runId` (its
 * metadata says so), else null. A local append commits before its workflow task completes: a worker dying
 * between the two leaves events the run decided but never folded, for a command whose task was lost. The
 * run's next command meets them at the version it expected to write; they are its own, and it takes them up.
 */
export async function recordedByRunAfter(db: Db, streamId: string, version: number, runId: string): Promise<RecordedEvent[] | null> {
  const rows = await db.selectFrom('events').selectAll().where('stream_id', '=', streamId).where('stream_version', '>', version).orderBy('stream_version').execute();
  const events = rows.map(toRecorded);
  if (events.length === 0 || events.some((e, i) => e.streamVersion !== version + i + 1 || e.metadata.runId !== runId)) return null;
  return events;
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
