// The inline plan projection: folds a plan's new events into its row with the same decider `evolve`
// the workflow uses, in the transaction that appended them (read-your-writes for the API).

import { evolve, initialState, upcastPlanEvent, type PlanState } from '@iap/domain';
import { sql, type Kysely, type Transaction } from 'kysely';
import { insertBatch, prepareBatch, type AppendResult, type Inserted, type NewEvent, type RecordedEvent } from '../event-store.js';
import type { Database, PlanRow } from '../schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Folds recorded events into a plan: each read at its stored schema version by the domain's upcaster. */
export function foldRecorded(state: PlanState, events: readonly RecordedEvent[]): PlanState {
  let s = state;
  for (const e of events) s = evolve(s, upcastPlanEvent(e), { occurredAt: e.occurredAt, version: e.streamVersion });
  return s;
}

export async function projectPlan(trx: Db, planId: string, events: readonly RecordedEvent[]): Promise<PlanState> {
  const last = events.at(-1);
  if (!last) throw new Error('projectPlan needs at least one event');
  // A stream's first events have no row to fold onto (the append just created the stream): skip the read.
  const row =
    events[0]!.streamVersion === 1
      ? undefined
      : await trx.selectFrom('plans').select(['state', 'version']).where('plan_id', '=', planId).forUpdate().executeTakeFirst();
  const before = row ? (row.state as PlanState) : initialState();
  const fresh = events.filter((e) => e.streamVersion > before.version);
  if (fresh.length === 0) return before;
  const state = foldRecorded(before, fresh);
  if (state.status === 'none') throw new Error(`plan ${planId}: events left it without a status`);
  const cols = planColumns(state, last);
  if (row) {
    await trx.updateTable('plans').set(cols).where('plan_id', '=', planId).execute();
  } else {
    await trx.insertInto('plans').values({ plan_id: planId, created_at: fresh[0]!.occurredAt, ...cols }).execute();
  }
  return state;
}

/**
 * Appends a plan's events and writes its row in one statement (one round trip, its own transaction), the row
 * being `state`: the plan after these events, folded by the caller with the same evolve (the workflow has it
 * in hand). Null when the statement wrote nothing — a retry, a stream or row not at the expected version, a
 * partial batch —; the caller then takes appendToStream and projectPlan in a transaction, which tell those
 * cases apart. See migrations/…_0310_append_plan_function.ts.
 */
export async function appendPlanEvents(
  db: Kysely<Database>,
  planId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
  state: PlanState,
): Promise<AppendResult | null> {
  if (events.length === 0 || state.status === 'none' || state.version !== expectedVersion + events.length) return null;
  const batch = prepareBatch(planId, expectedVersion, events);
  const c = planColumns(state, { occurredAt: batch.links.at(-1)!.occurredAt, globalPosition: '0' });
  try {
    return await insertBatch(
      db,
      batch,
      sql<Inserted>`select * from iap_append_plan_events(${batch.args}, ${c.learner_ref}, ${c.school_id}, ${c.municipality_id},
        ${c.partner_type}, ${c.partner_id}, ${c.semester}, ${c.status}, ${c.state}::jsonb)`,
    );
  } catch (err) {
    // Partly recorded already, or the row is not at the expected version: nothing was written.
    const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    if (code === 'IAP01' || code === 'IAP02') return null;
    throw err;
  }
}

/** The row a folded plan is stored as (beside its id and creation time); the rebuild writes many at once. */
export function planColumns(state: Exclude<PlanState, { status: 'none' }>, last: Pick<RecordedEvent, 'occurredAt' | 'globalPosition'>) {
  return {
    learner_ref: state.learnerRef,
    school_id: state.schoolId,
    municipality_id: state.municipalityId,
    partner_type: state.partner.type,
    partner_id: state.partner.id,
    semester: state.semester,
    status: state.status,
    version: state.version,
    state: JSON.stringify(state),
    updated_at: last.occurredAt,
    last_global_position: last.globalPosition,
  };
}

export async function getPlanRow(db: Db, planId: string): Promise<PlanRow | undefined> {
  return db.selectFrom('plans').selectAll().where('plan_id', '=', planId).executeTakeFirst();
}
