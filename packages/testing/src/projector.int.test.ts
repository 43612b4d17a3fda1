// The async report projector on a real Postgres: it follows commit order, so it never passes an event of a
// transaction that is still open (even when later ones have committed) and never waits on one that rolled
// back; a blue/green rebuild reproduces what it projected; check names a row that differs; one rebuild at a time.
import {
  appendToStream,
  checkProjections,
  projectUntilIdle,
  readCheckpoint,
  rebuildProjections,
  RebuildInProgressError,
  withRebuildLock,
  type Database,
  type ReportDatabase,
} from '@iap/db';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, MUNI_A, type TestDatabase } from './stack.js';
import { appendStreams, syntheticPlan, type SyntheticPlanSpec } from './synthetic.js';

let database: TestDatabase;
let rdb: Kysely<ReportDatabase>;
beforeAll(async () => {
  database = await createTestDatabase();
  rdb = database.db as unknown as Kysely<ReportDatabase>;
});
afterAll(async () => {
  await database?.drop();
});

const spec = (learnerRef: string, over: Partial<SyntheticPlanSpec> = {}): SyntheticPlanSpec => ({
  learnerRef,
  schoolId: 'school-a',
  municipalityId: MUNI_A,
  partner: { type: 'municipality', id: MUNI_A },
  semester: '2025/26-1',
  riskTypes: ['learning'],
  stage: 'draft',
  ...over,
});

const projectedPlans = async () => (await rdb.selectFrom('rpt_plans').select('learner_ref').orderBy('learner_ref').execute()).map((r) => r.learner_ref);

/**
 * Projects until `ok` holds. Other test files share the Postgres cluster, and a transaction open there holds
 * back the snapshot's xmin for a moment, so one pass may legitimately stop short.
 */
async function projectUntil(ok: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await projectUntilIdle(database.appDb);
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error('projection did not reach the expected state');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Opens a transaction that appends `streams` and stays open until the returned finish(commit) is called. */
async function openAppend(db: Kysely<Database>, learnerRef: string) {
  let finish!: (commit: boolean) => void;
  const decided = new Promise<boolean>((r) => (finish = r));
  let appended!: () => void;
  const ready = new Promise<void>((r) => (appended = r));
  const done = db
    .transaction()
    .execute(async (trx) => {
      for (const s of syntheticPlan(spec(learnerRef))) await appendToStream(trx, s.streamId, 0, s.events);
      appended();
      if (!(await decided)) throw new Error('rolled back on purpose');
    })
    .catch((err: unknown) => {
      if (!(err instanceof Error && err.message === 'rolled back on purpose')) throw err;
    });
  await ready;
  return { finish: async (commit: boolean) => (finish(commit), done) };
}

describe('report projector', () => {
  it('does not pass an open transaction whose events a later commit follows, and picks them up once it commits', async () => {
    await appendStreams(database.db, syntheticPlan(spec('L-before')));
    await projectUntil(async () => (await projectedPlans()).includes('L-before'));

    const open = await openAppend(database.db, 'L-late');
    await appendStreams(database.db, syntheticPlan(spec('L-after')));
    const before = await readCheckpoint(rdb);
    await projectUntilIdle(database.appDb);
    // L-after committed, but in commit order it comes after the open transaction: neither is projected.
    expect(await projectedPlans()).toEqual(['L-before']);
    expect(await readCheckpoint(rdb)).toMatchObject({ transactionId: before.transactionId, globalPosition: before.globalPosition });

    await open.finish(true);
    await projectUntil(async () => (await projectedPlans()).length === 3);
    expect(await projectedPlans()).toEqual(['L-after', 'L-before', 'L-late']);
    const { rows } = await sql<{ tx: string }>`select max(transaction_id)::text as tx from events`.execute(database.db);
    expect((await readCheckpoint(rdb)).transactionId).toBe(rows[0]!.tx);
  });

  it('moves on past a transaction that rolls back', async () => {
    const open = await openAppend(database.db, 'L-rolled-back');
    await appendStreams(database.db, syntheticPlan(spec('L-after-rollback')));
    await projectUntilIdle(database.appDb);
    expect(await projectedPlans()).not.toContain('L-after-rollback');

    await open.finish(false);
    await projectUntil(async () => (await projectedPlans()).includes('L-after-rollback'));
    expect(await projectedPlans()).not.toContain('L-rolled-back');
    const head = await database.db.selectFrom('events').select(sql<string>`max(global_position)::text`.as('g')).executeTakeFirstOrThrow();
    expect((await readCheckpoint(rdb)).globalPosition).toBe(head.g);
  });

  it('rebuilds the report tables blue/green to what the projector made, and check names a tampered row', async () => {
    const stages = ['draft', 'refused', 'in_approval', 'implementation', 'overdue', 'closed', 'deleted'] as const;
    for (let i = 0; i < 21; i++) {
      await appendStreams(
        database.db,
        syntheticPlan(spec(`L-${i}`, { stage: stages[i % stages.length]!, riskTypes: i % 2 ? ['learning', 'economic'] : ['family'], consultations: i % 4, paidClaimCents: 1_000 + i })),
      );
    }
    await projectUntil(async () => (await projectedPlans()).length === 25);
    const snapshot = async () => ({
      plans: await rdb.selectFrom('rpt_plans').selectAll().orderBy('plan_id').execute(),
      risks: await rdb.selectFrom('rpt_plan_risks').selectAll().orderBy('plan_id').orderBy('risk_id').execute(),
      measures: await rdb.selectFrom('rpt_measures').selectAll().orderBy('plan_id').orderBy('measure_id').execute(),
      claims: await rdb.selectFrom('rpt_claims').selectAll().orderBy('stream_id').execute(),
    });
    const projected = await snapshot();
    expect(projected.claims.length).toBeGreaterThan(0);

    const [check] = await checkProjections(database.db, { projections: ['reports'] });
    expect(check).toMatchObject({ projection: 'reports', ok: true, total: 0 });

    const seen: number[] = [];
    const [outcome] = await rebuildProjections(database.db, { projections: ['reports'], onProgress: (p) => seen.push(p.done) });
    expect(outcome!.events).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(outcome!.events);
    expect(await snapshot()).toEqual(projected);
    // The swapped-in tables keep the migration's index names and the app role's grants.
    const { rows: indexes } = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'rpt_plans' order by 1`.execute(database.db);
    expect(indexes.map((i) => i.indexname)).toEqual([
      'rpt_plans_municipality_id_idx', 'rpt_plans_partner_id_idx', 'rpt_plans_pkey', 'rpt_plans_school_year_idx', 'rpt_plans_semester_school_id_idx',
    ]);
    const { rows: grants } = await sql<{ ok: boolean }>`select has_table_privilege('iap_app', 'rpt_measures', 'insert, update, delete, select') as ok`.execute(database.db);
    expect(grants[0]!.ok).toBe(true);
    // The app role can still read and write the swapped-in tables.
    await projectUntilIdle(database.appDb);
    await appendStreams(database.db, syntheticPlan(spec('L-after-rebuild')));
    await projectUntil(async () => (await projectedPlans()).includes('L-after-rebuild'));

    // A counted plan that is not closed, so the tampering changes both columns whatever order the ids fall in.
    const victim = projected.plans.find((p) => p.counted && p.status !== 'closed')!.plan_id;
    await rdb.updateTable('rpt_plans').set({ status: 'closed', counted: false }).where('plan_id', '=', victim).execute();
    const [bad] = await checkProjections(database.db, { projections: ['reports'] });
    expect(bad!.ok).toBe(false);
    expect(bad!.differences).toEqual([
      expect.objectContaining({ table: 'rpt_plans', key: { plan_id: victim }, kind: 'different', columns: expect.arrayContaining([expect.objectContaining({ column: 'status' }), expect.objectContaining({ column: 'counted' })]) }),
    ]);
    await rebuildProjections(database.db, { projections: ['reports'] });
    expect((await checkProjections(database.db, { projections: ['reports'] }))[0]!.ok).toBe(true);
  });

  it('rebuilds the plans and claims tables from the log alone, and catches up a stream committed after the build began reading', async () => {
    const learners = ['I-1', 'I-2', 'I-3'];
    for (const l of learners) await appendStreams(database.db, syntheticPlan(spec(l, { stage: 'closed', riskTypes: ['economic'], paidClaimCents: 2_500 })));
    // The live tables hold nothing of these streams (they were written to the log only): the rebuild alone fills them.
    const inlineRows = async () => ({
      plans: await database.db.selectFrom('plans').select(['learner_ref', 'status', 'version']).where('learner_ref', 'like', 'I-%').orderBy('learner_ref').execute(),
      claims: await database.db.selectFrom('claims').innerJoin('plans', 'plans.plan_id', 'claims.plan_id').select(['plans.learner_ref', 'claims.status', 'claims.paid_cents']).where('plans.learner_ref', 'like', 'I-%').orderBy('plans.learner_ref').execute(),
    });
    expect((await inlineRows()).plans).toEqual([]);

    // An open transaction keeps the snapshot's xmin below the next commit: the build does not read I-late,
    // committed after it; the swap must catch it up.
    const open = await openAppend(database.db, 'I-open');
    await appendStreams(database.db, syntheticPlan(spec('I-late', { stage: 'implementation' })));
    const [plans, claims] = await rebuildProjections(database.db, { projections: ['plans', 'claims'] });
    await open.finish(false);
    expect(plans!.caughtUp).toBeGreaterThanOrEqual(1);
    expect(claims!.orphans).toEqual([]);
    const rows = await inlineRows();
    expect(rows.plans.map((r) => [r.learner_ref, r.status])).toEqual([['I-1', 'closed'], ['I-2', 'closed'], ['I-3', 'closed'], ['I-late', 'in_implementation']]);
    expect(rows.claims).toEqual(learners.map((l) => ({ learner_ref: l, status: 'paid', paid_cents: '2500' })));
    // Every row is the fold of its stream: a fresh build compares equal.
    expect((await checkProjections(database.db, { projections: ['plans', 'claims'] })).map((c) => [c.projection, c.ok])).toEqual([['plans', true], ['claims', true]]);
  });

  it('a rebuild whose write fails swaps nothing in: every projection stays as it was, and no half-built table is left', async () => {
    await appendStreams(database.db, syntheticPlan(spec('F-good', { stage: 'closed', paidClaimCents: 1_000 })));
    await rebuildProjections(database.db);
    const snapshot = async () => ({
      plans: (await database.db.selectFrom('plans').select('learner_ref').execute()).map((r) => r.learner_ref).sort(),
      reports: (await projectedPlans()).sort(),
      twins: (await sql<{ name: string }>`select tablename as name from pg_tables where tablename like '%\_\_next'`.execute(database.db)).rows,
    });
    const before = await snapshot();
    expect(before.plans).toContain('F-good');
    // The twin copies the live table's checks: this one makes the plan rows' insert fail mid-build.
    await sql`alter table plans add constraint test_refuses_f_bad check (learner_ref <> 'F-bad') not valid`.execute(database.db);
    try {
      await appendStreams(database.db, syntheticPlan(spec('F-bad', { stage: 'closed', paidClaimCents: 1_000 })));
      await expect(rebuildProjections(database.db)).rejects.toThrow(/test_refuses_f_bad/);
      expect(await snapshot()).toEqual(before);
    } finally {
      await sql`alter table plans drop constraint test_refuses_f_bad`.execute(database.db);
    }
    await rebuildProjections(database.db);
    const after = await snapshot();
    expect(after.plans).toEqual([...before.plans, 'F-bad'].sort());
    expect(after.reports).toEqual([...before.reports, 'F-bad'].sort());
  });

  it('refuses a second rebuild while one runs', async () => {
    await withRebuildLock(database.db, async () => {
      await expect(rebuildProjections(database.db, { projections: ['reports'] })).rejects.toBeInstanceOf(RebuildInProgressError);
    });
  });
});
