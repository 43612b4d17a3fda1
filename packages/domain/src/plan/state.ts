// A plan's state, folded from its events: a union on `status`. Every status but 'none' carries the whole
// plan record (what was planned, approved, delivered and paid), because support already given stands
// through revisions, suspensions and deletion.

import type { Instant, LocalDate } from '../dates.js';
import type { Cents } from '../money.js';
import type { Semester } from '../semester.js';
import type { PlanId } from '../ids.js';
import type { ConsentGrantedData, DeletableStatus, PlanDraftedData, SuspendableStatus } from './events.js';
import type {
  ApprovalLevel,
  ClaimId,
  CompensationType,
  ConsentGiver,
  ConsultationDetails,
  ConsultationId,
  Evaluation,
  Measure,
  MeasureId,
} from './model.js';

/**
 * Plan statuses (snake_case: they are also a Temporal search attribute).
 * - draft: being prepared; consent may already be granted (`consent` is then set).
 * - awaiting_consent: the consent application is out; reminder at day 7, expiry at day 14.
 * - consent_refused, consent_expired: closed before any support (terminal).
 * - in_approval: waiting for the level in `approval.pendingLevel`.
 * - returned: a level sent it back with a comment; the preparer edits and resubmits.
 * - approved: every level signed; nothing delivered yet.
 * - in_implementation: support is being delivered.
 * - in_revision: an approved plan is being changed, or a suspended one resumed; goes back to approval.
 * - suspended: paused with a reason; resumes (via in_revision) within the same semester only.
 * - deleted: made inactive while no money was used; the record stays (terminal).
 * - awaiting_evaluation: the semester ended; the preparer owes the evaluation (overdue after 14 days).
 * - evaluated: evaluation recorded; may be carried over, then closed.
 * - closed: done (terminal, but may still be carried over and still records claim outcomes).
 */
export const PLAN_STATUSES = [
  'draft',
  'awaiting_consent',
  'consent_refused',
  'consent_expired',
  'in_approval',
  'returned',
  'approved',
  'in_implementation',
  'in_revision',
  'suspended',
  'deleted',
  'awaiting_evaluation',
  'evaluated',
  'closed',
] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export interface ConsultationRecord extends ConsultationDetails {
  readonly consultationId: ConsultationId;
  readonly loggedAt: Instant;
  readonly confirmBy: Instant;
  readonly confirmedAt: Instant | null;
  /** Minutes the learner confirmed; a correction may not raise a confirmed consultation above them. */
  readonly confirmedMinutes: number | null;
  readonly corrections: number;
}

export type ClaimStatus = 'submitted' | 'approved' | 'rejected' | 'paid';

export interface ClaimRecord {
  readonly claimId: ClaimId;
  readonly measureId: MeasureId;
  readonly compensationType: CompensationType;
  readonly periodFrom: LocalDate;
  readonly periodTo: LocalDate;
  readonly amountCents: Cents;
  readonly documentRefs: readonly string[];
  readonly status: ClaimStatus;
  readonly approvedCents: Cents | null;
  readonly paidCents: Cents | null;
  readonly paidOn: LocalDate | null;
  readonly paymentRef: string | null;
  readonly rejectionReason: string | null;
}

export interface PreparationPayment {
  readonly hours: number;
  readonly paidCents: Cents;
  readonly paidOn: LocalDate;
  readonly paymentRef: string;
}

export interface ConsentRecord extends ConsentGrantedData {
  readonly grantedAt: Instant;
}

export interface ApprovalRecord {
  readonly level: ApprovalLevel;
  readonly by: string;
  readonly at: Instant;
  readonly revision: number;
  readonly comment: string | null;
}

/** Everything a plan knows, whatever its status. */
export interface PlanRecord extends PlanDraftedData {
  readonly version: number;
  readonly draftedAt: Instant;
  /** 0 as drafted, +1 per PlanRevised. */
  readonly revision: number;
  readonly consent: ConsentRecord | null;
  /** Signatures of every approval round, oldest first. */
  readonly approvals: readonly ApprovalRecord[];
  /** The revision in force: the last one every level approved (null until the first approval). */
  readonly approvedRevision: number | null;
  /** The measures in force; deliveries may only be logged and claimed against these. */
  readonly approvedMeasures: readonly Measure[];
  /** Measures a revision took out after something was delivered on them: their figures still count. */
  readonly retiredMeasures: readonly Measure[];
  readonly implementationStartedAt: Instant | null;
  readonly consultations: readonly ConsultationRecord[];
  readonly claims: readonly ClaimRecord[];
  readonly preparationPayments: readonly PreparationPayment[];
  readonly semesterEndedAt: Instant | null;
  readonly evaluationDueAt: Instant | null;
  readonly evaluationOverdue: boolean;
  readonly evaluation: (Evaluation & { readonly by: string; readonly at: Instant }) | null;
  readonly carriedOverTo: { readonly nextPlanId: PlanId; readonly nextSemester: Semester } | null;
}

export interface ConsentRequest {
  readonly requestedAt: Instant;
  readonly reminderDueAt: Instant;
  readonly expiresAt: Instant;
  readonly reminderSentAt: Instant | null;
}

export interface ApprovalRound {
  readonly revision: number;
  readonly levels: readonly ApprovalLevel[];
  readonly approvedLevels: readonly ApprovalLevel[];
  readonly pendingLevel: ApprovalLevel;
  readonly submittedAt: Instant;
}

export type NoPlan = { readonly status: 'none'; readonly version: 0 };
export type DraftState = PlanRecord & { readonly status: 'draft' };
export type AwaitingConsentState = PlanRecord & {
  readonly status: 'awaiting_consent';
  readonly consentRequest: ConsentRequest;
};
export type ConsentRefusedState = PlanRecord & {
  readonly status: 'consent_refused';
  readonly refusal: { readonly refusedBy: ConsentGiver; readonly reason: string | null; readonly at: Instant };
};
export type ConsentExpiredState = PlanRecord & { readonly status: 'consent_expired' };
export type InApprovalState = PlanRecord & { readonly status: 'in_approval'; readonly approval: ApprovalRound };
export type ReturnedState = PlanRecord & {
  readonly status: 'returned';
  readonly returnedBy: { readonly level: ApprovalLevel; readonly by: string; readonly comment: string; readonly at: Instant };
};
export type ApprovedState = PlanRecord & { readonly status: 'approved' };
export type InImplementationState = PlanRecord & { readonly status: 'in_implementation' };
export type InRevisionState = PlanRecord & { readonly status: 'in_revision' };
export type SuspendedState = PlanRecord & {
  readonly status: 'suspended';
  readonly suspension: { readonly reason: string; readonly from: SuspendableStatus; readonly at: Instant };
};
export type DeletedState = PlanRecord & {
  readonly status: 'deleted';
  readonly deletion: { readonly reason: string; readonly from: DeletableStatus; readonly at: Instant };
};
export type AwaitingEvaluationState = PlanRecord & { readonly status: 'awaiting_evaluation' };
export type EvaluatedState = PlanRecord & { readonly status: 'evaluated' };
export type ClosedState = PlanRecord & { readonly status: 'closed' };

export type PlanState =
  | NoPlan
  | DraftState
  | AwaitingConsentState
  | ConsentRefusedState
  | ConsentExpiredState
  | InApprovalState
  | ReturnedState
  | ApprovedState
  | InImplementationState
  | InRevisionState
  | SuspendedState
  | DeletedState
  | AwaitingEvaluationState
  | EvaluatedState
  | ClosedState;

/** A plan that exists: every status but 'none'. */
export type ExistingPlan = Exclude<PlanState, NoPlan>;

export const initialState = (): PlanState => ({ status: 'none', version: 0 });

/** The plan record without the fields only one status has, for moving a plan into another status. */
export function recordOf(s: ExistingPlan): PlanRecord {
  return {
    version: s.version,
    planId: s.planId,
    learnerRef: s.learnerRef,
    schoolId: s.schoolId,
    municipalityId: s.municipalityId,
    partner: s.partner,
    semester: s.semester,
    grade: s.grade,
    risks: s.risks,
    measures: s.measures,
    previousPlanId: s.previousPlanId,
    preparedBy: s.preparedBy,
    draftedAt: s.draftedAt,
    revision: s.revision,
    consent: s.consent,
    approvals: s.approvals,
    approvedRevision: s.approvedRevision,
    approvedMeasures: s.approvedMeasures,
    retiredMeasures: s.retiredMeasures,
    implementationStartedAt: s.implementationStartedAt,
    consultations: s.consultations,
    claims: s.claims,
    preparationPayments: s.preparationPayments,
    semesterEndedAt: s.semesterEndedAt,
    evaluationDueAt: s.evaluationDueAt,
    evaluationOverdue: s.evaluationOverdue,
    evaluation: s.evaluation,
    carriedOverTo: s.carriedOverTo,
  };
}

/** True once money reached the plan: a paid claim or paid preparation hours. */
export const moneyUsed = (s: PlanRecord): boolean =>
  s.claims.some((c) => c.status === 'paid') || s.preparationPayments.length > 0;

/** True when a consultation or claim was recorded against the measure. */
export const hasDeliveries = (s: PlanRecord, measureId: string): boolean =>
  s.consultations.some((c) => c.measureId === measureId) || s.claims.some((c) => c.measureId === measureId);
