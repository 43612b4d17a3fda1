// Partners' compensation budgets per semester, and list indexes for plans. The CHECKs are the last line of
// defence: however many approvals commit at once, approved never exceeds allocated and paid never
// exceeds approved.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('budgets')
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('semester', 'text', (c) => c.notNull())
    .addColumn('allocated_cents', 'bigint', (c) => c.notNull())
    .addColumn('approved_cents', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('paid_cents', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('budgets_pkey', ['partner_id', 'semester'])
    .addCheckConstraint('budgets_approved_within_allocated', sql`approved_cents <= allocated_cents`)
    .addCheckConstraint('budgets_paid_within_approved', sql`paid_cents <= approved_cents`)
    .addCheckConstraint('budgets_not_negative', sql`allocated_cents >= 0 and approved_cents >= 0 and paid_cents >= 0`)
    .execute();
  await db.schema.createIndex('plans_created_idx').on('plans').columns(['created_at', 'plan_id']).execute();
  await sql`create index plans_risk_types_idx on plans using gin ((state -> 'risks') jsonb_path_ops)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('plans_risk_types_idx').execute();
  await db.schema.dropIndex('plans_created_idx').execute();
  await db.schema.dropTable('budgets').execute();
}
