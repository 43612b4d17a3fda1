// The command path's append: a plan's events and its row in one statement. It must write exactly what the
// transactional path (append, then read-fold-write) writes, and write nothing at all when anything is off.
import { appendPlanEvents, checkProjections, foldRecorded, getPlanRow, readStream, verifyChain, type NewEvent, type RecordedEvent } from '@iap/db';
import { initialState, type PlanState } from '@iap/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, MUNI_A, type TestDatabase } from './stack.js';
import { syntheticPlan } from './synthetic.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

/** The plan after `events` (appended from version 1), as the workflow folds it before appending. */
function stateAfter(events: readonly NewEvent[]): PlanState {
  const as = events.map((e, i) => ({ ...e, streamId: 'x', streamVersion: i + 1, occurredAt: new Date(e.occurredAt).toISOString() }) as unknown as RecordedEvent);
  return foldRecorded(initialState(), as);
}

function plan() {
  const [stream] = syntheticPlan({
    learnerRef: 'L-fast',
    schoolId: 'school-a',
    municipalityId: MUNI_A,
    partner: { type: 'municipality', id: MUNI_A },
    semester: '2025/26-1',
    riskTypes: ['learning'],
    stage: 'implementation',
    consultations: 3,
  });
  return stream!;
}

describe('a plan append with its row in one statement', () => {
  it('writes the events and the row the transactional path would, batch after batch', async () => {
    const { streamId, events } = plan();
    const first = await appendPlanEvents(database.appDb, streamId, 0, events.slice(0, 2), stateAfter(events.slice(0, 2)));
    expect(first?.events.map((e) => e.streamVersion)).toEqual([1, 2]);
    const rest = await appendPlanEvents(database.appDb, streamId, 2, events.slice(2), stateAfter(events));
    expect(rest?.events.at(-1)?.streamVersion).toBe(events.length);

    const log = await readStream(database.db, streamId);
    expect(verifyChain(log)).toBeNull();
    const row = await getPlanRow(database.db, streamId);
    expect(row).toMatchObject({ version: events.length, status: 'in_implementation', last_global_position: log.at(-1)!.globalPosition });
    expect(row!.state).toEqual(JSON.parse(JSON.stringify(foldRecorded(initialState(), log))));
    expect((await checkProjections(database.db, { projections: ['plans'] }))[0]).toMatchObject({ ok: true });

    // A retry of the last batch writes nothing and says so; the general path then finds it recorded.
    expect(await appendPlanEvents(database.appDb, streamId, 2, events.slice(2), stateAfter(events))).toBeNull();
    expect(await readStream(database.db, streamId)).toHaveLength(events.length);
  });

  it('writes nothing when the row is not at the expected version, nor when the stream is not', async () => {
    const { streamId, events } = plan();
    await appendPlanEvents(database.appDb, streamId, 0, events.slice(0, 2), stateAfter(events.slice(0, 2)));
    await database.db.updateTable('plans').set({ version: 7 }).where('plan_id', '=', streamId).execute();
    expect(await appendPlanEvents(database.appDb, streamId, 2, events.slice(2, 3), stateAfter(events.slice(0, 3)))).toBeNull();
    expect(await readStream(database.db, streamId)).toHaveLength(2);
    // A stream behind the expected version (the row put right again): nothing either.
    await database.db.updateTable('plans').set({ version: 5 }).where('plan_id', '=', streamId).execute();
    const ahead = { ...stateAfter(events.slice(0, 3)), version: 6 } as PlanState;
    expect(await appendPlanEvents(database.appDb, streamId, 5, events.slice(2, 3), ahead)).toBeNull();
    expect(await readStream(database.db, streamId)).toHaveLength(2);
  });
});
