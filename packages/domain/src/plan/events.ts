// Events of a plan's stream: past tense, versioned. Bump a schema version when an event's data changes
// shape, and keep `upcastPlanEvent` able to read every older version (the event log is never rewritten).

import type { Instant, LocalDate } from '../dates.js';
import type { LearnerRef, MunicipalityId, Partner, PlanId, SchoolId } from '../ids.js';
import type { Cents } from '../money.js';
import type { Semester } from '../semester.js';
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
  Risk,
} from './model.js';

export interface PlanDraftedData {
  readonly planId: PlanId;
  readonly learnerRef: LearnerRef;
  readonly schoolId: SchoolId;
  readonly municipalityId: MunicipalityId;
  readonly partner: Partner;
  readonly semester: Semester;
  readonly grade: number;
  readonly risks: readonly Risk[];
  readonly measures: readonly Measure[];
  /** The learner's plan of an earlier semester this one continues, when there is one. */
  readonly previousPlanId: PlanId | null;
  /** Actor id of the preparer who drafted it. */
  readonly preparedBy: string;
}

export interface PlanRevisedData {
  /** 1 for the first revision; the drafted plan is revision 0. */
  readonly revision: number;
  readonly risks: readonly Risk[];
  readonly measures: readonly Measure[];
  readonly reason: string | null;
}

export interface ConsentRequestedData {
  /** When the workflow sends the reminder and when the request lapses: fixed now, so replays agree. */
  readonly reminderDueAt: Instant;
  readonly expiresAt: Instant;
}

export interface ConsentGrantedData {
  readonly givenBy: ConsentGiver;
  /** The learner's age on the signing day; present when the learner signed for themselves. */
  readonly learnerAge: number | null;
  readonly signedOn: LocalDate;
  /** Reference of the signed application in the school's records. */
  readonly documentRef: string;
}

export interface ConsentRefusedData {
  readonly refusedBy: ConsentGiver;
  readonly reason: string | null;
}

export interface PlanSubmittedForApprovalData {
  readonly revision: number;
  /** The levels that must sign, in order: state vocational schools skip the municipality. */
  readonly levels: readonly ApprovalLevel[];
}

export interface ApprovalGrantedData {
  readonly level: ApprovalLevel;
  readonly by: string;
  readonly comment: string | null;
}

export interface PlanReturnedForRevisionData {
  readonly level: ApprovalLevel;
  readonly by: string;
  readonly comment: string;
}

export interface ConsultationLoggedData extends ConsultationDetails {
  readonly consultationId: ConsultationId;
  /** Last instant the learner's confirmation counts. */
  readonly confirmBy: Instant;
}

export interface ConsultationCorrectedData extends ConsultationDetails {
  readonly consultationId: ConsultationId;
  readonly reason: string;
}

export interface CompensationClaimedData {
  readonly claimId: ClaimId;
  readonly measureId: MeasureId;
  readonly compensationType: CompensationType;
  readonly periodFrom: LocalDate;
  readonly periodTo: LocalDate;
  readonly amountCents: Cents;
  readonly documentRefs: readonly string[];
}

export interface PaymentData {
  readonly paidOn: LocalDate;
  readonly paymentRef: string;
}

/** Statuses a plan can be suspended from. */
export type SuspendableStatus = 'in_approval' | 'approved' | 'in_implementation';
/** Statuses a plan can be deleted from: every live one before the semester ends. */
export type DeletableStatus =
  | 'draft'
  | 'awaiting_consent'
  | 'in_approval'
  | 'returned'
  | 'approved'
  | 'in_implementation'
  | 'in_revision'
  | 'suspended';

export type PlanEvent =
  | { readonly type: 'PlanDrafted'; readonly data: PlanDraftedData }
  | { readonly type: 'PlanRevised'; readonly data: PlanRevisedData }
  | { readonly type: 'ConsentRequested'; readonly data: ConsentRequestedData }
  | { readonly type: 'ConsentReminderSent'; readonly data: Record<string, never> }
  | { readonly type: 'ConsentExpired'; readonly data: Record<string, never> }
  | { readonly type: 'ConsentGranted'; readonly data: ConsentGrantedData }
  | { readonly type: 'ConsentRefused'; readonly data: ConsentRefusedData }
  | { readonly type: 'PlanSubmittedForApproval'; readonly data: PlanSubmittedForApprovalData }
  | { readonly type: 'ApprovalGranted'; readonly data: ApprovalGrantedData }
  | { readonly type: 'PlanApproved'; readonly data: { readonly revision: number } }
  | { readonly type: 'PlanReturnedForRevision'; readonly data: PlanReturnedForRevisionData }
  | { readonly type: 'ImplementationStarted'; readonly data: { readonly trigger: 'explicit' | 'first_delivery' } }
  | { readonly type: 'ConsultationLogged'; readonly data: ConsultationLoggedData }
  | {
      readonly type: 'ConsultationConfirmed';
      readonly data: { readonly consultationId: ConsultationId; readonly confirmedAt: Instant };
    }
  | { readonly type: 'ConsultationCorrected'; readonly data: ConsultationCorrectedData }
  | { readonly type: 'CompensationClaimed'; readonly data: CompensationClaimedData }
  | {
      readonly type: 'CompensationClaimApproved';
      readonly data: { readonly claimId: ClaimId; readonly approvedCents: Cents };
    }
  | { readonly type: 'CompensationClaimRejected'; readonly data: { readonly claimId: ClaimId; readonly reason: string } }
  | {
      readonly type: 'CompensationClaimPaid';
      readonly data: { readonly claimId: ClaimId; readonly paidCents: Cents } & PaymentData;
    }
  | {
      readonly type: 'PreparationHoursPaid';
      readonly data: { readonly hours: number; readonly paidCents: Cents } & PaymentData;
    }
  | {
      readonly type: 'PlanSuspended';
      readonly data: { readonly reason: string; readonly suspendedFrom: SuspendableStatus; readonly by: string };
    }
  | { readonly type: 'PlanResumed'; readonly data: { readonly reason: string | null; readonly by: string } }
  | {
      readonly type: 'PlanDeleted';
      readonly data: { readonly reason: string; readonly deletedFrom: DeletableStatus; readonly by: string };
    }
  | {
      readonly type: 'SemesterEnded';
      /** evaluationDueAt is null when the plan was never approved: it closes without an evaluation. */
      readonly data: { readonly evaluationDueAt: Instant | null };
    }
  | { readonly type: 'EvaluationOverdue'; readonly data: Record<string, never> }
  | { readonly type: 'PlanEvaluated'; readonly data: Evaluation & { readonly by: string } }
  | {
      readonly type: 'PlanClosed';
      /** 'never_approved': the semester ended before the plan took effect, so there is nothing to evaluate. */
      readonly data: { readonly reason: 'evaluated' | 'never_approved' };
    }
  | { readonly type: 'PlanCarriedOver'; readonly data: { readonly nextPlanId: PlanId; readonly nextSemester: Semester } };

export type PlanEventType = PlanEvent['type'];
export type PlanEventOf<T extends PlanEventType> = Extract<PlanEvent, { type: T }>;

/** Current schema version of each event type. */
export const EVENT_SCHEMA_VERSIONS: { readonly [T in PlanEventType]: number } = {
  PlanDrafted: 1,
  PlanRevised: 1,
  ConsentRequested: 1,
  ConsentReminderSent: 1,
  ConsentExpired: 1,
  ConsentGranted: 1,
  ConsentRefused: 1,
  PlanSubmittedForApproval: 1,
  ApprovalGranted: 1,
  PlanApproved: 1,
  PlanReturnedForRevision: 1,
  ImplementationStarted: 1,
  ConsultationLogged: 1,
  ConsultationConfirmed: 1,
  ConsultationCorrected: 1,
  CompensationClaimed: 1,
  CompensationClaimApproved: 1,
  CompensationClaimRejected: 1,
  CompensationClaimPaid: 1,
  PreparationHoursPaid: 1,
  PlanSuspended: 1,
  PlanResumed: 1,
  PlanDeleted: 1,
  SemesterEnded: 1,
  EvaluationOverdue: 1,
  PlanEvaluated: 1,
  PlanClosed: 1,
  PlanCarriedOver: 1,
};

export const PLAN_EVENT_TYPES: readonly PlanEventType[] = Object.keys(EVENT_SCHEMA_VERSIONS) as PlanEventType[];

export const isPlanEventType = (s: string): s is PlanEventType => Object.hasOwn(EVENT_SCHEMA_VERSIONS, s);

/**
 * Reads an event as stored (type, schema version, data) into the current shape. Every type is at version 1,
 * so today this only refuses what it does not know; older versions get a case here when a shape changes.
 */
export function upcastPlanEvent(stored: { type: string; schemaVersion: number; data: unknown }): PlanEvent {
  if (!isPlanEventType(stored.type)) throw new Error(`unknown plan event type: ${stored.type}`);
  const current = EVENT_SCHEMA_VERSIONS[stored.type];
  if (stored.schemaVersion !== current) {
    throw new Error(`no upcaster for ${stored.type} v${stored.schemaVersion} (current v${current})`);
  }
  return { type: stored.type, data: stored.data } as PlanEvent;
}
