// Finance staff's work through the HTTP API on real Temporal and Postgres: the claims queue at every
// stage, budgets, 50 concurrent approvals against a budget that fits only some, and a double payment.
import { randomUUID } from 'node:crypto';
import { readStream } from '@iap/db';
import { claimStreamId } from '@iap/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, MUNI_B, preparerOf, registerLearner, SCHOOL_A, SCHOOL_B, startTestStack, type TestStack } from './stack.js';
import { SEMESTER_NOW, TODAY } from './workflow-driver.js';

let stack: TestStack;
const tok = {} as Record<'preparer' | 'director' | 'muni' | 'national' | 'finance' | 'financeB' | 'auditor', string>;

beforeAll(async () => {
  stack = await startTestStack();
  Object.assign(tok, {
    preparer: stack.token(preparerOf(SCHOOL_A)),
    director: stack.token({ sub: 'director-a', role: 'school_director', ...SCHOOL_A }),
    muni: stack.token({ sub: 'coord-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A }),
    national: stack.token({ sub: 'ikvd', role: 'national_coordinator' }),
    finance: stack.token({ sub: 'finance-a', role: 'finance', partner: MUNI_A }),
    financeB: stack.token({ sub: 'finance-b', role: 'finance', partner: MUNI_B }),
    auditor: stack.token({ sub: 'auditor', role: 'auditor' }),
  });
});
afterAll(async () => {
  await stack?.close();
});

const call = (method: 'GET' | 'POST' | 'PUT', token: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function ok(method: 'GET' | 'POST' | 'PUT', token: string, url: string, payload?: unknown) {
  const r = await call(method, token, url, payload);
  if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
  return r.json();
}

const budgetUrl = (partner: string) => `/budgets/${partner}/${encodeURIComponent(SEMESTER_NOW)}`;

/** An approved municipal plan with one compensation measure (m2) big enough for many claims. */
async function approvedPlan(): Promise<string> {
  const learnerRef = `L-${randomUUID().slice(0, 8)}`;
  await registerLearner(stack.app, tok.preparer, learnerRef);
  const created = await ok('POST', tok.preparer, '/plans', {
    learnerRef,
    semester: SEMESTER_NOW,
    grade: 10,
    risks: [{ riskId: 'r1', type: 'economic', factor: 'low-income family', note: '' }],
    measures: [
      { measureId: 'm2', kind: 'compensation', riskIds: ['r1'], justification: 'transport and meals', compensationType: 'public_transport', plannedCents: 10_000_000 },
    ],
  });
  const id = created.planId as string;
  await ok('POST', tok.preparer, `/plans/${id}/consent-request`);
  await ok('POST', tok.preparer, `/plans/${id}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: 'scan-1' });
  await ok('POST', tok.preparer, `/plans/${id}/submission`);
  await ok('POST', tok.director, `/plans/${id}/approvals`, { level: 'school' });
  await ok('POST', tok.muni, `/plans/${id}/approvals`, { level: 'municipality' });
  await ok('POST', tok.national, `/plans/${id}/approvals`, { level: 'national' });
  return id;
}

async function claim(planId: string, claimId: string, amountCents: number) {
  await ok('POST', tok.preparer, `/plans/${planId}/claims`, {
    claimId,
    measureId: 'm2',
    compensationType: 'public_transport',
    periodFrom: TODAY,
    periodTo: TODAY,
    amountCents,
    documentRefs: [`ticket-${claimId}`],
  });
  // The claim's workflow records its submission right after the plan starts it.
  for (let i = 0; i < 100; i++) {
    const r = await call('GET', tok.finance, `/claims/${planId}/${claimId}`);
    if (r.statusCode === 200) return r.json();
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`claim ${claimId} never appeared in the queue`);
}

const queueStatus = async (planId: string, claimId: string) =>
  ((await ok('GET', tok.finance, `/claims?semester=${encodeURIComponent(SEMESTER_NOW)}&limit=200`)).items as Array<{ planId: string; claimId: string; status: string }>).find(
    (c) => c.planId === planId && c.claimId === claimId,
  )?.status;

describe('claims and budgets', () => {
  it('walks a claim through the queue: submitted, verified, approved in part, paid; the budget follows', async () => {
    const planId = await approvedPlan();
    await ok('PUT', tok.finance, budgetUrl(MUNI_A), { allocatedCents: 1_000_000 });
    await claim(planId, 'k1', 4_000);
    expect(await queueStatus(planId, 'k1')).toBe('submitted');

    await ok('POST', tok.finance, `/claims/${planId}/k1/verification`, { note: 'tickets match the school days' });
    expect(await queueStatus(planId, 'k1')).toBe('documents_verified');

    // A partial approval needs a reason.
    const noReason = await call('POST', tok.finance, `/claims/${planId}/k1/approval`, { approvedCents: 3_000 });
    expect(noReason.statusCode).toBe(422);
    await ok('POST', tok.finance, `/claims/${planId}/k1/approval`, { approvedCents: 3_000, reason: 'one ticket was for a weekend' });
    expect(await queueStatus(planId, 'k1')).toBe('approved');
    expect(await ok('GET', tok.finance, budgetUrl(MUNI_A))).toMatchObject({ allocatedCents: 1_000_000, approvedCents: 3_000, paidCents: 0, remainingCents: 997_000 });

    await ok('POST', tok.finance, `/claims/${planId}/k1/payment`, { paidOn: TODAY, paymentRef: 'PO-2026-0001' });
    const paid = await ok('GET', tok.finance, `/claims/${planId}/k1`);
    expect(paid).toMatchObject({ status: 'paid', amountCents: 4_000, approvedCents: 3_000, paidCents: 3_000, paymentRef: 'PO-2026-0001' });
    expect(await ok('GET', tok.finance, budgetUrl(MUNI_A))).toMatchObject({ approvedCents: 3_000, paidCents: 3_000 });

    // A budget cannot be cut below what is already approved.
    const cut = await call('PUT', tok.finance, budgetUrl(MUNI_A), { allocatedCents: 2_000 });
    expect(cut.statusCode).toBe(422);
    expect(cut.json().code).toBe('budget.below_approved');

    // Another partner's finance staff do not see the claim; the school cannot approve it; auditors only read.
    expect((await call('GET', tok.financeB, `/claims/${planId}/k1`)).statusCode).toBe(404);
    expect((await call('POST', tok.preparer, `/claims/${planId}/k1/verification`, {})).statusCode).toBe(403);
    expect((await call('POST', tok.auditor, `/claims/${planId}/k1/verification`, {})).statusCode).toBe(403);
    expect((await call('PUT', tok.preparer, budgetUrl(MUNI_A), { allocatedCents: 5 })).statusCode).toBe(404);
  });

  const putBudget = (cents: number, headers: Record<string, string> = {}) => call('PUT', tok.national, budgetUrl(MUNI_A), { allocatedCents: cents }, headers);

  it('answers a PUT of the amount a budget already has (a retry after a lost answer) with 200 and the budget', async () => {
    const set = await putBudget(3_500_000);
    expect(set.statusCode, set.body).toBe(200);
    const again = await putBudget(3_500_000);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual(set.json());
    expect(again.headers.etag).toBe(set.headers.etag);
  });

  it("moves a budget's version and ETag with every change to it: allocations, approvals, payments", async () => {
    const set = await putBudget(4_000_000);
    expect(set.statusCode, set.body).toBe(200);
    const v0 = set.json().version as number;
    expect(set.headers.etag).toBe(`"${v0}"`);

    const planId = await approvedPlan();
    await claim(planId, 'v1', 2_000);
    await ok('POST', tok.finance, `/claims/${planId}/v1/verification`, {});
    await ok('POST', tok.finance, `/claims/${planId}/v1/approval`, { approvedCents: 2_000 });
    const approved = await call('GET', tok.finance, budgetUrl(MUNI_A));
    const v1 = approved.json().version as number;
    expect(v1).toBeGreaterThan(v0);
    expect(approved.headers.etag).toBe(`"${v1}"`);

    await ok('POST', tok.finance, `/claims/${planId}/v1/payment`, { paidOn: TODAY, paymentRef: 'PO-V1' });
    const paid = await call('GET', tok.finance, budgetUrl(MUNI_A));
    const v2 = paid.json().version as number;
    expect(v2).toBeGreaterThan(v1);
    expect(paid.headers.etag).toBe(`"${v2}"`);

    // If-Match holds the version the caller saw: one from before the approval is stale.
    expect((await putBudget(5_000_000, { 'if-match': `"${v0}"` })).statusCode).toBe(412);
    const current = await putBudget(5_000_000, { 'if-match': `"${v2}"` });
    expect(current.statusCode, current.body).toBe(200);
    expect(current.json()).toMatchObject({ allocatedCents: 5_000_000, version: v2 + 1 });
  });

  it('says how to write a semester in a budget URL when its slash is not encoded', async () => {
    const r = await call('GET', tok.finance, `/budgets/${MUNI_A}/${SEMESTER_NOW}`);
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toContain('application/problem+json');
    const encoded = encodeURIComponent(SEMESTER_NOW);
    expect(r.json().detail).toContain(`GET /budgets/${MUNI_A}/${encoded}`);
    expect(r.json().field).toBe('semester');
  });

  it('never approves past the budget, however many approvals arrive at once', async () => {
    await ok('PUT', tok.national, budgetUrl(MUNI_B), { allocatedCents: 20_500 });
    // muni-b's own school and plan: 50 claims of 1,000 cents, all verified.
    const preparerB = stack.token(preparerOf(SCHOOL_B));
    const directorB = stack.token({ sub: 'director-b', role: 'school_director', ...SCHOOL_B });
    const muniB = stack.token({ sub: 'coord-b', role: 'municipality_coordinator', municipality: MUNI_B, partner: MUNI_B });
    await registerLearner(stack.app, preparerB, 'L-budget');
    const created = await ok('POST', preparerB, '/plans', {
      learnerRef: 'L-budget',
      semester: SEMESTER_NOW,
      grade: 11,
      risks: [{ riskId: 'r1', type: 'economic', factor: 'poor family', note: '' }],
      measures: [{ measureId: 'm2', kind: 'compensation', riskIds: ['r1'], justification: 'meals', compensationType: 'meals', plannedCents: 10_000_000 }],
    });
    const planId = created.planId as string;
    for (const [t, path, body] of [
      [preparerB, 'consent-request', undefined],
      [preparerB, 'consent', { givenBy: 'parent', signedOn: TODAY, documentRef: 'scan-b' }],
      [preparerB, 'submission', undefined],
      [directorB, 'approvals', { level: 'school' }],
      [muniB, 'approvals', { level: 'municipality' }],
      [tok.national, 'approvals', { level: 'national' }],
    ] as const) {
      await ok('POST', t, `/plans/${planId}/${path}`, body);
    }
    const financeB = tok.financeB;
    const ids = Array.from({ length: 50 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      await ok('POST', preparerB, `/plans/${planId}/claims`, {
        claimId: id,
        measureId: 'm2',
        compensationType: 'meals',
        periodFrom: TODAY,
        periodTo: TODAY,
        amountCents: 1_000,
        documentRefs: [`receipt-${id}`],
      });
    }
    for (const id of ids) {
      for (let i = 0; ; i++) {
        const r = await call('POST', financeB, `/claims/${planId}/${id}/verification`, {});
        if (r.statusCode === 200) break;
        if (r.statusCode !== 404 || i > 100) throw new Error(`verify ${id}: ${r.statusCode} ${r.body}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }

    const results = await Promise.all(ids.map((id) => call('POST', financeB, `/claims/${planId}/${id}/approval`, { approvedCents: 1_000 })));
    const approved = results.filter((r) => r.statusCode === 200);
    const refused = results.filter((r) => r.statusCode !== 200);
    expect(approved).toHaveLength(20);
    expect(refused).toHaveLength(30);
    for (const r of refused) {
      expect(r.statusCode).toBe(422);
      expect(r.json().code).toBe('claim.budget_exceeded');
    }
    expect(await ok('GET', financeB, budgetUrl(MUNI_B))).toMatchObject({ allocatedCents: 20_500, approvedCents: 20_000, remainingCents: 500 });
    // The log agrees: exactly 20 ClaimApproved events, and a refused claim is still waiting, untouched.
    let approvals = 0;
    for (const id of ids) approvals += (await readStream(stack.db, claimStreamId(planId, id))).filter((e) => e.type === 'ClaimApproved').length;
    expect(approvals).toBe(20);
  }, 60_000);

  it('pays a claim once: a second payment, even at the same moment, is refused', async () => {
    const planId = await approvedPlan();
    await call('PUT', tok.finance, budgetUrl(MUNI_A), { allocatedCents: 2_000_000 });
    await claim(planId, 'p1', 1_500);
    await ok('POST', tok.finance, `/claims/${planId}/p1/verification`, {});
    await ok('POST', tok.finance, `/claims/${planId}/p1/approval`, { approvedCents: 1_500 });
    const before = await ok('GET', tok.finance, budgetUrl(MUNI_A));
    const [a, b] = await Promise.all([
      call('POST', tok.finance, `/claims/${planId}/p1/payment`, { paidOn: TODAY, paymentRef: 'PO-A' }),
      call('POST', tok.finance, `/claims/${planId}/p1/payment`, { paidOn: TODAY, paymentRef: 'PO-B' }),
    ]);
    expect([a.statusCode, b.statusCode].sort(), a.body + b.body).toEqual([200, 409]);
    const events = await readStream(stack.db, claimStreamId(planId, 'p1'));
    expect(events.filter((e) => e.type === 'ClaimPaid')).toHaveLength(1);
    const after = await ok('GET', tok.finance, budgetUrl(MUNI_A));
    expect(after.paidCents - before.paidCents).toBe(1_500);
    // Later, the finished claim answers every further step with 409 and stays paid once.
    const later = await call('POST', tok.finance, `/claims/${planId}/p1/payment`, { paidOn: TODAY, paymentRef: 'PO-C' });
    expect(later.statusCode).toBe(409);
    expect(later.json().code).toBe('claim.wrong_status');
  });
});
