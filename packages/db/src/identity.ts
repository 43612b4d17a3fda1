// The learner register and identity store. A school registers a learner under a reference of its own; the
// server gives the learner a pseudonymous id, and everything else (identity, keys, the access log) is keyed by
// that id. Names and personal codes are never in events or Temporal histories: each learner's record is
// encrypted (AES-256-GCM) with a data key of its own, stored wrapped with the deployment's key-encryption key.
// Erasure deletes the record and the key: what stays (plans, events, reports) refers to a learner reference
// that no longer leads to a person.

import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

export interface LearnerIdentity {
  readonly givenName: string;
  readonly familyName: string;
  readonly personalCode: string;
  readonly birthDate: string;
}

export type IdentityRecord =
  | ({ readonly learnerId: string; readonly erased: false; readonly updatedAt: string } & LearnerIdentity)
  | { readonly learnerId: string; readonly erased: true; readonly erasedAt: string };

export interface RegisteredLearner {
  readonly learnerId: string;
  readonly schoolId: string;
  readonly learnerRef: string;
  readonly registeredAt: string;
}

/** What the access log records of an act besides the learner: who, under which request. */
export interface LearnerAccessBy {
  readonly actorId: string;
  readonly actorRole: string;
  readonly requestId: string;
}

export type LearnerAccessAction = 'register' | 'identity.read' | 'identity.write' | 'transfer' | 'erasure';

export interface LearnerAccessEntry {
  readonly seq: string;
  readonly at: string;
  readonly learnerId: string;
  readonly schoolId: string;
  readonly action: LearnerAccessAction;
  readonly actorId: string;
  readonly actorRole: string;
  readonly requestId: string;
  readonly detail: Record<string, unknown>;
}

export class LearnerErasedError extends Error {
  override readonly name = 'LearnerErasedError';
}

/** The school's reference names another learner (one since moved on keeps it): it cannot name a new one. */
export class LearnerRefRetiredError extends Error {
  override readonly name = 'LearnerRefRetiredError';
}

/** The target school already uses this reference for a learner. */
export class LearnerRefTakenError extends Error {
  override readonly name = 'LearnerRefTakenError';
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

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Serialises everything that gives a school's reference to a learner (registration, a transfer into it) for the
 * rest of the transaction; they would otherwise take the register's and the reference list's row locks in
 * opposite orders and deadlock.
 */
async function lockRef(trx: Transaction<Database>, schoolId: string, learnerRef: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`learner-ref:${schoolId}/${learnerRef}`}, 0))`.execute(trx);
}

/** Should the lock above ever be bypassed, a (school, reference) given twice at once is refused here. */
const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === '23505';

/** Appends one line to the learner access log (append-only: the application role cannot change it). */
export async function recordLearnerAccess(
  db: Db,
  learner: { readonly learnerId: string; readonly schoolId: string },
  action: LearnerAccessAction,
  by: LearnerAccessBy,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await db
    .insertInto('learner_access_log')
    .values({
      at: new Date().toISOString(),
      learner_id: learner.learnerId,
      school_id: learner.schoolId,
      action,
      actor_id: by.actorId,
      actor_role: by.actorRole,
      request_id: by.requestId,
      detail: JSON.stringify(detail),
    })
    .execute();
}

export interface LearnerAccessQuery {
  readonly learnerId?: string;
  readonly from?: string;
  readonly to?: string;
  /** Entries after this sequence number (the previous page's cursor). */
  readonly after?: string;
  readonly limit: number;
}

/** A page of the access log, oldest first; `next` is the cursor of the following page, null at the end. */
export async function listLearnerAccess(db: Db, q: LearnerAccessQuery): Promise<{ items: LearnerAccessEntry[]; next: string | null }> {
  let query = db.selectFrom('learner_access_log').selectAll();
  if (q.learnerId !== undefined) query = query.where('learner_id', '=', q.learnerId);
  if (q.from !== undefined) query = query.where('at', '>=', sql<Date>`${q.from}::timestamptz`);
  if (q.to !== undefined) query = query.where('at', '<', sql<Date>`${q.to}::timestamptz`);
  if (q.after !== undefined) query = query.where('seq', '>', q.after);
  const rows = await query.orderBy('seq').limit(q.limit + 1).execute();
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((r) => ({
      seq: String(r.seq),
      at: r.at.toISOString(),
      learnerId: r.learner_id,
      schoolId: r.school_id,
      action: r.action as LearnerAccessAction,
      actorId: r.actor_id,
      actorRole: r.actor_role,
      requestId: r.request_id,
      detail: r.detail,
    })),
    next: rows.length > q.limit ? String(page[page.length - 1]!.seq) : null,
  };
}

const toLearner = (r: { learner_id: string; school_id: string; learner_ref: string; registered_at: Date }): RegisteredLearner => ({
  learnerId: r.learner_id,
  schoolId: r.school_id,
  learnerRef: r.learner_ref,
  registeredAt: r.registered_at.toISOString(),
});

/** The learner a school currently knows under this reference; null for a reference the school does not use now. */
export async function findLearner(db: Db, schoolId: string, learnerRef: string): Promise<RegisteredLearner | null> {
  const row = await db.selectFrom('learners').selectAll().where('school_id', '=', schoolId).where('learner_ref', '=', learnerRef).executeTakeFirst();
  return row ? toLearner(row) : null;
}

/** The learner a school named by this reference at any time (its current one or one since transferred away). */
export async function findLearnerByPastRef(db: Db, schoolId: string, learnerRef: string): Promise<RegisteredLearner | null> {
  const row = await db
    .selectFrom('learner_refs')
    .innerJoin('learners', 'learners.learner_id', 'learner_refs.learner_id')
    .select(['learners.learner_id', 'learners.school_id', 'learners.learner_ref', 'learners.registered_at'])
    .where('learner_refs.school_id', '=', schoolId)
    .where('learner_refs.learner_ref', '=', learnerRef)
    .executeTakeFirst();
  return row ? toLearner(row) : null;
}

/**
 * Registers a learner at a school under the school's reference; registering a reference the school uses now
 * answers that learner again (created: false). A reference the school used for a learner since transferred
 * away is refused: the school's old plans name that learner by it.
 */
export async function registerLearner(db: Kysely<Database>, schoolId: string, learnerRef: string, by: LearnerAccessBy): Promise<{ learner: RegisteredLearner; created: boolean }> {
  try {
    return await registerIn(db, schoolId, learnerRef, by);
  } catch (err) {
    if (isUniqueViolation(err)) throw new LearnerRefRetiredError(`the reference ${learnerRef} was given to another learner meanwhile`);
    throw err;
  }
}

function registerIn(db: Kysely<Database>, schoolId: string, learnerRef: string, by: LearnerAccessBy): Promise<{ learner: RegisteredLearner; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    await lockRef(trx, schoolId, learnerRef);
    const past = await findLearnerByPastRef(trx, schoolId, learnerRef);
    if (past) {
      if (past.schoolId === schoolId && past.learnerRef === learnerRef) return { learner: past, created: false };
      throw new LearnerRefRetiredError(`the reference ${learnerRef} named a learner who has since moved to another school`);
    }
    const now = new Date().toISOString();
    const inserted = await trx
      .insertInto('learners')
      .values({ learner_id: randomUUID(), school_id: schoolId, learner_ref: learnerRef, registered_at: now, registered_by: by.actorId })
      .onConflict((oc) => oc.columns(['school_id', 'learner_ref']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      // Registered at the same moment by another request: that registration is this one's answer.
      const other = await findLearner(trx, schoolId, learnerRef);
      if (!other) throw new LearnerRefRetiredError(`the reference ${learnerRef} was given to another learner meanwhile`);
      return { learner: other, created: false };
    }
    await trx.insertInto('learner_refs').values({ school_id: schoolId, learner_ref: learnerRef, learner_id: inserted.learner_id, assigned_at: now }).execute();
    const learner = toLearner(inserted);
    await recordLearnerAccess(trx, learner, 'register', by, { learnerRef });
    return { learner, created: true };
  });
}

/**
 * Moves a learner to another school under a reference of that school. The learner keeps its id and identity;
 * the old reference stays the old school's name for it (its plans name it) but no longer reaches it.
 */
export async function transferLearner(
  db: Kysely<Database>,
  learnerId: string,
  to: { readonly schoolId: string; readonly learnerRef: string },
  by: LearnerAccessBy,
): Promise<RegisteredLearner> {
  try {
    return await transferIn(db, learnerId, to, by);
  } catch (err) {
    if (isUniqueViolation(err)) throw new LearnerRefTakenError(`the school ${to.schoolId} gave the reference ${to.learnerRef} to another learner meanwhile`);
    throw err;
  }
}

function transferIn(
  db: Kysely<Database>,
  learnerId: string,
  to: { readonly schoolId: string; readonly learnerRef: string },
  by: LearnerAccessBy,
): Promise<RegisteredLearner> {
  return db.transaction().execute(async (trx) => {
    await lockRef(trx, to.schoolId, to.learnerRef);
    const row = await trx.selectFrom('learners').selectAll().where('learner_id', '=', learnerId).forUpdate().executeTakeFirstOrThrow();
    if (row.school_id === to.schoolId && row.learner_ref === to.learnerRef) return toLearner(row);
    const now = new Date().toISOString();
    const taken = await trx
      .insertInto('learner_refs')
      .values({ school_id: to.schoolId, learner_ref: to.learnerRef, learner_id: learnerId, assigned_at: now })
      .onConflict((oc) => oc.columns(['school_id', 'learner_ref']).doNothing())
      .returning('learner_id')
      .executeTakeFirst();
    if (!taken) {
      const holder = await trx.selectFrom('learner_refs').select('learner_id').where('school_id', '=', to.schoolId).where('learner_ref', '=', to.learnerRef).executeTakeFirstOrThrow();
      if (holder.learner_id !== learnerId) throw new LearnerRefTakenError(`the school ${to.schoolId} uses the reference ${to.learnerRef} for another learner`);
    }
    const moved = await trx
      .updateTable('learners')
      .set({ school_id: to.schoolId, learner_ref: to.learnerRef })
      .where('learner_id', '=', learnerId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordLearnerAccess(trx, { learnerId, schoolId: row.school_id }, 'transfer', by, {
      fromSchoolId: row.school_id,
      fromLearnerRef: row.learner_ref,
      toSchoolId: to.schoolId,
      toLearnerRef: to.learnerRef,
    });
    return toLearner(moved);
  });
}

export class IdentityStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kek: Buffer,
  ) {}

  /** Records (or replaces) a registered learner's identity, and logs the change. Refused once the learner was erased. */
  async put(learner: { readonly learnerId: string; readonly schoolId: string }, identity: LearnerIdentity, by: LearnerAccessBy): Promise<void> {
    const { learnerId } = learner;
    await this.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      let row = await trx.selectFrom('learner_keys').selectAll().where('learner_id', '=', learnerId).forUpdate().executeTakeFirst();
      if (row?.erased_at) throw new LearnerErasedError('the learner was erased; a new identity needs a new learner');
      if (!row) {
        const dek = randomBytes(32);
        await trx
          .insertInto('learner_keys')
          .values({ learner_id: learnerId, wrapped_key: seal(this.kek, dek, `kek:${learnerId}`), aad_ref: null, created_at: now, erased_at: null, erased_by: null })
          .onConflict((oc) => oc.column('learner_id').doNothing())
          .execute();
        row = await trx.selectFrom('learner_keys').selectAll().where('learner_id', '=', learnerId).forUpdate().executeTakeFirstOrThrow();
      }
      const dek = open(this.kek, row.wrapped_key!, `kek:${row.aad_ref ?? learnerId}`);
      if (row.aad_ref !== null) {
        await trx.updateTable('learner_keys').set({ wrapped_key: seal(this.kek, dek, `kek:${learnerId}`), aad_ref: null }).where('learner_id', '=', learnerId).execute();
      }
      const ciphertext = seal(dek, Buffer.from(JSON.stringify(identity)), `identity:${learnerId}`);
      await trx
        .insertInto('learner_identities')
        .values({ learner_id: learnerId, ciphertext, updated_at: now, updated_by: by.actorId })
        .onConflict((oc) => oc.column('learner_id').doUpdateSet({ ciphertext, updated_at: now, updated_by: by.actorId }))
        .execute();
      await recordLearnerAccess(trx, learner, 'identity.write', by);
    });
  }

  /** The learner's identity, or that it was erased; null when none was recorded. Callers log the read first. */
  async get(learnerId: string): Promise<IdentityRecord | null> {
    const row = await this.db
      .selectFrom('learner_keys')
      .leftJoin('learner_identities', 'learner_identities.learner_id', 'learner_keys.learner_id')
      .select(['learner_keys.wrapped_key', 'learner_keys.aad_ref', 'learner_keys.erased_at', 'learner_identities.ciphertext', 'learner_identities.updated_at'])
      .where('learner_keys.learner_id', '=', learnerId)
      .executeTakeFirst();
    if (!row) return null;
    if (row.erased_at) return { learnerId, erased: true, erasedAt: row.erased_at.toISOString() };
    if (!row.ciphertext || !row.wrapped_key || !row.updated_at) return null;
    const bound = row.aad_ref ?? learnerId;
    const dek = open(this.kek, row.wrapped_key, `kek:${bound}`);
    const identity = JSON.parse(open(dek, row.ciphertext, `identity:${bound}`).toString('utf8')) as LearnerIdentity;
    return { learnerId, erased: false, updatedAt: row.updated_at.toISOString(), ...identity };
  }

  /** Destroys the learner's key and record, and logs the erasure with its reason. Idempotent: erasing twice answers the first erasure. */
  async erase(learner: { readonly learnerId: string; readonly schoolId: string }, reason: string, by: LearnerAccessBy): Promise<{ erasedAt: string }> {
    const { learnerId } = learner;
    return this.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      await trx
        .insertInto('learner_keys')
        .values({ learner_id: learnerId, wrapped_key: null, aad_ref: null, created_at: now, erased_at: null, erased_by: null })
        .onConflict((oc) => oc.column('learner_id').doNothing())
        .execute();
      const row = await trx.selectFrom('learner_keys').select(['erased_at']).where('learner_id', '=', learnerId).forUpdate().executeTakeFirstOrThrow();
      await trx.deleteFrom('learner_identities').where('learner_id', '=', learnerId).execute();
      if (row.erased_at) return { erasedAt: row.erased_at.toISOString() };
      await trx.updateTable('learner_keys').set({ wrapped_key: null, erased_at: now, erased_by: by.actorId }).where('learner_id', '=', learnerId).execute();
      await recordLearnerAccess(trx, learner, 'erasure', by, { reason });
      return { erasedAt: now };
    });
  }
}

/** The key erasedLearners answers with: a school's reference for a learner. */
export const learnerRefKey = (schoolId: string, learnerRef: string): string => `${schoolId}\u0000${learnerRef}`;

/** Which of these plans' learners were erased (for plan views), by learnerRefKey of the plan's school and reference. */
export async function erasedLearners(
  db: Kysely<Database>,
  plans: readonly { readonly school_id: string; readonly learner_ref: string }[],
): Promise<Set<string>> {
  if (plans.length === 0) return new Set();
  const rows = await db
    .selectFrom('learner_refs')
    .innerJoin('learner_keys', 'learner_keys.learner_id', 'learner_refs.learner_id')
    .select(['learner_refs.school_id', 'learner_refs.learner_ref'])
    .where('learner_keys.erased_at', 'is not', null)
    .where((eb) => eb.or(plans.map((p) => eb.and([eb('learner_refs.school_id', '=', p.school_id), eb('learner_refs.learner_ref', '=', p.learner_ref)]))))
    .execute();
  return new Set(rows.map((r) => learnerRefKey(r.school_id, r.learner_ref)));
}
