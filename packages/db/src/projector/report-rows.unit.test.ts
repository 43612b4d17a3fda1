// The report rows of a plan come from its folded state: planned vs delivered per measure, risk types,
// the first full approval, the evaluation, and whether the plan counts in the programme's figures.
import {
  consultationLogged,
  evolve,
  implementingHistory,
  initialState,
  sampleDrafted,
  type ExistingPlan,
  type PlanEvent,
  type PlanState,
} from '@iap/domain';
import { describe, expect, it } from 'vitest';
import { comparePositions } from './commit-order.js';
import { claimRow, planRows } from './report-rows.js';

function fold(events: PlanEvent[]): ExistingPlan {
  let s: PlanState = initialState();
  events.forEach((e, i) => (s = evolve(s, e, { occurredAt: new Date(Date.UTC(2025, 8, 1 + i)).toISOString(), version: i + 1 })));
  if (s.status === 'none') throw new Error('no plan');
  return s;
}

describe('planRows', () => {
  it('derives the plan row, its risks and planned vs delivered per measure', () => {
    const s = fold([
      ...implementingHistory(),
      consultationLogged('c1', { minutes: 45 }),
      { type: 'ConsultationConfirmed', data: { consultationId: 'c1', confirmedAt: '2025-09-20T10:00:00.000Z' } },
      consultationLogged('c2', { minutes: 30 }),
    ]);
    const rows = planRows(s, '42');
    expect(rows.plan).toMatchObject({
      plan_id: 'plan-1', learner_ref: 'lr-7f3a', school_year: '2025/26', semester: '2025/26-1', counted: true,
      status: 'in_implementation', risk_types: ['economic', 'learning'], outcome: null, last_global_position: '42',
    });
    expect(rows.plan.approved_at).not.toBeNull();
    expect(rows.risks.map((r) => [r.risk_id, r.risk_type, r.change])).toEqual([['r1', 'learning', null], ['r2', 'economic', null]]);
    const m1 = rows.measures.find((m) => m.measure_id === 'm1')!;
    expect(m1).toMatchObject({ kind: 'consultation', provider_type: 'teacher', subject: 'mathematics', planned_minutes: 300, delivered_minutes: 45, unconfirmed_minutes: 30, consultations: 2, confirmed_consultations: 1, risk_types: ['learning'] });
    expect(rows.measures.find((m) => m.measure_id === 'm2')).toMatchObject({ kind: 'compensation', compensation_type: 'public_transport', planned_cents: 5000 });
  });

  it('does not count a deleted plan, and has no approval time before approval', () => {
    const s = fold([sampleDrafted(), { type: 'PlanDeleted', data: { reason: 'moved', deletedFrom: 'draft', by: 'd' } }]);
    const rows = planRows(s, '1');
    expect(rows.plan).toMatchObject({ status: 'deleted', counted: false, approved_at: null });
    expect(rows.measures.every((m) => m.counted === false)).toBe(true);
  });
});

describe('claimRow', () => {
  it('files a paid claim under its plan with approved and paid amounts', () => {
    const scope = planRows(fold(implementingHistory()), '1').plan;
    const row = claimRow('claim-plan-1-k1', {
      status: 'paid', version: 4, claimId: 'k1', planId: 'plan-1', measureId: 'm2', partnerId: 'muni-1', compensationType: 'meals',
      periodFrom: '2025-09-01', periodTo: '2025-09-30', amountCents: 1000, documentRefs: ['r'], submittedBy: 'p', submittedAt: '2025-09-02T00:00:00Z', verifiedAt: null,
      decision: { approvedCents: 800, partial: true, reason: 'one receipt', approvedAt: '2025-09-03T00:00:00Z' },
      payment: { paidCents: 800, paidOn: '2025-09-04', paymentRef: 'P1' },
    }, scope);
    expect(row).toMatchObject({ school_id: 'school-1', status: 'paid', amount_cents: 1000, approved_cents: 800, paid_cents: 800, paid_on: '2025-09-04' });
  });
});

describe('comparePositions', () => {
  it('orders by transaction, then by global position, exactly for big numbers', () => {
    expect(comparePositions({ transactionId: '10', globalPosition: '99' }, { transactionId: '11', globalPosition: '1' })).toBe(-1);
    expect(comparePositions({ transactionId: '9007199254740993', globalPosition: '2' }, { transactionId: '9007199254740993', globalPosition: '1' })).toBe(1);
    expect(comparePositions({ transactionId: '5', globalPosition: '5' }, { transactionId: '5', globalPosition: '5' })).toBe(0);
  });
});
