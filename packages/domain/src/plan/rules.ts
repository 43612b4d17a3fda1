// The plan's rules as small functions that throw a DomainError: who may send what, and what makes risks,
// measures, consultations and claims valid. The decider composes them; the API documents the role table.

import type { Actor, Role } from '../actor.js';
import { assertNever } from '../assert.js';
import { type DomainConfig, isPlausibleDate, semesterRange } from '../config.js';
import { type LocalDate, dateOf, inRange } from '../dates.js';
import { DomainError } from '../errors.js';
import type { PartnerType } from '../ids.js';
import type { PlanCommandType } from './commands.js';
import {
  type ApprovalLevel,
  COMPENSATION_TYPES,
  CONSULTATION_MODES,
  CONSULTATION_PROVIDER_TYPES,
  type ConsultationDetails,
  type Measure,
  RISK_TYPES,
  type Risk,
} from './model.js';
import type { PlanRecord, PlanStatus } from './state.js';

const PREPARERS: readonly Role[] = ['preparer', 'school_director'];
const APPROVERS: readonly Role[] = ['school_director', 'municipality_coordinator', 'national_coordinator'];
const FINANCE: readonly Role[] = ['finance', 'system'];
const SYSTEM: readonly Role[] = ['system'];

/**
 * Who may send each command. Approvals are narrowed further by level (APPROVER_OF). Confirmation and
 * closing also accept 'system', for an e-signed confirmation form and the workflow closing on its own.
 */
export const PLAN_COMMAND_ROLES: { readonly [T in PlanCommandType]: readonly Role[] } = {
  DraftPlan: PREPARERS,
  RevisePlan: PREPARERS,
  RequestConsent: PREPARERS,
  SendConsentReminder: SYSTEM,
  ExpireConsent: SYSTEM,
  GrantConsent: PREPARERS,
  RefuseConsent: PREPARERS,
  SubmitForApproval: PREPARERS,
  ApprovePlan: APPROVERS,
  ReturnForRevision: APPROVERS,
  StartImplementation: PREPARERS,
  LogConsultation: PREPARERS,
  ConfirmConsultation: [...PREPARERS, 'system'],
  CorrectConsultation: PREPARERS,
  // The school submits claims, or the municipality on its behalf.
  ClaimCompensation: [...PREPARERS, 'municipality_coordinator'],
  RecordClaimApproval: FINANCE,
  RecordClaimRejection: FINANCE,
  RecordClaimPayment: FINANCE,
  RecordPreparationHoursPayment: FINANCE,
  SuspendPlan: ['school_director'],
  ResumePlan: ['school_director'],
  DeletePlan: ['school_director'],
  EndSemester: SYSTEM,
  MarkEvaluationOverdue: SYSTEM,
  EvaluatePlan: PREPARERS,
  ClosePlan: [...PREPARERS, 'system'],
  CarryOver: PREPARERS,
};

export const PLAN_COMMAND_TYPES: readonly PlanCommandType[] = Object.keys(PLAN_COMMAND_ROLES) as PlanCommandType[];

/** The roles that may send a command (for ApprovePlan / ReturnForRevision, the one matching the level). */
export const requiredRolesFor = (type: PlanCommandType): readonly Role[] => PLAN_COMMAND_ROLES[type];

/** The role that signs at each approval level. */
export const APPROVER_OF: { readonly [L in ApprovalLevel]: Role } = {
  school: 'school_director',
  municipality: 'municipality_coordinator',
  national: 'national_coordinator',
};

/** The levels that sign, in order: state vocational schools have no municipal level. */
export function approvalLevelsFor(partnerType: PartnerType): readonly ApprovalLevel[] {
  return partnerType === 'state_vocational' ? ['school', 'national'] : ['school', 'municipality', 'national'];
}

export function requireRole(type: PlanCommandType, actor: Actor): void {
  if (!PLAN_COMMAND_ROLES[type].includes(actor.role)) {
    throw new DomainError('plan.forbidden_role', 'forbidden', `a ${actor.role} may not ${humanize(type)}`);
  }
}

export function requireStatus<S extends PlanStatus | 'none'>(
  type: PlanCommandType,
  status: PlanStatus | 'none',
  allowed: readonly S[],
): asserts status is S {
  if (!(allowed as readonly string[]).includes(status)) throw statusError(type, status, allowed);
}

export function statusError(type: PlanCommandType, status: string, allowed: readonly string[]): DomainError {
  const now = status === 'none' ? 'does not exist yet' : `is ${status.replace(/_/g, ' ')}`;
  const message = `cannot ${humanize(type)}: the plan ${now} (allowed: ${allowed.join(', ')})`;
  return new DomainError('plan.wrong_status', 'conflict', message);
}

/** "ClaimCompensation" → "claim compensation", for messages a person reads. */
const humanize = (type: string): string => type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

export function requireText(value: unknown, field: string, what: string, code = 'plan.text_required'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new DomainError(code, 'rule', `${what} is required`, field);
  }
  return value.trim();
}

export function requirePositiveInt(value: unknown, field: string, what: string, code: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new DomainError(code, 'rule', `${what} must be a positive whole number (got ${String(value)})`, field);
  }
  return value;
}

/** A calendar date the programme can know (isPlausibleDate): not "0000-01-01", not "9999-12-31". */
export function requireDate(value: unknown, field: string, config: DomainConfig): LocalDate {
  if (!isPlausibleDate(value, config)) {
    throw new DomainError('plan.invalid_date', 'rule', `${field} is not a date (YYYY-MM-DD) within the programme's years`, field);
  }
  return value;
}

function requireOneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new DomainError('plan.invalid_code', 'rule', `${what} must be one of ${allowed.join(', ')}`, field);
  }
  return value as T;
}

/** Risks and measures of a draft or revision: at least one of each, every measure tied to a named risk. */
export function validateContent(risks: readonly Risk[], measures: readonly Measure[]): void {
  if (risks.length === 0) {
    throw new DomainError('plan.risks_required', 'rule', 'a plan names at least one risk', 'data.risks');
  }
  const riskIds = new Set<string>();
  risks.forEach((r, i) => {
    const f = `data.risks[${i}]`;
    requireText(r.riskId, `${f}.riskId`, 'a risk id');
    if (riskIds.has(r.riskId)) {
      throw new DomainError('plan.duplicate_risk', 'rule', `risk ${r.riskId} is named twice`, `${f}.riskId`);
    }
    riskIds.add(r.riskId);
    requireOneOf(r.type, RISK_TYPES, `${f}.type`, 'a risk type');
    requireText(r.factor, `${f}.factor`, 'a risk factor');
    if (typeof r.note !== 'string') {
      throw new DomainError('plan.text_required', 'rule', 'a risk note must be text (it may be empty)', `${f}.note`);
    }
  });

  if (measures.length === 0) {
    throw new DomainError('plan.measures_required', 'rule', 'a plan has at least one support measure', 'data.measures');
  }
  const measureIds = new Set<string>();
  measures.forEach((m, i) => {
    const f = `data.measures[${i}]`;
    requireText(m.measureId, `${f}.measureId`, 'a measure id');
    if (measureIds.has(m.measureId)) {
      throw new DomainError(
        'plan.duplicate_measure',
        'rule',
        `measure ${m.measureId} is named twice`,
        `${f}.measureId`,
      );
    }
    measureIds.add(m.measureId);
    if (!Array.isArray(m.riskIds) || m.riskIds.length === 0) {
      throw new DomainError(
        'plan.measure_without_risk',
        'rule',
        `measure ${m.measureId} must answer at least one risk`,
        `${f}.riskIds`,
      );
    }
    for (const id of m.riskIds) {
      if (!riskIds.has(id)) {
        throw new DomainError(
          'plan.measure_unknown_risk',
          'rule',
          `measure ${m.measureId} names risk ${id}, which the plan does not have`,
          `${f}.riskIds`,
        );
      }
    }
    requireText(m.justification, `${f}.justification`, 'a justification', 'plan.justification_required');
    switch (m.kind) {
      case 'consultation':
        requireOneOf(m.providerType, CONSULTATION_PROVIDER_TYPES, `${f}.providerType`, 'a provider type');
        requirePositiveInt(m.plannedMinutes, `${f}.plannedMinutes`, 'planned minutes', 'plan.minutes_not_positive');
        break;
      case 'compensation':
        requireOneOf(m.compensationType, COMPENSATION_TYPES, `${f}.compensationType`, 'a compensation type');
        requirePositiveInt(
          m.plannedCents,
          `${f}.plannedCents`,
          'a planned amount in cents',
          'plan.amount_not_positive',
        );
        break;
      case 'youth_initiative':
        requireText(m.project, `${f}.project`, 'the youth initiative project');
        break;
      default:
        assertNever(m);
    }
  });
}

/** A consultation form's fields, whether logged or corrected. */
export function validateConsultation(
  d: ConsultationDetails,
  plan: PlanRecord,
  config: DomainConfig,
  now: string,
): void {
  const measure = plan.approvedMeasures.find((m) => m.measureId === d.measureId);
  if (!measure || measure.kind !== 'consultation') {
    throw new DomainError(
      'plan.measure_not_in_plan',
      'rule',
      `the approved plan has no consultation measure ${d.measureId}`,
      'data.measureId',
    );
  }
  requireOneOf(d.providerType, CONSULTATION_PROVIDER_TYPES, 'data.providerType', 'a provider type');
  if (d.providerType !== measure.providerType) {
    throw new DomainError(
      'plan.provider_mismatch',
      'rule',
      `measure ${d.measureId} plans consultations by a ${measure.providerType}, not a ${d.providerType}`,
      'data.providerType',
    );
  }
  requireDateInSemester(d.date, plan, config, 'data.date', 'plan.date_outside_semester');
  if (d.date > dateOf(now)) {
    throw new DomainError(
      'plan.date_in_future',
      'rule',
      `a consultation on ${d.date} has not happened yet`,
      'data.date',
    );
  }
  requirePositiveInt(d.minutes, 'data.minutes', 'minutes', 'plan.minutes_not_positive');
  requireOneOf(d.mode, CONSULTATION_MODES, 'data.mode', 'a consultation mode');
  if (d.mode === 'remote' && (typeof d.directorOrderRef !== 'string' || d.directorOrderRef.trim() === '')) {
    throw new DomainError(
      'plan.remote_without_order',
      'rule',
      "a remote consultation needs the director's order that allows it",
      'data.directorOrderRef',
    );
  }
}

export function requireDateInSemester(
  value: unknown,
  plan: PlanRecord,
  config: DomainConfig,
  field: string,
  code: string,
): LocalDate {
  const date = requireDate(value, field, config);
  const range = semesterRange(plan.semester, config);
  if (!inRange(date, range)) {
    throw new DomainError(
      code,
      'rule',
      `${date} is outside semester ${plan.semester} (${range.from} – ${range.to})`,
      field,
    );
  }
  return date;
}
