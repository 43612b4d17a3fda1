// Two real worker processes on one database: one of them holds the report projector's lease and projects;
// killed with SIGKILL, the other takes the lease over within seconds and carries on from the checkpoint, so
// every event is projected exactly once and the projections equal a rebuild.
import { randomUUID } from 'node:crypto';
import { checkProjections, projectorLeaseHolder, readCheckpoint, type ReportDatabase } from '@iap/db';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, MUNI_A, type TestDatabase } from './stack.js';
import { appendStreams, syntheticPlan } from './synthetic.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

let database: TestDatabase;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const w of workers) await w.kill();
  await database?.drop();
});

const rdb = () => database.db as unknown as Kysely<ReportDatabase>;
const eventCount = async () => Number((await sql<{ n: string }>`select count(*)::text as n from events`.execute(database.db)).rows[0]!.n);

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${workers.map((w) => w.output()).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function appendPlans(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendStreams(
      database.db,
      syntheticPlan({
        learnerRef: `${prefix}-${i}`,
        schoolId: 'school-a',
        municipalityId: MUNI_A,
        partner: { type: 'municipality', id: MUNI_A },
        semester: '2025/26-1',
        riskTypes: ['learning'],
        stage: i % 2 ? 'implementation' : 'in_approval',
      }),
    );
  }
}

/** Every event appended so far counted once in the checkpoint (a double application would count it twice). */
const caughtUp = async () => {
  const [cp, n] = await Promise.all([readCheckpoint(rdb()), eventCount()]);
  return cp.eventsApplied === n ? n : null;
};

describe('report projector lease across worker processes', () => {
  it('is held by one worker, moves to the other within seconds of a kill -9, and projects every event once', async () => {
    const taskQueue = `lease-${randomUUID()}`;
    const temporalAddress = process.env.IAP_TEST_TEMPORAL_ADDRESS!;
    for (let i = 0; i < 2; i++) workers.push(spawnWorker({ databaseUrl: database.url, temporalAddress, taskQueue }));
    const byHolder = (holder: string) => workers.find((w) => holder.startsWith(`${w.pid}@`));

    const first = await until('a lease holder', () => projectorLeaseHolder(database.db), 30_000);
    const holder = byHolder(first)!;
    expect(holder).toBeDefined();
    const standby = workers.find((w) => w !== holder)!;

    await appendPlans('before', 20);
    const before = await until('the holder to project the first plans', caughtUp, 20_000);
    expect(before).toBeGreaterThan(0);
    // The standby stood by: the lease has not moved.
    expect(await projectorLeaseHolder(database.db)).toBe(first);

    // Appended while the holder dies: the standby must pick these up from the checkpoint.
    await appendPlans('during', 10);
    const killedAt = Date.now();
    await holder.kill();
    const next = await until('the standby to take the lease', async () => {
      const h = await projectorLeaseHolder(database.db);
      return h && h !== first ? h : null;
    }, 10_000);
    const handOverMs = Date.now() - killedAt;
    expect(byHolder(next)).toBe(standby);
    expect(handOverMs).toBeLessThan(5_000);

    await appendPlans('after', 10);
    const total = await until('the new holder to catch up', caughtUp, 20_000);
    expect(total).toBe(await eventCount());
    expect(total).toBeGreaterThan(before);
    const [check] = await checkProjections(database.db, { projections: ['reports'] });
    expect(check).toMatchObject({ projection: 'reports', ok: true });
  });
});
