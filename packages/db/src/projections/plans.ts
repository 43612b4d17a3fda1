// The inline plan projection: folds a plan's new events into its row with the same decider `evolve`
// the workflow uses, in the transaction that appended them (read-your-writes for the API).

import { evolve, initialState, upcastPlanEvent, type PlanState } from '@iap/domain';
import type { Kysely, Transaction } from 'kysely';
import type { RecordedEvent } from '../event-store.js';
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
