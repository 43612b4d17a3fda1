// Synthetic plan histories for projector tests and the report benchmark: whole event streams (a plan's and
// its claims'), written straight to the log, far faster than driving workflows. Seeded, so a run repeats.
// The events have the shapes the deciders emit; they are not decided, so use the API for behaviour tests.

import { randomUUID } from 'node:crypto';
import { appendToStream, type Database, type EventMetadata, type NewEvent } from '@iap/db';
import type { Kysely, Transaction } from 'kysely';

/** Mulberry32: small, fast, good enough for picking shares. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticStream {
  readonly streamId: string;
  readonly events: NewEvent[];
}

/** How far a synthetic plan gets. */
export type SyntheticStage = 'draft' | 'refused' | 'in_approval' | 'implementation' | 'overdue' | 'closed' | 'deleted';

export interface SyntheticPlanSpec {
  readonly planId?: string;
  readonly learnerRef: string;
  readonly schoolId: string;
  readonly municipalityId: string;
  readonly partner: { readonly type: 'municipality' | 'state_vocational'; readonly id: string };
  readonly semester: string;
  readonly riskTypes: readonly ('learning' | 'economic' | 'family' | 'social_health')[];
  readonly stage: SyntheticStage;
  /** Consultations logged (and confirmed, except every third) once in implementation. */
  readonly consultations?: number;
  /** Claimed cents on a public-transport compensation; paid in full. */
  readonly paidClaimCents?: number;
}

const meta = (role: string): EventMetadata => ({
  actorId: `${role}-synthetic`,
  actorRole: role,
  schoolId: null,
  requestId: null,
  correlationId: null,
  causationId: null,
  workflowId: null,
  runId: null,
});

/** A plan's stream and its claim's stream, events one minute apart from `start`. */
export function syntheticPlan(spec: SyntheticPlanSpec, start = Date.parse('2025-09-01T08:00:00Z')): SyntheticStream[] {
  const planId = spec.planId ?? randomUUID();
  let t = start;
  const plan: NewEvent[] = [];
  const claim: NewEvent[] = [];
  const push = (list: NewEvent[], streamId: string, type: string, data: unknown, role = 'preparer') => {
    t += 60_000;
    list.push({ eventId: `${streamId}/${list.length + 1}`, type, schemaVersion: 1, data, metadata: meta(role), occurredAt: new Date(t).toISOString() });
  };
  const p = (type: string, data: unknown, role?: string) => push(plan, planId, type, data, role);
  const risks = spec.riskTypes.map((type, i) => ({ riskId: `r${i + 1}`, type, factor: `${type} factor`, note: '' }));
  const learning = risks.find((r) => r.type === 'learning') ?? risks[0]!;
  const measures: unknown[] = [
    { measureId: 'm1', kind: 'consultation', riskIds: [learning.riskId], justification: 'lessons', providerType: 'teacher', subject: 'mathematics', plannedMinutes: 240 },
  ];
  const economic = risks.find((r) => r.type === 'economic');
  if (economic) measures.push({ measureId: 'm2', kind: 'compensation', riskIds: [economic.riskId], justification: 'bus', compensationType: 'public_transport', plannedCents: 10_000 });
  const levels = spec.partner.type === 'municipality' ? ['school', 'municipality', 'national'] : ['school', 'national'];

  p('PlanDrafted', {
    planId, learnerRef: spec.learnerRef, schoolId: spec.schoolId, municipalityId: spec.municipalityId, partner: spec.partner,
    semester: spec.semester, grade: 8, risks, measures, previousPlanId: null, preparedBy: 'preparer-synthetic',
  });
  if (spec.stage === 'draft') return [{ streamId: planId, events: plan }];
  if (spec.stage === 'deleted') {
    p('PlanDeleted', { reason: 'learner moved', deletedFrom: 'draft', by: 'director-synthetic' }, 'school_director');
    return [{ streamId: planId, events: plan }];
  }
  p('ConsentRequested', { reminderDueAt: new Date(t + 7 * 86_400_000).toISOString(), expiresAt: new Date(t + 14 * 86_400_000).toISOString() });
  if (spec.stage === 'refused') {
    p('ConsentRefused', { refusedBy: 'parent', reason: null });
    return [{ streamId: planId, events: plan }];
  }
  p('ConsentGranted', { givenBy: 'parent', learnerAge: null, signedOn: new Date(t).toISOString().slice(0, 10), documentRef: 'consent-1' });
  p('PlanSubmittedForApproval', { revision: 0, levels });
  if (spec.stage === 'in_approval') return [{ streamId: planId, events: plan }];
  t += 2 * 86_400_000; // approval takes days
  for (const level of levels) p('ApprovalGranted', { level, by: `${level}-approver`, comment: null }, level === 'school' ? 'school_director' : level === 'municipality' ? 'municipality_coordinator' : 'national_coordinator');
  p('PlanApproved', { revision: 0 }, 'national_coordinator');
  p('ImplementationStarted', { trigger: 'explicit' });
  for (let i = 1; i <= (spec.consultations ?? 0); i++) {
    const date = new Date(t).toISOString().slice(0, 10);
    p('ConsultationLogged', { consultationId: `c${i}`, measureId: 'm1', date, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person', confirmBy: new Date(t + 86_400_000).toISOString() });
    if (i % 3 !== 0) p('ConsultationConfirmed', { consultationId: `c${i}`, confirmedAt: new Date(t).toISOString() });
  }
  const cents = spec.paidClaimCents;
  if (economic && cents) {
    const claimStream = `claim-${planId}-k1`;
    const day = new Date(t).toISOString().slice(0, 10);
    const claimData = { claimId: 'k1', measureId: 'm2', compensationType: 'public_transport', periodFrom: day, periodTo: day, amountCents: cents, documentRefs: ['ticket'] };
    p('CompensationClaimed', claimData);
    push(claim, claimStream, 'ClaimSubmitted', { ...claimData, planId, partnerId: spec.partner.id, submittedBy: 'preparer-synthetic' });
    push(claim, claimStream, 'DocumentsVerified', { by: 'finance-synthetic', note: null }, 'finance');
    push(claim, claimStream, 'ClaimApproved', { approvedCents: cents, partial: false, reason: null, by: 'finance-synthetic' }, 'finance');
    p('CompensationClaimApproved', { claimId: 'k1', approvedCents: cents }, 'finance');
    push(claim, claimStream, 'ClaimPaid', { paidCents: cents, paidOn: day, paymentRef: 'PAY-1', by: 'finance-synthetic' }, 'finance');
    p('CompensationClaimPaid', { claimId: 'k1', paidCents: cents, paidOn: day, paymentRef: 'PAY-1' }, 'finance');
  }
  if (spec.stage === 'implementation') return streams(planId, plan, claim);
  p('SemesterEnded', { evaluationDueAt: new Date(t + 14 * 86_400_000).toISOString() }, 'system');
  if (spec.stage === 'overdue') {
    p('EvaluationOverdue', {}, 'system');
    return streams(planId, plan, claim);
  }
  p('PlanEvaluated', { riskOutcomes: risks.map((r, i) => ({ riskId: r.riskId, change: i === 0 ? 'reduced' : 'unchanged' })), outcome: 'continues', narrative: 'better', by: 'preparer-synthetic' });
  p('PlanClosed', { reason: 'evaluated' });
  return streams(planId, plan, claim);
}

function streams(planId: string, plan: NewEvent[], claim: NewEvent[]): SyntheticStream[] {
  // The claim stream is written after the plan's CompensationClaimed, as the workflows do; here, after the plan.
  return claim.length > 0 ? [{ streamId: planId, events: plan }, { streamId: claim[0]!.eventId.split('/')[0]!, events: claim }] : [{ streamId: planId, events: plan }];
}

/** Appends whole streams, each in its own transaction (without the inline projections). */
export async function appendStreams(db: Kysely<Database> | Transaction<Database>, list: readonly SyntheticStream[]): Promise<void> {
  for (const s of list) await appendToStream(db, s.streamId, 0, s.events);
}
