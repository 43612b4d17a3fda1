// The learner identity store: names and personal codes, never in events or Temporal histories. Each
// learner's record is encrypted (AES-256-GCM) with a data key of its own; that key is stored wrapped with
// the deployment's key-encryption key. Erasure deletes the record and the key: what stays (plans, events,
// reports) refers to a pseudonymous learner ref that no longer leads to a person.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface LearnerIdentity {
  readonly givenName: string;
  readonly familyName: string;
  readonly personalCode: string;
  readonly birthDate: string;
}

export type IdentityRecord =
  | ({ readonly learnerRef: string; readonly erased: false; readonly updatedAt: string } & LearnerIdentity)
  | { readonly learnerRef: string; readonly erased: true; readonly erasedAt: string };

export class LearnerErasedError extends Error {
  override readonly name = 'LearnerErasedError';
}

/** The 32-byte key-encryption key, from hex or base64. */
export function parseKek(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error('the identity key-encryption key must be 32 bytes (64 hex characters or base64)');
  return key;
}

function seal(key: Buffer, plain: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12)).setAAD(Buffer.from(aad));
  d.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
}

export class IdentityStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kek: Buffer,
  ) {}

  /** Records (or replaces) a learner's identity. Refused once the learner was erased. */
  async put(learnerRef: string, identity: LearnerIdentity, by: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      let row = await trx.selectFrom('learner_keys').selectAll().where('learner_ref', '=', learnerRef).forUpdate().executeTakeFirst();
      if (row?.erased_at) throw new LearnerErasedError(`learner ${learnerRef} was erased; a new identity needs a new learner ref`);
      if (!row) {
        const dek = randomBytes(32);
        await trx
          .insertInto('learner_keys')
          .values({ learner_ref: learnerRef, wrapped_key: seal(this.kek, dek, `kek:${learnerRef}`), created_at: now, erased_at: null, erased_by: null })
          .onConflict((oc) => oc.column('learner_ref').doNothing())
          .execute();
        row = await trx.selectFrom('learner_keys').selectAll().where('learner_ref', '=', learnerRef).forUpdate().executeTakeFirstOrThrow();
      }
      const dek = open(this.kek, row.wrapped_key!, `kek:${learnerRef}`);
      const ciphertext = seal(dek, Buffer.from(JSON.stringify(identity)), `identity:${learnerRef}`);
      await trx
        .insertInto('learner_identities')
        .values({ learner_ref: learnerRef, ciphertext, updated_at: now, updated_by: by })
        .onConflict((oc) => oc.column('learner_ref').doUpdateSet({ ciphertext, updated_at: now, updated_by: by }))
        .execute();
    });
  }

  async get(learnerRef: string): Promise<IdentityRecord | null> {
    const row = await this.db
      .selectFrom('learner_keys')
      .leftJoin('learner_identities', 'learner_identities.learner_ref', 'learner_keys.learner_ref')
      .select(['learner_keys.wrapped_key', 'learner_keys.erased_at', 'learner_identities.ciphertext', 'learner_identities.updated_at'])
      .where('learner_keys.learner_ref', '=', learnerRef)
      .executeTakeFirst();
    if (!row) return null;
    if (row.erased_at) return { learnerRef, erased: true, erasedAt: row.erased_at.toISOString() };
    if (!row.ciphertext || !row.wrapped_key || !row.updated_at) return null;
    const dek = open(this.kek, row.wrapped_key, `kek:${learnerRef}`);
    const identity = JSON.parse(open(dek, row.ciphertext, `identity:${learnerRef}`).toString('utf8')) as LearnerIdentity;
    return { learnerRef, erased: false, updatedAt: row.updated_at.toISOString(), ...identity };
  }

  /** Destroys the learner's key and record. Idempotent: erasing twice answers the first erasure. */
  async erase(learnerRef: string, by: string): Promise<{ erasedAt: string }> {
    return this.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      await trx
        .insertInto('learner_keys')
        .values({ learner_ref: learnerRef, wrapped_key: null, created_at: now, erased_at: now, erased_by: by })
        .onConflict((oc) => oc.column('learner_ref').doNothing())
        .execute();
      const row = await trx.selectFrom('learner_keys').select(['erased_at']).where('learner_ref', '=', learnerRef).forUpdate().executeTakeFirstOrThrow();
      if (row.erased_at) {
        await trx.deleteFrom('learner_identities').where('learner_ref', '=', learnerRef).execute();
        return { erasedAt: row.erased_at.toISOString() };
      }
      await trx.deleteFrom('learner_identities').where('learner_ref', '=', learnerRef).execute();
      await trx.updateTable('learner_keys').set({ wrapped_key: null, erased_at: now, erased_by: by }).where('learner_ref', '=', learnerRef).execute();
      return { erasedAt: now };
    });
  }
}

/** Which of these learner refs were erased (for plan and report views). */
export async function erasedLearners(db: Kysely<Database>, learnerRefs: readonly string[]): Promise<Set<string>> {
  if (learnerRefs.length === 0) return new Set();
  const rows = await db.selectFrom('learner_keys').select('learner_ref').where('learner_ref', 'in', learnerRefs).where('erased_at', 'is not', null).execute();
  return new Set(rows.map((r) => r.learner_ref));
}
