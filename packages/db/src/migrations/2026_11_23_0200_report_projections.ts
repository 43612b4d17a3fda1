// The report read models, fed asynchronously from the event log in commit order, and the projector's
// checkpoint. Filter columns (semester, school, municipality, partner) are copied into every table so the
// programme's reports group one table at a time. Never import app code here.
import { sql, type Kysely } from 'kysely';

/** Columns every report table carries, so a report filters and scopes without a join. */
function scoped<T extends { addColumn: (...a: any[]) => T }>(t: T): T {
  return t
    .addColumn('learner_ref', 'text', (c: any) => c.notNull())
    .addColumn('school_id', 'text', (c: any) => c.notNull())
    .addColumn('municipality_id', 'text', (c: any) => c.notNull())
    .addColumn('partner_id', 'text', (c: any) => c.notNull())
    .addColumn('partner_type', 'text', (c: any) => c.notNull())
    .addColumn('semester', 'text', (c: any) => c.notNull())
    .addColumn('school_year', 'text', (c: any) => c.notNull())
    // False for plans that never went ahead (deleted, consent refused or expired): the programme's
    // counts leave them out, the plan-flow report does not.
    .addColumn('counted', 'boolean', (c: any) => c.notNull());
}

export async function up(db: Kysely<any>): Promise<void> {
  await scoped(db.schema.createTable('rpt_plans').addColumn('plan_id', 'text', (c) => c.primaryKey()))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('risk_types', sql`text[]`, (c) => c.notNull())
    .addColumn('drafted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('approved_at', 'timestamptz')
    .addColumn('evaluation_overdue', 'boolean', (c) => c.notNull())
    .addColumn('evaluated_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('last_global_position', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rpt_plans_semester_school_id_idx').on('rpt_plans').columns(['semester', 'school_id']).execute();
  await db.schema.createIndex('rpt_plans_school_year_idx').on('rpt_plans').columns(['school_year', 'semester']).execute();
  await db.schema.createIndex('rpt_plans_municipality_id_idx').on('rpt_plans').columns(['municipality_id', 'semester']).execute();
  await db.schema.createIndex('rpt_plans_partner_id_idx').on('rpt_plans').columns(['partner_id', 'semester']).execute();

  // The projector's memory of each plan: the folded state it continues from. Kept apart from rpt_plans so
  // report scans stay narrow.
  await db.schema
    .createTable('rpt_plan_states')
    .addColumn('plan_id', 'text', (c) => c.primaryKey())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('last_global_position', 'bigint', (c) => c.notNull())
    .execute();

  await scoped(
    db.schema
      .createTable('rpt_plan_risks')
      .addColumn('plan_id', 'text', (c) => c.notNull())
      .addColumn('risk_id', 'text', (c) => c.notNull()),
  )
    .addColumn('risk_type', 'text', (c) => c.notNull())
    .addColumn('change', 'text')
    .addPrimaryKeyConstraint('rpt_plan_risks_pkey', ['plan_id', 'risk_id'])
    .execute();
  await db.schema.createIndex('rpt_plan_risks_semester_idx').on('rpt_plan_risks').columns(['semester', 'school_id']).execute();

  await scoped(
    db.schema
      .createTable('rpt_measures')
      .addColumn('plan_id', 'text', (c) => c.notNull())
      .addColumn('measure_id', 'text', (c) => c.notNull()),
  )
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('in_plan', 'boolean', (c) => c.notNull())
    .addColumn('risk_types', sql`text[]`, (c) => c.notNull())
    .addColumn('provider_type', 'text')
    .addColumn('subject', 'text')
    .addColumn('compensation_type', 'text')
    .addColumn('planned_minutes', 'integer', (c) => c.notNull())
    .addColumn('delivered_minutes', 'integer', (c) => c.notNull())
    .addColumn('unconfirmed_minutes', 'integer', (c) => c.notNull())
    .addColumn('consultations', 'integer', (c) => c.notNull())
    .addColumn('confirmed_consultations', 'integer', (c) => c.notNull())
    .addColumn('planned_cents', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rpt_measures_pkey', ['plan_id', 'measure_id'])
    .execute();
  await db.schema.createIndex('rpt_measures_semester_idx').on('rpt_measures').columns(['semester', 'school_id']).execute();

  await scoped(
    db.schema
      .createTable('rpt_claims')
      .addColumn('stream_id', 'text', (c) => c.primaryKey())
      .addColumn('plan_id', 'text', (c) => c.notNull())
      .addColumn('claim_id', 'text', (c) => c.notNull()),
  )
    .addColumn('compensation_type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('amount_cents', 'bigint', (c) => c.notNull())
    .addColumn('approved_cents', 'bigint')
    .addColumn('paid_cents', 'bigint')
    .addColumn('paid_on', 'date')
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rpt_claims_semester_idx').on('rpt_claims').columns(['semester', 'school_id']).execute();
  await db.schema.createIndex('rpt_claims_plan_id_idx').on('rpt_claims').column('plan_id').execute();

  // A claim's events name its plan but not its school or semester: its rpt_claims row is derived from
  // this folded state and the plan's row, whichever of the two changes.
  await db.schema
    .createTable('rpt_claim_states')
    .addColumn('stream_id', 'text', (c) => c.primaryKey())
    .addColumn('plan_id', 'text', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('last_global_position', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rpt_claim_states_plan_id_idx').on('rpt_claim_states').column('plan_id').execute();

  // Where each async projector stands in commit order: every event at or before (transaction_id,
  // global_position) is applied, none after.
  await db.schema
    .createTable('projector_checkpoints')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('transaction_id', sql`xid8`, (c) => c.notNull().defaultTo(sql`'0'::xid8`))
    .addColumn('global_position', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('events_applied', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`insert into projector_checkpoints (name) values ('reports')`.execute(db);

  // The worker projects as iap_app; the API reads the reports as iap_app.
  await sql`
    do $$ begin
      if exists (select 1 from pg_roles where rolname = 'iap_app') then
        grant select, insert, update, delete
          on rpt_plans, rpt_plan_states, rpt_plan_risks, rpt_measures, rpt_claims, rpt_claim_states, projector_checkpoints
          to iap_app;
      end if;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['projector_checkpoints', 'rpt_claim_states', 'rpt_claims', 'rpt_measures', 'rpt_plan_risks', 'rpt_plan_states', 'rpt_plans']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
