// A budget's revision: what its clients see as its version and ETag. It moves with every change to the row —
// an allocation, and each approval and payment against it — while `version` stays the allocation stream's
// position, which the budget workflow checks a change of allocation against.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('budgets').addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await sql`update budgets set revision = version`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('budgets').dropColumn('revision').execute();
}
