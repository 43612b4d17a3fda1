import { describe, expect, it } from 'vitest';
import {
  approvalEvents,
  approvedHistory,
  consentedHistory,
  ctxAs,
  implementingHistory,
  planSpec,
  SAMPLE_MEASURES,
  SAMPLE_RISKS,
  sampleDrafted,
  submittedHistory,
} from '../testing/plan-fixtures.js';
import type { PlanEvent } from './events.js';
import type { Measure } from './model.js';

const approve = (level: 'school' | 'municipality' | 'national', comment?: string) =>
  ({ type: 'ApprovePlan', data: { level, ...(comment ? { comment } : {}) } }) as const;

describe('SubmitForApproval', () => {
  it('sends a consented municipal plan through school, municipality and national levels', () => {
    const out = planSpec.given(consentedHistory()).when({ type: 'SubmitForApproval', data: {} }, ctxAs('preparer'));
    out.thenEvents([{ type: 'PlanSubmittedForApproval', data: { revision: 0, levels: ['school', 'municipality', 'national'] } }]);
    expect(out.thenState()).toMatchObject({ status: 'in_approval', approval: { pendingLevel: 'school', approvedLevels: [] } });
  });

  it('skips the municipal level for a state vocational school', () => {
    planSpec
      .given(consentedHistory('state_vocational'))
      .when({ type: 'SubmitForApproval', data: {} }, ctxAs('school_director'))
      .thenEvents([{ type: 'PlanSubmittedForApproval', data: { revision: 0, levels: ['school', 'national'] } }]);
  });

  it('refuses without consent, and when already in approval', () => {
    planSpec.given([sampleDrafted()]).when({ type: 'SubmitForApproval', data: {} }, ctxAs('preparer')).thenThrows('plan.consent_missing');
    planSpec.given(submittedHistory()).when({ type: 'SubmitForApproval', data: {} }, ctxAs('preparer')).thenThrows('plan.wrong_status');
  });
});

describe('ApprovePlan', () => {
  it('approves level by level and emits PlanApproved after the last', () => {
    const h = submittedHistory();
    planSpec
      .given(h)
      .when(approve('school', 'fine'), ctxAs('school_director'))
      .thenEvents([{ type: 'ApprovalGranted', data: { level: 'school', by: 'school_director-1', comment: 'fine' } }]);
    const [school, municipality] = approvalEvents() as [PlanEvent, PlanEvent];
    const mid = planSpec.given([...h, school]).when(approve('municipality'), ctxAs('municipality_coordinator'));
    mid.thenEvents([municipality]);
    expect(mid.thenState()).toMatchObject({ status: 'in_approval', approval: { pendingLevel: 'national', approvedLevels: ['school', 'municipality'] } });
    const last = planSpec.given([...h, school, municipality]).when(approve('national'), ctxAs('national_coordinator'));
    last.thenEvents([
      { type: 'ApprovalGranted', data: { level: 'national', by: 'national_coordinator-1', comment: null } },
      { type: 'PlanApproved', data: { revision: 0 } },
    ]);
    const s = last.thenState();
    expect(s).toMatchObject({ status: 'approved', approvedRevision: 0, approvedMeasures: SAMPLE_MEASURES });
    expect(s.status !== 'none' && s.approvals.map((a) => a.level)).toEqual(['school', 'municipality', 'national']);
  });

  it('approves a state vocational plan after school and national', () => {
    const [school] = approvalEvents('state_vocational') as [PlanEvent];
    planSpec
      .given([...submittedHistory('state_vocational'), school])
      .when(approve('national'), ctxAs('national_coordinator'))
      .thenEvents([
        { type: 'ApprovalGranted', data: { level: 'national', by: 'national_coordinator-1', comment: null } },
        { type: 'PlanApproved', data: { revision: 0 } },
      ]);
  });

  it('refuses levels out of order', () => {
    const err = planSpec.given(submittedHistory()).when(approve('national'), ctxAs('national_coordinator')).thenThrows('plan.approval_out_of_order', 'data.level');
    expect(err.kind).toBe('conflict');
    const [school] = approvalEvents() as [PlanEvent];
    planSpec.given([...submittedHistory(), school]).when(approve('school'), ctxAs('school_director')).thenThrows('plan.approval_out_of_order');
  });

  it('refuses a municipal approval for a state vocational school', () => {
    const [school] = approvalEvents('state_vocational') as [PlanEvent];
    planSpec
      .given([...submittedHistory('state_vocational'), school])
      .when(approve('municipality'), ctxAs('municipality_coordinator'))
      .thenThrows('plan.approval_level_not_applicable');
  });

  it('forbids signing for another level or by a non-approver', () => {
    planSpec.given(submittedHistory()).when(approve('school'), ctxAs('municipality_coordinator')).thenThrows('plan.forbidden_role');
    planSpec.given(submittedHistory()).when(approve('school'), ctxAs('preparer')).thenThrows('plan.forbidden_role');
    planSpec.given(submittedHistory()).when(approve('school'), ctxAs('auditor')).thenThrows('plan.forbidden_role');
  });

  it('refuses approval of a plan not in approval', () => {
    planSpec.given(consentedHistory()).when(approve('school'), ctxAs('school_director')).thenThrows('plan.wrong_status');
    planSpec.given(approvedHistory()).when(approve('school'), ctxAs('school_director')).thenThrows('plan.wrong_status');
  });
});

describe('ReturnForRevision', () => {
  it('returns at the pending level with a comment; the preparer edits and resubmits from school level', () => {
    const [school] = approvalEvents() as [PlanEvent];
    const given = [...submittedHistory(), school];
    const out = planSpec
      .given(given)
      .when({ type: 'ReturnForRevision', data: { level: 'municipality', comment: 'justify transport' } }, ctxAs('municipality_coordinator'));
    const returned: PlanEvent = {
      type: 'PlanReturnedForRevision',
      data: { level: 'municipality', by: 'municipality_coordinator-1', comment: 'justify transport' },
    };
    out.thenEvents([returned]);
    expect(out.thenState()).toMatchObject({ status: 'returned', returnedBy: { level: 'municipality', comment: 'justify transport' } });

    const revised = planSpec
      .given([...given, returned])
      .when({ type: 'RevisePlan', data: { risks: SAMPLE_RISKS, measures: SAMPLE_MEASURES.slice(0, 2) } }, ctxAs('preparer'));
    expect(revised.thenState()).toMatchObject({ status: 'returned', revision: 1 });
    const revisedEvent = revised.events();
    planSpec
      .given([...given, returned, ...revisedEvent])
      .when({ type: 'SubmitForApproval', data: {} }, ctxAs('preparer'))
      .thenEvents([{ type: 'PlanSubmittedForApproval', data: { revision: 1, levels: ['school', 'municipality', 'national'] } }]);
  });

  it('refuses a return without comment, out of turn, or by the wrong role', () => {
    planSpec
      .given(submittedHistory())
      .when({ type: 'ReturnForRevision', data: { level: 'school', comment: '  ' } }, ctxAs('school_director'))
      .thenThrows('plan.comment_required', 'data.comment');
    planSpec
      .given(submittedHistory())
      .when({ type: 'ReturnForRevision', data: { level: 'national', comment: 'no' } }, ctxAs('national_coordinator'))
      .thenThrows('plan.approval_out_of_order');
    planSpec
      .given(submittedHistory())
      .when({ type: 'ReturnForRevision', data: { level: 'school', comment: 'no' } }, ctxAs('preparer'))
      .thenThrows('plan.forbidden_role');
  });
});

describe('revision of an approved plan', () => {
  const extra: Measure = {
    measureId: 'm4',
    kind: 'consultation',
    riskIds: ['r1'],
    justification: 'anxiety before tests',
    providerType: 'psychologist',
    plannedMinutes: 120,
  };
  const revise = { type: 'RevisePlan', data: { risks: SAMPLE_RISKS, measures: [...SAMPLE_MEASURES, extra], reason: 'new need' } } as const;

  it('moves an approved or implementing plan to in_revision, then back through every level', () => {
    for (const h of [approvedHistory(), implementingHistory()]) {
      const out = planSpec.given(h).when(revise, ctxAs('preparer'));
      out.thenEvents([{ type: 'PlanRevised', data: { revision: 1, risks: SAMPLE_RISKS, measures: [...SAMPLE_MEASURES, extra], reason: 'new need' } }]);
      const s = out.thenState();
      // Until re-approved, the measures in force stay those approved before.
      expect(s).toMatchObject({ status: 'in_revision', revision: 1, approvedRevision: 0, approvedMeasures: SAMPLE_MEASURES });
    }
    const h = [...implementingHistory(), ...planSpec.given(implementingHistory()).when(revise, ctxAs('preparer')).events()];
    const sub = planSpec.given(h).when({ type: 'SubmitForApproval', data: {} }, ctxAs('preparer')).events();
    const final = planSpec.given([...h, ...sub, ...approvalEvents('municipality', 1)]).state;
    // Implementation had started, so the re-approved plan goes straight back to it.
    expect(final).toMatchObject({ status: 'in_implementation', approvedRevision: 1, approvedMeasures: [...SAMPLE_MEASURES, extra] });
  });

  it('requires a reason for revising an approved plan', () => {
    planSpec
      .given(approvedHistory())
      .when({ type: 'RevisePlan', data: { risks: SAMPLE_RISKS, measures: SAMPLE_MEASURES } }, ctxAs('preparer'))
      .thenThrows('plan.reason_required', 'data.reason');
  });

  it('refuses to change the kind of a measure that already has deliveries', () => {
    const changed = SAMPLE_MEASURES.map((m) =>
      m.measureId === 'm2' ? ({ ...extra, measureId: 'm2' } as Measure) : m,
    );
    planSpec
      .given([...implementingHistory(), {
        type: 'CompensationClaimed',
        data: { claimId: 'k1', measureId: 'm2', compensationType: 'public_transport', periodFrom: '2025-09-01', periodTo: '2025-09-30', amountCents: 100, documentRefs: ['r'] },
      }])
      .when({ type: 'RevisePlan', data: { risks: SAMPLE_RISKS, measures: changed, reason: 'x' } }, ctxAs('preparer'))
      .thenThrows('plan.measure_kind_changed', 'data.measures[1].kind');
  });

  it('refuses revision while in approval', () => {
    planSpec.given(submittedHistory()).when(revise, ctxAs('preparer')).thenThrows('plan.wrong_status');
  });
});

describe('StartImplementation', () => {
  it('starts an approved plan explicitly', () => {
    const out = planSpec.given(approvedHistory()).when({ type: 'StartImplementation', data: {} }, ctxAs('preparer'));
    out.thenEvents([{ type: 'ImplementationStarted', data: { trigger: 'explicit' } }]);
    expect(out.thenState()).toMatchObject({ status: 'in_implementation', implementationStartedAt: '2025-09-15T10:00:00.000Z' });
  });

  it('refuses before approval or twice', () => {
    planSpec.given(submittedHistory()).when({ type: 'StartImplementation', data: {} }, ctxAs('preparer')).thenThrows('plan.wrong_status');
    planSpec.given(implementingHistory()).when({ type: 'StartImplementation', data: {} }, ctxAs('preparer')).thenThrows('plan.wrong_status');
  });
});
