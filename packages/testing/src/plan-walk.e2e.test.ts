// End to end over a real port, on real Temporal and Postgres: one plan from draft to a paid claim to its
// evaluation, each step sent by the role that owns it, with the finance queue showing the claim at every
// stage. The semester is configured to end a few seconds in, so the evaluation opens on its own timer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, preparerOf, SCHOOL_A, startTestStack, type TestStack } from './stack.js';
import { fastConfig, SEMESTER_NOW, TODAY } from './workflow-driver.js';

let stack: TestStack;
let base = '';
const SEMESTER_ENDS_IN_MS = 30_000;
let startedAt = 0;
const tok = {} as Record<'preparer' | 'director' | 'muni' | 'national' | 'finance', string>;

beforeAll(async () => {
  stack = await startTestStack();
  startedAt = Date.now();
  const app = await stack.buildApp({ domainConfig: fastConfig({ semesterEndsInMs: SEMESTER_ENDS_IN_MS }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  Object.assign(tok, {
    preparer: stack.token(preparerOf(SCHOOL_A)),
    director: stack.token({ sub: 'director-a', role: 'school_director', ...SCHOOL_A }),
    muni: stack.token({ sub: 'coord-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A }),
    national: stack.token({ sub: 'ikvd', role: 'national_coordinator' }),
    finance: stack.token({ sub: 'finance-a', role: 'finance', partner: MUNI_A }),
  });
});
afterAll(async () => {
  await stack?.close();
});

async function http(method: 'GET' | 'POST' | 'PUT', token: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

async function step(method: 'GET' | 'POST' | 'PUT', token: string, path: string, body?: unknown) {
  const r = await http(method, token, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

async function queueStatus(planId: string): Promise<string | undefined> {
  const page = await step('GET', tok.finance, `/claims?semester=${encodeURIComponent(SEMESTER_NOW)}&limit=200`);
  return (page.items as Array<{ planId: string; status: string }>).find((c) => c.planId === planId)?.status;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('a plan over HTTP, from draft to a paid claim to its evaluation', () => {
  it('walks every step by the role that owns it', async () => {
    await step('PUT', tok.finance, `/budgets/${MUNI_A}/${encodeURIComponent(SEMESTER_NOW)}`, { allocatedCents: 500_000 });
    await step('PUT', tok.preparer, `/schools/${SCHOOL_A.school}/learners/L-walk`);
    const created = await step('POST', tok.preparer, '/plans', {
      learnerRef: 'L-walk',
      semester: SEMESTER_NOW,
      grade: 8,
      risks: [
        { riskId: 'r1', type: 'learning', factor: 'insufficient grades in Latvian', note: '' },
        { riskId: 'r2', type: 'economic', factor: 'low-income family', note: 'municipal status confirmed' },
      ],
      measures: [
        { measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'weekly lessons', providerType: 'teacher', subject: 'Latvian', plannedMinutes: 180 },
        { measureId: 'm2', kind: 'compensation', riskIds: ['r2'], justification: 'bus tickets', compensationType: 'public_transport', plannedCents: 6_000 },
      ],
    });
    const planId = created.planId as string;
    expect(created.status).toBe('draft');

    await step('POST', tok.preparer, `/plans/${planId}/consent-request`);
    await step('POST', tok.preparer, `/plans/${planId}/consent`, { givenBy: 'legal_representative', signedOn: TODAY, documentRef: 'consent-2026-17' });
    expect((await step('POST', tok.preparer, `/plans/${planId}/submission`)).status).toBe('in_approval');
    await step('POST', tok.director, `/plans/${planId}/approvals`, { level: 'school' });
    await step('POST', tok.muni, `/plans/${planId}/approvals`, { level: 'municipality' });
    expect((await step('POST', tok.national, `/plans/${planId}/approvals`, { level: 'national' })).status).toBe('approved');

    await step('POST', tok.preparer, `/plans/${planId}/consultations`, {
      consultationId: 'c1',
      measureId: 'm1',
      date: TODAY,
      providerType: 'teacher',
      subject: 'Latvian',
      minutes: 45,
      mode: 'in_person',
    });
    await step('POST', tok.preparer, `/plans/${planId}/consultations/c1/confirmation`, {});

    await step('POST', tok.preparer, `/plans/${planId}/claims`, {
      claimId: 'k1',
      measureId: 'm2',
      compensationType: 'public_transport',
      periodFrom: TODAY,
      periodTo: TODAY,
      amountCents: 3_000,
      documentRefs: ['ticket-1', 'ticket-2'],
    });
    expect(await until('the claim in the queue', () => queueStatus(planId))).toBe('submitted');
    await step('POST', tok.finance, `/claims/${planId}/k1/verification`, { note: 'two tickets, school days' });
    expect(await queueStatus(planId)).toBe('documents_verified');
    await step('POST', tok.finance, `/claims/${planId}/k1/approval`, { approvedCents: 3_000 });
    expect(await queueStatus(planId)).toBe('approved');
    await step('POST', tok.finance, `/claims/${planId}/k1/payment`, { paidOn: TODAY, paymentRef: 'PO-77' });
    expect(await queueStatus(planId)).toBe('paid');

    const progress = await step('GET', tok.preparer, `/plans/${planId}/progress`);
    expect(progress.measures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ measureId: 'm1', plannedMinutes: 180, deliveredMinutes: 45 }),
        expect.objectContaining({ measureId: 'm2' }),
      ]),
    );
    // The plan hears of the payment from the claim's workflow.
    await until('the payment on the plan', async () => {
      const p = await step('GET', tok.preparer, `/plans/${planId}`);
      return p.state.claims?.[0]?.status === 'paid' ? true : undefined;
    });

    // The semester ends on its timer and opens the evaluation.
    expect(Date.now() - startedAt).toBeLessThan(SEMESTER_ENDS_IN_MS);
    await until('the semester end', async () => ((await step('GET', tok.preparer, `/plans/${planId}`)).status === 'awaiting_evaluation' ? true : undefined));
    await step('POST', tok.preparer, `/plans/${planId}/evaluation`, {
      riskOutcomes: [
        { riskId: 'r1', change: 'reduced' },
        { riskId: 'r2', change: 'unchanged' },
      ],
      outcome: 'completed_year',
      narrative: 'Latvian grade up from 3 to 5; transport still needed next semester.',
    });
    expect((await step('POST', tok.preparer, `/plans/${planId}/closure`)).status).toBe('closed');
    const final = await step('GET', tok.national, `/plans/${planId}`);
    expect(final).toMatchObject({ status: 'closed', learnerRef: 'L-walk', schoolId: 'school-a' });
    expect(final.state.evaluation).toMatchObject({ outcome: 'completed_year' });
  }, 90_000);
});
