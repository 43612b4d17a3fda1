// Checkpoints of every stream's chain head, signed and written to a table only `iap_auditor` may insert
// into. A chain proves a stream's events were not changed, but not that its newest ones were not simply
// deleted; a later comparison with a checkpoint does.

import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { canonicalJson } from '../canonical.js';
import type { Database } from '../schema.js';
import { signPayload, verifyPayload, keyIdOf, type CheckpointKey } from './checkpoint-key.js';
import { AUDITOR_DB_ROLE, auditDb, type CheckpointRow, type StreamHead } from './schema.js';
import { streamOwners } from './scope.js';

export interface Checkpoint {
  readonly id: string;
  readonly takenAt: string;
  readonly globalPosition: string;
  readonly streamCount: number;
  readonly eventCount: number;
  readonly headsDigest: string;
  readonly keyId: string;
  readonly publicKey: string;
  readonly signature: string;
  readonly heads: readonly StreamHead[];
}

export const headsDigest = (heads: readonly StreamHead[]): string => createHash('sha256').update(canonicalJson(heads)).digest('hex');

/** What the signature covers: every field of the row but its id (the heads through their digest). */
export function checkpointPayload(c: Omit<Checkpoint, 'id' | 'signature' | 'heads' | 'publicKey'>): string {
  return canonicalJson({
    format: 'iap-chain-checkpoint/1',
    takenAt: c.takenAt,
    globalPosition: c.globalPosition,
    streamCount: c.streamCount,
    eventCount: c.eventCount,
    headsDigest: c.headsDigest,
    keyId: c.keyId,
  });
}

function fromRow(r: CheckpointRow): Checkpoint {
  return {
    id: String(r.id),
    takenAt: r.taken_at.toISOString(),
    globalPosition: String(r.global_position),
    streamCount: r.stream_count,
    eventCount: Number(r.event_count),
    headsDigest: r.heads_digest,
    keyId: r.key_id,
    publicKey: r.public_key,
    signature: r.signature,
    heads: r.heads,
  };
}

/**
 * Reads every stream's head in one snapshot and records them, signed. `db` must act as `iap_auditor`
 * (createDb({ role: AUDITOR_DB_ROLE })): the application's role cannot insert here.
 */
export async function takeCheckpoint(db: Kysely<Database>, key: CheckpointKey, now: () => Date = () => new Date()): Promise<Checkpoint> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      // SET ROLE failing quietly must not let a checkpoint be written under another name.
      const who = await sql<{ current_user: string }>`select current_user`.execute(trx);
      if (who.rows[0]?.current_user !== AUDITOR_DB_ROLE) {
        throw new Error(`checkpoints are written as ${AUDITOR_DB_ROLE}, not ${who.rows[0]?.current_user}`);
      }
      const rows = await trx
        .selectFrom('events')
        .select(['stream_id', 'stream_version', 'hash'])
        .distinctOn('stream_id')
        .orderBy('stream_id')
        .orderBy('stream_version', 'desc')
        .execute();
      const owners = await streamOwners(trx);
      const heads: StreamHead[] = rows
        .map((r) => {
          const o = owners.get(r.stream_id);
          return { streamId: r.stream_id, version: r.stream_version, hash: r.hash, planId: o?.planId ?? null, schoolId: o?.schoolId ?? null };
        })
        .sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
      const totals = await trx
        .selectFrom('events')
        .select([sql<string>`coalesce(max(global_position), 0)`.as('pos'), sql<string>`count(*)`.as('n')])
        .executeTakeFirstOrThrow();
      const body = {
        takenAt: now().toISOString(),
        globalPosition: String(totals.pos),
        streamCount: heads.length,
        eventCount: Number(totals.n),
        headsDigest: headsDigest(heads),
        keyId: key.keyId,
      };
      const signature = signPayload(key, checkpointPayload(body));
      const inserted = await auditDb(trx)
        .insertInto('chain_checkpoints')
        .values({
          taken_at: body.takenAt,
          global_position: body.globalPosition,
          stream_count: body.streamCount,
          event_count: String(body.eventCount),
          heads: JSON.stringify(heads),
          heads_digest: body.headsDigest,
          key_id: key.keyId,
          public_key: key.publicKeyPem,
          signature,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return fromRow(inserted);
    });
}

export async function latestCheckpoint(db: Kysely<Database>): Promise<Checkpoint | null> {
  const row = await auditDb(db).selectFrom('chain_checkpoints').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row ? fromRow(row) : null;
}

export interface CheckpointSignatureCheck {
  readonly signatureValid: boolean;
  /** True: signed by a pinned key; false: by another key; null: no key was pinned. */
  readonly keyTrusted: boolean | null;
  readonly problem: string | null;
}

/**
 * Checks that a checkpoint is what its signer wrote: the heads match their digest, the key id matches
 * the stored public key, and the signature holds. Only a pinned key (`trustedPublicKeys`) makes it
 * evidence: anyone can sign a forged row with a key of their own.
 */
export function checkCheckpointSignature(c: Checkpoint, trustedPublicKeys: readonly string[] = []): CheckpointSignatureCheck {
  const trusted = trustedPublicKeys.length ? trustedPublicKeys.map(keyIdOf).includes(c.keyId) : null;
  const fail = (problem: string) => ({ signatureValid: false, keyTrusted: trusted, problem });
  if (headsDigest(c.heads) !== c.headsDigest) return fail('the heads do not match their digest');
  if (keyIdOf(c.publicKey) !== c.keyId) return fail('the key id does not match the public key');
  if (!verifyPayload(c.publicKey, checkpointPayload(c), c.signature)) return fail('the signature does not verify');
  return { signatureValid: true, keyTrusted: trusted, problem: trusted === false ? `signed by key ${c.keyId}, which is not pinned` : null };
}
