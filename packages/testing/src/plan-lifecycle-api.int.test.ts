// The plan lifecycle through the HTTP API on real Temporal and Postgres: each step sent by the role that
// owns it, the refusals (role, state, rule, stale version, scope), idempotent retries, the plan list with
// its scope, filters and cursor, and planned-vs-delivered progress.
import { randomUUID } from 'node:crypto';
import { readStream } from '@iap/db';
import { planWorkflowId } from '@iap/messages';
import type { TokenSubject } from '@iap/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, MUNI_B, preparerOf, registerLearner, SCHOOL_A, SCHOOL_B, SCHOOL_V, startTestStack, type TestStack } from './stack.js';
import { SEMESTER_NOW, TODAY } from './workflow-driver.js';



const SEMESTER = SEMESTER_NOW;

let stack: TestStack;
const tokens = {} as Record<
  'preparerA' | 'directorA' | 'coordinatorA' | 'national' | 'auditor' | 'financeA' | 'preparerB' | 'preparerV' | 'directorV',
  string
>;

beforeAll(async () => {
  stack = await startTestStack();

  const t = (s: TokenSubject) => stack.token(s);
  Object.assign(tokens, {
    preparerA: t(preparerOf(SCHOOL_A)),
    directorA: t({ sub: 'director-a', role: 'school_director', ...SCHOOL_A }),
    coordinatorA: t({ sub: 'coordinator-muni-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A }),
    national: t({ sub: 'ikvd-1', role: 'national_coordinator' }),
    auditor: t({ sub: 'auditor-1', role: 'auditor' }),
    financeA: t({ sub: 'finance-muni-a', role: 'finance', partner: MUNI_A }),
    preparerB: t(preparerOf(SCHOOL_B)),
    preparerV: t({ sub: 'preparer-v', role: 'preparer', ...SCHOOL_V }),
    directorV: t({ sub: 'director-v', role: 'school_director', ...SCHOOL_V }),
  });
});
afterAll(async () => {
  await stack?.close();
});

const draft = (over: Record<string, unknown> = {}) => ({
  learnerRef: `L-${randomUUID().slice(0, 8)}`,
  semester: SEMESTER,
  grade: 8,
  risks: [
    { riskId: 'r1', type: 'learning', factor: 'insufficient grades in mathematics', note: '' },
    { riskId: 'r2', type: 'economic', factor: 'low-income family', note: 'documented by the social service' },
  ],
  measures: [
    { measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'extra lessons', providerType: 'teacher', subject: 'mathematics', plannedMinutes: 240 },
    { measureId: 'm2', kind: 'compensation', riskIds: ['r2'], justification: 'bus to school', compensationType: 'public_transport', plannedCents: 5000 },
  ],
  ...over,
});

async function post(token: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  return stack.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${token}`, ...headers },
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
}

async function get(token: string, url: string) {
  return stack.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

async function createPlan(token = tokens.preparerA, over: Record<string, unknown> = {}): Promise<string> {
  const body = draft(over);
  await registerLearner(stack.app, token, body.learnerRef as string);
  const res = await post(token, '/plans', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().planId as string;
}

/** Sends a command and expects it accepted; returns the result body. */
async function ok(token: string, url: string, payload?: unknown, headers?: Record<string, string>) {
  const res = await post(token, url, payload, headers);
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  expect(res.headers.etag).toBe(`"${res.json().version}"`);
  return res.json() as { planId: string; version: number; status: string; events: Array<{ type: string; version: number }> };
}

const eventCount = async (planId: string) => (await readStream(stack.db, planId)).length;

/** Drafted, consented and submitted: waiting for the school director. */
async function submittedPlan(token = tokens.preparerA): Promise<string> {
  const planId = await createPlan(token);
  await ok(token, `/plans/${planId}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-1' });
  await ok(token, `/plans/${planId}/submission`);
  return planId;
}

describe('a plan walked through its lifecycle over HTTP', () => {
  it('goes from draft to delivery, each step by the role that owns it', async () => {
    const planId = await createPlan();
    const p = `/plans/${planId}`;

    const requested = await ok(tokens.preparerA, `${p}/consent-request`);
    expect(requested).toMatchObject({ planId, status: 'awaiting_consent', version: 2, events: [{ type: 'ConsentRequested', version: 2 }] });

    const granted = await ok(tokens.preparerA, `${p}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-2026/17' });
    expect(granted).toMatchObject({ status: 'draft', events: [{ type: 'ConsentGranted' }] });

    // An empty JSON object is as good as no body for a command without data.
    const submitted = await ok(tokens.preparerA, `${p}/submission`, {});
    expect(submitted).toMatchObject({ status: 'in_approval', events: [{ type: 'PlanSubmittedForApproval' }] });

    const school = await ok(tokens.directorA, `${p}/approvals`, { level: 'school', comment: 'agreed with the class teacher' });
    expect(school).toMatchObject({ status: 'in_approval', events: [{ type: 'ApprovalGranted' }] });
    const municipal = await ok(tokens.coordinatorA, `${p}/approvals`, { level: 'municipality' });
    expect(municipal.status).toBe('in_approval');
    const national = await ok(tokens.national, `${p}/approvals`, { level: 'national' });
    expect(national).toMatchObject({ status: 'approved', events: [{ type: 'ApprovalGranted' }, { type: 'PlanApproved' }] });

    const logged = await ok(tokens.preparerA, `${p}/consultations`, {
      consultationId: 'c1',
      measureId: 'm1',
      date: TODAY,
      providerType: 'teacher',
      subject: 'mathematics',
      minutes: 45,
      mode: 'in_person',
    });
    expect(logged).toMatchObject({ status: 'in_implementation', events: [{ type: 'ImplementationStarted' }, { type: 'ConsultationLogged' }] });
    await ok(tokens.preparerA, `${p}/consultations`, {
      consultationId: 'c2',
      measureId: 'm1',
      date: TODAY,
      providerType: 'teacher',
      minutes: 30,
      mode: 'in_person',
    });

    const confirmed = await ok(tokens.preparerA, `${p}/consultations/c1/confirmation`);
    expect(confirmed.events).toMatchObject([{ type: 'ConsultationConfirmed' }]);

    const claimed = await ok(tokens.preparerA, `${p}/claims`, {
      claimId: 'k1',
      measureId: 'm2',
      compensationType: 'public_transport',
      periodFrom: TODAY,
      periodTo: TODAY,
      amountCents: 1500,
      documentRefs: ['ticket-0001.pdf'],
    });
    expect(claimed).toMatchObject({ status: 'in_implementation', events: [{ type: 'CompensationClaimed' }] });

    const progress = await get(tokens.directorA, `${p}/progress`);
    expect(progress.statusCode).toBe(200);
    expect(progress.headers.etag).toBe(`"${claimed.version}"`);
    expect(progress.json()).toEqual({
      planId,
      version: claimed.version,
      status: 'in_implementation',
      measures: [
        { kind: 'consultation', measureId: 'm1', inPlan: true, plannedMinutes: 240, deliveredMinutes: 45, unconfirmedMinutes: 30, consultations: 2 },
        { kind: 'compensation', measureId: 'm2', inPlan: true, plannedCents: 5000, claimedCents: 1500, approvedCents: 0, paidCents: 0, rejectedCents: 0 },
      ],
    });

    // The projection has caught up with every accepted command, and the log holds them in order.
    const read = await get(tokens.preparerA, p);
    expect(read.json()).toMatchObject({ version: claimed.version, status: 'in_implementation' });
    expect((await readStream(stack.db, planId)).map((e) => e.type)).toEqual([
      'PlanDrafted',
      'ConsentRequested',
      'ConsentGranted',
      'PlanSubmittedForApproval',
      'ApprovalGranted',
      'ApprovalGranted',
      'ApprovalGranted',
      'PlanApproved',
      'ImplementationStarted',
      'ConsultationLogged',
      'ConsultationLogged',
      'ConsultationConfirmed',
      'CompensationClaimed',
    ]);
    const events = await readStream(stack.db, planId);
    expect(events.find((e) => e.type === 'PlanApproved')!.metadata).toMatchObject({ actorId: 'ikvd-1', actorRole: 'national_coordinator' });
  });

  it("skips the municipal level for a state vocational school's plan", async () => {
    const planId = await submittedPlan(tokens.preparerV);
    const p = `/plans/${planId}`;
    await ok(tokens.directorV, `${p}/approvals`, { level: 'school' });
    // The municipality's coordinator sees the plan (it is in the municipality) but has no level to sign.
    const municipal = await post(tokens.coordinatorA, `${p}/approvals`, { level: 'municipality' });
    expect(municipal.statusCode).toBe(422);
    expect(municipal.json()).toMatchObject({ code: 'plan.approval_level_not_applicable', field: 'data.level' });
    const national = await ok(tokens.national, `${p}/approvals`, { level: 'national' });
    expect(national.status).toBe('approved');
  });

  it('returns a plan for revision, takes the revised plan back, and suspends, resumes and deletes', async () => {
    const planId = await submittedPlan();
    const p = `/plans/${planId}`;
    const returned = await ok(tokens.directorA, `${p}/returns`, { level: 'school', comment: 'name the subject of m1' });
    expect(returned.status).toBe('returned');
    const revised = await ok(tokens.preparerA, `${p}/revisions`, {
      risks: draft().risks,
      measures: [draft().measures[0]],
    });
    expect(revised.events).toMatchObject([{ type: 'PlanRevised' }]);
    await ok(tokens.preparerA, `${p}/submission`);
    const suspended = await ok(tokens.directorA, `${p}/suspension`, { reason: 'long illness' });
    expect(suspended.status).toBe('suspended');
    const resumed = await ok(tokens.directorA, `${p}/resumption`);
    expect(resumed.status).toBe('in_revision');
    const deleted = await ok(tokens.directorA, `${p}/deletion`, { reason: 'learner moved abroad' });
    expect(deleted.status).toBe('deleted');
    // A deleted plan's workflow ends; a command to it then is a conflict, not a missing plan.
    await stack.client.workflow.getHandle(planWorkflowId(planId)).result();
    const after = await post(tokens.directorA, `${p}/submission`);
    expect(after.statusCode, after.body).toBe(409);
    expect(after.json()).toMatchObject({ code: 'plan.wrong_status', detail: 'the plan is deleted and takes no more commands' });
    expect((await readStream(stack.db, planId)).at(-1)!.type).toBe('PlanDeleted');
  });
});

describe('refusals', () => {
  it('answers wrong role 403, wrong state 409 and a broken rule 422, writing nothing', async () => {
    const planId = await createPlan();
    const p = `/plans/${planId}`;
    const before = await eventCount(planId);

    const notYetConsented = await post(tokens.preparerA, `${p}/submission`);
    expect(notYetConsented.statusCode).toBe(422);
    expect(notYetConsented.json()).toMatchObject({ code: 'plan.consent_missing', type: 'urn:iap:problem:plan.consent_missing' });

    const wrongState = await post(tokens.preparerA, `${p}/implementation`);
    expect(wrongState.statusCode).toBe(409);
    expect(wrongState.json().code).toBe('plan.wrong_status');

    const preparerApproves = await post(tokens.preparerA, `${p}/approvals`, { level: 'school' });
    expect(preparerApproves.statusCode).toBe(403);
    const preparerDeletes = await post(tokens.preparerA, `${p}/deletion`, { reason: 'x' });
    expect(preparerDeletes.statusCode).toBe(403);
    const auditor = await post(tokens.auditor, `${p}/consent-request`);
    expect(auditor.statusCode).toBe(403);
    expect(auditor.headers['content-type']).toContain('application/problem+json');
    const finance = await post(tokens.financeA, `${p}/consent-request`);
    expect(finance.statusCode).toBe(403);
    expect(await eventCount(planId)).toBe(before);
  });

  it('refuses approval out of order, and at a level the signer does not hold', async () => {
    const planId = await submittedPlan();
    const p = `/plans/${planId}`;
    const before = await eventCount(planId);
    // The national coordinator may sign, but the plan waits for the school: the domain calls that a conflict.
    const early = await post(tokens.national, `${p}/approvals`, { level: 'national' });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'plan.approval_out_of_order', field: 'data.level' });
    // A director signing for the nation is a role refusal from the decider itself.
    const director = await post(tokens.directorA, `${p}/approvals`, { level: 'national' });
    expect(director.statusCode).toBe(403);
    expect(director.json().code).toBe('plan.forbidden_role');
    const noComment = await post(tokens.directorA, `${p}/returns`, { level: 'school', comment: '   ' });
    expect(noComment.statusCode).toBe(422);
    expect(noComment.json().code).toBe('plan.comment_required');
    expect(await eventCount(planId)).toBe(before);
  });

  it('refuses a stale If-Match with 412 and accepts the current one', async () => {
    const planId = await createPlan();
    const p = `/plans/${planId}`;
    const read = await get(tokens.preparerA, p);
    const etag = read.headers.etag as string;
    expect(etag).toBe('"1"');
    await ok(tokens.preparerA, `${p}/consent-request`, undefined, { 'if-match': etag });
    const before = await eventCount(planId);
    const stale = await post(tokens.preparerA, `${p}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-2' }, { 'if-match': etag });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().code).toBe('plan.stale_version');
    expect(await eventCount(planId)).toBe(before);
    await ok(tokens.preparerA, `${p}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'APP-2' }, { 'if-match': '2' });

    const malformed = await post(tokens.preparerA, `${p}/submission`, undefined, { 'if-match': 'W/"3"' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().field).toBe('headers.if-match');
    expect(await eventCount(planId)).toBe(before + 1);
  });

  it('replays the first answer for a repeated Idempotency-Key and appends nothing', async () => {
    const planId = await createPlan();
    const p = `/plans/${planId}`;
    const headers = { 'idempotency-key': `consent-${randomUUID()}` };
    const first = await ok(tokens.preparerA, `${p}/consent-request`, undefined, headers);
    const count = await eventCount(planId);
    const [again, concurrent] = await Promise.all([
      post(tokens.preparerA, `${p}/consent-request`, undefined, headers),
      post(tokens.preparerA, `${p}/consent-request`, undefined, headers),
    ]);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first);
    expect(concurrent.json()).toEqual(first);
    expect(await eventCount(planId)).toBe(count);
    // Without the key the same request is a new one, which the plan's state now refuses.
    const fresh = await post(tokens.preparerA, `${p}/consent-request`);
    expect(fresh.statusCode).toBe(409);
  });

  it("hides another school's plan (404 for reads and commands) and unknown plans", async () => {
    const planId = await createPlan();
    const p = `/plans/${planId}`;
    expect((await get(tokens.preparerB, p)).statusCode).toBe(404);
    expect((await get(tokens.preparerB, `${p}/progress`)).statusCode).toBe(404);
    const command = await post(tokens.preparerB, `${p}/consent-request`);
    expect(command.statusCode).toBe(404);
    expect(command.json().detail).toBe('no such plan');
    // Auditors and the national coordinator read it; the municipality's finance staff too (their partner).
    expect((await get(tokens.auditor, `${p}/progress`)).statusCode).toBe(200);
    expect((await get(tokens.national, p)).statusCode).toBe(200);
    expect((await get(tokens.financeA, p)).statusCode).toBe(200);
    const unknown = await post(tokens.national, `/plans/${randomUUID()}/approvals`, { level: 'national' });
    expect(unknown.statusCode).toBe(404);
    expect(await eventCount(planId)).toBe(1);
  });

  it('answers malformed bodies with 400 naming the field', async () => {
    const planId = await createPlan();
    const p = `/plans/${planId}`;
    const cases: Array<[string, unknown, string]> = [
      [`${p}/consent`, { givenBy: 'neighbour', signedOn: TODAY, documentRef: 'A' }, 'body.givenBy'],
      [`${p}/consent`, { givenBy: 'parent', signedOn: '2026-02-30', documentRef: 'A' }, 'body.signedOn'],
      [`${p}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'A\u0000B' }, 'body.documentRef'],
      [`${p}/consent-request`, { note: 'hello' }, 'body'],
      [`${p}/approvals`, { level: 'regional' }, 'body.level'],
      [`${p}/suspension`, {}, 'body.reason'],
      [`${p}/claims`, { claimId: 'k', measureId: 'm2', compensationType: 'meals', periodFrom: TODAY, periodTo: TODAY, amountCents: 0, documentRefs: ['r'] }, 'body.amountCents'],
      [`${p}/consultations/bad%20id/confirmation`, undefined, 'params.consultationId'],
    ];
    for (const [url, payload, field] of cases) {
      const res = await post(tokens.preparerA, url, payload);
      expect(res.statusCode, `${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(res.json().field, url).toContain(field);
    }
    expect((await post(tokens.preparerA, '/plans/not-a-uuid/submission')).statusCode).toBe(400);
    expect(await eventCount(planId)).toBe(1);
  });
});

describe('GET /plans', () => {
  // Far-future semesters keep these plans apart from the other tests' (drafting does not check dates).
  const S1 = '2031/32-1';
  const S2 = '2031/32-2';
  const ids: Record<string, string[]> = {};

  beforeAll(async () => {
    const add = async (name: string, token: string, over: Record<string, unknown>) => {
      (ids[name] ??= []).push(await createPlan(token, over));
    };
    const learningOnly = {
      risks: [{ riskId: 'r1', type: 'learning', factor: 'missed material', note: '' }],
      measures: [draft().measures[0]],
    };
    for (let i = 0; i < 2; i++) await add('a', tokens.preparerA, { semester: S1, ...learningOnly });
    await add('a', tokens.preparerA, { semester: S1 }); // learning and economic
    await add('a2', tokens.preparerA, { semester: S2, ...learningOnly });
    for (let i = 0; i < 2; i++) await add('b', tokens.preparerB, { semester: S1, ...learningOnly });
    await add('v', tokens.preparerV, { semester: S1, ...learningOnly });
    await ok(tokens.preparerV, `/plans/${ids.v![0]}/consent-request`);
  });

  const list = async (token: string, query: string) => {
    const res = await get(token, `/plans?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: Array<{ planId: string; schoolId: string; status: string; createdAt: string }>; nextCursor: string | null };
  };
  const idsOf = (page: { items: Array<{ planId: string }> }) => page.items.map((i) => i.planId).sort();

  it("shows each role its own scope", async () => {
    expect(idsOf(await list(tokens.preparerA, `semester=${S1}`))).toEqual([...ids.a!].sort());
    expect(idsOf(await list(tokens.preparerB, `semester=${S1}`))).toEqual([...ids.b!].sort());
    // The coordinator's municipality holds school A and the state vocational school.
    expect(idsOf(await list(tokens.coordinatorA, `semester=${S1}`))).toEqual([...ids.a!, ...ids.v!].sort());
    // Finance staff see their partner's plans; the vocational school is its own partner.
    expect(idsOf(await list(tokens.financeA, `semester=${S1}`))).toEqual([...ids.a!].sort());
    const all = [...ids.a!, ...ids.b!, ...ids.v!].sort();
    expect(idsOf(await list(tokens.national, `semester=${S1}`))).toEqual(all);
    expect(idsOf(await list(tokens.auditor, `semester=${S1}`))).toEqual(all);
    // A filter cannot widen the scope.
    expect((await list(tokens.preparerA, `semester=${S1}&schoolId=school-b`)).items).toEqual([]);
  });

  it('filters by semester, status, risk type, school and municipality', async () => {
    expect(idsOf(await list(tokens.preparerA, `semester=${S2}`))).toEqual(ids.a2);
    expect(idsOf(await list(tokens.preparerA, `semester=${S1}&riskType=economic`))).toEqual([ids.a![2]]);
    expect((await list(tokens.preparerA, `semester=${S1}&riskType=learning`)).items).toHaveLength(3);
    expect((await list(tokens.preparerA, `semester=${S1}&riskType=family`)).items).toEqual([]);
    expect(idsOf(await list(tokens.national, `semester=${S1}&status=awaiting_consent`))).toEqual(ids.v);
    expect((await list(tokens.national, `semester=${S1}&status=draft`)).items).toHaveLength(5);
    expect(idsOf(await list(tokens.national, `semester=${S1}&schoolId=school-b`))).toEqual([...ids.b!].sort());
    expect(idsOf(await list(tokens.national, `semester=${S1}&municipalityId=${MUNI_B}`))).toEqual([...ids.b!].sort());
    const item = (await list(tokens.national, `semester=${S1}&schoolId=school-v`)).items[0]!;
    expect(item).toMatchObject({ planId: ids.v![0], schoolId: 'school-v', status: 'awaiting_consent', partner: { type: 'state_vocational', id: 'voc-v' } });
  });

  it('pages with an opaque cursor, newest first, without gaps or repeats', async () => {
    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof list>> = await list(tokens.national, `semester=${S1}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page.items.length);
      seen.push(...page.items.map((i) => i.planId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages).toEqual([2, 2, 2]);
    expect([...seen].sort()).toEqual([...ids.a!, ...ids.b!, ...ids.v!].sort());
    const whole = await list(tokens.national, `semester=${S1}`);
    expect(whole.items.map((i) => i.planId)).toEqual(seen);
    expect(whole.nextCursor).toBeNull();
    const created = whole.items.map((i) => i.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it('refuses a bad limit, cursor or filter with 400', async () => {
    for (const [query, field] of [
      ['limit=0', 'querystring.limit'],
      ['limit=201', 'querystring.limit'],
      ['limit=ten', 'querystring.limit'],
      ['cursor=bm90LWEtY3Vyc29y', 'querystring.cursor'],
      [`cursor=${Buffer.from(JSON.stringify(['2026-02-30T00:00:00.000000Z', 'x'])).toString('base64url')}`, 'querystring.cursor'],
      ['status=lost', 'querystring.status'],
      ['riskType=astrology', 'querystring.riskType'],
      ['learnerRef=L-1', 'querystring.learnerRef'],
    ] as const) {
      const res = await get(tokens.national, `/plans?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().field, query).toBe(field);
    }
  });
});

describe('OpenAPI', () => {
  it('documents every command route with its body, roles and problems', async () => {
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const approve = doc.paths['/plans/{planId}/approvals'].post;
    expect(approve.summary).toContain('national coordinator at national level');
    expect(approve.requestBody.content['application/json'].schema.properties.level.enum).toEqual(['school', 'municipality', 'national']);
    expect(Object.keys(approve.responses)).toEqual(expect.arrayContaining(['200', '400', '403', '404', '409', '412', '422']));
    expect(approve.parameters.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['idempotency-key', 'if-match', 'planId']));
    expect(doc.paths['/plans/{planId}/deletion'].post.summary).toContain('school director');
    expect(doc.paths['/plans'].get.parameters.map((x: { name: string }) => x.name)).toEqual(
      expect.arrayContaining(['semester', 'status', 'riskType', 'cursor', 'limit']),
    );
  });
});
