// The API under hostile or mistaken use, on real Temporal and Postgres: every route × every role against
// another school's objects (no leak, no write), random and malformed input on every route (never a 5xx,
// nothing written), learner identities and their erasure, rate limits, and a walk over a real port.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenSubject } from '@iap/runtime';
import { MUNI_A, MUNI_B, preparerOf, registerLearner, SCHOOL_A, SCHOOL_B, SCHOOL_V, startTestStack, type TestStack } from './stack.js';
import { SEMESTER_NOW, TODAY } from './workflow-driver.js';

let stack: TestStack;
const LEARNER_A = '/schools/school-a/learners/L-matrix';
let planA = '';
const CLAIM = 'k1';
const tokens: Record<string, string> = {};

interface Route {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
}
let routes: Route[] = [];

const call = (method: string, token: string | null, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({
    method: method as 'GET',
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

async function ok(method: 'GET' | 'POST' | 'PUT', token: string, url: string, payload?: unknown) {
  const r = await call(method, token, url, payload);
  if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
  return r.json();
}

async function eventCount(): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from events`.execute(stack.db);
  return Number(r.rows[0]!.n);
}

beforeAll(async () => {
  stack = await startTestStack();
  Object.assign(tokens, {
    preparerA: stack.token(preparerOf(SCHOOL_A)),
    directorA: stack.token({ sub: 'director-a', role: 'school_director', ...SCHOOL_A }),
    muniA: stack.token({ sub: 'coord-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A }),
    financeA: stack.token({ sub: 'finance-a', role: 'finance', partner: MUNI_A }),
    national: stack.token({ sub: 'ikvd', role: 'national_coordinator' }),
    auditor: stack.token({ sub: 'auditor', role: 'auditor' }),
    preparerB: stack.token(preparerOf(SCHOOL_B)),
    directorB: stack.token({ sub: 'director-b', role: 'school_director', ...SCHOOL_B }),
    muniB: stack.token({ sub: 'coord-b', role: 'municipality_coordinator', municipality: MUNI_B, partner: MUNI_B }),
    financeB: stack.token({ sub: 'finance-b', role: 'finance', partner: MUNI_B }),
    preparerV: stack.token({ sub: 'preparer-v', role: 'preparer', ...SCHOOL_V }),
    directorV: stack.token({ sub: 'director-v', role: 'school_director', ...SCHOOL_V }),
    financeV: stack.token({ sub: 'finance-v', role: 'finance', partner: SCHOOL_V.partner }),
  });
  for (const ref of ['L-matrix', 'L-twice', 'L-port']) await registerLearner(stack.app, tokens.preparerA!, ref);
  // School A's plan, approved, with one submitted claim and a budget: every kind of object exists.
  planA = (
    await ok('POST', tokens.preparerA!, '/plans', {
      learnerRef: 'L-matrix',
      semester: SEMESTER_NOW,
      grade: 6,
      risks: [{ riskId: 'r1', type: 'economic', factor: 'low income', note: '' }],
      measures: [{ measureId: 'm2', kind: 'compensation', riskIds: ['r1'], justification: 'meals', compensationType: 'meals', plannedCents: 50_000 }],
    })
  ).planId;
  await ok('POST', tokens.preparerA!, `/plans/${planA}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'scan' });
  await ok('POST', tokens.preparerA!, `/plans/${planA}/submission`);
  await ok('POST', tokens.directorA!, `/plans/${planA}/approvals`, { level: 'school' });
  await ok('POST', tokens.muniA!, `/plans/${planA}/approvals`, { level: 'municipality' });
  await ok('POST', tokens.national!, `/plans/${planA}/approvals`, { level: 'national' });
  await ok('POST', tokens.preparerA!, `/plans/${planA}/claims`, {
    claimId: CLAIM,
    measureId: 'm2',
    compensationType: 'meals',
    periodFrom: TODAY,
    periodTo: TODAY,
    amountCents: 900,
    documentRefs: ['r-1'],
  });
  await ok('PUT', tokens.financeA!, `/budgets/${MUNI_A}/${encodeURIComponent(SEMESTER_NOW)}`, { allocatedCents: 100_000 });
  await ok('PUT', tokens.preparerA!, `${LEARNER_A}/identity`, { givenName: 'Anna', familyName: 'Bērziņa', personalCode: '010110-12345', birthDate: '2010-01-01' });
  // The claim's own workflow writes its first event after the plan's command answered: wait for it.
  for (const deadline = Date.now() + 20_000; (await call('GET', tokens.financeA!, `/claims/${planA}/${CLAIM}`)).statusCode !== 200; ) {
    if (Date.now() > deadline) throw new Error('the claim never reached the finance queue');
    await new Promise((r) => setTimeout(r, 50));
  }

  const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put'].includes(m))
      .map((m) => ({ method: m.toUpperCase() as Route['method'], path })),
  );
});
afterAll(async () => {
  await stack?.close();
});

/** A route's URL for school A's objects. */
function urlFor(path: string): string {
  return path
    .replace('{planId}', planA)
    .replace('{claimId}', CLAIM)
    .replace('{consultationId}', 'c1')
    .replace('{partnerId}', MUNI_A)
    .replace('{semester}', encodeURIComponent(SEMESTER_NOW))
    .replace('{schoolId}', 'school-a')
    .replace('{learnerRef}', 'L-matrix');
}

const isObjectRoute = (path: string) => /\{(planId|claimId|partnerId|schoolId|learnerRef)\}/.test(path);

describe('tenancy matrix: every route × every role of another school or partner', () => {
  it('answers 404 for school A objects to school B staff, municipality B and finance B, and writes nothing', async () => {
    expect(routes.length).toBeGreaterThan(25);
    const before = await eventCount();
    const outsiders = ['preparerB', 'directorB', 'muniB', 'financeB'];
    const seen: string[] = [];
    for (const r of routes.filter((x) => isObjectRoute(x.path) && !x.path.startsWith('/audit') && !x.path.startsWith('/reports'))) {
      for (const who of outsiders) {
        const res = await call(r.method, tokens[who]!, urlFor(r.path), r.method === 'GET' ? undefined : {});
        // 400 is allowed only where the body is checked before the object (an empty body); never a 2xx/5xx.
        expect([400, 404], `${who} ${r.method} ${r.path}: ${res.statusCode} ${res.body}`).toContain(res.statusCode);
        if (r.method === 'GET') expect(res.statusCode, `${who} GET ${r.path}`).toBe(404);
        seen.push(`${r.method} ${r.path}`);
      }
    }
    expect(new Set(seen).size).toBeGreaterThan(20);
    expect(await eventCount()).toBe(before);
  });

  it('lets auditors read every object and change none', async () => {
    const before = await eventCount();
    for (const r of routes.filter((x) => isObjectRoute(x.path) && !x.path.startsWith('/schools/'))) {
      const res = await call(r.method, tokens.auditor!, urlFor(r.path), r.method === 'GET' ? undefined : {});
      if (r.method === 'GET') expect(res.statusCode, `auditor GET ${r.path}: ${res.body}`).toBeLessThan(500);
      else expect([400, 403], `auditor ${r.method} ${r.path}: ${res.statusCode} ${res.body}`).toContain(res.statusCode);
    }
    expect((await call('GET', tokens.auditor!, `/plans/${planA}`)).statusCode).toBe(200);
    expect((await call('GET', tokens.auditor!, `/claims/${planA}/${CLAIM}`)).statusCode).toBe(200);
    // Identities are for school staff and national staff only: auditors work on pseudonyms.
    expect((await call('GET', tokens.auditor!, `${LEARNER_A}/identity`)).statusCode).toBe(404);
    expect(await eventCount()).toBe(before);
  });

  it('lets each role of school A see its own objects', async () => {
    for (const who of ['preparerA', 'directorA', 'muniA', 'national', 'auditor']) {
      expect((await call('GET', tokens[who]!, `/plans/${planA}`)).statusCode, who).toBe(200);
    }
    for (const who of ['financeA', 'national', 'auditor', 'preparerA', 'muniA']) {
      expect((await call('GET', tokens[who]!, `/claims/${planA}/${CLAIM}`)).statusCode, who).toBe(200);
    }
    expect((await call('GET', tokens.financeA!, `/budgets/${MUNI_A}/${encodeURIComponent(SEMESTER_NOW)}`)).statusCode).toBe(200);
  });

  it("learner routes: every role of three tenants but school A's staff and national staff finds A's learner does not exist", async () => {
    const bodies: Record<string, unknown> = {
      identity: { givenName: 'Mallory', familyName: 'X', personalCode: '020202-22222', birthDate: '2011-02-02' },
      erasure: { reason: 'curious' },
      transfer: { toSchoolId: 'school-b', learnerRef: 'L-stolen' },
    };
    const learnerRoutes = routes.filter((x) => x.path.startsWith('/schools/{schoolId}/learners/'));
    expect(learnerRoutes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      'GET /schools/{schoolId}/learners/{learnerRef}',
      'GET /schools/{schoolId}/learners/{learnerRef}/identity',
      'POST /schools/{schoolId}/learners/{learnerRef}/erasure',
      'POST /schools/{schoolId}/learners/{learnerRef}/transfer',
      'PUT /schools/{schoolId}/learners/{learnerRef}',
      'PUT /schools/{schoolId}/learners/{learnerRef}/identity',
    ]);
    const logBefore = await stack.db.selectFrom('learner_access_log').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const outsiders = ['preparerB', 'directorB', 'muniB', 'financeB', 'preparerV', 'directorV', 'financeV', 'muniA', 'financeA', 'auditor'];
    for (const r of learnerRoutes) {
      const body = bodies[r.path.split('/').pop()!];
      for (const who of outsiders) {
        const res = await call(r.method, tokens[who]!, urlFor(r.path), body);
        expect(res.statusCode, `${who} ${r.method} ${r.path}: ${res.body}`).toBe(404);
      }
    }
    // Nothing changed and nothing was read: the identity is A's, the learner still A's, no line in the log.
    const logAfter = await stack.db.selectFrom('learner_access_log').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(logAfter.n).toBe(logBefore.n);
    expect(await ok('GET', tokens.national!, LEARNER_A)).toMatchObject({ schoolId: 'school-a', learnerRef: 'L-matrix' });
    for (const who of ['preparerA', 'directorA', 'national']) {
      expect(await ok('GET', tokens[who]!, `${LEARNER_A}/identity`), who).toMatchObject({ givenName: 'Anna', personalCode: '010110-12345' });
    }
  });
});

describe('tenancy matrix: the register of organisations × every role of three tenants', () => {
  // Tenants A and B (municipal schools in two municipalities) and V (a state vocational school, its own partner, in
  // A's municipality). What each caller may read, written out here rather than derived from the domain's rule.
  const who: Record<string, { token: TokenSubject; sees: readonly string[] }> = {
    preparerA: { token: preparerOf(SCHOOL_A), sees: ['school:school-a'] },
    directorA: { token: { sub: 'd-a', role: 'school_director', ...SCHOOL_A }, sees: ['school:school-a'] },
    muniA: { token: { sub: 'c-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A }, sees: [`partner:${MUNI_A}`, `municipality:${MUNI_A}`, 'school:school-a', 'school:school-v'] },
    financeA: { token: { sub: 'f-a', role: 'finance', partner: MUNI_A }, sees: [`partner:${MUNI_A}`, `municipality:${MUNI_A}`, 'school:school-a'] },
    preparerB: { token: preparerOf(SCHOOL_B), sees: ['school:school-b'] },
    directorB: { token: { sub: 'd-b', role: 'school_director', ...SCHOOL_B }, sees: ['school:school-b'] },
    muniB: { token: { sub: 'c-b', role: 'municipality_coordinator', municipality: MUNI_B }, sees: [`partner:${MUNI_B}`, `municipality:${MUNI_B}`, 'school:school-b'] },
    financeB: { token: { sub: 'f-b', role: 'finance', partner: MUNI_B, partnerType: 'municipality' }, sees: [`partner:${MUNI_B}`, `municipality:${MUNI_B}`, 'school:school-b'] },
    preparerV: { token: preparerOf(SCHOOL_V), sees: ['school:school-v'] },
    directorV: { token: { sub: 'd-v', role: 'school_director', ...SCHOOL_V }, sees: ['school:school-v'] },
    financeV: { token: { sub: 'f-v', role: 'finance', partner: SCHOOL_V.partner }, sees: [`partner:${SCHOOL_V.partner}`, 'school:school-v'] },
  };
  const everything = [`partner:${MUNI_A}`, `partner:${MUNI_B}`, `partner:${SCHOOL_V.partner}`, `municipality:${MUNI_A}`, `municipality:${MUNI_B}`, 'school:school-a', 'school:school-b', 'school:school-v'];
  for (const t of ['national', 'auditor'] as const) who[t] = { token: { sub: `${t}-m`, role: t === 'national' ? 'national_coordinator' : 'auditor' }, sees: everything };
  // Tokens whose claims the register contradicts: each is refused (401) on every route, whatever it asks.
  const forged: Record<string, TokenSubject> = {
    coordinatorAWithPartnerB: { sub: 'x1', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_B },
    preparerAInMunicipalityB: { ...preparerOf(SCHOOL_A), municipality: MUNI_B },
    directorVAsMunicipal: { sub: 'x2', role: 'school_director', ...SCHOOL_V, partnerType: 'municipality' },
    directorVWithPartnerA: { sub: 'x3', role: 'school_director', ...SCHOOL_V, partner: MUNI_A },
    financeANamingSchoolB: { sub: 'x4', role: 'finance', partner: MUNI_A, school: SCHOOL_B.school },
    financeVAsMunicipal: { sub: 'x5', role: 'finance', partner: SCHOOL_V.partner, partnerType: 'municipality' },
    unregisteredSchool: { sub: 'x6', role: 'preparer', school: 'school-nowhere', municipality: MUNI_A, partner: MUNI_A },
    unregisteredMunicipality: { sub: 'x7', role: 'municipality_coordinator', municipality: 'muni-nowhere' },
  };
  const KINDS = { partner: 'partners', municipality: 'municipalities', school: 'schools' } as const;
  const idKey = { partner: 'partnerId', municipality: 'municipalityId', school: 'schoolId' } as const;
  const bodies = {
    partner: { type: 'municipality', name: 'Changed' },
    municipality: { name: 'Changed', partnerId: MUNI_A },
    school: { name: 'Changed', municipalityId: MUNI_A },
  } as const;
  const as = (t: TokenSubject, method: 'GET' | 'PUT', url: string, payload?: unknown) => call(method, stack.token(t), url, payload);

  it('reads each entry only where the caller may (404 elsewhere), lists exactly that, and lets no one but national staff write', async () => {
    const before = await eventCount();
    for (const [name, { token, sees }] of Object.entries(who)) {
      for (const entry of everything) {
        const [kind, id] = entry.split(':') as [keyof typeof KINDS, string];
        const res = await as(token, 'GET', `/organisations/${KINDS[kind]}/${id}`);
        expect(res.statusCode, `${name} GET ${entry}: ${res.body}`).toBe(sees.includes(entry) ? 200 : 404);
        if (name !== 'national') {
          const put = await as(token, 'PUT', `/organisations/${KINDS[kind]}/${id}`, bodies[kind]);
          expect(put.statusCode, `${name} PUT ${entry}: ${put.body}`).toBe(403);
        }
      }
      for (const kind of Object.keys(KINDS) as Array<keyof typeof KINDS>) {
        const listed = ((await as(token, 'GET', `/organisations/${KINDS[kind]}?limit=200`)).json() as { items: Array<Record<string, string>> }).items;
        const ids = listed.map((e) => `${kind}:${e[idKey[kind]]}`).sort();
        expect(ids, `${name} lists ${kind}`).toEqual(sees.filter((e) => e.startsWith(`${kind}:`)).sort());
      }
    }
    expect(await eventCount()).toBe(before);
  });

  it('refuses tokens the register contradicts, 401 on every organisation route, with nothing read or written', async () => {
    const before = await eventCount();
    for (const [name, token] of Object.entries(forged)) {
      for (const entry of everything) {
        const [kind, id] = entry.split(':') as [keyof typeof KINDS, string];
        for (const [method, url, payload] of [
          ['GET', `/organisations/${KINDS[kind]}/${id}`, undefined],
          ['GET', `/organisations/${KINDS[kind]}`, undefined],
          ['PUT', `/organisations/${KINDS[kind]}/${id}`, bodies[kind]],
        ] as const) {
          const res = await as(token, method, url, payload);
          expect(res.statusCode, `${name} ${method} ${url}: ${res.body}`).toBe(401);
          expect(res.json()).toMatchObject({ code: 'token.scope_mismatch' });
          expect(res.body).not.toContain('Changed');
        }
      }
    }
    expect(await eventCount()).toBe(before);
  });
});

describe('random and malformed input on every route', () => {
  it('never answers 5xx, always answers problem+json on errors, and writes nothing when it refuses', async () => {
    const junk = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 2 }), { maxKeys: 6 }),
      fc.record({
        learnerRef: fc.string({ maxLength: 80 }),
        semester: fc.string({ maxLength: 12 }),
        grade: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.string()),
        amountCents: fc.oneof(fc.integer(), fc.double()),
        allocatedCents: fc.oneof(fc.integer(), fc.string()),
        level: fc.constantFrom('school', 'municipality', 'national', 'galaxy'),
        reason: fc.string({ maxLength: 3000 }),
      }),
    );
    const idish = fc.oneof(
      fc.uuid(),
      fc.string({ minLength: 1, maxLength: 30 }).map((s) => encodeURIComponent(s)),
      fc.constantFrom('%00', '..', '%2F', 'null', '-1', 'a'.repeat(300)),
    );
    const header = fc.record({
      'idempotency-key': fc.option(fc.string({ maxLength: 220 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), { nil: undefined }),
      'if-match': fc.option(fc.oneof(fc.string({ maxLength: 15 }), fc.constantFrom('"1"', '*', 'W/"2"', '"-1"')), { nil: undefined }),
      'content-type': fc.option(fc.constantFrom('application/json', 'text/plain', 'application/xml', 'application/json; charset=latin1'), { nil: undefined }),
    });
    const roles = fc.constantFrom('preparerA', 'directorA', 'muniA', 'financeA', 'national', 'auditor', 'preparerB', 'financeB', 'none', 'garbage');

    for (const r of routes) {
      await fc.assert(
        fc.asyncProperty(junk, idish, header, roles, async (body, id, hdrs, who) => {
          const before = await eventCount();
          const url = r.path.replace(/\{[^}]+\}/g, () => id);
          const token = who === 'none' ? null : who === 'garbage' ? 'not.a.jwt' : tokens[who]!;
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(hdrs)) if (typeof v === 'string') h[k] = v;
          const payload = r.method === 'GET' || body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
          const res = await call(r.method, token, url, payload, payload !== undefined && !h['content-type'] ? { ...h, 'content-type': 'application/json' } : h);
          if (res.statusCode >= 500) throw new Error(`${r.method} ${url} → ${res.statusCode}: ${res.body}`);
          if (res.statusCode >= 400) {
            expect(res.headers['content-type'], `${r.method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`).toContain('application/problem+json');
            expect(await eventCount()).toBe(before);
          }
        }),
        { numRuns: 25, seed: 20261123 },
      );
    }
  }, 120_000);
});

describe('learner identity and erasure', () => {
  it('keeps the identity encrypted, and after erasure the plan and its history stay while the person is gone', async () => {
    const got = await ok('GET', tokens.preparerA!, `${LEARNER_A}/identity`);
    expect(got).toMatchObject({ erased: false, givenName: 'Anna', familyName: 'Bērziņa', personalCode: '010110-12345' });
    const learnerId = got.learnerId as string;
    // Nothing readable at rest, and no personal data in the plan's events.
    const raw = await stack.db.selectFrom('learner_identities').select('ciphertext').where('learner_id', '=', learnerId).executeTakeFirstOrThrow();
    expect(raw.ciphertext.toString('latin1')).not.toContain('Anna');
    const leaked = await sql<{ n: string }>`select count(*) as n from events where data::text like '%010110%' or data::text like '%Bērziņa%'`.execute(stack.db);
    expect(Number(leaked.rows[0]!.n)).toBe(0);

    const reason = { reason: "the parents' request" };
    expect((await call('POST', tokens.preparerA!, `${LEARNER_A}/erasure`, reason)).statusCode).toBe(403);
    const erased = await ok('POST', tokens.directorA!, `${LEARNER_A}/erasure`, reason);
    expect(erased).toMatchObject({ learnerId, learnerRef: 'L-matrix', erased: true });
    // Erasing again is the same erasure.
    expect((await ok('POST', tokens.directorA!, `${LEARNER_A}/erasure`, reason)).erasedAt).toBe(erased.erasedAt);
    expect(await ok('GET', tokens.preparerA!, `${LEARNER_A}/identity`)).toEqual({
      learnerId,
      schoolId: 'school-a',
      learnerRef: 'L-matrix',
      erased: true,
      erasedAt: erased.erasedAt,
    });
    const keyRow = await stack.db.selectFrom('learner_keys').selectAll().where('learner_id', '=', learnerId).executeTakeFirstOrThrow();
    expect(keyRow.wrapped_key).toBeNull();
    expect(await stack.db.selectFrom('learner_identities').selectAll().where('learner_id', '=', learnerId).execute()).toEqual([]);
    // The plan is still there, pseudonymous, and says the learner was erased.
    expect(await ok('GET', tokens.preparerA!, `/plans/${planA}`)).toMatchObject({ learnerRef: 'L-matrix', learnerErased: true });
    // A new identity under an erased ref is refused.
    const again = await call('PUT', tokens.preparerA!, `${LEARNER_A}/identity`, { givenName: 'A', familyName: 'B', personalCode: '010110-12345', birthDate: '2010-01-01' });
    expect(again.statusCode).toBe(409);
  });
});

describe('the same request twice at once', () => {
  it('with one Idempotency-Key (one Temporal Update id) writes one event and gives both callers the same answer', async () => {
    const planId = (
      await ok('POST', tokens.preparerA!, '/plans', {
        learnerRef: 'L-twice',
        semester: SEMESTER_NOW,
        grade: 4,
        risks: [{ riskId: 'r1', type: 'learning', factor: 'reading', note: '' }],
        measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'reading lessons', providerType: 'teacher', plannedMinutes: 60 }],
      })
    ).planId as string;
    const send = () => call('POST', tokens.preparerA!, `/plans/${planId}/consent-request`, {}, { 'idempotency-key': 'consent-twice' });
    const [a, b] = await Promise.all([send(), send()]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(a.json()).toEqual(b.json());
    const events = await stack.db.selectFrom('events').select('event_type').where('stream_id', '=', planId).orderBy('stream_version').execute();
    expect(events.map((e) => e.event_type)).toEqual(['PlanDrafted', 'ConsentRequested']);
  });
});

describe('rate limiting', () => {
  it('answers 429 problem+json with Retry-After once a token exceeds its limit', async () => {
    const app = await stack.buildApp({ rateLimitPerMinute: 3 });
    const token = stack.token({ sub: `rl-${randomUUID()}`, role: 'auditor' });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await app.inject({ method: 'GET', url: `/plans/${planA}`, headers: { authorization: `Bearer ${token}` } });
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(last!.headers['content-type']).toContain('application/problem+json');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    // Another caller is not affected.
    const other = stack.token({ sub: 'rl-other', role: 'auditor' });
    expect((await app.inject({ method: 'GET', url: `/plans/${planA}`, headers: { authorization: `Bearer ${other}` } })).statusCode).toBe(200);
  });
});

describe('over a real port', () => {
  it('drafts and reads a plan through HTTP on a socket', async () => {
    const app = await stack.buildApp({});
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${address}/plans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.preparerA}`, 'content-type': 'application/json', 'x-request-id': 'port-test-1' },
      body: JSON.stringify({
        learnerRef: 'L-port',
        semester: SEMESTER_NOW,
        grade: 3,
        risks: [{ riskId: 'r1', type: 'family', factor: 'parents abroad', note: '' }],
        measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'talks', providerType: 'social_pedagogue', plannedMinutes: 90 }],
      }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('port-test-1');
    const { planId } = (await res.json()) as { planId: string };
    const read = await fetch(`${address}/plans/${planId}`, { headers: { authorization: `Bearer ${tokens.preparerA}` } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ planId, status: 'draft', learnerRef: 'L-port' });
  });
});
