// The per-stream hash chain: hash(n) = sha256(hash(n-1) + "\n" + canonical(event n)). Changing, removing
// or reordering any event of a stream changes every later hash, which an auditor can recompute.

import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import type { EventMetadata } from './schema.js';

/** Everything about an event that the chain vouches for. */
export interface HashedEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly occurredAt: string;
  readonly recordedAt: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export function chainHash(prevHash: string | null, e: HashedEvent): string {
  return linkHash(prevHash, chainBody(e));
}

/** The part of a link that is the event's own: its canonical JSON. */
export function chainBody(e: HashedEvent): string {
  return chainBodyWith(e, canonicalJson(e.data), canonicalJson(e.metadata));
}

/**
 * The same canonical JSON, from data and metadata already in canonical form (the event store writes those
 * very strings to the jsonb columns, so each is serialised once). Keys in sorted order, as canonicalJson
 * would put them; the unit test holds the two forms equal.
 */
export function chainBodyWith(e: Omit<HashedEvent, 'data' | 'metadata'>, data: string, metadata: string): string {
  const str = JSON.stringify;
  if (!Number.isSafeInteger(e.schemaVersion) || !Number.isSafeInteger(e.streamVersion)) throw new TypeError('versions are integers');
  return (
    `{"data":${data},"eventId":${str(e.eventId)},"metadata":${metadata},"occurredAt":${str(e.occurredAt)},"recordedAt":${str(e.recordedAt)},` +
    `"schemaVersion":${e.schemaVersion},"streamId":${str(e.streamId)},"streamVersion":${e.streamVersion},"type":${str(e.type)}}`
  );
}

/**
 * sha256(previous hash + "\n" + body), hex. The event store computes the same link in SQL when the previous
 * hash is only in the database (`encode(sha256(convert_to(prev || E'\n', 'UTF8') || body), 'hex')`).
 */
export function linkHash(prevHash: string | null, body: string): string {
  return createHash('sha256')
    .update(prevHash ?? GENESIS_HASH)
    .update('\n')
    .update(body)
    .digest('hex');
}
