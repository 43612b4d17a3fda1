// Value types a plan is made of: risks, support measures, consultations, claims, the evaluation. The
// lists of codes are exported so the API's schemas and the reports use the same words as the decider.

import type { LocalDate } from '../dates.js';
import type { Cents } from '../money.js';

export type RiskId = string;
export type MeasureId = string;
export type ConsultationId = string;
export type ClaimId = string;

/** The four risk types the programme reports. */
export const RISK_TYPES = ['learning', 'economic', 'family', 'social_health'] as const;
export type RiskType = (typeof RISK_TYPES)[number];

export interface Risk {
  readonly riskId: RiskId;
  readonly type: RiskType;
  /** The risk factor, e.g. "unexcused absences" or "insufficient grades in mathematics". */
  readonly factor: string;
  readonly note: string;
}

export const CONSULTATION_PROVIDER_TYPES = [
  'teacher',
  'psychologist',
  'social_pedagogue',
  'teacher_assistant',
  'special_education_teacher',
  'sign_language_interpreter',
  'assistant',
  'occupational_therapist',
] as const;
export type ConsultationProviderType = (typeof CONSULTATION_PROVIDER_TYPES)[number];

export const COMPENSATION_TYPES = [
  'public_transport',
  'lodging',
  'meals',
  'learning_materials',
  'personal_items',
  'special_transport',
] as const;
export type CompensationType = (typeof COMPENSATION_TYPES)[number];

export const MEASURE_KINDS = ['consultation', 'compensation', 'youth_initiative'] as const;
export type MeasureKind = (typeof MEASURE_KINDS)[number];

interface MeasureBase {
  readonly measureId: MeasureId;
  /** Every measure answers one or more of the plan's risks. */
  readonly riskIds: readonly RiskId[];
  readonly justification: string;
}

export interface ConsultationMeasure extends MeasureBase {
  readonly kind: 'consultation';
  readonly providerType: ConsultationProviderType;
  /** The school subject, for a teacher's consultations. */
  readonly subject?: string;
  readonly plannedMinutes: number;
}

export interface CompensationMeasure extends MeasureBase {
  readonly kind: 'compensation';
  readonly compensationType: CompensationType;
  readonly plannedCents: Cents;
}

export interface YouthInitiativeMeasure extends MeasureBase {
  readonly kind: 'youth_initiative';
  /** The youth NGO initiative project the learner takes part in. */
  readonly project: string;
}

export type Measure = ConsultationMeasure | CompensationMeasure | YouthInitiativeMeasure;

/** Who signs the consent application: a parent / legal representative, or the learner from 18. */
export const CONSENT_GIVERS = ['parent', 'legal_representative', 'learner'] as const;
export type ConsentGiver = (typeof CONSENT_GIVERS)[number];

/** The three approval levels, in the order they sign. */
export const APPROVAL_LEVELS = ['school', 'municipality', 'national'] as const;
export type ApprovalLevel = (typeof APPROVAL_LEVELS)[number];

export const CONSULTATION_MODES = ['in_person', 'remote'] as const;
export type ConsultationMode = (typeof CONSULTATION_MODES)[number];

/** What a consultation form records; logging and correcting carry the same fields. */
export interface ConsultationDetails {
  readonly measureId: MeasureId;
  readonly date: LocalDate;
  readonly providerType: ConsultationProviderType;
  readonly subject?: string;
  readonly minutes: number;
  readonly mode: ConsultationMode;
  /** The director's order that allows a remote consultation. */
  readonly directorOrderRef?: string;
}

export const RISK_CHANGES = ['reduced', 'unchanged', 'increased'] as const;
export type RiskChange = (typeof RISK_CHANGES)[number];

export const LEARNER_OUTCOMES = [
  'continues',
  'completed_year',
  'extended_school_year',
  'left_school',
  'transferred',
] as const;
export type LearnerOutcome = (typeof LEARNER_OUTCOMES)[number];

export interface RiskOutcome {
  readonly riskId: RiskId;
  readonly change: RiskChange;
}

export interface Evaluation {
  readonly riskOutcomes: readonly RiskOutcome[];
  readonly outcome: LearnerOutcome;
  readonly narrative: string;
}
