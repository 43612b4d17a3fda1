// Idempotency-Key and plan ids as an attacker would try them, on real Temporal and Postgres: ids the server
// chooses (no create answer tells a school about another's plans), a key scoped to the whole caller and the
// operation, a reused key with another request refused, a retry after a lost answer answered once.
import { randomUUID } from 'node:crypto';
import { purgeExpiredIdempotencyKeys } from '@iap/db';
import { createPlanWorker } from '@iap/worker';
import { planWorkflowId } from '@iap/messages';
import { NativeConnection } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, preparerOf, registerLearner, SCHOOL_A, SCHOOL_B, startTestStack, testDataConverter, type TestStack } from './stack.js';
import { draftBody, SEMESTER_NOW, TODAY } from './workflow-driver.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
  for (const school of [SCHOOL_A, SCHOOL_B]) await registerLearner(stack.app, stack.token(preparerOf(school)), 'L-idem');
});
afterAll(async () => {
  await stack?.close();
});

const draft = (over: Record<string, unknown> = {}) => draftBody('L-idem', over);

const send = (method: 'POST' | 'PUT', token: string, url: string, payload?: unknown, key?: string, app: FastifyInstance = stack.app) =>
  app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(key !== undefined ? { 'idempotency-key': key } : {}) },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

async function eventCount(): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from events`.execute(stack.db);
  return Number(r.rows[0]!.n);
}

/** A learner registered at each token's school under one new reference, so its plans can be counted. */
async function freshLearner(...tokens: string[]): Promise<string> {
  const ref = `L-${randomUUID().slice(0, 8)}`;
  for (const t of tokens) await registerLearner(stack.app, t, ref);
  return ref;
}

/** Plans drafted for a learner (the log, not the answer: what was really written). */
async function plansOf(learnerRef: string): Promise<string[]> {
  const rows = await stack.db
    .selectFrom('events')
    .select('stream_id')
    .where('event_type', '=', 'PlanDrafted')
    .where(sql<boolean>`data ->> 'learnerRef' = ${learnerRef}`)
    .execute();
  return rows.map((r) => r.stream_id);
}

/** Runs a worker on the stack's task queue (after its own was stopped); resolves to its stop. */
async function startWorker(): Promise<() => Promise<void>> {
  const connection = await NativeConnection.connect({ address: process.env.IAP_TEST_TEMPORAL_ADDRESS! });
  const worker = await createPlanWorker({
    connection,
    namespace: 'default',
    taskQueue: stack.taskQueue,
    db: stack.database.appDb,
    logger: stack.logger,
    workflowBundlePath: process.env.IAP_TEST_WORKFLOW_BUNDLE!,
    dataConverter: testDataConverter(),
  });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
    await connection.close();
  };
}

/** The parts of a problem that do not name the request. */
const problemOf = (res: { statusCode: number; json(): unknown }) => {
  const { status, type, title, detail, field, code } = res.json() as Record<string, unknown>;
  return { http: res.statusCode, status, type, title, detail, field, code };
};

describe('creating a plan, from another school', () => {
  it("answers alike whether or not another school used the plan id: ids are the server's", async () => {
    const a = stack.token(preparerOf(SCHOOL_A));
    const b = stack.token(preparerOf(SCHOOL_B));
    const created = await send('POST', a, '/plans', draft());
    expect(created.statusCode).toBe(201);
    const usedId = created.json().planId as string;

    const onUsed = await send('POST', b, '/plans', draft({ planId: usedId }));
    const onFresh = await send('POST', b, '/plans', draft({ planId: randomUUID() }));
    expect(onUsed.statusCode).toBe(400);
    expect(problemOf(onUsed)).toEqual(problemOf(onFresh));
    expect(problemOf(onUsed).field).toBe('body.planId');
    // And school A's plan is as it was.
    expect((await stack.app.inject({ method: 'GET', url: `/plans/${usedId}`, headers: { authorization: `Bearer ${a}` } })).json()).toMatchObject({
      version: 1,
      schoolId: SCHOOL_A.school,
    });
  });

  it('answers alike whether or not another school used the key, and gives each school its own plan', async () => {
    const key = `create-${randomUUID()}`;
    // The same subject in both schools, as `iap token` once gave every token.
    const a = stack.token(preparerOf(SCHOOL_A, 'local-user'));
    const b = stack.token(preparerOf(SCHOOL_B, 'local-user'));
    const body = draft({ learnerRef: await freshLearner(a, b) });
    const first = await send('POST', a, '/plans', body, key);
    const second = await send('POST', b, '/plans', body, key);
    const fresh = await send('POST', b, '/plans', draft(), `create-${randomUUID()}`);
    expect([first.statusCode, second.statusCode, fresh.statusCode]).toEqual([201, 201, 201]);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    const [pa, pb] = [first.json().planId as string, second.json().planId as string];
    expect(pb).not.toBe(pa);
    expect(second.json()).toMatchObject({ version: 1, status: 'draft', events: [{ type: 'PlanDrafted', version: 1 }] });
    expect(Object.keys(second.json()).sort()).toEqual(Object.keys(fresh.json()).sort());
    expect((await plansOf(body.learnerRef)).sort()).toEqual([pa, pb].sort());
    const read = async (token: string, id: string) => (await stack.app.inject({ method: 'GET', url: `/plans/${id}`, headers: { authorization: `Bearer ${token}` } })).statusCode;
    expect([await read(a, pa), await read(b, pb), await read(a, pb), await read(b, pa)]).toEqual([200, 200, 404, 404]);
  });
});

describe('one key, another request', () => {
  it('refuses a create with 422 naming the header, and writes nothing', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const key = `create-${randomUUID()}`;
    const body = draft({ learnerRef: await freshLearner(token) });
    const first = await send('POST', token, '/plans', body, key);
    expect(first.statusCode).toBe(201);
    const before = await eventCount();
    const other = await send('POST', token, '/plans', { ...body, grade: 8 }, key);
    expect(other.statusCode).toBe(422);
    expect(other.headers['content-type']).toContain('application/problem+json');
    expect(other.json()).toMatchObject({ status: 422, code: 'idempotency.key_reused', field: 'headers.idempotency-key' });
    expect(await eventCount()).toBe(before);
    expect(await plansOf(body.learnerRef)).toEqual([first.json().planId]);
    // The request the key stands for is still answered as it was.
    const again = await send('POST', token, '/plans', body, key);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers.location).toBe(first.headers.location);
  });

  it('refuses a plan command with another body, and a budget with another amount', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const planId = (await send('POST', token, '/plans', draft())).json().planId as string;
    const key = `consent-${randomUUID()}`;
    const consent = { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-1' };
    expect((await send('POST', token, `/plans/${planId}/consent`, consent, key)).statusCode).toBe(200);
    const before = await eventCount();
    const other = await send('POST', token, `/plans/${planId}/consent`, { ...consent, documentRef: 'APP-2' }, key);
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'idempotency.key_reused', field: 'headers.idempotency-key' });
    expect(await eventCount()).toBe(before);

    const finance = stack.token({ sub: 'finance-a', role: 'finance', partner: MUNI_A });
    const url = `/budgets/${MUNI_A}/${encodeURIComponent(SEMESTER_NOW)}`;
    const budgetKey = `budget-${randomUUID()}`;
    const set = await send('PUT', finance, url, { allocatedCents: 1_000_000 }, budgetKey);
    expect(set.statusCode, set.body).toBe(200);
    const reused = await send('PUT', finance, url, { allocatedCents: 2_000_000 }, budgetKey);
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: 'idempotency.key_reused' });
    const budget = await stack.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${finance}` } });
    expect(budget.json()).toMatchObject({ allocatedCents: 1_000_000, version: set.json().version });
  });
});

describe('one key, another command', () => {
  it('executes a submission sent under the key of the consent before it', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const planId = (await send('POST', token, '/plans', draft())).json().planId as string;
    const key = `step-${randomUUID()}`;
    const granted = await send('POST', token, `/plans/${planId}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-1' }, key);
    expect(granted.json()).toMatchObject({ version: 2, events: [{ type: 'ConsentGranted' }] });
    const submitted = await send('POST', token, `/plans/${planId}/submission`, undefined, key);
    expect(submitted.statusCode, submitted.body).toBe(200);
    expect(submitted.json()).toMatchObject({ version: 3, status: 'in_approval', events: [{ type: 'PlanSubmittedForApproval', version: 3 }] });
    const row = await stack.db.selectFrom('plans').select(['status', 'version']).where('plan_id', '=', planId).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'in_approval', version: 3 });
  });

  it('executes each approval level when one subject holds every role and reuses its key', async () => {
    const sub = 'local-user';
    const preparer = stack.token(preparerOf(SCHOOL_A, sub));
    const director = stack.token({ sub, role: 'school_director', ...SCHOOL_A });
    const coordinator = stack.token({ sub, role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A });
    const national = stack.token({ sub, role: 'national_coordinator' });
    const planId = (await send('POST', preparer, '/plans', draft())).json().planId as string;
    await send('POST', preparer, `/plans/${planId}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-1' });
    await send('POST', preparer, `/plans/${planId}/submission`);
    const key = 'approve';
    const answers = [
      await send('POST', director, `/plans/${planId}/approvals`, { level: 'school' }, key),
      await send('POST', coordinator, `/plans/${planId}/approvals`, { level: 'municipality' }, key),
      await send('POST', national, `/plans/${planId}/approvals`, { level: 'national' }, key),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    // The last level's signature also approves the plan: two events.
    expect(answers.map((a) => a.json().version)).toEqual([4, 5, 7]);
    expect(answers[2]!.json().status).toBe('approved');
  });
});

describe('claim steps and key-less commands', () => {
  it('refuses a claim step with another body under a used key, and takes the next step under the same key', async () => {
    const preparer = stack.token(preparerOf(SCHOOL_A));
    const director = stack.token({ sub: 'director-a', role: 'school_director', ...SCHOOL_A });
    const coordinator = stack.token({ sub: 'coordinator-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A });
    const national = stack.token({ sub: 'ikvd', role: 'national_coordinator' });
    const finance = stack.token({ sub: 'finance-a', role: 'finance', partner: MUNI_A });
    const ok = async (token: string, url: string, payload?: unknown, key?: string, method: 'POST' | 'PUT' = 'POST') => {
      const r = await send(method, token, url, payload, key);
      expect(r.statusCode, `${url}: ${r.body}`).toBeLessThan(300);
      return r;
    };
    await ok(finance, `/budgets/${MUNI_A}/${encodeURIComponent(SEMESTER_NOW)}`, { allocatedCents: 5_000_000 }, undefined, 'PUT');
    const planId = (
      await ok(
        preparer,
        '/plans',
        draft({
          risks: [{ riskId: 'r1', type: 'economic', factor: 'low-income family', note: '' }],
          measures: [{ measureId: 'm2', kind: 'compensation', riskIds: ['r1'], justification: 'bus', compensationType: 'public_transport', plannedCents: 100_000 }],
        }),
      )
    ).json().planId as string;
    await ok(preparer, `/plans/${planId}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-1' });
    await ok(preparer, `/plans/${planId}/submission`);
    await ok(director, `/plans/${planId}/approvals`, { level: 'school' });
    await ok(coordinator, `/plans/${planId}/approvals`, { level: 'municipality' });
    await ok(national, `/plans/${planId}/approvals`, { level: 'national' });
    const claim = { claimId: 'k1', measureId: 'm2', compensationType: 'public_transport', periodFrom: TODAY, periodTo: TODAY, amountCents: 4_000, documentRefs: ['ticket-1'] };
    await ok(preparer, `/plans/${planId}/claims`, claim);
    for (let i = 0; i < 100 && (await stack.app.inject({ method: 'GET', url: `/claims/${planId}/k1`, headers: { authorization: `Bearer ${finance}` } })).statusCode !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }

    const key = `claim-${randomUUID()}`;
    await ok(finance, `/claims/${planId}/k1/verification`, { note: 'tickets match' }, key);
    const reused = await send('POST', finance, `/claims/${planId}/k1/verification`, { note: 'something else' }, key);
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: 'idempotency.key_reused', field: 'headers.idempotency-key' });
    const approved = await ok(finance, `/claims/${planId}/k1/approval`, { approvedCents: 4_000 }, key);
    expect(approved.json()).toMatchObject({ status: 'approved', events: [{ type: 'ClaimApproved' }] });
  });

  it('takes two commands without a key as two, whatever request id the client sends', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const planId = (await send('POST', token, '/plans', draft())).json().planId as string;
    const as = (url: string, payload?: unknown) =>
      stack.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'x-request-id': 'client-chosen-1' }, ...(payload ? { payload: payload as object } : {}) });
    const granted = await as(`/plans/${planId}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-1' });
    const submitted = await as(`/plans/${planId}/submission`);
    expect(granted.json()).toMatchObject({ version: 2, events: [{ type: 'ConsentGranted' }] });
    expect(submitted.json()).toMatchObject({ version: 3, status: 'in_approval', events: [{ type: 'PlanSubmittedForApproval' }] });
  });
});

describe('a retry after a lost answer', () => {
  it('expires a key after its time: the same key then stands for a new request', async () => {
    const app = await stack.buildApp({ idempotencyKeyTtlMs: 1_000 });
    const token = stack.token(preparerOf(SCHOOL_A));
    const key = `create-${randomUUID()}`;
    const first = await send('POST', token, '/plans', draft(), key, app);
    expect(first.statusCode).toBe(201);
    await new Promise((r) => setTimeout(r, 1_500));
    // The API's periodic purge deletes what has expired; the key is free either way.
    expect(await purgeExpiredIdempotencyKeys(stack.database.appDb)).toBeGreaterThanOrEqual(1);
    const later = await send('POST', token, '/plans', draft({ grade: 9 }), key, app);
    expect(later.statusCode).toBe(201);
    expect(later.json().planId).not.toBe(first.json().planId);
  });

  // Last in the file: it stops the stack's worker and runs its own.
  it('gets the first answer and writes once, after a 503 from a stopped worker', { timeout: 90_000 }, async () => {
    const app = await stack.buildApp({ commandTimeoutMs: 1_500 });
    const token = stack.token(preparerOf(SCHOOL_A));
    const key = `create-${randomUUID()}`;
    const body = draft({ learnerRef: await freshLearner(token) });
    await stack.stopWorker();
    const lost = await send('POST', token, '/plans', body, key, app);
    expect(lost.statusCode).toBe(503);
    expect(Number(lost.headers['retry-after'])).toBeGreaterThan(0);

    let stop = await startWorker();
    let retried = await send('POST', token, '/plans', body, key, app);
    for (let i = 0; i < 20 && retried.statusCode === 503; i++) retried = await send('POST', token, '/plans', body, key, app);
    expect(retried.statusCode, retried.body).toBe(201);
    const again = await send('POST', token, '/plans', body, key, app);
    expect(again.json()).toEqual(retried.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    const planId = retried.json().planId as string;
    expect(await plansOf(body.learnerRef)).toEqual([planId]);

    // Two commands whose answers are lost while the worker is down: one ends its plan's workflow, the other
    // makes its plan's workflow continue as new. Their retries are answered with what each command did.
    const canApp = await stack.buildApp({ commandTimeoutMs: 1_500, continueAsNewAfterEvents: 8 });
    const other = (await send('POST', token, '/plans', draft(), undefined, canApp)).json().planId as string;
    expect((await send('POST', token, `/plans/${planId}/consent-request`, undefined, undefined, app)).statusCode).toBe(200);
    await stop();
    const refusalKey = `refusal-${randomUUID()}`;
    const refusal = { refusedBy: 'parent', reason: 'no need' };
    expect((await send('POST', token, `/plans/${planId}/consent-refusal`, refusal, refusalKey, app)).statusCode).toBe(503);
    const grantKey = `grant-${randomUUID()}`;
    const grant = { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-1' };
    const otherHandle = stack.client.workflow.getHandle(planWorkflowId(other));
    const runBefore = (await otherHandle.describe()).runId;
    expect((await send('POST', token, `/plans/${other}/consent`, grant, grantKey, canApp)).statusCode).toBe(503);
    stop = await startWorker();
    try {
      const handle = stack.client.workflow.getHandle(planWorkflowId(planId));
      for (const deadline = Date.now() + 30_000; ; ) {
        const [ended, moved] = [(await handle.describe()).status.name === 'COMPLETED', (await otherHandle.describe()).runId !== runBefore];
        if (ended && moved) break;
        if (Date.now() > deadline) throw new Error(`the workflows did not move on (ended ${ended}, continued as new ${moved})`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const types = async (id: string) =>
        (await stack.db.selectFrom('events').select('event_type').where('stream_id', '=', id).orderBy('stream_version').execute()).map((e) => e.event_type);

      const refused = await send('POST', token, `/plans/${planId}/consent-refusal`, refusal, refusalKey, app);
      expect(refused.statusCode, refused.body).toBe(200);
      expect(refused.json()).toMatchObject({ planId, version: 3, status: 'consent_refused', events: [{ type: 'ConsentRefused', version: 3 }] });
      expect(refused.headers.etag).toBe('"3"');
      expect(await types(planId)).toEqual(['PlanDrafted', 'ConsentRequested', 'ConsentRefused']);

      const granted = await send('POST', token, `/plans/${other}/consent`, grant, grantKey, canApp);
      expect(granted.statusCode, granted.body).toBe(200);
      expect(granted.json()).toMatchObject({ planId: other, version: 2, status: 'draft', events: [{ type: 'ConsentGranted', version: 2 }] });
      expect(await types(other)).toEqual(['PlanDrafted', 'ConsentGranted']);

      // Another school's staff sending the same key learn nothing of it.
      const foreign = await send('POST', stack.token(preparerOf(SCHOOL_B)), `/plans/${planId}/consent-refusal`, refusal, refusalKey, app);
      expect(foreign.statusCode).toBe(404);
    } finally {
      await stop();
    }
  });
});
