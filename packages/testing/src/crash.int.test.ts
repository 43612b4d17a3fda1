// Fault test with a real process kill: the production worker (a child process) is SIGKILLed between an
// append's commit and the activity's completion report, the worst moment to die. After a restart the
// plan goes on, no event is recorded twice, and the projection equals a rebuild from the log.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '@iap/api';
import { foldRecorded, getPlanRow, readStream, verifyChain } from '@iap/db';
import { initialState, type DomainConfig } from '@iap/domain';
import { planStateQuery, planWorkflowId } from '@iap/messages';
import { freePort } from '@iap/infra/testing';
import { signToken } from '@iap/runtime';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, preparerOf, registerLearner, registerTestTenants, SCHOOL_A, TEST_DOMAIN_CONFIG, TEST_JWT_SECRET, testDataConverter, type TestDatabase } from './stack.js';
import { draftBody, fastConfig, TODAY } from './workflow-driver.js';
import { spawnWorker, waitForPolling, within, type WorkerProcess } from './worker-process.js';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run integration tests through vitest's int project (global setup)`);
  return v;
}


let database: TestDatabase;
let connection: Connection;
let client: Client;
let app: FastifyInstance;
let faultDir: string;
const taskQueue = `test-crash-${randomUUID()}`;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  connection = await Connection.connect({ address: required('IAP_TEST_TEMPORAL_ADDRESS') });
  client = new Client({ connection, namespace: 'default', dataConverter: testDataConverter() });
  app = await makeApp(TEST_DOMAIN_CONFIG);
  faultDir = await mkdtemp(path.join(tmpdir(), 'iap-crash-'));
  // The register's appends must not be the ones a fault worker dies after: registered by a worker of its own.
  const registrar = startWorker();
  await waitForPolling(client, taskQueue, registrar);
  await registerTestTenants(app);
  await registrar.kill();
  for (const ref of ['L-crash-1', 'L-crash-3']) await registerLearner(app, signToken(TEST_JWT_SECRET, preparerOf(SCHOOL_A)), ref);
}, 120_000);

/** The API as in production, but no worker in this process: the worker runs as a child process below. */
async function makeApp(domainConfig: DomainConfig): Promise<FastifyInstance> {
  const api = await buildApp({
    db: database.appDb,
    temporal: client,
    temporalConnection: connection,
    namespace: 'default',
    taskQueue,
    jwtSecret: TEST_JWT_SECRET,
    identityKey: Buffer.alloc(32, 7),
    logger: pino({ level: 'silent' }),
    rateLimitPerMinute: 100_000,
    // The create waits out the activity's 10 s start-to-close timeout and a worker restart.
    commandTimeoutMs: 50_000,
    domainConfig,
  });
  await api.ready();
  return api;
}

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await app?.close();
  await connection?.close();
  await database?.drop();
  if (faultDir) await rm(faultDir, { recursive: true, force: true });
});

function startWorker(killAfterCommitFile?: string, killAfterCommitEvent?: string, metricsAddress?: string): WorkerProcess {
  const w = spawnWorker({
    databaseUrl: database.url,
    temporalAddress: required('IAP_TEST_TEMPORAL_ADDRESS'),
    taskQueue,
    ...(killAfterCommitFile ? { killAfterCommitFile } : {}),
    ...(killAfterCommitEvent ? { killAfterCommitEvent } : {}),
    ...(metricsAddress ? { metricsAddress } : {}),
  });
  workers.push(w);
  return w;
}

const draft = (learnerRef = 'L-crash-1') => draftBody(learnerRef);

/** The plan drafted for a learner, from the log (its id is the server's, known here before the create answers). */
async function planIdOf(learnerRef: string): Promise<string> {
  const rows = await database.db.selectFrom('events').select('stream_id').where('event_type', '=', 'PlanDrafted').where(sql<boolean>`data ->> 'learnerRef' = ${learnerRef}`).execute();
  expect(rows).toHaveLength(1);
  return rows[0]!.stream_id;
}

describe('a worker killed -9 between an append commit and its completion report', () => {
  it('restarts: the plan goes on, no event twice, projections equal a rebuild', { timeout: 60_000 }, async () => {
    const token = signToken(TEST_JWT_SECRET, preparerOf(SCHOOL_A));
    const learnerRef = `L-crash-${randomUUID().slice(0, 8)}`;
    await registerLearner(app, token, learnerRef);
    const faultFile = path.join(faultDir, 'killed-after-commit');
    expect(existsSync(faultFile)).toBe(false);

    const first = startWorker(faultFile);
    await waitForPolling(client, taskQueue, first);

    // The create cannot complete while no worker runs: keep the promise and await it after the restart.
    let settled = false;
    const create: Promise<LightMyRequestResponse> = (async () => {
      try {
        return await app.inject({
          method: 'POST',
          url: '/plans',
          headers: { authorization: `Bearer ${token}`, 'idempotency-key': `crash-${learnerRef}` },
          payload: draft(learnerRef),
        });
      } finally {
        settled = true;
      }
    })();
    // Should anything below fail first, the rejection is reported by the failing assertion, not as unhandled.
    create.catch(() => undefined);

    // The worker dies by its own SIGKILL right after the first append commits.
    const exit = await within(first.exited, 20_000, () => `the worker to kill itself after the commit\n${first.output()}`);
    expect(exit, first.output()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(faultFile)).toBe(true);
    expect(settled).toBe(false);

    // The commit happened: the event is in the log, once, with its projection.
    const planId = await planIdOf(learnerRef);
    const committed = await readStream(database.db, planId);
    expect(committed.map((e) => e.type)).toEqual(['PlanDrafted']);
    expect((await getPlanRow(database.db, planId))?.version).toBe(1);

    // Restart without the fault. Temporal retries the workflow task after its timeout; the task runs the
    // append again, which finds the events recorded, writes nothing, and the create answers.
    // It also serves Temporal's worker metrics (IAP_METRICS_ADDRESS), read below.
    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const second = startWorker(undefined, undefined, metricsAddress);
    // (No check that the create is still waiting here: on a slow machine the retried task may already have run.)
    await waitForPolling(client, taskQueue, second);
    const created = await within(create, 45_000, () => `the create to answer after the restart\n${second.output()}`);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ planId, version: 1, status: 'draft', events: [{ type: 'PlanDrafted', version: 1 }] });

    // No event twice, the chain intact, the projection untouched by the retry.
    const afterRetry = await readStream(database.db, planId);
    expect(afterRetry.map((e) => e.type)).toEqual(['PlanDrafted']);
    expect(afterRetry[0]!.eventId).toBe(committed[0]!.eventId);
    expect(afterRetry[0]!.hash).toBe(committed[0]!.hash);
    expect(verifyChain(afterRetry)).toBeNull();
    expect((await getPlanRow(database.db, planId))?.version).toBe(1);

    // Temporal saw the dead worker's workflow task (the one running the local append) time out, and the
    // append's result recorded once, by the retried task.
    const history = await client.workflow.getHandle(planWorkflowId(planId)).fetchHistory();
    const steps = history.events ?? [];
    expect(steps.filter((e) => e.workflowTaskTimedOutEventAttributes).length).toBeGreaterThanOrEqual(1);
    expect(steps.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(1);

    // The plan goes on: the next command, through the restarted worker.
    const next = await within(
      app.inject({ method: 'POST', url: `/plans/${planId}/consent-request`, headers: { authorization: `Bearer ${token}`, 'idempotency-key': `consent-${planId}` } }),
      20_000,
      () => `the consent request\n${second.output()}`,
    );
    expect(next.statusCode, next.body).toBe(200);
    expect(next.json()).toMatchObject({ planId, version: 2, status: 'awaiting_consent', events: [{ type: 'ConsentRequested', version: 2 }] });

    // Projections equal a rebuild: folding the whole log gives exactly the projected row.
    const events = await readStream(database.db, planId);
    expect(events.map((e) => e.type)).toEqual(['PlanDrafted', 'ConsentRequested']);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expect(verifyChain(events)).toBeNull();
    const row = await getPlanRow(database.db, planId);
    expect(row?.version).toBe(2);
    const rebuilt = JSON.parse(JSON.stringify(foldRecorded(initialState(), events))) as unknown;
    expect(row?.state).toEqual(rebuilt);

    // The restarted worker's metrics count its two local appends (the retried create's and the consent
    // request's) and the workflow tasks that ran them.
    const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    const count = (name: string) =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(`${name}_count`))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(count('temporal_local_activity_execution_latency'), metrics.slice(0, 2000)).toBeGreaterThanOrEqual(2);
    expect(count('temporal_workflow_task_execution_latency')).toBeGreaterThanOrEqual(2);
    expect(second.child.exitCode).toBeNull();
    await second.kill();
  });

  it("restarts after a command whose data depends on the time: the log's version stands and the plan goes on", { timeout: 60_000 }, async () => {
    const token = signToken(TEST_JWT_SECRET, preparerOf(SCHOOL_A));
    const faultFile = path.join(faultDir, 'killed-after-consent-request');
    const first = startWorker(faultFile, 'ConsentRequested');
    await waitForPolling(client, taskQueue, first);
    const post = (url: string, payload?: object) =>
      app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() }, ...(payload ? { payload } : {}) });
    const created = await post('/plans', draft());
    expect(created.statusCode).toBe(201);
    const planId = created.json().planId as string;

    // The consent request's reminder and expiry are computed from the workflow's clock: the retried workflow
    // task, running after the restart, decides them again later than the committed ones.
    const request = post(`/plans/${planId}/consent-request`);
    request.catch(() => undefined);
    const exit = await within(first.exited, 20_000, () => `the worker to kill itself after the consent request\n${first.output()}`);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    const committed = await readStream(database.db, planId);
    expect(committed.map((e) => e.type)).toEqual(['PlanDrafted', 'ConsentRequested']);

    const second = startWorker();
    await waitForPolling(client, taskQueue, second);
    const answered = await within(request, 45_000, () => `the consent request to answer after the restart\n${second.output()}`);
    expect(answered.statusCode, answered.body).toBe(200);
    expect(answered.json()).toMatchObject({ version: 2, status: 'awaiting_consent' });

    // One consent request in the log, and the workflow holds the log's deadlines, not the ones it decided again.
    const events = await readStream(database.db, planId);
    expect(events.map((e) => e.type)).toEqual(['PlanDrafted', 'ConsentRequested']);
    const consent = events[1]!.data as { reminderDueAt: string; expiresAt: string };
    const state = await client.workflow.getHandle(planWorkflowId(planId)).query(planStateQuery);
    expect(JSON.stringify(state)).toContain(consent.expiresAt);
    expect(JSON.stringify(state)).toContain(consent.reminderDueAt);
    expect((await getPlanRow(database.db, planId))?.state).toEqual(JSON.parse(JSON.stringify(foldRecorded(initialState(), events))));

    // The plan goes on.
    const granted = await post(`/plans/${planId}/consent`, { givenBy: 'parent', signedOn: new Date().toISOString().slice(0, 10), documentRef: 'consent-1' });
    expect(granted.statusCode, granted.body).toBe(200);
    expect(granted.json()).toMatchObject({ version: 3 });
    expect(verifyChain(await readStream(database.db, planId))).toBeNull();
    await second.kill();
  });

  it("restarts after the semester-end timer's append: the log's evaluation deadline stands and the evaluation is taken", { timeout: 60_000 }, async () => {
    const faultFile = path.join(faultDir, 'killed-after-semester-end');
    const first = startWorker(faultFile, 'SemesterEnded');
    await waitForPolling(client, taskQueue, first);
    // The semester's end is counted from here, once the worker polls: its start-up under load must not eat
    // the time the six commands below need before the semester is over.
    const semesterApp = await makeApp(fastConfig({ semesterEndsInMs: 12_000 }));
    try {
      const as = (role: string, extra: object = {}) => ({ authorization: `Bearer ${signToken(TEST_JWT_SECRET, { sub: `${role}-1`, role, ...extra } as never)}` });
      const preparer = { authorization: `Bearer ${signToken(TEST_JWT_SECRET, preparerOf(SCHOOL_A))}` };
      const post = async (headers: object, url: string, payload?: object) => {
        const r = await semesterApp.inject({ method: 'POST', url, headers: { ...headers, 'idempotency-key': randomUUID() }, ...(payload ? { payload } : {}) });
        expect(r.statusCode, `${url}: ${r.body}`).toBeLessThan(300);
        return r;
      };
      const planId = (await post(preparer, '/plans', draft('L-crash-3'))).json().planId as string;
      await post(preparer, `/plans/${planId}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'consent-3' });
      await post(preparer, `/plans/${planId}/submission`);
      await post(as('school_director', SCHOOL_A), `/plans/${planId}/approvals`, { level: 'school' });
      await post(as('municipality_coordinator', { municipality: SCHOOL_A.municipality, partner: SCHOOL_A.partner }), `/plans/${planId}/approvals`, { level: 'municipality' });
      await post(as('national_coordinator'), `/plans/${planId}/approvals`, { level: 'national' });

      // The semester-end timer fires; the worker dies right after its append commits.
      expect(await within(first.exited, 30_000, () => `the worker to kill itself after the semester end\n${first.output()}`)).toEqual({ code: null, signal: 'SIGKILL' });
      const second = startWorker();
      await waitForPolling(client, taskQueue, second);
      // The retried workflow task fires the deadline again, later: same command, and the log's deadline stands.
      const handle = client.workflow.getHandle(planWorkflowId(planId));
      let state = await handle.query(planStateQuery);
      for (const deadline = Date.now() + 40_000; state.status !== 'awaiting_evaluation'; state = await handle.query(planStateQuery)) {
        if (Date.now() > deadline) throw new Error(`the plan never reached its evaluation: ${state.status}\n${second.output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const events = await readStream(database.db, planId);
      const ended = events.filter((e) => e.type === 'SemesterEnded');
      expect(ended).toHaveLength(1);
      expect(state.status === 'awaiting_evaluation' && state.evaluationDueAt).toBe((ended[0]!.data as { evaluationDueAt: string }).evaluationDueAt);
      const evaluated = await post(preparer, `/plans/${planId}/evaluation`, {
        riskOutcomes: [{ riskId: 'r1', change: 'reduced' }],
        outcome: 'continues',
        narrative: 'Better grades.',
      });
      expect(evaluated.json()).toMatchObject({ status: 'evaluated' });
      expect(verifyChain(await readStream(database.db, planId))).toBeNull();
      await second.kill();
    } finally {
      await semesterApp.close();
    }
  });
});
