// Input an attacker (or a broken client) sends, on the real stack: every string field of every route in
// the OpenAPI document gets a lone surrogate, a NUL and a right-to-left override, every date and semester
// field year 0000 and 9999; data that passes the edge but that Postgres refuses; and a plan's whole life
// with canary text in every free-text field, the logs captured at debug level.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { readStream } from '@iap/db';
import { planCommandUpdate, planWorkflowId, planWorkflowStart } from '@iap/messages';
import { createLogger } from '@iap/runtime';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, preparerOf, registerLearner, SCHOOL_A, startTestStack, type TestStack } from './stack.js';
import { draftCommand, fastConfig, meta, PREPARER, SEMESTER_NOW, TODAY } from './workflow-driver.js';

/** Every log line the API, the worker and the SDK write in this file, as one string. */
let logs = '';
const capture = new Writable({
  write(chunk: Buffer, _enc, done) {
    logs += chunk.toString();
    done();
  },
});

let stack: TestStack;
const tokens: Record<string, string> = {};
let planA = '';
const CLAIM = 'k1';

const call = (method: string, token: string | null, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({
    method: method as 'GET',
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });

async function ok(method: 'GET' | 'POST' | 'PUT', token: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const r = await call(method, token, url, payload, headers);
  if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
  return r.json() as Record<string, unknown>;
}

async function count(table: 'events' | 'plans'): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(stack.db);
  return Number(r.rows[0]!.n);
}

async function waitForClaim(planId: string, claimId: string, status?: string): Promise<Record<string, unknown>> {
  for (const deadline = Date.now() + 20_000; ; ) {
    const r = await call('GET', tokens.financeA!, `/claims/${planId}/${claimId}`);
    if (r.statusCode === 200 && (!status || r.json().status === status)) return r.json() as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`claim ${claimId} never reached ${status ?? 'the queue'}: ${r.statusCode} ${r.body}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

beforeAll(async () => {
  stack = await startTestStack({ logger: createLogger('test', 'debug', capture) });
  Object.assign(tokens, {
    preparerA: stack.token(preparerOf(SCHOOL_A)),
    directorA: stack.token({ sub: 'director-a', role: 'school_director', ...SCHOOL_A }),
    muniA: stack.token({ sub: 'coord-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A }),
    financeA: stack.token({ sub: 'finance-a', role: 'finance', partner: MUNI_A }),
    national: stack.token({ sub: 'ikvd', role: 'national_coordinator' }),
    auditor: stack.token({ sub: 'auditor', role: 'auditor' }),
  });
  for (const ref of ['L-hostile', 'L-union', 'L-canary', 'L-outage']) await registerLearner(stack.app, tokens.preparerA!, ref);
  planA = (
    await ok('POST', tokens.preparerA!, '/plans', {
      learnerRef: 'L-hostile',
      semester: SEMESTER_NOW,
      grade: 6,
      risks: [{ riskId: 'r1', type: 'economic', factor: 'low income', note: '' }],
      measures: [{ measureId: 'm2', kind: 'compensation', riskIds: ['r1'], justification: 'meals', compensationType: 'meals', plannedCents: 50_000 }],
    })
  ).planId as string;
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

// ---- The OpenAPI document's fields ----------------------------------------------------------------------

interface JsonSchema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  minItems?: number;
  required?: string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema: JsonSchema }> };
}

type Where = 'body' | 'querystring' | 'params' | 'headers';
interface Field {
  readonly method: string;
  readonly route: string;
  readonly where: Where;
  /** Path to the string within its part of the request ("risks.0.note"). */
  readonly path: string[];
  readonly schema: JsonSchema;
}

const DATE_FORMATS: Record<string, string[]> = {
  'iap-date': ['0000-01-01', '9999-12-31'],
  'iap-date-time': ['0000-01-01T00:00:00Z', '9999-12-31T00:00:00Z'],
  'iap-semester': ['0000/01-1', '9999/00-1'],
  'iap-school-year': ['0000/01', '9999/00'],
};

/** The string leaves of a schema, each with its path; unions contribute every branch's. */
function leaves(schema: JsonSchema, path: string[]): Array<{ path: string[]; schema: JsonSchema }> {
  const branches = schema.oneOf ?? schema.anyOf;
  if (branches) {
    const seen = new Map<string, { path: string[]; schema: JsonSchema }>();
    for (const b of branches) for (const l of leaves(b, path)) if (!seen.has(l.path.join('.'))) seen.set(l.path.join('.'), l);
    return [...seen.values()];
  }
  if (schema.properties) return Object.entries(schema.properties).flatMap(([k, s]) => leaves(s, [...path, k]));
  if (schema.type === 'array' && schema.items) return leaves(schema.items, [...path, '0']);
  if (schema.type === 'string' && schema.const === undefined) return [{ path, schema }];
  return [];
}

/** Whether `schema` (an object, or a union's branch) has the property path `path` starts with. */
const hasPath = (schema: JsonSchema, path: string[]): boolean => {
  if (path.length === 0) return true;
  const branches = schema.oneOf ?? schema.anyOf;
  if (branches) return branches.some((b) => hasPath(b, path));
  if (schema.type === 'array' && schema.items) return hasPath(schema.items, path.slice(1));
  const p = schema.properties?.[path[0]!];
  return p !== undefined && hasPath(p, path.slice(1));
};

/** A schema-valid value, with `bad` at `target` (a path inside it), or null for "leave out". */
function sample(schema: JsonSchema, target: string[] | null, bad: string, ids: Record<string, string>, name = ''): unknown {
  if (target !== null && target.length === 0 && (schema.type === 'string' || schema.format)) return bad;
  const branches = schema.oneOf ?? schema.anyOf;
  if (branches) {
    const objects = branches.filter((b) => b.type !== 'null');
    const chosen = (target && objects.find((b) => hasPath(b, target))) || objects[0] || branches[0]!;
    return sample(chosen, target, bad, ids, name);
  }
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object' || schema.properties) {
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(schema.properties ?? {})) {
      const onPath = target !== null && target[0] === k;
      if (!onPath && !(schema.required ?? []).includes(k)) continue;
      out[k] = sample(s, onPath ? target.slice(1) : null, bad, ids, k);
    }
    return out;
  }
  if (type === 'array') return [sample(schema.items ?? {}, target ? target.slice(1) : null, bad, ids, name)];
  if (type === 'integer' || type === 'number') return Math.max(schema.minimum ?? 1, 1);
  if (type === 'boolean') return false;
  if (type === 'null') return null;
  return sampleString(schema, name, ids);
}

function sampleString(schema: JsonSchema, name: string, ids: Record<string, string>): string {
  if (ids[name]) return ids[name]!;
  switch (schema.format) {
    case 'iap-date':
      return TODAY;
    case 'iap-date-time':
      return new Date().toISOString();
    case 'iap-semester':
      return SEMESTER_NOW;
    case 'iap-school-year':
      return SEMESTER_NOW.slice(0, 7);
    case 'uuid':
      return randomUUID();
  }
  if (schema.pattern?.includes('0-9]{1,')) return '1';
  if (schema.pattern?.includes('[0-9]{6}-?[0-9]{5}')) return '010110-12345';
  if (schema.pattern?.includes('"[0-9]')) return '"1"';
  return 'x1';
}

/** Whose token reaches a route's validation (some routes refuse other roles before looking at the input). */
function tokenFor(route: string): string {
  if (route.startsWith('/audit')) return tokens.auditor!;
  if (route.startsWith('/claims') || route.startsWith('/budgets')) return tokens.financeA!;
  if (route.startsWith('/reports')) return tokens.national!;
  return tokens.preparerA!;
}

/** In a URL a lone surrogate can only arrive as the bytes UTF-8 would give it (invalid UTF-8). */
const inUrl = (v: string) => (v.includes('\ud800') ? encodeURIComponent(v.replace('\ud800', '')) + '%ED%A0%80' : encodeURIComponent(v));

describe('hostile strings, dates and semesters in every field of every route', () => {
  it('answers 4xx naming the field, writes nothing and retries nothing', async () => {
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, Operation>> };
    const fields: Field[] = [];
    for (const [route, ops] of Object.entries(doc.paths)) {
      if (route.startsWith('/docs')) continue;
      for (const [method, op] of Object.entries(ops)) {
        if (!['get', 'post', 'put'].includes(method)) continue;
        for (const p of op.parameters ?? []) {
          const where: Where = p.in === 'path' ? 'params' : p.in === 'query' ? 'querystring' : 'headers';
          if (p.schema.enum) continue; // a code: any other value is refused by its enum alone
          fields.push({ method: method.toUpperCase(), route, where, path: [p.name], schema: p.schema });
        }
        const body = op.requestBody?.content?.['application/json']?.schema;
        if (body) for (const l of leaves(body, [])) if (!l.schema.enum) fields.push({ method: method.toUpperCase(), route, where: 'body', path: l.path, schema: l.schema });
      }
    }
    const ids: Record<string, string> = { schoolId: SCHOOL_A.school, toSchoolId: SCHOOL_A.school, planId: planA, claimId: CLAIM, consultationId: 'c1', partnerId: MUNI_A, learnerRef: 'L-hostile', report: 'participation' };
    const eventsBefore = await count('events');
    const plansBefore = await count('plans');
    const logBefore = logs.length;
    const failures: string[] = [];
    const exercised = new Set<string>();
    let requests = 0;
    for (const f of fields) {
      const attacks = ['a\ud800', 'a\u0000b', 'a\u202eb', ...(DATE_FORMATS[f.schema.format ?? ''] ?? [])];
      for (const bad of attacks) {
        const op = doc.paths[f.route]![f.method.toLowerCase()]!;
        const params = Object.fromEntries((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => [p.name, sample(p.schema, null, bad, ids, p.name) as string]));
        let url = f.route.replace(/\{(\w+)\}/g, (_, n: string) => (f.where === 'params' && f.path[0] === n ? inUrl(bad) : encodeURIComponent(params[n]!)));
        const query = (op.parameters ?? []).filter((p) => p.in === 'query' && (p.required || (f.where === 'querystring' && f.path[0] === p.name)));
        if (query.length) {
          url += '?' + query.map((p) => `${p.name}=${f.where === 'querystring' && f.path[0] === p.name ? inUrl(bad) : encodeURIComponent(String(sample(p.schema, null, bad, ids, p.name)))}`).join('&');
        }
        const headers: Record<string, string> = f.where === 'headers' ? { [f.path[0]!]: bad } : {};
        const bodySchema = op.requestBody?.content?.['application/json']?.schema;
        const payload = bodySchema ? sample(bodySchema, f.where === 'body' ? f.path : null, bad, ids) : undefined;
        const label = `${f.method} ${f.route} ${f.where}.${f.path.join('.')} = ${JSON.stringify(bad)}`;
        let res;
        try {
          res = await call(f.method, tokenFor(f.route), url, payload, headers);
        } catch (err) {
          // Only a header the HTTP layer itself cannot carry (a NUL, a non-Latin-1 character) stops here.
          if (f.where !== 'headers') failures.push(`${label}: ${String(err)}`);
          continue;
        }
        requests++;
        const problem = res.headers['content-type']?.toString().startsWith('application/problem+json') ? (res.json() as { field?: string }) : null;
        const field = `${f.where}.${f.path.join('.')}`;
        // A lone surrogate in a URL is bytes that are not UTF-8: refused as a bad URL before any route.
        const badUrl = f.where !== 'body' && f.where !== 'headers' && bad === 'a\ud800' && res.statusCode === 400;
        if (res.statusCode !== 400 || !problem || (problem.field !== field && !badUrl)) failures.push(`${label}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        else exercised.add(`${f.method} ${f.route} ${field}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
    // The document's every route and field were reached: many fields, each refused for its own reason.
    expect(fields.length).toBeGreaterThan(100);
    expect(exercised.size).toBe(fields.length);
    expect(requests).toBeGreaterThan(350);
    expect(await count('events')).toBe(eventsBefore);
    expect(await count('plans')).toBe(plansBefore);
    expect(logs.slice(logBefore)).not.toMatch(/append failed|append refused/);
  }, 300_000);

  it('names the field of the measure kind that was sent, not of the first kind', async () => {
    const res = await call('POST', tokens.preparerA!, '/plans', {
      learnerRef: 'L-union',
      semester: SEMESTER_NOW,
      grade: 6,
      risks: [{ riskId: 'r1', type: 'economic', factor: 'low income', note: '' }],
      measures: [
        { measureId: 'm1', kind: 'youth_initiative', riskIds: ['r1'], justification: 'j', project: 'p' },
        { measureId: 'm2', kind: 'compensation', riskIds: ['r1'], justification: 'meals', compensationType: 'meals', plannedCents: -5 },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'body.measures.1.plannedCents' });
    const unknownKind = await call('POST', tokens.preparerA!, '/plans', {
      learnerRef: 'L-union',
      semester: SEMESTER_NOW,
      grade: 6,
      risks: [{ riskId: 'r1', type: 'economic', factor: 'low income', note: '' }],
      measures: [{ measureId: 'm2', kind: 'massage', riskIds: ['r1'], justification: 'meals' }],
    });
    expect(unknownKind.statusCode).toBe(400);
    expect(unknownKind.json()).toMatchObject({ field: 'body.measures.0.kind' });
    // The OpenAPI document still describes the union: one branch per kind, told apart by `kind`.
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: JsonSchema & { properties: Record<string, JsonSchema> } }> } }>>;
    };
    const measure = doc.paths['/plans']!.post!.requestBody.content['application/json']!.schema.properties.measures!.items as JsonSchema & { discriminator?: { propertyName: string } };
    expect(measure.discriminator).toEqual({ propertyName: 'kind' });
    expect(measure.oneOf?.map((b) => b.properties?.kind?.const ?? b.properties?.kind?.enum?.[0])).toEqual(['consultation', 'compensation', 'youth_initiative']);
  });
});

describe('data that passes the edge but that Postgres refuses', () => {
  it('ends in a refusal after one attempt, with nothing written and nothing of it logged', async () => {
    const planId = randomUUID();
    const draft = draftCommand(planId);
    const canary = `P${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    // A lone surrogate sent straight to the workflow, as a client of Temporal could: Postgres cannot hold
    // it in JSON (22P02).
    const poisoned = { ...draft, data: { ...draft.data, risks: draft.data.risks.map((r, i) => (i === 0 ? { ...r, note: `${canary}\ud800` } : r)) } };
    const logBefore = logs.length;
    const started = Date.now();
    const err = await stack.client.workflow
      .executeUpdateWithStart(planCommandUpdate, {
        args: [{ command: poisoned, meta: meta(PREPARER) }],
        startWorkflowOperation: new WithStartWorkflowOperation('planWorkflow', {
          workflowId: planWorkflowId(planId),
          taskQueue: stack.taskQueue,
          ...planWorkflowStart({ planId, config: fastConfig(), draftGraceMs: 1_000 }, draft.data),
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause as { type?: string; details?: unknown[]; message: string };
    expect(cause.type).toBe('DomainError');
    expect(cause.details?.[0]).toMatchObject({ code: 'data.unstorable', kind: 'rule' });
    expect(cause.message).not.toContain(canary);
    expect(await readStream(stack.db, planId)).toEqual([]);
    const attempts = logs
      .slice(logBefore)
      .split('\n')
      .filter((l) => l.includes(planId) && /append refused by the database|append failed/.test(l))
      .map((l) => JSON.parse(l) as { msg: string; attempt: number });
    expect(attempts).toEqual([expect.objectContaining({ msg: 'append refused by the database: the data cannot be stored', attempt: 1 })]);
    expect(logs).not.toContain(canary);
  }, 60_000);
});

describe('a payment', () => {
  it('comes back with its date as YYYY-MM-DD', async () => {
    await ok('POST', tokens.preparerA!, `/plans/${planA}/consent-request`);
    await ok('POST', tokens.preparerA!, `/plans/${planA}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'scan' });
    await ok('POST', tokens.preparerA!, `/plans/${planA}/submission`);
    await ok('POST', tokens.directorA!, `/plans/${planA}/approvals`, { level: 'school' });
    await ok('POST', tokens.muniA!, `/plans/${planA}/approvals`, { level: 'municipality' });
    await ok('POST', tokens.national!, `/plans/${planA}/approvals`, { level: 'national' });
    await ok('PUT', tokens.financeA!, `/budgets/${MUNI_A}/${encodeURIComponent(SEMESTER_NOW)}`, { allocatedCents: 100_000 });
    await ok('POST', tokens.preparerA!, `/plans/${planA}/claims`, {
      claimId: CLAIM,
      measureId: 'm2',
      compensationType: 'meals',
      periodFrom: TODAY,
      periodTo: TODAY,
      amountCents: 900,
      documentRefs: ['r-1'],
    });
    await waitForClaim(planA, CLAIM);
    await ok('POST', tokens.financeA!, `/claims/${planA}/${CLAIM}/verification`);
    await ok('POST', tokens.financeA!, `/claims/${planA}/${CLAIM}/approval`, { approvedCents: 900 });
    await ok('POST', tokens.financeA!, `/claims/${planA}/${CLAIM}/payment`, { paidOn: TODAY, paymentRef: 'PAY-1' });
    const claim = await waitForClaim(planA, CLAIM, 'paid');
    expect(claim.paidOn).toBe(TODAY);
    const list = (await ok('GET', tokens.financeA!, `/claims?status=paid`)) as { items: Array<{ claimId: string; paidOn: string }> };
    expect(list.items.find((c) => c.claimId === CLAIM)?.paidOn).toBe(TODAY);
  }, 120_000);
});

describe("a plan's free text in the logs", () => {
  it('never appears, through a whole life with refused and invalid requests, at debug level', async () => {
    const RUN = `CANARY${randomUUID().replaceAll('-', '')}`;
    let n = 0;
    /** Unique text for one field; every one starts with RUN, which the logs must never hold. */
    const c = (what: string) => `${RUN}-${++n}-${what}`;
    const p = tokens.preparerA!;
    const d = tokens.directorA!;
    const risks = [
      { riskId: 'r1', type: 'learning', factor: c('factor'), note: c('note') },
      { riskId: 'r2', type: 'family', factor: c('factor'), note: `${c('note')}\nsecond line` },
    ];
    const measures = [
      { measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: c('justification'), providerType: 'teacher', subject: c('subject'), plannedMinutes: 240 },
      { measureId: 'm2', kind: 'compensation', riskIds: ['r2'], justification: c('justification'), compensationType: 'meals', plannedCents: 5_000 },
      { measureId: 'm3', kind: 'youth_initiative', riskIds: ['r2'], justification: c('justification'), project: c('project') },
    ];
    await ok('PUT', p, `/schools/${SCHOOL_A.school}/learners/L-canary/identity`, { givenName: c('given'), familyName: c('family'), personalCode: '010110-12345', birthDate: '2010-01-01' });
    const planId = (await ok('POST', p, '/plans', { learnerRef: 'L-canary', semester: SEMESTER_NOW, grade: 8, risks, measures })).planId as string;
    const at = (path: string) => `/plans/${planId}${path}`;
    await ok('POST', p, at('/consent-request'));
    await ok('POST', p, at('/consent'), { givenBy: 'parent', signedOn: TODAY, documentRef: c('documentRef') });
    await ok('POST', p, at('/submission'));
    await ok('POST', d, at('/returns'), { level: 'school', comment: c('comment') });
    await ok('POST', p, at('/revisions'), { risks, measures, reason: c('reason') });
    await ok('POST', p, at('/submission'));
    await ok('POST', d, at('/approvals'), { level: 'school', comment: c('comment') });
    await ok('POST', tokens.muniA!, at('/approvals'), { level: 'municipality', comment: c('comment') });
    await ok('POST', tokens.national!, at('/approvals'), { level: 'national', comment: c('comment') });
    await ok('POST', p, at('/implementation'));
    await ok('POST', p, at('/consultations'), {
      consultationId: 'c1',
      measureId: 'm1',
      date: TODAY,
      providerType: 'teacher',
      subject: c('subject'),
      minutes: 45,
      mode: 'remote',
      directorOrderRef: c('order'),
    });
    await ok('POST', p, at('/consultations/c1/confirmation'));
    await ok('POST', p, at('/consultations/c1/corrections'), { measureId: 'm1', date: TODAY, providerType: 'teacher', subject: c('subject'), minutes: 40, mode: 'in_person', reason: c('reason') });
    await ok('PUT', tokens.financeA!, `/budgets/${MUNI_A}/${encodeURIComponent(SEMESTER_NOW)}`, { allocatedCents: 1_000_000, note: c('budget-note') });
    for (const claimId of ['k1', 'k2']) {
      await ok('POST', p, at('/claims'), { claimId, measureId: 'm2', compensationType: 'meals', periodFrom: TODAY, periodTo: TODAY, amountCents: 1_000, documentRefs: [c('receipt'), c('receipt')] });
      await waitForClaim(planId, claimId);
      await ok('POST', tokens.financeA!, `/claims/${planId}/${claimId}/verification`, { note: c('verify-note') });
    }
    await ok('POST', tokens.financeA!, `/claims/${planId}/k1/approval`, { approvedCents: 800, reason: c('partial') });
    await ok('POST', tokens.financeA!, `/claims/${planId}/k1/payment`, { paidOn: TODAY, paymentRef: c('paymentRef') });
    await ok('POST', tokens.financeA!, `/claims/${planId}/k2/rejection`, { reason: c('rejection') });
    await waitForClaim(planId, 'k1', 'paid');
    await ok('POST', d, at('/suspension'), { reason: c('suspension') });
    await ok('POST', d, at('/resumption'), { reason: c('resumption') });

    // Refused by the domain, refused by the edge, and malformed: the text is in each request, never in a log.
    const refused = [
      await call('POST', p, at('/consent'), { givenBy: 'parent', signedOn: TODAY, documentRef: c('documentRef') }),
      await call('POST', p, at('/evaluation'), { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }, { riskId: 'r2', change: 'unchanged' }], outcome: 'continues', narrative: c('narrative') }),
      await call('POST', tokens.financeA!, `/claims/${planId}/k1/rejection`, { reason: c('rejection') }),
      await call('POST', p, at('/claims'), { claimId: 'k3', measureId: 'm2', compensationType: 'meals', periodFrom: '2016-01-01', periodTo: TODAY, amountCents: 1, documentRefs: [c('receipt')] }),
      await call('POST', p, '/plans', { learnerRef: 'L-canary', semester: SEMESTER_NOW, grade: 8, risks: [{ ...risks[0], note: `${c('note')}\ud800` }], measures }),
      await call('POST', p, '/plans', { learnerRef: 'L-canary', semester: SEMESTER_NOW, grade: 8, risks: [{ ...risks[0], factor: c('long').padEnd(300, 'x') }], measures }),
      await call('POST', p, '/plans', { learnerRef: 'L-canary', semester: SEMESTER_NOW, grade: 8, risks, measures, [c('unknown-field')]: c('unknown-value') }),
      await call('POST', p, '/plans', { learnerRef: 'L-canary', semester: '9999/00-1', grade: 8, risks, measures }),
      await call('PUT', p, `/schools/${SCHOOL_A.school}/learners/L-canary/identity`, { givenName: c('given'), familyName: `${c('family')}\u202e`, personalCode: '010110-12345', birthDate: '2010-01-01' }),
      await stack.app.inject({ method: 'POST', url: at('/suspension'), headers: { authorization: `Bearer ${d}`, 'content-type': 'application/json' }, payload: `{"reason": "${c('broken-json')}` }),
    ];
    for (const r of refused) expect(r.statusCode, r.body).toBeGreaterThanOrEqual(400);
    for (const r of refused) expect(r.statusCode, r.body).toBeLessThan(500);
    expect(n).toBeGreaterThan(40);
    // The logs were captured (every append is logged), and hold none of it.
    await new Promise((r) => setTimeout(r, 500));
    expect(logs.split('\n').filter((l) => l.includes('events appended')).length).toBeGreaterThan(20);
    expect(logs.split('\n').filter((l) => l.includes('"level":20')).length).toBeGreaterThan(0);
    const leaked = logs.split('\n').filter((l) => l.includes(RUN));
    expect(leaked.map((l) => l.slice(0, 300))).toEqual([]);
  }, 180_000);
});

describe('an append that keeps failing for a reason other than its data', () => {
  it('retries a bounded round, raises an alert, answers 503, and the same key later gets the one write', async () => {
    const p = tokens.preparerA!;
    const planId = (await ok('POST', p, '/plans', {
      learnerRef: 'L-outage',
      semester: SEMESTER_NOW,
      grade: 6,
      risks: [{ riskId: 'r1', type: 'learning', factor: 'missed material', note: '' }],
      measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'j', providerType: 'teacher', subject: 'maths', plannedMinutes: 60 }],
    })).planId as string;
    const impatient = await stack.buildApp({ commandTimeoutMs: 2_000 });
    const send = (app: typeof impatient) =>
      app.inject({ method: 'POST', url: `/plans/${planId}/consent-request`, headers: { authorization: `Bearer ${p}`, 'idempotency-key': `outage-${planId}` } });
    const linesOf = (msg: string) => logs.split('\n').filter((l) => l.includes(planId) && l.includes(msg)).map((l) => JSON.parse(l) as { level: number; attempt?: number });
    // The application's role may no longer write events: every attempt fails (42501), none with the data.
    await sql`revoke insert on events from iap_app`.execute(stack.db);
    try {
      const first = await send(impatient);
      expect(first.statusCode).toBe(503);
      expect(first.headers['retry-after']).toBeDefined();
      for (const deadline = Date.now() + 40_000; linesOf('append still failing').length === 0; ) {
        if (Date.now() > deadline) throw new Error('no alert after a round of failed appends');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await sql`grant insert on events to iap_app`.execute(stack.db);
    }
    // One bounded round: eight attempts, then one alert at error level, and no further attempt during the pause.
    expect(linesOf('append failed; Temporal will retry').map((l) => l.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(linesOf('append still failing').map((l) => l.level)).toEqual([50]);
    // The caller retries with the same key until the command is durable: it is written once.
    let answer;
    for (const deadline = Date.now() + 60_000; ; ) {
      answer = await send(impatient);
      if (answer.statusCode !== 503 || Date.now() > deadline) break;
    }
    expect(answer.statusCode, answer.body).toBe(200);
    expect((await readStream(stack.db, planId)).map((e) => e.type)).toEqual(['PlanDrafted', 'ConsentRequested']);
    const again = await send(stack.app);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(answer.json());
  }, 120_000);
});
