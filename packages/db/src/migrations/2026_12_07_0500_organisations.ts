// The register of organisations, as the register workflow's inline projection: one row per partner,
// municipality and school, with the links the API checks tokens against (a partner's row is its own partner,
// a municipality's row its own municipality, so one equality on a column cuts any kind to a caller's view).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('organisations')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('partner_type', 'text', (c) => c.notNull())
    .addColumn('municipality_id', 'text')
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('registered_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('organisations_pkey', ['kind', 'id'])
    .addCheckConstraint('organisations_kind', sql`kind in ('partner', 'municipality', 'school')`)
    .addCheckConstraint('organisations_partner_type', sql`partner_type in ('municipality', 'state_vocational')`)
    .execute();
  await db.schema.createIndex('organisations_list_idx').on('organisations').columns(['kind', 'registered_at', 'id']).execute();
  await db.schema.createIndex('organisations_municipality_idx').on('organisations').columns(['kind', 'municipality_id']).execute();
  await db.schema.createIndex('organisations_partner_idx').on('organisations').columns(['kind', 'partner_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('organisations').execute();
}
