// The inline plan projection: what the API reads for read-your-writes.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('plans')
    .addColumn('plan_id', 'text', (c) => c.primaryKey())
    .addColumn('learner_ref', 'text', (c) => c.notNull())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('municipality_id', 'text', (c) => c.notNull())
    .addColumn('partner_type', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('semester', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_global_position', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('plans_school_semester_idx').on('plans').columns(['school_id', 'semester', 'status']).execute();
  await db.schema.createIndex('plans_municipality_semester_idx').on('plans').columns(['municipality_id', 'semester']).execute();
  await db.schema.createIndex('plans_learner_idx').on('plans').column('learner_ref').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('plans').execute();
}
