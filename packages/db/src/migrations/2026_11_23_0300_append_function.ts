// The append as a database function: one call per batch, whose statements Postgres plans once per
// connection (a plain statement is parsed and planned on every call). It links each event to the one
// before it exactly as hash-chain.ts does: sha256(previous hash or the genesis hash + "\n" + body), hex,
// the body being the event's canonical JSON made by the caller.
//
// It writes nothing and returns no row when the stream is not at `p_expected`; an event id already in the
// log is skipped (a retry), so the caller compares the rows returned with the events sent.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function iap_append_events(
      p_stream text, p_expected int, p_event_ids text[], p_types text[], p_schema_versions int[],
      p_data jsonb[], p_metadata jsonb[], p_occurred timestamptz[], p_recorded timestamptz, p_bodies text[]
    ) returns table (out_global_position bigint, out_transaction_id xid8, out_stream_version int, out_prev_hash text, out_hash text)
    language plpgsql as $fn$
    declare
      prev text;
      link text;
    begin
      if p_expected > 0 then
        select e.hash into prev from events e where e.stream_id = p_stream and e.stream_version = p_expected;
        if prev is null then
          return;
        end if;
      end if;
      for i in 1 .. cardinality(p_event_ids) loop
        link := encode(sha256(convert_to(coalesce(prev, repeat('0', 64)) || E'\n', 'UTF8') || convert_to(p_bodies[i], 'UTF8')), 'hex');
        return query
          insert into events as e (stream_id, stream_version, event_id, event_type, schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)
          values (p_stream, p_expected + i, p_event_ids[i], p_types[i], p_schema_versions[i], p_data[i], p_metadata[i], p_occurred[i], p_recorded, prev, link)
          on conflict (event_id) do nothing
          returning e.global_position, e.transaction_id, e.stream_version, e.prev_hash, e.hash;
        prev := link;
      end loop;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function iap_append_events`.execute(db);
}
