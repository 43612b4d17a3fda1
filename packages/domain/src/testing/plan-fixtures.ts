// Sample plans for tests across the workspace: one learner, one semester, a consultation, a compensation and
// a youth initiative, and histories that bring a plan to each stage. Pure data, no test framework.

import type { Role } from '../actor.js';
import { DEFAULT_DOMAIN_CONFIG, type DomainConfig } from '../config.js';
import type { PartnerType } from '../ids.js';
import type { DraftPlanData } from '../plan/commands.js';
import { type DecideContext, planDecider } from '../plan/decider.js';
import type { PlanDraftedData, PlanEvent } from '../plan/events.js';
import type { Measure, Risk } from '../plan/model.js';
import { approvalLevelsFor } from '../plan/rules.js';
import { spec } from './spec.js';

/** A moment inside semester 2025/26-1 (1 Sep – 31 Dec 2025). */
export const SAMPLE_NOW = '2025-09-15T10:00:00.000Z';

export const ctxAs = (role: Role, now: string = SAMPLE_NOW, config: DomainConfig = DEFAULT_DOMAIN_CONFIG): DecideContext => ({
  now,
  actor: { id: `${role}-1`, role },
  config,
});

export const SAMPLE_RISKS: readonly Risk[] = [
  { riskId: 'r1', type: 'learning', factor: 'insufficient grades in mathematics', note: 'term grade 3' },
  { riskId: 'r2', type: 'economic', factor: 'low-income family', note: 'status documented' },
];

export const SAMPLE_MEASURES: readonly Measure[] = [
  {
    measureId: 'm1',
    kind: 'consultation',
    riskIds: ['r1'],
    justification: 'catch up on missed material',
    providerType: 'teacher',
    subject: 'mathematics',
    plannedMinutes: 300,
  },
  {
    measureId: 'm2',
    kind: 'compensation',
    riskIds: ['r2'],
    justification: 'bus tickets to school',
    compensationType: 'public_transport',
    plannedCents: 5000,
  },
  { measureId: 'm3', kind: 'youth_initiative', riskIds: ['r1', 'r2'], justification: 'belonging', project: 'robotics club' },
];

export function sampleDraft(partnerType: PartnerType = 'municipality', over: Partial<DraftPlanData> = {}): DraftPlanData {
  return {
    planId: 'plan-1',
    learnerRef: 'lr-7f3a',
    schoolId: 'school-1',
    municipalityId: 'muni-1',
    partner: { type: partnerType, id: partnerType === 'municipality' ? 'muni-1' : 'school-1' },
    semester: '2025/26-1',
    grade: 8,
    risks: SAMPLE_RISKS,
    measures: SAMPLE_MEASURES,
    ...over,
  };
}

export function sampleDrafted(partnerType: PartnerType = 'municipality', over: Partial<PlanDraftedData> = {}): PlanEvent {
  return {
    type: 'PlanDrafted',
    data: { ...sampleDraft(partnerType), previousPlanId: null, preparedBy: 'preparer-1', ...over },
  };
}

/** Drafted, consent requested and granted by a parent. */
export function consentedHistory(partnerType: PartnerType = 'municipality'): PlanEvent[] {
  return [
    sampleDrafted(partnerType),
    {
      type: 'ConsentRequested',
      data: { reminderDueAt: '2025-09-08T08:00:00.000Z', expiresAt: '2025-09-15T08:00:00.000Z' },
    },
    {
      type: 'ConsentGranted',
      data: { givenBy: 'parent', learnerAge: null, signedOn: '2025-09-03', documentRef: 'app-17' },
    },
  ];
}

export function submittedHistory(partnerType: PartnerType = 'municipality', revision = 0): PlanEvent[] {
  return [
    ...consentedHistory(partnerType),
    { type: 'PlanSubmittedForApproval', data: { revision, levels: approvalLevelsFor(partnerType) } },
  ];
}

/** The signatures of every level, ending in PlanApproved. */
export function approvalEvents(partnerType: PartnerType = 'municipality', revision = 0): PlanEvent[] {
  const by = { school: 'school_director-1', municipality: 'municipality_coordinator-1', national: 'national_coordinator-1' };
  return [
    ...approvalLevelsFor(partnerType).map(
      (level): PlanEvent => ({ type: 'ApprovalGranted', data: { level, by: by[level], comment: null } }),
    ),
    { type: 'PlanApproved', data: { revision } },
  ];
}

export function approvedHistory(partnerType: PartnerType = 'municipality'): PlanEvent[] {
  return [...submittedHistory(partnerType), ...approvalEvents(partnerType)];
}

export function implementingHistory(partnerType: PartnerType = 'municipality'): PlanEvent[] {
  return [...approvedHistory(partnerType), { type: 'ImplementationStarted', data: { trigger: 'explicit' } }];
}

/** A consultation of 45 minutes on 2025-09-10 under m1, in person. */
export function consultationLogged(id = 'c1', over: Partial<Extract<PlanEvent, { type: 'ConsultationLogged' }>['data']> = {}): PlanEvent {
  return {
    type: 'ConsultationLogged',
    data: {
      consultationId: id,
      measureId: 'm1',
      date: '2025-09-10',
      providerType: 'teacher',
      subject: 'mathematics',
      minutes: 45,
      mode: 'in_person',
      confirmBy: '2025-09-11T23:59:59.999Z',
      ...over,
    },
  };
}

/** A claim of 1200 cents under m2 for September. */
export function compensationClaimed(id = 'k1', amountCents = 1200): PlanEvent {
  return {
    type: 'CompensationClaimed',
    data: {
      claimId: id,
      measureId: 'm2',
      compensationType: 'public_transport',
      periodFrom: '2025-09-01',
      periodTo: '2025-09-30',
      amountCents,
      documentRefs: ['receipt-1'],
    },
  };
}

export const planSpec = spec(planDecider);
