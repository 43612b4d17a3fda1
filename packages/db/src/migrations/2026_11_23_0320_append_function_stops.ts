// iap_append_events stops at the first event id it finds recorded: nothing written when it is the first
// (a retry, told apart by the caller), an error (IAP01, the whole statement undone) when it is a later one,
// instead of linking later events to a link that was never stored.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function iap_append_events(
      p_stream text, p_expected int, p_event_ids text[], p_types text[], p_schema_versions int[],
      p_data jsonb[], p_metadata jsonb[], p_occurred timestamptz[], p_recorded timestamptz, p_bodies text[]
    ) returns table (out_global_position bigint, out_transaction_id xid8, out_stream_version int, out_prev_hash text, out_hash text)
    language plpgsql as $fn$
    declare
      prev text;
      link text;
      written int;
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
        get diagnostics written = row_count;
        if written = 0 then
          if i = 1 then
            return;
          end if;
          raise exception 'iap: event % of % is recorded already, the ones before it are not', p_event_ids[i], p_stream using errcode = 'IAP01';
        end if;
        prev := link;
      end loop;
    end
    $fn$`.execute(db);
}

export async function down(): Promise<void> {
  // The earlier body (0300) links past a skipped event; there is no reason to go back to it.
}
