import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_CONFIG } from '../config.js';
import {
  approvedHistory,
  compensationClaimed,
  consentedHistory,
  ctxAs,
  implementingHistory,
  planSpec,
  sampleDrafted,
  submittedHistory,
} from '../testing/plan-fixtures.js';
import type { EvaluatePlan } from './commands.js';
import type { PlanEvent } from './events.js';

const suspended: PlanEvent = { type: 'PlanSuspended', data: { reason: 'long illness', suspendedFrom: 'in_implementation', by: 'school_director-1' } };
const AFTER_SEMESTER = '2026-01-01T00:00:00.000Z';
const semesterEnded: PlanEvent = { type: 'SemesterEnded', data: { evaluationDueAt: '2026-01-15T00:00:00.000Z' } };
const evaluate = (over: Partial<EvaluatePlan['data']> = {}): EvaluatePlan => ({
  type: 'EvaluatePlan',
  data: {
    riskOutcomes: [
      { riskId: 'r1', change: 'reduced' },
      { riskId: 'r2', change: 'unchanged' },
    ],
    outcome: 'continues',
    narrative: 'grades improved',
    ...over,
  },
});
const evaluated: PlanEvent = { type: 'PlanEvaluated', data: { ...evaluate().data, by: 'preparer-1' } };

describe('SuspendPlan / ResumePlan', () => {
  it('suspends from in approval, approved or in implementation, with a reason', () => {
    for (const [h, from] of [
      [submittedHistory(), 'in_approval'],
      [approvedHistory(), 'approved'],
      [implementingHistory(), 'in_implementation'],
    ] as const) {
      const out = planSpec.given(h).when({ type: 'SuspendPlan', data: { reason: 'long illness' } }, ctxAs('school_director'));
      out.thenEvents([{ type: 'PlanSuspended', data: { reason: 'long illness', suspendedFrom: from, by: 'school_director-1' } }]);
      expect(out.thenState()).toMatchObject({ status: 'suspended', suspension: { from, reason: 'long illness' } });
    }
  });

  it('refuses suspension without reason, from a draft, or by a preparer', () => {
    planSpec.given(implementingHistory()).when({ type: 'SuspendPlan', data: { reason: '' } }, ctxAs('school_director')).thenThrows('plan.reason_required', 'data.reason');
    planSpec.given(consentedHistory()).when({ type: 'SuspendPlan', data: { reason: 'x' } }, ctxAs('school_director')).thenThrows('plan.wrong_status');
    planSpec.given(implementingHistory()).when({ type: 'SuspendPlan', data: { reason: 'x' } }, ctxAs('preparer')).thenThrows('plan.forbidden_role');
  });

  it('resumes within the same semester into revision, then back to approval', () => {
    const out = planSpec
      .given([...implementingHistory(), suspended])
      .when({ type: 'ResumePlan', data: { reason: 'back at school' } }, ctxAs('school_director', '2025-11-02T10:00:00.000Z'));
    out.thenEvents([{ type: 'PlanResumed', data: { reason: 'back at school', by: 'school_director-1' } }]);
    const s = out.thenState();
    expect(s.status).toBe('in_revision');
    planSpec
      .given([...implementingHistory(), suspended, ...out.events()])
      .when({ type: 'SubmitForApproval', data: {} }, ctxAs('preparer'))
      .thenEvents([{ type: 'PlanSubmittedForApproval', data: { revision: 0, levels: ['school', 'municipality', 'national'] } }]);
  });

  it('refuses resumption in a different semester, or of a plan not suspended', () => {
    planSpec
      .given([...implementingHistory(), suspended])
      .when({ type: 'ResumePlan', data: {} }, ctxAs('school_director', '2026-01-10T10:00:00.000Z'))
      .thenThrows('plan.resume_outside_semester');
    planSpec.given(implementingHistory()).when({ type: 'ResumePlan', data: {} }, ctxAs('school_director')).thenThrows('plan.wrong_status');
  });
});

describe('DeletePlan', () => {
  it('deletes a plan while no money was used; the record stays', () => {
    const h = [...implementingHistory(), compensationClaimed()];
    const out = planSpec.given(h).when({ type: 'DeletePlan', data: { reason: 'learner moved' } }, ctxAs('school_director'));
    out.thenEvents([{ type: 'PlanDeleted', data: { reason: 'learner moved', deletedFrom: 'in_implementation', by: 'school_director-1' } }]);
    expect(out.thenState()).toMatchObject({ status: 'deleted', claims: [{ claimId: 'k1' }], deletion: { from: 'in_implementation' } });
    planSpec.given([sampleDrafted()]).when({ type: 'DeletePlan', data: { reason: 'duplicate' } }, ctxAs('school_director')).events();
  });

  it('refuses once a claim was paid, an approved claim awaits payment, or preparation hours were paid', () => {
    const h = [...implementingHistory(), compensationClaimed()];
    const approved = { type: 'CompensationClaimApproved', data: { claimId: 'k1', approvedCents: 1200 } } as PlanEvent;
    const paid = { type: 'CompensationClaimPaid', data: { claimId: 'k1', paidCents: 1200, paidOn: '2025-09-15', paymentRef: 'p' } } as PlanEvent;
    const prep = { type: 'PreparationHoursPaid', data: { hours: 10, paidCents: 15000, paidOn: '2025-09-15', paymentRef: 'p' } } as PlanEvent;
    const del = { type: 'DeletePlan', data: { reason: 'x' } } as const;
    planSpec.given([...h, approved, paid]).when(del, ctxAs('school_director')).thenThrows('plan.money_used');
    planSpec.given([...h, approved]).when(del, ctxAs('school_director')).thenThrows('plan.money_committed');
    planSpec.given([...approvedHistory(), prep]).when(del, ctxAs('school_director')).thenThrows('plan.money_used');
  });

  it('refuses without reason, twice, after the semester, or by a preparer', () => {
    const del = { type: 'DeletePlan', data: { reason: 'x' } } as const;
    planSpec.given(approvedHistory()).when({ type: 'DeletePlan', data: { reason: ' ' } }, ctxAs('school_director')).thenThrows('plan.reason_required');
    const deleted = { type: 'PlanDeleted', data: { reason: 'x', deletedFrom: 'approved', by: 'd' } } as PlanEvent;
    planSpec.given([...approvedHistory(), deleted]).when(del, ctxAs('school_director')).thenThrows('plan.wrong_status');
    planSpec.given([...approvedHistory(), semesterEnded]).when(del, ctxAs('school_director')).thenThrows('plan.wrong_status');
    planSpec.given(approvedHistory()).when(del, ctxAs('preparer')).thenThrows('plan.forbidden_role');
  });
});

describe('EndSemester', () => {
  const end = { type: 'EndSemester', data: {} } as const;

  it('moves an approved plan to awaiting evaluation with a deadline 14 days on', () => {
    const out = planSpec.given(implementingHistory()).when(end, ctxAs('system', AFTER_SEMESTER));
    out.thenEvents([{ type: 'SemesterEnded', data: { evaluationDueAt: '2026-01-15T00:00:00.000Z' } }]);
    expect(out.thenState()).toMatchObject({ status: 'awaiting_evaluation', evaluationOverdue: false, semesterEndedAt: AFTER_SEMESTER });
  });

  it('closes a plan that was never approved: there is nothing to evaluate', () => {
    const out = planSpec.given(submittedHistory()).when(end, ctxAs('system', AFTER_SEMESTER));
    out.thenEvents([
      { type: 'SemesterEnded', data: { evaluationDueAt: null } },
      { type: 'PlanClosed', data: { reason: 'never_approved' } },
    ]);
    expect(out.thenState().status).toBe('closed');
  });

  it('refuses before the semester is over, for a deleted plan, or from a person', () => {
    planSpec.given(implementingHistory()).when(end, ctxAs('system', '2025-12-31T23:59:59.000Z')).thenThrows('plan.timer_not_due');
    const deleted = { type: 'PlanDeleted', data: { reason: 'x', deletedFrom: 'approved', by: 'd' } } as PlanEvent;
    planSpec.given([...approvedHistory(), deleted]).when(end, ctxAs('system', AFTER_SEMESTER)).thenThrows('plan.wrong_status');
    planSpec.given(implementingHistory()).when(end, ctxAs('school_director', AFTER_SEMESTER)).thenThrows('plan.forbidden_role');
  });

  it('follows configured semester dates', () => {
    const config = { ...DEFAULT_DOMAIN_CONFIG, semesterOverrides: { '2025/26-1': { from: '2025-09-01', to: '2025-12-19' } } };
    // By default the semester runs to 31 December: the 20th is too early.
    planSpec.given(implementingHistory()).when(end, ctxAs('system', '2025-12-20T00:00:00.000Z')).thenThrows('plan.timer_not_due');
    const out = planSpec.given(implementingHistory()).when(end, ctxAs('system', '2025-12-20T00:00:00.000Z', config));
    out.thenEvents([{ type: 'SemesterEnded', data: { evaluationDueAt: '2026-01-03T00:00:00.000Z' } }]);
    expect(out.thenState()).toMatchObject({ status: 'awaiting_evaluation' });
  });
});

describe('evaluation', () => {
  const ended = [...implementingHistory(), semesterEnded];

  it('marks the evaluation overdue after 14 days, once', () => {
    const out = planSpec.given(ended).when({ type: 'MarkEvaluationOverdue', data: {} }, ctxAs('system', '2026-01-15T00:00:00.000Z'));
    out.thenEvents([{ type: 'EvaluationOverdue', data: {} }]);
    expect(out.thenState()).toMatchObject({ status: 'awaiting_evaluation', evaluationOverdue: true });
    planSpec.given(ended).when({ type: 'MarkEvaluationOverdue', data: {} }, ctxAs('system', '2026-01-14T23:00:00.000Z')).thenThrows('plan.timer_not_due');
    planSpec
      .given([...ended, { type: 'EvaluationOverdue', data: {} }])
      .when({ type: 'MarkEvaluationOverdue', data: {} }, ctxAs('system', '2026-01-20T00:00:00.000Z'))
      .thenThrows('plan.already_overdue');
  });

  it('records per-risk outcomes, the learner’s outcome and a narrative, even when overdue', () => {
    const out = planSpec.given([...ended, { type: 'EvaluationOverdue', data: {} }]).when(evaluate(), ctxAs('preparer', '2026-01-20T00:00:00.000Z'));
    out.thenEvents([evaluated]);
    expect(out.thenState()).toMatchObject({ status: 'evaluated', evaluationOverdue: true, evaluation: { outcome: 'continues' } });
  });

  it.each([
    ['a missing risk', { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }] }, 'plan.evaluation_missing_risk', 'data.riskOutcomes'],
    ['an unknown risk', { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }, { riskId: 'r7', change: 'reduced' }] }, 'plan.evaluation_unknown_risk', 'data.riskOutcomes[1].riskId'],
    ['a risk twice', { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }, { riskId: 'r1', change: 'increased' }] }, 'plan.evaluation_duplicate_risk', 'data.riskOutcomes[1].riskId'],
    ['an unknown change', { riskOutcomes: [{ riskId: 'r1', change: 'gone' }, { riskId: 'r2', change: 'reduced' }] }, 'plan.invalid_code', 'data.riskOutcomes[0].change'],
    ['an unknown outcome', { outcome: 'graduated' }, 'plan.invalid_code', 'data.outcome'],
    ['no narrative', { narrative: '' }, 'plan.narrative_required', 'data.narrative'],
  ] as const)('refuses an evaluation with %s', (_, over, code, field) => {
    planSpec.given(ended).when(evaluate(over as never), ctxAs('preparer')).thenThrows(code, field);
  });

  it('refuses evaluation before the semester ends, or twice', () => {
    planSpec.given(implementingHistory()).when(evaluate(), ctxAs('preparer')).thenThrows('plan.wrong_status');
    planSpec.given([...ended, evaluated]).when(evaluate(), ctxAs('preparer')).thenThrows('plan.wrong_status');
  });
});

describe('ClosePlan and CarryOver', () => {
  const done = [...implementingHistory(), semesterEnded, evaluated];

  it('closes an evaluated plan', () => {
    const out = planSpec.given(done).when({ type: 'ClosePlan', data: {} }, ctxAs('system'));
    out.thenEvents([{ type: 'PlanClosed', data: { reason: 'evaluated' } }]);
    expect(out.thenState().status).toBe('closed');
    planSpec.given([...implementingHistory(), semesterEnded]).when({ type: 'ClosePlan', data: {} }, ctxAs('preparer')).thenThrows('plan.wrong_status');
  });

  it('carries an evaluated or closed plan over into the next semester, once', () => {
    for (const h of [done, [...done, { type: 'PlanClosed', data: { reason: 'evaluated' } } as PlanEvent]]) {
      const out = planSpec.given(h).when({ type: 'CarryOver', data: { nextPlanId: 'plan-2' } }, ctxAs('preparer'));
      out.thenEvents([{ type: 'PlanCarriedOver', data: { nextPlanId: 'plan-2', nextSemester: '2025/26-2' } }]);
      expect(out.thenState()).toMatchObject({ status: h.length === done.length ? 'evaluated' : 'closed', carriedOverTo: { nextPlanId: 'plan-2' } });
    }
    const carried = { type: 'PlanCarriedOver', data: { nextPlanId: 'plan-2', nextSemester: '2025/26-2' } } as PlanEvent;
    planSpec.given([...done, carried]).when({ type: 'CarryOver', data: { nextPlanId: 'plan-3' } }, ctxAs('preparer')).thenThrows('plan.already_carried_over');
  });

  it('refuses to carry over into itself, before evaluation, or for a learner who left school', () => {
    planSpec.given(done).when({ type: 'CarryOver', data: { nextPlanId: 'plan-1' } }, ctxAs('preparer')).thenThrows('plan.invalid_next_plan', 'data.nextPlanId');
    planSpec.given(implementingHistory()).when({ type: 'CarryOver', data: { nextPlanId: 'plan-2' } }, ctxAs('preparer')).thenThrows('plan.wrong_status');
    const left = [...implementingHistory(), semesterEnded, { type: 'PlanEvaluated', data: { ...evaluate().data, outcome: 'left_school', by: 'p' } } as PlanEvent];
    planSpec.given(left).when({ type: 'CarryOver', data: { nextPlanId: 'plan-2' } }, ctxAs('preparer')).thenThrows('plan.carry_over_not_possible');
  });
});
