import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_CONFIG } from '../config.js';
import {
  consentedHistory,
  ctxAs,
  planSpec,
  SAMPLE_MEASURES,
  SAMPLE_RISKS,
  sampleDraft,
  sampleDrafted,
} from '../testing/plan-fixtures.js';
import type { PlanEvent } from './events.js';
import type { Measure } from './model.js';

const requested: PlanEvent = {
  type: 'ConsentRequested',
  data: { reminderDueAt: '2025-09-22T10:00:00.000Z', expiresAt: '2025-09-29T10:00:00.000Z' },
};

describe('DraftPlan', () => {
  it('drafts a plan with risks and measures, recording the preparer', () => {
    planSpec.given([]).when({ type: 'DraftPlan', data: sampleDraft() }, ctxAs('preparer')).thenEvents([sampleDrafted()]);
  });

  it('refuses a plan for a semester that has already ended', () => {
    planSpec
      .given([])
      .when({ type: 'DraftPlan', data: sampleDraft() }, ctxAs('preparer', '2026-01-01T00:00:00.000Z'))
      .thenThrows('plan.semester_over', 'data.semester');
  });

  it('keeps a link to the previous semester plan', () => {
    const [e] = planSpec
      .given([])
      .when({ type: 'DraftPlan', data: sampleDraft('municipality', { previousPlanId: 'plan-0' }) }, ctxAs('school_director'))
      .events();
    expect(e?.type === 'PlanDrafted' && e.data.previousPlanId).toBe('plan-0');
  });

  it('lands in draft with the whole record empty', () => {
    const s = planSpec.given([]).when({ type: 'DraftPlan', data: sampleDraft() }, ctxAs('preparer')).thenState();
    expect(s).toMatchObject({ status: 'draft', version: 1, revision: 0, consent: null, approvedRevision: null, claims: [] });
  });

  it.each([
    ['a second draft', [sampleDrafted()], {}, 'plan.already_exists'],
    ['a bad semester', [], { semester: '2025/27-1' }, 'plan.invalid_semester'],
    ['a semester of year 9999', [], { semester: '9999/00-1' }, 'plan.invalid_semester'],
    ['a semester before the programme', [], { semester: '2016/17-1' }, 'plan.invalid_semester'],
    ['grade 13', [], { grade: 13 }, 'plan.grade_out_of_range'],
    ['no risks', [], { risks: [] }, 'plan.risks_required'],
    ['no measures', [], { measures: [] }, 'plan.measures_required'],
    ['itself as previous plan', [], { previousPlanId: 'plan-1' }, 'plan.invalid_previous_plan'],
    ['an unknown partner type', [], { partner: { type: 'ngo', id: 'x' } }, 'plan.invalid_code'],
  ] as const)('refuses %s', (_, given, over, code) => {
    planSpec
      .given([...given])
      .when({ type: 'DraftPlan', data: sampleDraft('municipality', over as never) }, ctxAs('preparer'))
      .thenThrows(code);
  });

  it('refuses a measure tied to no risk or to an unknown risk, naming the field', () => {
    const [m1] = SAMPLE_MEASURES as [Measure];
    const bad = (m: Measure) => sampleDraft('municipality', { measures: [m] });
    planSpec
      .given([])
      .when({ type: 'DraftPlan', data: bad({ ...m1, riskIds: [] }) }, ctxAs('preparer'))
      .thenThrows('plan.measure_without_risk', 'data.measures[0].riskIds');
    planSpec
      .given([])
      .when({ type: 'DraftPlan', data: bad({ ...m1, riskIds: ['r9'] }) }, ctxAs('preparer'))
      .thenThrows('plan.measure_unknown_risk', 'data.measures[0].riskIds');
    planSpec
      .given([])
      .when({ type: 'DraftPlan', data: bad({ ...m1, justification: ' ' }) }, ctxAs('preparer'))
      .thenThrows('plan.justification_required', 'data.measures[0].justification');
  });

  it('refuses non-positive planned minutes or cents, duplicate ids and unknown codes', () => {
    const [m1, m2] = SAMPLE_MEASURES as [Measure, Measure];
    const when = (over: Parameters<typeof sampleDraft>[1]) =>
      planSpec.given([]).when({ type: 'DraftPlan', data: sampleDraft('municipality', over) }, ctxAs('preparer'));
    when({ measures: [{ ...m1, plannedMinutes: 0 } as Measure] }).thenThrows('plan.minutes_not_positive', 'data.measures[0].plannedMinutes');
    when({ measures: [{ ...m2, plannedCents: 10.5 } as Measure] }).thenThrows('plan.amount_not_positive', 'data.measures[0].plannedCents');
    when({ measures: [m1, m1] }).thenThrows('plan.duplicate_measure', 'data.measures[1].measureId');
    when({ risks: [...SAMPLE_RISKS, SAMPLE_RISKS[0]!] }).thenThrows('plan.duplicate_risk', 'data.risks[2].riskId');
    when({ risks: [{ ...SAMPLE_RISKS[0]!, type: 'boredom' as never }] }).thenThrows('plan.invalid_code', 'data.risks[0].type');
    when({ measures: [{ ...m1, providerType: 'coach' } as never] }).thenThrows('plan.invalid_code', 'data.measures[0].providerType');
  });

  it.each(['finance', 'auditor', 'national_coordinator', 'system'] as const)('forbids a %s to draft', (role) => {
    const err = planSpec.given([]).when({ type: 'DraftPlan', data: sampleDraft() }, ctxAs(role)).thenThrows('plan.forbidden_role');
    expect(err.kind).toBe('forbidden');
  });
});

describe('RevisePlan on a draft', () => {
  it('replaces risks and measures without a reason and stays a draft', () => {
    const measures = SAMPLE_MEASURES.slice(0, 1);
    const out = planSpec.given([sampleDrafted()]).when({ type: 'RevisePlan', data: { risks: SAMPLE_RISKS, measures } }, ctxAs('preparer'));
    out.thenEvents([{ type: 'PlanRevised', data: { revision: 1, risks: SAMPLE_RISKS, measures, reason: null } }]);
    expect(out.thenState()).toMatchObject({ status: 'draft', revision: 1, measures });
  });

  it('refuses while consent is awaited', () => {
    planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'RevisePlan', data: { risks: SAMPLE_RISKS, measures: SAMPLE_MEASURES } }, ctxAs('preparer'))
      .thenThrows('plan.wrong_status');
  });
});

describe('consent', () => {
  it('requests consent with reminder at day 7 and expiry at day 14', () => {
    const out = planSpec.given([sampleDrafted()]).when({ type: 'RequestConsent', data: {} }, ctxAs('preparer'));
    out.thenEvents([requested]);
    expect(out.thenState()).toMatchObject({ status: 'awaiting_consent', consentRequest: { reminderSentAt: null } });
  });

  it('uses the configured days', () => {
    const config = { ...DEFAULT_DOMAIN_CONFIG, consentReminderDays: 3, consentExpiryDays: 5 };
    planSpec
      .given([sampleDrafted()])
      .when({ type: 'RequestConsent', data: {} }, ctxAs('preparer', undefined, config))
      .thenEvents([
        { type: 'ConsentRequested', data: { reminderDueAt: '2025-09-18T10:00:00.000Z', expiresAt: '2025-09-20T10:00:00.000Z' } },
      ]);
  });

  it('refuses to request consent twice or once granted', () => {
    planSpec.given([sampleDrafted(), requested]).when({ type: 'RequestConsent', data: {} }, ctxAs('preparer')).thenThrows('plan.wrong_status');
    planSpec.given(consentedHistory()).when({ type: 'RequestConsent', data: {} }, ctxAs('preparer')).thenThrows('plan.consent_already_granted');
  });

  it('records consent by a parent and returns to draft', () => {
    const out = planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '2025-09-14', documentRef: 'app-1', learnerAge: 15 } }, ctxAs('preparer'));
    out.thenEvents([{ type: 'ConsentGranted', data: { givenBy: 'parent', learnerAge: null, signedOn: '2025-09-14', documentRef: 'app-1' } }]);
    expect(out.thenState()).toMatchObject({ status: 'draft', consent: { givenBy: 'parent', grantedAt: '2025-09-15T10:00:00.000Z' } });
  });

  it('refuses a grant once the request has lapsed, even before the expiry timer ran', () => {
    planSpec
      .given([sampleDrafted(), requested])
      .when(
        { type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '2025-09-28', documentRef: 'a' } },
        ctxAs('preparer', '2025-09-29T10:00:00.000Z'),
      )
      .thenThrows('plan.consent_request_lapsed');
  });

  it('accepts a signed application handed in before any request', () => {
    const out = planSpec
      .given([sampleDrafted()])
      .when({ type: 'GrantConsent', data: { givenBy: 'legal_representative', signedOn: '2025-09-15', documentRef: 'a' } }, ctxAs('preparer'));
    out.thenEvents([{ type: 'ConsentGranted', data: { givenBy: 'legal_representative', learnerAge: null, signedOn: '2025-09-15', documentRef: 'a' } }]);
    expect(out.thenState()).toMatchObject({ status: 'draft', consent: { givenBy: 'legal_representative', signedOn: '2025-09-15', documentRef: 'a' } });
  });

  it('lets a learner of 18 consent for themselves, recording the age', () => {
    planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'GrantConsent', data: { givenBy: 'learner', learnerAge: 18, signedOn: '2025-09-14', documentRef: 'a' } }, ctxAs('preparer'))
      .thenEvents([{ type: 'ConsentGranted', data: { givenBy: 'learner', learnerAge: 18, signedOn: '2025-09-14', documentRef: 'a' } }]);
  });

  it('refuses a learner under 18 (or of unknown age) consenting for themselves', () => {
    for (const learnerAge of [17, undefined]) {
      planSpec
        .given([sampleDrafted(), requested])
        .when({ type: 'GrantConsent', data: { givenBy: 'learner', learnerAge, signedOn: '2025-09-14', documentRef: 'a' } as never }, ctxAs('preparer'))
        .thenThrows('plan.learner_under_18', 'data.learnerAge');
    }
  });

  it('refuses a consent signed in the future, long before the programme, without document, or given twice', () => {
    const given = [sampleDrafted(), requested];
    planSpec
      .given(given)
      .when({ type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '1900-01-01', documentRef: 'a' } }, ctxAs('preparer'))
      .thenThrows('plan.invalid_date', 'data.signedOn');
    planSpec
      .given(given)
      .when({ type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '2025-09-16', documentRef: 'a' } }, ctxAs('preparer'))
      .thenThrows('plan.date_in_future', 'data.signedOn');
    planSpec
      .given(given)
      .when({ type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '2025-09-15', documentRef: '' } }, ctxAs('preparer'))
      .thenThrows('plan.documents_required', 'data.documentRef');
    planSpec
      .given(consentedHistory())
      .when({ type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '2025-09-15', documentRef: 'b' } }, ctxAs('preparer'))
      .thenThrows('plan.consent_already_granted');
  });

  it('closes the plan on refusal', () => {
    const out = planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'RefuseConsent', data: { refusedBy: 'parent', reason: 'no need' } }, ctxAs('preparer'));
    out.thenEvents([{ type: 'ConsentRefused', data: { refusedBy: 'parent', reason: 'no need' } }]);
    expect(out.thenState().status).toBe('consent_refused');
  });

  it('refuses a refusal by a minor learner or after consent was given', () => {
    planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'RefuseConsent', data: { refusedBy: 'learner', learnerAge: 16 } }, ctxAs('preparer'))
      .thenThrows('plan.learner_under_18');
    planSpec
      .given(consentedHistory())
      .when({ type: 'RefuseConsent', data: { refusedBy: 'parent' } }, ctxAs('preparer'))
      .thenThrows('plan.consent_already_granted');
  });

  it('sends the reminder once, from day 7, as the system', () => {
    const given = [sampleDrafted(), { event: requested, occurredAt: '2025-09-15T10:00:00.000Z' }];
    const out = planSpec.given(given).when({ type: 'SendConsentReminder', data: {} }, ctxAs('system', '2025-09-22T10:00:00.000Z'));
    out.thenEvents([{ type: 'ConsentReminderSent', data: {} }]);
    expect(out.thenState()).toMatchObject({ consentRequest: { reminderSentAt: '2025-09-22T10:00:00.000Z' } });
    planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'SendConsentReminder', data: {} }, ctxAs('system', '2025-09-22T09:59:59.000Z'))
      .thenThrows('plan.timer_not_due');
    planSpec
      .given([sampleDrafted(), requested, { type: 'ConsentReminderSent', data: {} }])
      .when({ type: 'SendConsentReminder', data: {} }, ctxAs('system', '2025-09-23T10:00:00.000Z'))
      .thenThrows('plan.reminder_already_sent');
    planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'SendConsentReminder', data: {} }, ctxAs('preparer', '2025-09-23T10:00:00.000Z'))
      .thenThrows('plan.forbidden_role');
  });

  it('expires unanswered consent at day 14, not before, and not once granted', () => {
    const out = planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'ExpireConsent', data: {} }, ctxAs('system', '2025-09-29T10:00:00.000Z'));
    out.thenEvents([{ type: 'ConsentExpired', data: {} }]);
    expect(out.thenState().status).toBe('consent_expired');
    planSpec
      .given([sampleDrafted(), requested])
      .when({ type: 'ExpireConsent', data: {} }, ctxAs('system', '2025-09-28T10:00:00.000Z'))
      .thenThrows('plan.timer_not_due');
    planSpec.given(consentedHistory()).when({ type: 'ExpireConsent', data: {} }, ctxAs('system', '2025-10-30T10:00:00.000Z')).thenThrows('plan.wrong_status');
  });

  it('ends a refused or expired plan for good', () => {
    const refused = [sampleDrafted(), requested, { type: 'ConsentRefused', data: { refusedBy: 'parent', reason: null } } as PlanEvent];
    planSpec.given(refused).when({ type: 'RequestConsent', data: {} }, ctxAs('preparer')).thenThrows('plan.wrong_status');
    planSpec.given(refused).when({ type: 'SubmitForApproval', data: {} }, ctxAs('preparer')).thenThrows('plan.wrong_status');
  });
});
