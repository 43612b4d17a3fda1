// The application's database role. The API and the worker act as `iap_app`, which may append events but
// never change or remove them: privileges, not only the trigger, keep the log append-only. Migrations and
// operators keep the owner's rights.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'iap_app') then
        create role iap_app nologin;
      end if;
    end $$`.execute(db);
  await sql`grant usage on schema public to iap_app`.execute(db);
  await sql`grant select, insert on events to iap_app`.execute(db);
  await sql`revoke update, delete, truncate on events from iap_app`.execute(db);
  await sql`grant select, insert, update, delete on plans, claims to iap_app`.execute(db);
  // Tables later migrations create are the app's to read and write unless they revoke it (as the
  // append-only ones must).
  await sql`alter default privileges in schema public grant select, insert, update, delete on tables to iap_app`.execute(db);
  await sql`alter default privileges in schema public grant usage, select on sequences to iap_app`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter default privileges in schema public revoke select, insert, update, delete on tables from iap_app`.execute(db);
  await sql`alter default privileges in schema public revoke usage, select on sequences from iap_app`.execute(db);
  await sql`revoke all on events, plans, claims from iap_app`.execute(db);
  await sql`revoke usage on schema public from iap_app`.execute(db);
}
