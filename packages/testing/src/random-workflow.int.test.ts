// Random command sequences through the real workflows (plan, claims, budget) on real Temporal and
// Postgres: whatever is accepted or refused, the live projections equal a fresh rebuild from the event
// log, approved never exceeds the budget, paid never exceeds approved, and delivered minutes count each
// confirmed consultation once.
import { checkProjections, projectUntilIdle, readStream } from '@iap/db';
import { plannedVsDelivered, type PlanCommand, type PlanState, type ReimbursementCommand } from '@iap/domain';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, startTestStack, type TestStack } from './stack.js';
import { DIRECTOR, FINANCE, MUNI, NATIONAL, PlanDriver, PREPARER, SEMESTER_NOW, setBudget, TODAY, type Who } from './workflow-driver.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
  await setBudget(stack, MUNI_A, SEMESTER_NOW, 5_000);
});
afterAll(async () => {
  await stack?.close();
});

type Step =
  | { readonly to: 'plan'; readonly who: Who; readonly command: PlanCommand }
  | { readonly to: 'claim'; readonly claimId: string; readonly command: ReimbursementCommand & { type: Exclude<ReimbursementCommand['type'], 'SubmitClaim'> } };

const claimIds = fc.constantFrom('k1', 'k2', 'k3');
const consultationIds = fc.constantFrom('c1', 'c2');
const who = fc.constantFrom(PREPARER, DIRECTOR, MUNI, NATIONAL, FINANCE);

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ who, level: fc.constantFrom('school', 'municipality', 'national') }).map(
    (x): Step => ({ to: 'plan', who: x.who, command: { type: 'ApprovePlan', data: { level: x.level as 'school' } } }),
  ),
  fc.record({ id: consultationIds, minutes: fc.integer({ min: 1, max: 60 }) }).map(
    (x): Step => ({
      to: 'plan',
      who: PREPARER,
      command: { type: 'LogConsultation', data: { consultationId: x.id, measureId: 'm1', date: TODAY, providerType: 'teacher', minutes: x.minutes, mode: 'in_person' } },
    }),
  ),
  consultationIds.map((id): Step => ({ to: 'plan', who: PREPARER, command: { type: 'ConfirmConsultation', data: { consultationId: id } } })),
  fc.record({ id: claimIds, amount: fc.integer({ min: 500, max: 2_500 }) }).map(
    (x): Step => ({
      to: 'plan',
      who: PREPARER,
      command: {
        type: 'ClaimCompensation',
        data: { claimId: x.id, measureId: 'm2', compensationType: 'public_transport', periodFrom: TODAY, periodTo: TODAY, amountCents: x.amount, documentRefs: ['t'] },
      },
    }),
  ),
  claimIds.map((id): Step => ({ to: 'claim', claimId: id, command: { type: 'VerifyDocuments', data: {} } })),
  fc.record({ id: claimIds, amount: fc.integer({ min: 100, max: 2_500 }) }).map(
    (x): Step => ({ to: 'claim', claimId: x.id, command: { type: 'ApproveClaim', data: { approvedCents: x.amount, reason: 'partial where less' } } }),
  ),
  claimIds.map((id): Step => ({ to: 'claim', claimId: id, command: { type: 'RejectClaim', data: { reason: 'no ticket' } } })),
  claimIds.map((id): Step => ({ to: 'claim', claimId: id, command: { type: 'PayClaim', data: { paidOn: TODAY, paymentRef: `PO-${id}` } } })),
  fc.constant<Step>({ to: 'plan', who: DIRECTOR, command: { type: 'SuspendPlan', data: { reason: 'absent' } } }),
  fc.constant<Step>({ to: 'plan', who: DIRECTOR, command: { type: 'ResumePlan', data: {} } }),
  fc.constant<Step>({ to: 'plan', who: PREPARER, command: { type: 'SubmitForApproval', data: {} } }),
  fc.constant<Step>({ to: 'plan', who: DIRECTOR, command: { type: 'DeletePlan', data: { reason: 'left the programme' } } }),
);

describe('random command sequences through the workflows', () => {
  it('keep projections equal to a rebuild and every money and minutes invariant', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 18 }), async (steps) => {
        const p = await PlanDriver.start(stack);
        await p.consentAndSubmit();
        await p.approveAll();
        for (const s of steps) {
          // Refusals are expected; what matters is what the accepted commands leave behind.
          if (s.to === 'plan') await p.send(s.who, s.command).catch(() => undefined);
          else await p.claim(s.claimId, FINANCE, s.command).catch(() => undefined);
        }
        // Claim outcomes reach the plan by signal, and a claim's own workflow may still be writing its first
        // event: read both again until the plan's record of every claim agrees with the claim's stream (a
        // deleted plan takes only rejections).
        const claimRows = () => stack.db.selectFrom('claims').select(['claim_id', 'status', 'approved_cents', 'paid_cents']).where('plan_id', '=', p.planId).execute();
        let rows = await claimRows();
        let s: PlanState = await p.state();
        for (const deadline = Date.now() + 20_000; ; ) {
          const expected = new Map(rows.map((r) => [r.claim_id, r.status === 'documents_verified' ? 'submitted' : r.status]));
          if (s.status !== 'none' && (s.status === 'deleted' || s.claims.every((c) => expected.get(c.claimId) === c.status))) break;
          if (Date.now() > deadline) throw new Error(`the plan's claims never agreed with the claim streams: ${JSON.stringify({ rows, plan: s.status === 'none' ? null : s.claims })}`);
          await new Promise((r) => setTimeout(r, 100));
          [rows, s] = [await claimRows(), await p.state()];
        }
        for (const c of s.claims) {
          const row = rows.find((r) => r.claim_id === c.claimId);
          if (c.status === 'approved' || c.status === 'paid') expect(c.approvedCents).toBe(Number(row?.approved_cents));
          if (c.status === 'paid') expect(c.paidCents).toBe(Number(row?.paid_cents));
        }
        // Delivered minutes: each confirmed consultation once, as the log's confirmations say.
        const events = await readStream(stack.db, p.planId);
        const confirmedIds = new Set(events.filter((e) => e.type === 'ConsultationConfirmed').map((e) => (e.data as { consultationId: string }).consultationId));
        expect(s.consultations.filter((c) => c.confirmedMinutes !== null).map((c) => c.consultationId).sort()).toEqual([...confirmedIds].sort());
        const delivered = plannedVsDelivered(s).reduce((n, m) => n + (m.kind === 'consultation' ? m.deliveredMinutes : 0), 0);
        expect(delivered).toBe(s.consultations.reduce((n, c) => n + (c.confirmedMinutes ?? 0), 0));
      }),
      { numRuns: 6, seed: 7 },
    );

    // Money: the database's own view, whatever the interleaving was.
    const budget = await stack.db.selectFrom('budgets').selectAll().where('partner_id', '=', MUNI_A).where('semester', '=', SEMESTER_NOW).executeTakeFirstOrThrow();
    expect(Number(budget.approved_cents)).toBeLessThanOrEqual(Number(budget.allocated_cents));
    expect(Number(budget.paid_cents)).toBeLessThanOrEqual(Number(budget.approved_cents));
    const sums = await sql<{ approved: string | null; paid: string | null }>`
      select sum(approved_cents) as approved, sum(paid_cents) as paid from claims where partner_id = ${MUNI_A} and semester = ${SEMESTER_NOW}`.execute(stack.db);
    expect(Number(sums.rows[0]!.approved ?? 0)).toBe(Number(budget.approved_cents));
    expect(Number(sums.rows[0]!.paid ?? 0)).toBe(Number(budget.paid_cents));
    const overpaid = await sql<{ n: string }>`select count(*) as n from claims where paid_cents > approved_cents or approved_cents > amount_cents`.execute(stack.db);
    expect(Number(overpaid.rows[0]!.n)).toBe(0);

    // Projections: the live ones equal a fresh rebuild from the log.
    await projectUntilIdle(stack.database.appDb);
    const outcomes = await checkProjections(stack.db, { projections: ['plans', 'claims', 'reports'] });
    for (const o of outcomes) expect(o, JSON.stringify(o.differences.slice(0, 3))).toMatchObject({ ok: true, total: 0 });
  }, 120_000);
});
