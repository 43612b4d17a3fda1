// The register of organisations and tokens checked against it, as an attacker would try them, on real Temporal
// and Postgres: two municipal schools in two municipalities (A, B) and a state vocational school (V, in A's
// territory), registered by the harness as national staff do.
import { randomUUID } from 'node:crypto';
import { REGISTER_STREAM_ID, registerWorkflowId } from '@iap/messages';
import type { TokenSubject } from '@iap/runtime';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFixture } from './fixtures.js';
import { MUNI_A, MUNI_B, preparerOf, registerLearner, SCHOOL_A, SCHOOL_B, SCHOOL_V, startTestStack, type TestStack } from './stack.js';
import { SEMESTER_NOW } from './workflow-driver.js';

let stack: TestStack;
const NATIONAL: TokenSubject = { sub: 'ikvd', role: 'national_coordinator' };

const call = (method: 'GET' | 'PUT' | 'POST', who: TokenSubject, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${stack.token(who)}`, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });

const registerEvents = async () =>
  (await stack.db.selectFrom('events').select('event_type').where('stream_id', '=', REGISTER_STREAM_ID).orderBy('stream_version').execute()).map((e) => e.event_type);

const draft = (learnerRef = `L-${randomUUID().slice(0, 8)}`) => ({
  learnerRef,
  semester: SEMESTER_NOW,
  grade: 7,
  risks: [{ riskId: 'r1', type: 'learning', factor: 'insufficient grades in mathematics', note: '' }],
  measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'extra lessons', providerType: 'teacher', plannedMinutes: 240 }],
});

const BUDGET_B = `/budgets/${MUNI_B}/${encodeURIComponent(SEMESTER_NOW)}`;

beforeAll(async () => {
  stack = await startTestStack();
  const set = await call('PUT', NATIONAL, BUDGET_B, { allocatedCents: 777_000 });
  expect(set.statusCode, set.body).toBe(200);
});
afterAll(async () => {
  // The register's history after every test here: registrations, changes, identical PUTs and refusals.
  if (stack) await recordFixture(stack, registerWorkflowId(stack.taskQueue), 'register-writes');
  await stack?.close();
});

/** The one answer to every token the register contradicts, whichever claim failed (so it tells nothing more). */
const REFUSAL = {
  type: 'urn:iap:problem:token.scope_mismatch',
  status: 401,
  code: 'token.scope_mismatch',
  field: 'headers.authorization',
  detail: 'the organisations the token names are unknown or closed, or do not belong together in the register of organisations',
};

/** `claim`: the claim at fault, as the domain's check names it (the API does not tell the caller). */
function expectRefused(res: LightMyRequestResponse, _claim: string) {
  expect(res.statusCode, res.body).toBe(401);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const { requestId: _r, title: _t, ...body } = res.json();
  expect(body).toEqual(REFUSAL);
}

describe("a token's scope against the register", () => {
  it("refuses a coordinator of municipality A naming B's partner: 401, and B's budget is not read", async () => {
    const attacker: TokenSubject = { sub: 'coord-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_B };
    const res = await call('GET', attacker, BUDGET_B);
    expectRefused(res, 'partner');
    expect(res.body).not.toContain('777000');
    // Nor anything else: the token is refused on every route.
    for (const url of ['/plans', '/claims', '/reports/participation', `/organisations/partners/${MUNI_B}`]) expectRefused(await call('GET', attacker, url), 'partner');
    // The same coordinator with the register's partner reads its own budget's absence, not B's.
    const honest = await call('GET', { ...attacker, partner: MUNI_A }, BUDGET_B);
    expect(honest.statusCode).toBe(404);
  });

  it("refuses school staff whose municipality, partner or partner type are not the school's, and writes nothing", async () => {
    const before = await stack.db.selectFrom('events').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const forged: Array<[TokenSubject, string]> = [
      [{ ...preparerOf(SCHOOL_A), municipality: MUNI_B }, 'municipality'],
      [{ ...preparerOf(SCHOOL_A), partner: MUNI_B }, 'partner'],
      [{ ...preparerOf(SCHOOL_A), partnerType: 'state_vocational' }, 'partnerType'],
      [{ sub: 'director-v', role: 'school_director', ...SCHOOL_V, partner: MUNI_A, partnerType: 'municipality' }, 'partner'],
      [{ sub: 'director-b', role: 'school_director', ...SCHOOL_B, municipality: MUNI_A, partner: MUNI_A }, 'municipality'],
    ];
    for (const [who, claim] of forged) {
      expectRefused(await call('POST', who, '/plans', draft()), claim);
      expectRefused(await call('GET', who, '/plans'), claim);
    }
    const after = await stack.db.selectFrom('events').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    // No plan landed in municipality B's view.
    const listB = await call('GET', { sub: 'coord-b', role: 'municipality_coordinator', municipality: MUNI_B }, '/plans');
    expect(listB.json()).toMatchObject({ items: [] });
  });

  it('refuses an unregistered school, municipality or partner, and a token naming a municipality but no school for school staff', async () => {
    expectRefused(await call('POST', { sub: 'p', role: 'preparer', school: 'school-ghost', municipality: MUNI_A, partner: MUNI_A, partnerType: 'municipality' }, '/plans', draft()), 'school');
    expectRefused(await call('GET', { sub: 'c', role: 'municipality_coordinator', municipality: 'muni-ghost' }, '/plans'), 'municipality');
    expectRefused(await call('GET', { sub: 'f', role: 'finance', partner: 'partner-ghost' }, '/claims'), 'partner');
    expectRefused(await call('GET', { sub: 'p', role: 'preparer', municipality: MUNI_A, partner: MUNI_A }, '/plans'), 'school');
    expectRefused(await call('GET', { sub: 'f', role: 'finance', partner: MUNI_A, school: SCHOOL_B.school }, '/claims'), 'school');
  });

  it("drafts a plan with the school's municipality and partner as registered, from a token naming only the school", async () => {
    for (const [school, municipality, partner] of [
      [SCHOOL_A.school, MUNI_A, { type: 'municipality', id: MUNI_A }],
      [SCHOOL_V.school, MUNI_A, { type: 'state_vocational', id: 'voc-v' }],
    ] as const) {
      const preparer: TokenSubject = { sub: `p-${school}`, role: 'preparer', school };
      const learnerRef = `L-${randomUUID().slice(0, 8)}`;
      await registerLearner(stack.app, stack.token(preparer), learnerRef);
      const res = await call('POST', preparer, '/plans', draft(learnerRef));
      expect(res.statusCode, res.body).toBe(201);
      const plan = (await call('GET', NATIONAL, `/plans/${res.json().planId}`)).json();
      expect(plan).toMatchObject({ schoolId: school, municipalityId: municipality, partner });
    }
  });

  it('refuses a closed school at once (the API that closed it), and takes it back when reopened', async () => {
    const c = { school: 'school-c', municipality: MUNI_B, partner: MUNI_B, partnerType: 'municipality' } as const;
    const put = (active: boolean) => call('PUT', NATIONAL, '/organisations/schools/school-c', { name: 'School C', municipalityId: MUNI_B, active });
    expect((await put(true)).statusCode).toBe(200);
    expect((await call('GET', preparerOf(c), '/plans')).statusCode).toBe(200);
    expect((await put(false)).json()).toMatchObject({ schoolId: 'school-c', active: false });
    expectRefused(await call('GET', preparerOf(c), '/plans'), 'school');
    expect((await put(true)).statusCode).toBe(200);
    expect((await call('GET', preparerOf(c), '/plans')).statusCode).toBe(200);
  });

  it('refuses a school closed through another API process once its cached entry expires', async () => {
    const other = await stack.buildApp({ registerCacheMs: 300 });
    const f = { school: 'school-f', municipality: MUNI_B, partner: MUNI_B, partnerType: 'municipality' } as const;
    const put = (active: boolean) => call('PUT', NATIONAL, '/organisations/schools/school-f', { name: 'School F', municipalityId: MUNI_B, active });
    const plansOnOther = () => other.inject({ method: 'GET', url: '/plans', headers: { authorization: `Bearer ${stack.token(preparerOf(f))}` } });
    expect((await put(true)).statusCode).toBe(200);
    expect((await plansOnOther()).statusCode).toBe(200);
    expect((await put(false)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    expectRefused(await plansOnOther(), 'school');
  });

  it('leaves national staff and auditors alone', async () => {
    expect((await call('GET', { sub: 'a', role: 'auditor' }, BUDGET_B)).statusCode).toBe(200);
    expect((await call('GET', NATIONAL, BUDGET_B)).json()).toMatchObject({ allocatedCents: 777_000 });
  });
});

describe('writing the register', () => {
  const body = { name: 'Riga 1st Gymnasium', municipalityId: MUNI_A };

  it('lets only national staff write: every other role gets the same 403 for a registered id and an unknown one, and nothing is written', async () => {
    const before = await registerEvents();
    const others: TokenSubject[] = [
      preparerOf(SCHOOL_A),
      { sub: 'd', role: 'school_director', ...SCHOOL_A },
      { sub: 'c', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A },
      { sub: 'f', role: 'finance', partner: MUNI_A },
      { sub: 'a', role: 'auditor' },
    ];
    for (const who of others) {
      const known = await call('PUT', who, `/organisations/schools/${SCHOOL_A.school}`, body);
      const unknown = await call('PUT', who, '/organisations/schools/school-nowhere', body);
      expect([known.statusCode, unknown.statusCode], `${who.role}: ${known.body}`).toEqual([403, 403]);
      const { requestId: _a, ...k } = known.json();
      const { requestId: _b, ...u } = unknown.json();
      expect(k).toEqual(u);
      expect((await call('PUT', who, `/organisations/partners/${MUNI_A}`, { type: 'municipality', name: 'x' })).statusCode).toBe(403);
      expect((await call('PUT', who, `/organisations/municipalities/${MUNI_A}`, { name: 'x', partnerId: MUNI_A })).statusCode).toBe(403);
    }
    expect(await registerEvents()).toEqual(before);
    expect((await call('GET', NATIONAL, `/organisations/schools/${SCHOOL_A.school}`)).json()).toMatchObject({ name: `School ${SCHOOL_A.school}` });
  });

  it('is idempotent under retry with the same Idempotency-Key, and an identical PUT records nothing', async () => {
    const before = await registerEvents();
    const key = { 'idempotency-key': `reg-${randomUUID()}` };
    const first = await call('PUT', NATIONAL, '/organisations/schools/school-d', body, key);
    const retry = await call('PUT', NATIONAL, '/organisations/schools/school-d', body, key);
    expect(first.statusCode, first.body).toBe(200);
    expect(retry.json()).toEqual(first.json());
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(await registerEvents()).toEqual([...before, 'SchoolRegistered']);
    // The same body again without a key changes nothing either.
    const again = await call('PUT', NATIONAL, '/organisations/schools/school-d', body);
    expect(again.json()).toEqual(first.json());
    // A later change, then a late retry of the first request: it gets the first answer again and writes nothing.
    expect((await call('PUT', NATIONAL, '/organisations/schools/school-d', { ...body, name: 'Renamed' })).json()).toMatchObject({ name: 'Renamed' });
    const late = await call('PUT', NATIONAL, '/organisations/schools/school-d', body, key);
    expect(late.json()).toEqual(first.json());
    expect((await call('GET', NATIONAL, '/organisations/schools/school-d')).json()).toMatchObject({ name: 'Renamed' });
    expect(await registerEvents()).toEqual([...before, 'SchoolRegistered', 'SchoolChanged']);
  });

  it("refuses broken links with the field at fault, and a changed partner", async () => {
    const put = (url: string, b: unknown) => call('PUT', NATIONAL, url, b);
    const cases: Array<[string, unknown, number, string]> = [
      ['/organisations/schools/school-e', { name: 'E', municipalityId: 'muni-ghost' }, 422, 'data.municipalityId'],
      ['/organisations/schools/school-e', { name: 'E', municipalityId: MUNI_A, vocationalPartnerId: MUNI_B }, 422, 'data.vocationalPartnerId'],
      ['/organisations/schools/school-e', { name: 'E', municipalityId: MUNI_A, vocationalPartnerId: 'voc-v' }, 409, 'data.vocationalPartnerId'],
      [`/organisations/schools/${SCHOOL_A.school}`, { name: 'A', municipalityId: MUNI_B }, 409, 'data.municipalityId'],
      [`/organisations/municipalities/${MUNI_A}`, { name: 'A', partnerId: MUNI_B }, 409, 'data.partnerId'],
      [`/organisations/partners/${MUNI_A}`, { name: 'A', type: 'state_vocational' }, 409, 'data.type'],
      ['/organisations/schools/school-e', { name: '', municipalityId: MUNI_A }, 400, 'body.name'],
      ['/organisations/schools/bad%20id', { name: 'E', municipalityId: MUNI_A }, 400, 'params.schoolId'],
    ];
    for (const [url, b, status, field] of cases) {
      const res = await put(url, b);
      expect(res.statusCode, `${url} ${JSON.stringify(b)}: ${res.body}`).toBe(status);
      expect(res.json().field, url).toBe(field);
    }
  });
});

describe('reading the register', () => {
  const ids = async (who: TokenSubject, url: string) => ((await call('GET', who, url)).json() as { items: Array<Record<string, string>> }).items;

  it('pages through the schools with a cursor', async () => {
    const first = (await call('GET', NATIONAL, '/organisations/schools?limit=1')).json();
    expect(first.items).toHaveLength(1);
    const second = (await call('GET', NATIONAL, `/organisations/schools?limit=1&cursor=${first.nextCursor}`)).json();
    expect(second.items[0].schoolId).not.toBe(first.items[0].schoolId);
    expect((await call('GET', NATIONAL, '/organisations/schools?cursor=garbage')).statusCode).toBe(400);
  });

  it("shows school staff their school only, a coordinator the municipality's, finance its partner's", async () => {
    expect((await ids(preparerOf(SCHOOL_A), '/organisations/schools')).map((s) => s.schoolId)).toEqual([SCHOOL_A.school]);
    expect(await ids(preparerOf(SCHOOL_A), '/organisations/municipalities')).toEqual([]);
    expect((await call('GET', preparerOf(SCHOOL_A), `/organisations/schools/${SCHOOL_B.school}`)).statusCode).toBe(404);
    const coordB: TokenSubject = { sub: 'c', role: 'municipality_coordinator', municipality: MUNI_B };
    expect((await ids(coordB, '/organisations/schools')).every((s) => s.municipalityId === MUNI_B)).toBe(true);
    expect((await call('GET', coordB, `/organisations/schools/${SCHOOL_A.school}`)).statusCode).toBe(404);
    expect((await ids(coordB, '/organisations/partners')).map((p) => p.partnerId)).toEqual([MUNI_B]);
    const financeV: TokenSubject = { sub: 'f', role: 'finance', partner: 'voc-v' };
    expect((await ids(financeV, '/organisations/schools')).map((s) => s.schoolId)).toEqual([SCHOOL_V.school]);
    expect(await ids(financeV, '/organisations/municipalities')).toEqual([]);
  });
});
