// Learners' identities, kept apart from plan events: each record is encrypted with the learner's own
// key, and erasing a learner destroys that key (crypto-shredding), so the event log never needs rewriting.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('learner_keys')
    .addColumn('learner_ref', 'text', (c) => c.primaryKey())
    // The learner's data key, wrapped (AES-256-GCM) with the deployment's key-encryption key; null once erased.
    .addColumn('wrapped_key', 'bytea')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('erased_at', 'timestamptz')
    .addColumn('erased_by', 'text')
    .execute();
  await db.schema
    .createTable('learner_identities')
    .addColumn('learner_ref', 'text', (c) => c.primaryKey().references('learner_keys.learner_ref'))
    .addColumn('ciphertext', 'bytea', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('learner_identities').execute();
  await db.schema.dropTable('learner_keys').execute();
}
