import { describe, expect, it } from 'vitest';
import {
  approvalEvents,
  compensationClaimed,
  consultationLogged,
  implementingHistory,
  planSpec,
  SAMPLE_MEASURES,
  SAMPLE_RISKS,
  sampleDrafted,
} from '../testing/plan-fixtures.js';
import type { PlanEvent } from './events.js';
import { plannedVsDelivered } from './progress.js';

describe('plannedVsDelivered', () => {
  it('is empty before a plan exists and shows the draft’s plan before approval', () => {
    expect(plannedVsDelivered(planSpec.given([]).state)).toEqual([]);
    expect(plannedVsDelivered(planSpec.given([sampleDrafted()]).state).map((r) => r.measureId)).toEqual(['m1', 'm2', 'm3']);
  });

  it('counts only confirmed minutes as delivered, and follows money from claim to payment', () => {
    const s = planSpec.given([
      ...implementingHistory(),
      consultationLogged('c1'),
      consultationLogged('c2', { minutes: 30 }),
      { type: 'ConsultationConfirmed', data: { consultationId: 'c1', confirmedAt: '2025-09-10T12:00:00.000Z' } },
      compensationClaimed('k1', 1200),
      compensationClaimed('k2', 800),
      compensationClaimed('k3', 500),
      { type: 'CompensationClaimApproved', data: { claimId: 'k1', approvedCents: 1000 } },
      { type: 'CompensationClaimPaid', data: { claimId: 'k1', paidCents: 1000, paidOn: '2025-09-20', paymentRef: 'p' } },
      { type: 'CompensationClaimApproved', data: { claimId: 'k2', approvedCents: 800 } },
      { type: 'CompensationClaimRejected', data: { claimId: 'k3', reason: 'no ticket' } },
    ]).state;
    expect(plannedVsDelivered(s)).toEqual([
      { kind: 'consultation', measureId: 'm1', inPlan: true, plannedMinutes: 300, deliveredMinutes: 45, unconfirmedMinutes: 30, consultations: 2 },
      {
        kind: 'compensation',
        measureId: 'm2',
        inPlan: true,
        plannedCents: 5000,
        claimedCents: 2000,
        approvedCents: 1800,
        paidCents: 1000,
        rejectedCents: 500,
      },
      { kind: 'youth_initiative', measureId: 'm3', inPlan: true, project: 'robotics club' },
    ]);
  });

  it('keeps support given on a measure a revision took out', () => {
    const withoutM1 = SAMPLE_MEASURES.filter((m) => m.measureId !== 'm1');
    const s = planSpec.given([
      ...implementingHistory(),
      consultationLogged('c1'),
      { type: 'ConsultationConfirmed', data: { consultationId: 'c1', confirmedAt: '2025-09-10T12:00:00.000Z' } },
      { type: 'PlanRevised', data: { revision: 1, risks: SAMPLE_RISKS, measures: withoutM1, reason: 'goal met' } },
      { type: 'PlanSubmittedForApproval', data: { revision: 1, levels: ['school', 'municipality', 'national'] } },
      ...approvalEvents('municipality', 1),
    ] as PlanEvent[]).state;
    const rows = plannedVsDelivered(s);
    expect(rows.map((r) => [r.measureId, r.inPlan])).toEqual([
      ['m2', true],
      ['m3', true],
      ['m1', false],
    ]);
    expect(rows[2]).toMatchObject({ plannedMinutes: 0, deliveredMinutes: 45 });
  });
});
