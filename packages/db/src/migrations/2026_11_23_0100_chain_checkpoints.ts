// Signed checkpoints of the event log's chain heads, so that deleting a stream's newest events (which
// leaves the rest of its chain intact) is still detected. Only `iap_auditor` may write them; the
// application role may read them but, like the events, never change them.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'iap_auditor') then
        create role iap_auditor nologin;
      end if;
    end $$`.execute(db);

  await db.schema
    .createTable('chain_checkpoints')
    .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('taken_at', 'timestamptz', (c) => c.notNull())
    .addColumn('global_position', 'bigint', (c) => c.notNull())
    .addColumn('stream_count', 'integer', (c) => c.notNull())
    .addColumn('event_count', 'bigint', (c) => c.notNull())
    /** [{ streamId, version, hash, planId, schoolId }] sorted by streamId. */
    .addColumn('heads', 'jsonb', (c) => c.notNull())
    /** sha256 of the canonical JSON of `heads`: what the signature covers, with the fields above. */
    .addColumn('heads_digest', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('chain_checkpoints_taken_at_idx').on('chain_checkpoints').column('taken_at').execute();

  // The default privileges of 0004 gave the app role full rights on every new table: take them back, so
  // a compromised API or worker cannot forge or remove a checkpoint. Privileges, not only the trigger.
  await sql`revoke insert, update, delete, truncate on chain_checkpoints from iap_app`.execute(db);
  await sql`grant select on chain_checkpoints to iap_app`.execute(db);
  await sql`grant usage on schema public to iap_auditor`.execute(db);
  await sql`grant select, insert on chain_checkpoints to iap_auditor`.execute(db);
  await sql`grant select on events, plans, claims to iap_auditor`.execute(db);

  await sql`
    create function chain_checkpoints_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'chain checkpoints are append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger chain_checkpoints_no_update_delete before update or delete on chain_checkpoints
    for each row execute function chain_checkpoints_append_only()`.execute(db);
  await sql`
    create trigger chain_checkpoints_no_truncate before truncate on chain_checkpoints
    for each statement execute function chain_checkpoints_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('chain_checkpoints').execute();
  await sql`drop function if exists chain_checkpoints_append_only()`.execute(db);
  await sql`revoke all on events, plans, claims from iap_auditor`.execute(db);
  await sql`revoke usage on schema public from iap_auditor`.execute(db);
}
