// A plan's events and its inline projection row in one call (one statement, its own transaction): the
// append of iap_append_events, then the plan row the caller folded (the workflow's state after the same
// decider's evolve) written at the new version. Used on the command path; anything unusual (a retry, a
// stream or row not at the expected version, a partial batch) makes it write nothing and tell the caller,
// who then takes the general path (a transaction that reads, folds and writes).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function iap_append_plan_events(
      p_stream text, p_expected int, p_event_ids text[], p_types text[], p_schema_versions int[],
      p_data jsonb[], p_metadata jsonb[], p_occurred timestamptz[], p_recorded timestamptz, p_bodies text[],
      p_learner_ref text, p_school_id text, p_municipality_id text, p_partner_type text, p_partner_id text,
      p_semester text, p_status text, p_state jsonb
    ) returns table (out_global_position bigint, out_transaction_id xid8, out_stream_version int, out_prev_hash text, out_hash text)
    language plpgsql as $fn$
    declare
      r record;
      n int := 0;
      last_position bigint;
      batch int := cardinality(p_event_ids);
    begin
      for r in select * from iap_append_events(p_stream, p_expected, p_event_ids, p_types, p_schema_versions, p_data, p_metadata, p_occurred, p_recorded, p_bodies) loop
        out_global_position := r.out_global_position;
        out_transaction_id := r.out_transaction_id;
        out_stream_version := r.out_stream_version;
        out_prev_hash := r.out_prev_hash;
        out_hash := r.out_hash;
        last_position := greatest(last_position, r.out_global_position);
        n := n + 1;
        return next;
      end loop;
      if n = 0 then
        return; -- nothing written: a retry, or a stream not at the expected version
      end if;
      if n <> batch then
        raise exception 'iap: % of % events of % were already recorded', batch - n, batch, p_stream using errcode = 'IAP01';
      end if;
      if p_expected = 0 then
        insert into plans (plan_id, created_at, learner_ref, school_id, municipality_id, partner_type, partner_id, semester, status, version, state, updated_at, last_global_position)
        values (p_stream, p_occurred[1], p_learner_ref, p_school_id, p_municipality_id, p_partner_type, p_partner_id, p_semester, p_status, batch, p_state, p_occurred[batch], last_position);
      else
        update plans set learner_ref = p_learner_ref, school_id = p_school_id, municipality_id = p_municipality_id, partner_type = p_partner_type,
            partner_id = p_partner_id, semester = p_semester, status = p_status, version = p_expected + batch, state = p_state,
            updated_at = p_occurred[batch], last_global_position = last_position
          where plan_id = p_stream and version = p_expected;
        if not found then
          raise exception 'iap: the plan row of % is not at version %', p_stream, p_expected using errcode = 'IAP02';
        end if;
      end if;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function iap_append_plan_events`.execute(db);
}
