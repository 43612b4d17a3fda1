// The learner register's migration on a database that has identities and plans from before it: each
// identity whose reference appears in the plans of exactly one school becomes that school's learner, still
// readable (sealed under its old reference until the next write re-seals it under the learner id); every
// (school, reference) pair of the plans is registered; an identity no single school owns is dropped.
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseFromTemplate, dropDatabase } from './admin.js';
import { createDb } from './connect.js';
import { findLearner, IdentityStore } from './identity.js';
import { migrations } from './migrate.js';
import type { Database } from './schema.js';

const admin = process.env.IAP_TEST_PG_ADMIN_URL!;
const name = `t_lreg_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const kek = Buffer.alloc(32, 9);
let db: Kysely<any>;

function seal(key: Buffer, plain: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

const identity = (givenName: string) => ({ givenName, familyName: 'Ozola', personalCode: '010110-12345', birthDate: '2010-01-01' });

async function oldIdentity(ref: string, givenName: string): Promise<void> {
  const dek = randomBytes(32);
  const now = new Date().toISOString();
  await db.insertInto('learner_keys').values({ learner_ref: ref, wrapped_key: seal(kek, dek, `kek:${ref}`), created_at: now, erased_at: null, erased_by: null }).execute();
  const ciphertext = seal(dek, Buffer.from(JSON.stringify(identity(givenName))), `identity:${ref}`);
  await db.insertInto('learner_identities').values({ learner_ref: ref, ciphertext, updated_at: now, updated_by: 'someone' }).execute();
}

async function plan(school: string, ref: string): Promise<void> {
  const now = new Date().toISOString();
  await db
    .insertInto('plans')
    .values({
      plan_id: randomUUID(), learner_ref: ref, school_id: school, municipality_id: 'm', partner_type: 'municipality', partner_id: 'm',
      semester: '2026/27-1', status: 'draft', version: 1, state: '{}', created_at: now, updated_at: now, last_global_position: 1,
    })
    .execute();
}

beforeAll(async () => {
  db = createDb({ connectionString: await createDatabaseFromTemplate(admin, name, 'template0'), max: 2 }) as Kysely<any>;
});
afterAll(async () => {
  await db?.destroy();
  await dropDatabase(admin, name);
});

describe('the learner register migration', () => {
  it('gives each identity to the one school whose plans name it, and keeps it readable', async () => {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const before = await migrator.migrateTo('2026_11_23_0320_append_function_stops');
    expect(before.error).toBeUndefined();
    await oldIdentity('L-owned', 'Anna');
    await oldIdentity('L-shared', 'Berta');
    await oldIdentity('L-orphan', 'Cilda');
    await plan('school-a', 'L-owned');
    await plan('school-a', 'L-owned');
    await plan('school-a', 'L-shared');
    await plan('school-b', 'L-shared');
    await plan('school-b', 'L-plain');

    const after = await migrator.migrateToLatest();
    expect(after.error).toBeUndefined();
    const typed = db as Kysely<Database>;
    const registered = await typed.selectFrom('learners').select(['school_id', 'learner_ref']).orderBy('school_id').orderBy('learner_ref').execute();
    expect(registered).toEqual([
      { school_id: 'school-a', learner_ref: 'L-owned' },
      { school_id: 'school-a', learner_ref: 'L-shared' },
      { school_id: 'school-b', learner_ref: 'L-plain' },
      { school_id: 'school-b', learner_ref: 'L-shared' },
    ]);
    const store = new IdentityStore(typed, kek);
    const owned = (await findLearner(typed, 'school-a', 'L-owned'))!;
    expect(await store.get(owned.learnerId)).toMatchObject({ erased: false, ...identity('Anna') });
    // Neither school of a shared reference gets the identity, and one no plan names is gone.
    for (const [school, ref] of [['school-a', 'L-shared'], ['school-b', 'L-shared'], ['school-b', 'L-plain']] as const) {
      expect(await store.get((await findLearner(typed, school, ref))!.learnerId), `${school} ${ref}`).toBeNull();
    }
    const { rows } = await sql<{ n: string }>`select count(*) as n from learner_identities`.execute(db);
    expect(Number(rows[0]!.n)).toBe(1);

    // The next write re-seals the record under the learner id.
    const by = { actorId: 'preparer', actorRole: 'preparer', requestId: 'r1' };
    await store.put(owned, identity('Anna Marija'), by);
    expect(await typed.selectFrom('learner_keys').select('aad_ref').where('learner_id', '=', owned.learnerId).executeTakeFirstOrThrow()).toEqual({ aad_ref: null });
    expect(await store.get(owned.learnerId)).toMatchObject({ givenName: 'Anna Marija' });
  });
});
