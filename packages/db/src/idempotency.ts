// The Idempotency-Key ledger: a key, once used, stands for one request (its fingerprint) until it expires.
// The API claims the key before it sends the command, sends every retry (and a duplicate still in flight)
// under the command id the first claim chose, so the workflow takes it once, and records the answer once the
// write succeeded, so a retry is answered from here even after the workflow has continued as new or ended.

import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface StoredAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

export type KeyClaim =
  /**
   * Send the command under this id: the same for the key's first use, its retries and its duplicates.
   * `retry`: the key was used before and no answer is recorded (lost, refused, or still in flight).
   */
  | { readonly kind: 'proceed'; readonly commandId: string; readonly retry: boolean }
  /** The key was used for a different request. */
  | { readonly kind: 'mismatch' }
  /** The request succeeded before: this is its answer. */
  | { readonly kind: 'done'; readonly answer: StoredAnswer };

export interface ClaimKeyInput {
  /** Hash of the caller, operation, target and key: what the key is scoped to. */
  readonly keyHash: string;
  /** Hash of the request itself (method, route, target, canonical body). */
  readonly fingerprint: string;
  /** How long the key stands for its request. */
  readonly ttlMs: number;
}

/** Claims a key for a request; see KeyClaim for the answers. */
export async function claimIdempotencyKey(db: Kysely<Database>, input: ClaimKeyInput): Promise<KeyClaim> {
  const { keyHash, fingerprint, ttlMs } = input;
  // A new key, or one whose time is up: it now stands for this request.
  const fresh = await db
    .insertInto('idempotency_keys')
    .values({
      key_hash: keyHash,
      fingerprint,
      command_id: randomUUID(),
      created_at: sql<string>`now()`,
      expires_at: sql<string>`now() + make_interval(secs => ${ttlMs / 1000})`,
    })
    .onConflict((oc) =>
      oc.column('key_hash').doUpdateSet((eb) => ({
        fingerprint: eb.ref('excluded.fingerprint'),
        command_id: eb.ref('excluded.command_id'),
        response_status: null,
        response_body: null,
        response_headers: null,
        created_at: eb.ref('excluded.created_at'),
        expires_at: eb.ref('excluded.expires_at'),
      })).where('idempotency_keys.expires_at', '<=', sql<Date>`now()`),
    )
    .returning('command_id')
    .executeTakeFirst();
  if (fresh) return { kind: 'proceed', commandId: fresh.command_id, retry: false };

  const row = await db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'command_id', 'response_status', 'response_body', 'response_headers'])
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
  // Purged between the two statements (it had just expired): claim it afresh.
  if (!row) return claimIdempotencyKey(db, input);
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (row.response_status !== null) {
    return { kind: 'done', answer: { status: row.response_status, body: row.response_body, headers: (row.response_headers ?? {}) as Record<string, string> } };
  }
  return { kind: 'proceed', commandId: row.command_id, retry: true };
}

/** Records the answer of the request that holds the key: its retries get it from now on. */
export async function recordIdempotentAnswer(db: Kysely<Database>, keyHash: string, answer: StoredAnswer): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({
      response_status: answer.status,
      response_body: JSON.stringify(answer.body),
      response_headers: JSON.stringify(answer.headers),
    })
    .where('key_hash', '=', keyHash)
    .execute();
}

/** Deletes expired keys; returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Kysely<Database>): Promise<number> {
  const r = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', sql<Date>`now()`).executeTakeFirst();
  return Number(r.numDeletedRows);
}
