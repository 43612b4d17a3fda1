// One plan end to end on real Temporal and Postgres: HTTP → Update-with-Start → decider → activity
// (event + projection in one transaction) → HTTP read.
import { randomUUID } from 'node:crypto';
import { readStream, verifyChain } from '@iap/db';
import { planWorkflowId } from '@iap/messages';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, preparerOf, registerLearner, SCHOOL_A, SCHOOL_B, startTestStack, type TestStack } from './stack.js';
import { draftBody, SEMESTER_NOW } from './workflow-driver.js';

let stack: TestStack;
let failNextAfterCommit = 0;

beforeAll(async () => {
  stack = await startTestStack({
    // Simulates a worker that dies after the append's transaction committed but before it reported
    // completion to Temporal: the activity is retried with the same input.
    afterCommit: () => {
      if (failNextAfterCommit > 0) {
        failNextAfterCommit--;
        throw new Error('simulated crash after commit');
      }
    },
  });
  await registerLearner(stack.app, stack.token(preparerOf(SCHOOL_A)), 'L-0001');
});
afterAll(async () => {
  await stack?.close();
});

const draft = (over: Record<string, unknown> = {}) => draftBody('L-0001', over);

async function countEvents(): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from events`.execute(stack.db);
  return Number(r.rows[0]!.n);
}

describe('POST /plans then GET /plans/:id', () => {
  it('drafts a plan durably and reads it back from the projection', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const created = await stack.app.inject({
      method: 'POST',
      url: '/plans',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-create-1' },
      payload: draft(),
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ version: 1, status: 'draft', events: [{ type: 'PlanDrafted', version: 1 }] });
    expect(created.headers.location).toBe(`/plans/${body.planId}`);
    expect(created.headers.etag).toBe('"1"');

    // The 201 means durable: the event is already in the log, with who and which request.
    const events = await readStream(stack.db, body.planId);
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata).toMatchObject({
      actorId: 'preparer-school-a',
      actorRole: 'preparer',
      schoolId: 'school-a',
      requestId: 'req-create-1',
      workflowId: planWorkflowId(body.planId),
    });
    expect(verifyChain(events)).toBeNull();

    const read = await stack.app.inject({ method: 'GET', url: `/plans/${body.planId}`, headers: { authorization: `Bearer ${token}` } });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      planId: body.planId,
      version: 1,
      status: 'draft',
      learnerRef: 'L-0001',
      schoolId: 'school-a',
      municipalityId: MUNI_A,
      partner: { type: 'municipality', id: MUNI_A },
      semester: SEMESTER_NOW,
    });
    expect(read.json().state.measures).toHaveLength(1);

    // Another school's staff cannot tell the plan exists.
    const other = await stack.app.inject({
      method: 'GET',
      url: `/plans/${body.planId}`,
      headers: { authorization: `Bearer ${stack.token(preparerOf(SCHOOL_B))}` },
    });
    expect(other.statusCode).toBe(404);
  });

  it('gives the same plan and writes one event when the same create is retried', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const key = `create-${randomUUID()}`;
    const send = () =>
      stack.app.inject({ method: 'POST', url: '/plans', headers: { authorization: `Bearer ${token}`, 'idempotency-key': key }, payload: draft() });
    const first = await send();
    const [second, third] = await Promise.all([send(), send()]);
    expect(first.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(third.json()).toEqual(first.json());
    expect(await readStream(stack.db, first.json().planId)).toHaveLength(1);
  });

  it('refuses a client-chosen plan id with 400 naming the field, and writes nothing', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const before = await countEvents();
    const res = await stack.app.inject({ method: 'POST', url: '/plans', headers: { authorization: `Bearer ${token}` }, payload: draft({ planId: randomUUID() }) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ status: 400, field: 'body.planId' });
    expect(await countEvents()).toBe(before);
  });

  it('answers a malformed body with a 400 problem naming the field, and writes nothing', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const before = await countEvents();
    const cases: Array<[Record<string, unknown>, string]> = [
      [draft({ grade: 'seven' }), 'body.grade'],
      [draft({ semester: '2025-26' }), 'body.semester'],
      [draft({ surname: 'Bērziņš' }), 'body.surname'],
      [{ ...draft(), learnerRef: undefined }, 'body.learnerRef'],
      [draft({ risks: [{ riskId: 'r1', type: 'astrology', factor: 'x', note: '' }] }), 'body.risks.0.type'],
    ];
    for (const [payload, field] of cases) {
      const res = await stack.app.inject({ method: 'POST', url: '/plans', headers: { authorization: `Bearer ${token}` }, payload });
      expect(res.statusCode, field).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ status: 400, type: 'urn:iap:problem:validation', field });
    }
    const notJson = await stack.app.inject({
      method: 'POST',
      url: '/plans',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"learnerRef": ',
    });
    expect(notJson.statusCode).toBe(400);
    expect(await countEvents()).toBe(before);
  });

  it('answers a rule the decider enforces with 422 and the rule, and writes nothing', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const before = await countEvents();
    const res = await stack.app.inject({
      method: 'POST',
      url: '/plans',
      headers: { authorization: `Bearer ${token}` },
      payload: draft({ measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['no-such-risk'], justification: 'x', providerType: 'teacher', plannedMinutes: 60 }] }),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toMatch(/^plan\./);
    expect(await countEvents()).toBe(before);
  });

  it('leaves no workflow in Temporal for a draft it refuses (a semester that is over)', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const semester = '2020/21-1'; // no other test of this file drafts for it
    const res = await stack.app.inject({ method: 'POST', url: '/plans', headers: { authorization: `Bearer ${token}` }, payload: draft({ semester }) });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ code: 'plan.semester_over', field: 'data.semester' });
    // The refused plan's id is the server's and was never given out: look for any plan workflow of this file's
    // task queue for that semester, running or failed. Visibility may lag a moment behind a start.
    await new Promise((r) => setTimeout(r, 1_000));
    const listed = [];
    for await (const w of stack.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}' AND PlanSemester = '${semester}'` })) listed.push(w.workflowId);
    expect(listed).toEqual([]);
  });

  it('requires a bearer token', async () => {
    const res = await stack.app.inject({ method: 'POST', url: '/plans', payload: draft() });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('writes no duplicate when the append activity crashes after its commit and is retried', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    failNextAfterCommit = 1;
    const res = await stack.app.inject({ method: 'POST', url: '/plans', headers: { authorization: `Bearer ${token}` }, payload: draft() });
    expect(res.statusCode).toBe(201);
    expect(failNextAfterCommit).toBe(0); // the crash did happen
    const planId = res.json().planId;
    const events = await readStream(stack.db, planId);
    expect(events.map((e) => e.type)).toEqual(['PlanDrafted']);
    const rows = await stack.db.selectFrom('plans').select('version').where('plan_id', '=', planId).execute();
    expect(rows).toEqual([{ version: 1 }]);
    // Temporal recorded the append (a local activity) once, completed by its second attempt.
    const history = await stack.client.workflow.getHandle(planWorkflowId(planId)).fetchHistory();
    const appends = (history.events ?? []).flatMap((e) => {
      const marker = e.markerRecordedEventAttributes;
      if (marker?.markerName !== 'core_local_activity') return [];
      const data = marker.details?.data?.payloads?.[0]?.data;
      return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string; attempt: number }] : [];
    });
    expect(appends).toEqual([expect.objectContaining({ activity_type: 'appendEvents', attempt: 2 })]);
  });
});

describe('operations endpoints', () => {
  it('reports each component on /health', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', components: { database: { status: 'up' }, temporal: { status: 'up' } } });
  });

  it('publishes an OpenAPI document with request, response and error schemas', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const post = doc.paths['/plans'].post;
    expect(post.requestBody.content['application/json'].schema.properties.learnerRef).toBeDefined();
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '400', '422']));
  });
});
