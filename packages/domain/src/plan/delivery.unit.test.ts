import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_CONFIG } from '../config.js';
import {
  approvedHistory,
  compensationClaimed,
  consultationLogged,
  ctxAs,
  implementingHistory,
  planSpec,
  SAMPLE_MEASURES,
  SAMPLE_RISKS,
  submittedHistory,
} from '../testing/plan-fixtures.js';
import type { LogConsultation } from './commands.js';
import type { PlanEvent } from './events.js';

const log = (over: Partial<LogConsultation['data']> = {}): LogConsultation => ({
  type: 'LogConsultation',
  data: {
    consultationId: 'c1',
    measureId: 'm1',
    date: '2025-09-10',
    providerType: 'teacher',
    subject: 'mathematics',
    minutes: 45,
    mode: 'in_person',
    ...over,
  },
});

const claim = (over: Record<string, unknown> = {}) =>
  ({
    type: 'ClaimCompensation',
    data: {
      claimId: 'k1',
      measureId: 'm2',
      compensationType: 'public_transport',
      periodFrom: '2025-09-01',
      periodTo: '2025-09-30',
      amountCents: 1200,
      documentRefs: ['receipt-1'],
      ...over,
    },
  }) as never;

const revised: PlanEvent = {
  type: 'PlanRevised',
  data: { revision: 1, risks: SAMPLE_RISKS, measures: SAMPLE_MEASURES, reason: 'x' },
};

describe('LogConsultation', () => {
  it('starts implementation on the first delivery of an approved plan', () => {
    const out = planSpec.given(approvedHistory()).when(log(), ctxAs('preparer'));
    out.thenEvents([{ type: 'ImplementationStarted', data: { trigger: 'first_delivery' } }, consultationLogged()]);
    expect(out.thenState()).toMatchObject({ status: 'in_implementation', consultations: [{ consultationId: 'c1', confirmedAt: null }] });
  });

  it('logs a remote consultation with the director’s order, dropping an order on an in-person one', () => {
    planSpec
      .given(implementingHistory())
      .when(log({ mode: 'remote', directorOrderRef: 'order-12' }), ctxAs('preparer'))
      .thenEvents([consultationLogged('c1', { mode: 'remote', directorOrderRef: 'order-12' })]);
    planSpec.given(implementingHistory()).when(log({ directorOrderRef: 'x' }), ctxAs('preparer')).thenEvents([consultationLogged()]);
  });

  it('accepts forms logged after the semester ended, for dates within it', () => {
    const ended = [...implementingHistory(), { type: 'SemesterEnded', data: { evaluationDueAt: '2026-01-15T00:00:00.000Z' } } as PlanEvent];
    planSpec
      .given(ended)
      .when(log({ date: '2025-12-31' }), ctxAs('preparer', '2026-01-01T09:00:00.000Z'))
      .thenEvents([consultationLogged('c1', { date: '2025-12-31', confirmBy: '2026-01-01T23:59:59.999Z' })]);
  });

  it.each([
    ['a date outside the semester', { date: '2025-08-31' }, 'plan.date_outside_semester', 'data.date'],
    ['a future date', { date: '2025-09-16' }, 'plan.date_in_future', 'data.date'],
    ['an impossible date', { date: '2025-09-31' }, 'plan.invalid_date', 'data.date'],
    ['remote without order', { mode: 'remote' }, 'plan.remote_without_order', 'data.directorOrderRef'],
    ['zero minutes', { minutes: 0 }, 'plan.minutes_not_positive', 'data.minutes'],
    ['fractional minutes', { minutes: 12.5 }, 'plan.minutes_not_positive', 'data.minutes'],
    ['another provider than planned', { providerType: 'psychologist' }, 'plan.provider_mismatch', 'data.providerType'],
    ['a measure not in the plan', { measureId: 'm9' }, 'plan.measure_not_in_plan', 'data.measureId'],
    ['a compensation measure', { measureId: 'm2' }, 'plan.measure_not_in_plan', 'data.measureId'],
  ] as const)('refuses %s', (_, over, code, field) => {
    planSpec.given(implementingHistory()).when(log(over), ctxAs('preparer')).thenThrows(code, field);
  });

  it('refuses a duplicate id, a plan not yet approved or under revision, and a finance actor', () => {
    planSpec.given([...implementingHistory(), consultationLogged()]).when(log(), ctxAs('preparer')).thenThrows('plan.duplicate_consultation');
    planSpec.given(submittedHistory()).when(log(), ctxAs('preparer')).thenThrows('plan.wrong_status');
    planSpec.given([...implementingHistory(), revised]).when(log(), ctxAs('preparer')).thenThrows('plan.wrong_status');
    planSpec.given(implementingHistory()).when(log(), ctxAs('finance')).thenThrows('plan.forbidden_role');
  });
});

describe('ConfirmConsultation', () => {
  const given = [...implementingHistory(), consultationLogged()];
  const confirm = (confirmedAt?: string) =>
    ({ type: 'ConfirmConsultation', data: { consultationId: 'c1', ...(confirmedAt ? { confirmedAt } : {}) } }) as const;

  it('records the learner’s confirmation within a day, at decision time by default', () => {
    const out = planSpec.given(given).when(confirm(), ctxAs('preparer', '2025-09-11T15:00:00.000Z'));
    out.thenEvents([{ type: 'ConsultationConfirmed', data: { consultationId: 'c1', confirmedAt: '2025-09-11T15:00:00.000Z' } }]);
    expect(out.thenState()).toMatchObject({ consultations: [{ confirmedAt: '2025-09-11T15:00:00.000Z', confirmedMinutes: 45 }] });
  });

  it('accepts a paper confirmation dated in the window, recorded later, even during revision', () => {
    planSpec
      .given([...given, revised])
      .when(confirm('2025-09-10T18:00:00.000Z'), ctxAs('system', '2025-09-15T10:00:00.000Z'))
      .thenEvents([{ type: 'ConsultationConfirmed', data: { consultationId: 'c1', confirmedAt: '2025-09-10T18:00:00.000Z' } }]);
  });

  it('refuses a confirmation later than one day: the consultation stays unconfirmed', () => {
    planSpec.given(given).when(confirm(), ctxAs('preparer', '2025-09-12T00:00:00.000Z')).thenThrows('plan.confirmation_too_late', 'data.confirmedAt');
  });

  it('honours a longer configured window', () => {
    const config = { ...DEFAULT_DOMAIN_CONFIG, consultationConfirmationDays: 3 };
    planSpec
      .given([...implementingHistory()])
      .when(log(), ctxAs('preparer', undefined, config))
      .thenEvents([consultationLogged('c1', { confirmBy: '2025-09-13T23:59:59.999Z' })]);
  });

  it('refuses twice, before the consultation, in the future, or for an unknown consultation', () => {
    const done = [...given, { type: 'ConsultationConfirmed', data: { consultationId: 'c1', confirmedAt: '2025-09-10T12:00:00.000Z' } } as PlanEvent];
    planSpec.given(done).when(confirm(), ctxAs('preparer', '2025-09-11T10:00:00.000Z')).thenThrows('plan.consultation_already_confirmed');
    planSpec.given(given).when(confirm('2025-09-09T10:00:00.000Z'), ctxAs('preparer')).thenThrows('plan.confirmation_before_consultation');
    planSpec.given(given).when(confirm('2025-09-11T10:00:00.000Z'), ctxAs('preparer', '2025-09-10T12:00:00.000Z')).thenThrows('plan.date_in_future');
    planSpec
      .given(given)
      .when({ type: 'ConfirmConsultation', data: { consultationId: 'c9' } }, ctxAs('preparer'))
      .thenThrows('plan.unknown_consultation', 'data.consultationId');
  });
});

describe('CorrectConsultation', () => {
  const correct = (over: Record<string, unknown> = {}) =>
    ({ type: 'CorrectConsultation', data: { ...log().data, minutes: 40, reason: 'typo', ...over } }) as never;
  const confirmed = [
    ...implementingHistory(),
    consultationLogged(),
    { type: 'ConsultationConfirmed', data: { consultationId: 'c1', confirmedAt: '2025-09-10T12:00:00.000Z' } } as PlanEvent,
  ];

  it('records a correction as a new event; the confirmation stands', () => {
    const out = planSpec.given(confirmed).when(correct(), ctxAs('preparer'));
    const { confirmBy: _c, ...details } = (consultationLogged() as Extract<PlanEvent, { type: 'ConsultationLogged' }>).data;
    out.thenEvents([{ type: 'ConsultationCorrected', data: { ...details, minutes: 40, reason: 'typo' } }]);
    expect(out.thenState()).toMatchObject({ consultations: [{ minutes: 40, corrections: 1, confirmedAt: '2025-09-10T12:00:00.000Z' }] });
  });

  it('refuses to raise a confirmed consultation’s minutes, and a correction without reason', () => {
    planSpec.given(confirmed).when(correct({ minutes: 60 }), ctxAs('preparer')).thenThrows('plan.correction_exceeds_confirmed', 'data.minutes');
    planSpec.given(confirmed).when(correct({ reason: '' }), ctxAs('preparer')).thenThrows('plan.reason_required', 'data.reason');
  });

  it('applies the logging rules to the corrected form', () => {
    planSpec.given(confirmed).when(correct({ mode: 'remote' }), ctxAs('preparer')).thenThrows('plan.remote_without_order');
    planSpec.given(confirmed).when(correct({ date: '2026-01-05' }), ctxAs('preparer')).thenThrows('plan.date_outside_semester');
    planSpec.given(confirmed).when(correct({ consultationId: 'c9' }), ctxAs('preparer')).thenThrows('plan.unknown_consultation');
  });
});

describe('ClaimCompensation', () => {
  it('claims against an approved compensation measure, starting implementation if needed', () => {
    const out = planSpec.given(approvedHistory()).when(claim(), ctxAs('school_director'));
    out.thenEvents([{ type: 'ImplementationStarted', data: { trigger: 'first_delivery' } }, compensationClaimed()]);
    expect(out.thenState()).toMatchObject({ status: 'in_implementation', claims: [{ claimId: 'k1', status: 'submitted' }] });
  });

  it.each([
    ['a measure not in the plan', { measureId: 'm9' }, 'plan.measure_not_in_plan', 'data.measureId'],
    ['a consultation measure', { measureId: 'm1' }, 'plan.measure_not_in_plan', 'data.measureId'],
    ['another type than planned', { compensationType: 'meals' }, 'plan.compensation_type_mismatch', 'data.compensationType'],
    ['a zero amount', { amountCents: 0 }, 'plan.amount_not_positive', 'data.amountCents'],
    ['a negative amount', { amountCents: -5 }, 'plan.amount_not_positive', 'data.amountCents'],
    ['fractional cents', { amountCents: 12.3 }, 'plan.amount_not_positive', 'data.amountCents'],
    ['a period outside the semester', { periodTo: '2026-01-10' }, 'plan.period_outside_semester', 'data.periodTo'],
    ['a reversed period', { periodFrom: '2025-10-01', periodTo: '2025-09-30' }, 'plan.period_reversed', 'data.periodTo'],
    ['no documents', { documentRefs: [] }, 'plan.documents_required', 'data.documentRefs'],
    ['more than planned', { amountCents: 5001 }, 'plan.claim_exceeds_planned', 'data.amountCents'],
  ] as const)('refuses %s', (_, over, code, field) => {
    planSpec.given(implementingHistory()).when(claim(over), ctxAs('preparer')).thenThrows(code, field);
  });

  it('counts earlier claims against the planned amount, but not rejected ones', () => {
    const h = [...implementingHistory(), compensationClaimed('k0', 4000)];
    planSpec.given(h).when(claim({ amountCents: 1001 }), ctxAs('preparer')).thenThrows('plan.claim_exceeds_planned');
    const rejected = { type: 'CompensationClaimRejected', data: { claimId: 'k0', reason: 'no receipt' } } as PlanEvent;
    planSpec.given([...h, rejected]).when(claim({ amountCents: 5000 }), ctxAs('preparer')).events();
    const config = { ...DEFAULT_DOMAIN_CONFIG, claimsMayExceedPlanned: true };
    planSpec.given(h).when(claim({ amountCents: 1001 }), ctxAs('preparer', undefined, config)).events();
  });

  it('refuses a duplicate claim, a plan in revision, and a finance actor', () => {
    planSpec.given([...implementingHistory(), compensationClaimed()]).when(claim(), ctxAs('preparer')).thenThrows('plan.duplicate_claim');
    planSpec.given([...implementingHistory(), revised]).when(claim(), ctxAs('preparer')).thenThrows('plan.wrong_status');
    planSpec.given(implementingHistory()).when(claim(), ctxAs('finance')).thenThrows('plan.forbidden_role');
  });
});

describe('claim outcomes told by reimbursement', () => {
  const h = [...implementingHistory(), compensationClaimed()];
  const approved = { type: 'CompensationClaimApproved', data: { claimId: 'k1', approvedCents: 1000 } } as PlanEvent;
  const paid = {
    type: 'CompensationClaimPaid',
    data: { claimId: 'k1', paidCents: 1000, paidOn: '2025-09-15', paymentRef: 'pay-1' },
  } as PlanEvent;
  const pay = (over: Record<string, unknown> = {}) =>
    ({ type: 'RecordClaimPayment', data: { claimId: 'k1', paidCents: 1000, paidOn: '2025-09-15', paymentRef: 'pay-1', ...over } }) as never;

  it('records approval (partial allowed), rejection and payment', () => {
    planSpec
      .given(h)
      .when({ type: 'RecordClaimApproval', data: { claimId: 'k1', approvedCents: 1000 } }, ctxAs('finance'))
      .thenEvents([approved]);
    planSpec
      .given(h)
      .when({ type: 'RecordClaimRejection', data: { claimId: 'k1', reason: 'no receipt' } }, ctxAs('system'))
      .thenEvents([{ type: 'CompensationClaimRejected', data: { claimId: 'k1', reason: 'no receipt' } }]);
    const out = planSpec.given([...h, approved]).when(pay(), ctxAs('finance'));
    out.thenEvents([paid]);
    expect(out.thenState()).toMatchObject({ claims: [{ status: 'paid', approvedCents: 1000, paidCents: 1000, paymentRef: 'pay-1' }] });
  });

  it('refuses payment twice, before approval, above approval, in the future, and approval above the claim', () => {
    planSpec.given([...h, approved, paid]).when(pay(), ctxAs('finance')).thenThrows('plan.claim_already_paid');
    planSpec.given(h).when(pay(), ctxAs('finance')).thenThrows('plan.claim_wrong_status');
    planSpec.given([...h, approved]).when(pay({ paidCents: 1001 }), ctxAs('finance')).thenThrows('plan.paid_exceeds_approved', 'data.paidCents');
    planSpec.given([...h, approved]).when(pay({ paidOn: '2025-09-16' }), ctxAs('finance')).thenThrows('plan.date_in_future', 'data.paidOn');
    planSpec
      .given(h)
      .when({ type: 'RecordClaimApproval', data: { claimId: 'k1', approvedCents: 1201 } }, ctxAs('finance'))
      .thenThrows('plan.approved_exceeds_claimed', 'data.approvedCents');
    planSpec
      .given([...h, approved])
      .when({ type: 'RecordClaimApproval', data: { claimId: 'k1', approvedCents: 100 } }, ctxAs('finance'))
      .thenThrows('plan.claim_wrong_status');
    planSpec
      .given(h)
      .when({ type: 'RecordClaimApproval', data: { claimId: 'k9', approvedCents: 100 } }, ctxAs('finance'))
      .thenThrows('plan.unknown_claim', 'data.claimId');
  });

  it('forbids anyone but finance or the system', () => {
    planSpec
      .given(h)
      .when({ type: 'RecordClaimApproval', data: { claimId: 'k1', approvedCents: 100 } }, ctxAs('school_director'))
      .thenThrows('plan.forbidden_role');
  });

  it('only lets a deleted plan’s open claims be rejected', () => {
    const deleted = [...h, { type: 'PlanDeleted', data: { reason: 'left', deletedFrom: 'in_implementation', by: 'd' } } as PlanEvent];
    planSpec
      .given(deleted)
      .when({ type: 'RecordClaimApproval', data: { claimId: 'k1', approvedCents: 100 } }, ctxAs('finance'))
      .thenThrows('plan.wrong_status');
    planSpec.given(deleted).when({ type: 'RecordClaimRejection', data: { claimId: 'k1', reason: 'plan deleted' } }, ctxAs('system')).events();
  });
});

describe('RecordPreparationHoursPayment', () => {
  const pay = (hours: number) =>
    ({ type: 'RecordPreparationHoursPayment', data: { hours, paidCents: hours * 1500, paidOn: '2025-09-15', paymentRef: 'prep-1' } }) as const;

  it('records paid preparation hours for an approved plan', () => {
    planSpec
      .given(approvedHistory())
      .when(pay(10), ctxAs('finance'))
      .thenEvents([{ type: 'PreparationHoursPaid', data: { hours: 10, paidCents: 15000, paidOn: '2025-09-15', paymentRef: 'prep-1' } }]);
  });

  it('refuses more than 10 hours per plan, zero hours, or a plan never approved', () => {
    const h = [...approvedHistory(), { type: 'PreparationHoursPaid', data: { hours: 6, paidCents: 1, paidOn: '2025-09-15', paymentRef: 'p' } } as PlanEvent];
    planSpec.given(h).when(pay(5), ctxAs('finance')).thenThrows('plan.preparation_hours_exceeded', 'data.hours');
    planSpec.given(h).when(pay(0), ctxAs('finance')).thenThrows('plan.hours_not_positive');
    planSpec.given(submittedHistory()).when(pay(1), ctxAs('finance')).thenThrows('plan.not_approved');
    planSpec.given(approvedHistory()).when(pay(1), ctxAs('preparer')).thenThrows('plan.forbidden_role');
  });
});
