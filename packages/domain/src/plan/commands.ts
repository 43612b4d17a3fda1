// Commands a plan accepts: imperative, one per user intention. Who may send each is in rules.ts
// (PLAN_COMMAND_ROLES), so the API can document it from the same table the decider enforces.

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

export interface DraftPlanData {
  readonly planId: PlanId;
  readonly learnerRef: LearnerRef;
  readonly schoolId: SchoolId;
  readonly municipalityId: MunicipalityId;
  readonly partner: Partner;
  readonly semester: Semester;
  readonly grade: number;
  readonly risks: readonly Risk[];
  readonly measures: readonly Measure[];
  /** The learner's plan of the previous semester, when this one carries it over. */
  readonly previousPlanId?: PlanId | null;
}

export type DraftPlan = { readonly type: 'DraftPlan'; readonly data: DraftPlanData };
/** Replaces risks and measures: edits a draft or returned plan; revises an approved one (back to approval). */
export type RevisePlan = {
  readonly type: 'RevisePlan';
  readonly data: { readonly risks: readonly Risk[]; readonly measures: readonly Measure[]; readonly reason?: string };
};
export type RequestConsent = { readonly type: 'RequestConsent'; readonly data: Record<string, never> };
export type SendConsentReminder = { readonly type: 'SendConsentReminder'; readonly data: Record<string, never> };
export type ExpireConsent = { readonly type: 'ExpireConsent'; readonly data: Record<string, never> };
export type GrantConsent = {
  readonly type: 'GrantConsent';
  readonly data: {
    readonly givenBy: ConsentGiver;
    /** Required when the learner signs: their age on the signing day, derived from the birth date elsewhere. */
    readonly learnerAge?: number;
    readonly signedOn: LocalDate;
    readonly documentRef: string;
  };
};
export type RefuseConsent = {
  readonly type: 'RefuseConsent';
  readonly data: { readonly refusedBy: ConsentGiver; readonly learnerAge?: number; readonly reason?: string };
};
export type SubmitForApproval = { readonly type: 'SubmitForApproval'; readonly data: Record<string, never> };
export type ApprovePlan = {
  readonly type: 'ApprovePlan';
  readonly data: { readonly level: ApprovalLevel; readonly comment?: string };
};
export type ReturnForRevision = {
  readonly type: 'ReturnForRevision';
  readonly data: { readonly level: ApprovalLevel; readonly comment: string };
};
export type StartImplementation = { readonly type: 'StartImplementation'; readonly data: Record<string, never> };
export type LogConsultation = {
  readonly type: 'LogConsultation';
  readonly data: ConsultationDetails & { readonly consultationId: ConsultationId };
};
export type ConfirmConsultation = {
  readonly type: 'ConfirmConsultation';
  /** confirmedAt: when the learner signed; defaults to the decision time. */
  readonly data: { readonly consultationId: ConsultationId; readonly confirmedAt?: Instant };
};
export type CorrectConsultation = {
  readonly type: 'CorrectConsultation';
  readonly data: ConsultationDetails & { readonly consultationId: ConsultationId; readonly reason: string };
};
export type ClaimCompensation = {
  readonly type: 'ClaimCompensation';
  readonly data: {
    readonly claimId: ClaimId;
    readonly measureId: MeasureId;
    readonly compensationType: CompensationType;
    readonly periodFrom: LocalDate;
    readonly periodTo: LocalDate;
    readonly amountCents: Cents;
    readonly documentRefs: readonly string[];
  };
};
/** The reimbursement workflow tells the plan what became of a claim. */
export type RecordClaimApproval = {
  readonly type: 'RecordClaimApproval';
  readonly data: { readonly claimId: ClaimId; readonly approvedCents: Cents };
};
export type RecordClaimRejection = {
  readonly type: 'RecordClaimRejection';
  readonly data: { readonly claimId: ClaimId; readonly reason: string };
};
export type RecordClaimPayment = {
  readonly type: 'RecordClaimPayment';
  readonly data: {
    readonly claimId: ClaimId;
    readonly paidCents: Cents;
    readonly paidOn: LocalDate;
    readonly paymentRef: string;
  };
};
export type RecordPreparationHoursPayment = {
  readonly type: 'RecordPreparationHoursPayment';
  readonly data: { readonly hours: number; readonly paidCents: Cents; readonly paidOn: LocalDate; readonly paymentRef: string };
};
export type SuspendPlan = { readonly type: 'SuspendPlan'; readonly data: { readonly reason: string } };
export type ResumePlan = { readonly type: 'ResumePlan'; readonly data: { readonly reason?: string } };
export type DeletePlan = { readonly type: 'DeletePlan'; readonly data: { readonly reason: string } };
export type EndSemester = { readonly type: 'EndSemester'; readonly data: Record<string, never> };
export type MarkEvaluationOverdue = { readonly type: 'MarkEvaluationOverdue'; readonly data: Record<string, never> };
export type EvaluatePlan = { readonly type: 'EvaluatePlan'; readonly data: Evaluation };
export type ClosePlan = { readonly type: 'ClosePlan'; readonly data: Record<string, never> };
/** Links an evaluated plan to the learner's plan for the next semester (that plan's DraftPlan names this one). */
export type CarryOver = { readonly type: 'CarryOver'; readonly data: { readonly nextPlanId: PlanId } };

export type PlanCommand =
  | DraftPlan
  | RevisePlan
  | RequestConsent
  | SendConsentReminder
  | ExpireConsent
  | GrantConsent
  | RefuseConsent
  | SubmitForApproval
  | ApprovePlan
  | ReturnForRevision
  | StartImplementation
  | LogConsultation
  | ConfirmConsultation
  | CorrectConsultation
  | ClaimCompensation
  | RecordClaimApproval
  | RecordClaimRejection
  | RecordClaimPayment
  | RecordPreparationHoursPayment
  | SuspendPlan
  | ResumePlan
  | DeletePlan
  | EndSemester
  | MarkEvaluationOverdue
  | EvaluatePlan
  | ClosePlan
  | CarryOver;

export type PlanCommandType = PlanCommand['type'];
export type PlanCommandOf<T extends PlanCommandType> = Extract<PlanCommand, { type: T }>;
