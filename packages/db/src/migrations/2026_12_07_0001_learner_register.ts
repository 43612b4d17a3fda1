// The learner register: a learner belongs to the school that registered it, under a server-chosen
// pseudonymous id and a reference local to that school. Identities and their keys are keyed by that id, and
// every identity read, registration, change, transfer and erasure goes to an append-only access log.
//
// Existing rows move over best effort (pre-release): every (school, learner ref) pair that plans name is
// registered to that school; an identity whose ref appears in the plans of exactly one school belongs to that
// school's learner, keeping its ciphertext (sealed under the old ref, so its AAD ref is kept until the next
// write re-seals it). An identity whose ref names no plan, or plans of several schools, has no owner to give it
// to and is dropped.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('learners')
    .addColumn('learner_id', 'uuid', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('learner_ref', 'text', (c) => c.notNull())
    .addColumn('registered_at', 'timestamptz', (c) => c.notNull())
    .addColumn('registered_by', 'text', (c) => c.notNull())
    .addUniqueConstraint('learners_school_ref', ['school_id', 'learner_ref'])
    .execute();
  // Every reference a learner has had at a school, the current one included. A reference once used by a
  // school keeps naming that learner there (its old plans name it), so it is never given to another learner.
  await db.schema
    .createTable('learner_refs')
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('learner_ref', 'text', (c) => c.notNull())
    .addColumn('learner_id', 'uuid', (c) => c.notNull().references('learners.learner_id'))
    .addColumn('assigned_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('learner_refs_pk', ['school_id', 'learner_ref'])
    .execute();
  await db.schema.createIndex('learner_refs_learner').on('learner_refs').column('learner_id').execute();

  await sql`alter table learner_identities rename to learner_identities_v1`.execute(db);
  await sql`alter table learner_keys rename to learner_keys_v1`.execute(db);
  await db.schema
    .createTable('learner_keys')
    .addColumn('learner_id', 'uuid', (c) => c.primaryKey().references('learners.learner_id'))
    // The learner's data key, wrapped (AES-256-GCM) with the deployment's key-encryption key; null once erased.
    .addColumn('wrapped_key', 'bytea')
    // What the sealed key and identity are bound to (AAD) when it is not the learner id: rows sealed before
    // the register existed, bound to their learner ref until their next write.
    .addColumn('aad_ref', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('erased_at', 'timestamptz')
    .addColumn('erased_by', 'text')
    .execute();
  await db.schema
    .createTable('learner_identities')
    .addColumn('learner_id', 'uuid', (c) => c.primaryKey().references('learner_keys.learner_id'))
    .addColumn('ciphertext', 'bytea', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();

  await sql`
    insert into learners (learner_id, school_id, learner_ref, registered_at, registered_by)
    select gen_random_uuid(), school_id, learner_ref, min(created_at), 'migration'
    from plans group by school_id, learner_ref`.execute(db);
  await sql`
    insert into learner_refs (school_id, learner_ref, learner_id, assigned_at)
    select school_id, learner_ref, learner_id, registered_at from learners`.execute(db);
  await sql`
    with owned as (
      select learner_ref, min(learner_id::text)::uuid as learner_id from learners
      group by learner_ref having count(*) = 1
    )
    insert into learner_keys (learner_id, wrapped_key, aad_ref, created_at, erased_at, erased_by)
    select o.learner_id, k.wrapped_key, k.learner_ref, k.created_at, k.erased_at, k.erased_by
    from learner_keys_v1 k join owned o using (learner_ref)`.execute(db);
  await sql`
    insert into learner_identities (learner_id, ciphertext, updated_at, updated_by)
    select k.learner_id, i.ciphertext, i.updated_at, i.updated_by
    from learner_identities_v1 i join learner_keys k on k.aad_ref = i.learner_ref
    where k.erased_at is null`.execute(db);
  await db.schema.dropTable('learner_identities_v1').execute();
  await db.schema.dropTable('learner_keys_v1').execute();

  // Who reached which learner, when, under which request. The application may add to it and read it, never
  // change or remove a line: privileges and a trigger, as for the event log.
  await db.schema
    .createTable('learner_access_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('learner_id', 'uuid', (c) => c.notNull())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('actor_role', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('learner_access_log_learner').on('learner_access_log').columns(['learner_id', 'seq']).execute();
  await db.schema.createIndex('learner_access_log_at').on('learner_access_log').columns(['at', 'seq']).execute();
  await sql`
    create function learner_access_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'the learner access log is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger learner_access_log_no_update_delete before update or delete on learner_access_log
    for each row execute function learner_access_log_append_only()`.execute(db);
  await sql`
    create trigger learner_access_log_no_truncate before truncate on learner_access_log
    for each statement execute function learner_access_log_append_only()`.execute(db);
  await sql`grant select, insert on learner_access_log to iap_app`.execute(db);
  await sql`revoke update, delete, truncate on learner_access_log from iap_app`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('learner_access_log').execute();
  await sql`drop function if exists learner_access_log_append_only()`.execute(db);
  await db.schema.dropTable('learner_identities').execute();
  await db.schema.dropTable('learner_keys').execute();
  await db.schema
    .createTable('learner_keys')
    .addColumn('learner_ref', 'text', (c) => c.primaryKey())
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
  await db.schema.dropTable('learner_refs').execute();
  await db.schema.dropTable('learners').execute();
}
