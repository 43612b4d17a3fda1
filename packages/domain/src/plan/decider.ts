// The plan decider: decide(command, state, ctx) → events; evolve(state, event, meta) → state.
// Pure: time, the actor and the config arrive as data, so the same code runs in the Temporal workflow and
// in an auditor's replay of the event log.
//
// Implementation starts either by an explicit StartImplementation or, without one, on the first delivery
// (a logged consultation or a claim): an approved plan then emits ImplementationStarted before it.

import type { Actor } from '../actor.js';
import { assertNever } from '../assert.js';
import { type DomainConfig, isValidSemester, semesterEndsAt, semesterRange } from '../config.js';
import {
  addDays,
  addDaysToInstant,
  compareInstants,
  dateOf,
  inRange,
  isInstant,
  startOf,
} from '../dates.js';
import { DomainError } from '../errors.js';
import { PARTNER_TYPES } from '../ids.js';
import { nextSemester } from '../semester.js';
import type { PlanCommand, PlanCommandOf } from './commands.js';
import { evolve } from './evolve.js';
import type {
  ConsultationCorrectedData,
  ConsultationLoggedData,
  DeletableStatus,
  PlanEvent,
} from './events.js';
import {
  CONSENT_GIVERS,
  type ConsentGiver,
  type ConsultationDetails,
  LEARNER_OUTCOMES,
  RISK_CHANGES,
  APPROVAL_LEVELS,
} from './model.js';
import {
  APPROVER_OF,
  approvalLevelsFor,
  requireDate,
  requireDateInSemester,
  requirePositiveInt,
  requireRole,
  requireStatus,
  requireText,
  statusError,
  validateConsultation,
  validateContent,
} from './rules.js';
import {
  type ClaimRecord,
  type ConsultationRecord,
  type ExistingPlan,
  type PlanRecord,
  type PlanState,
  hasDeliveries,
  initialState,
  moneyUsed,
} from './state.js';

export interface DecideContext {
  /** ISO-8601 instant the command is decided at (workflow time). */
  readonly now: string;
  readonly actor: Actor;
  readonly config: DomainConfig;
}

export type { EventMeta } from './evolve.js';

/** Statuses in which the plan may still change before the semester ends (and waits for it to end). */
export const LIVE_STATUSES: readonly DeletableStatus[] = [
  'draft',
  'awaiting_consent',
  'in_approval',
  'returned',
  'approved',
  'in_implementation',
  'in_revision',
  'suspended',
];

/**
 * Statuses a plan does not leave: nothing falls due for it any more and its workflow ends (a closed plan after a
 * grace in which it still takes a carry-over and late claim outcomes). The API answers 409 for other commands.
 */
export const TERMINAL_STATUSES: ReadonlySet<PlanState['status']> = new Set(['closed', 'deleted', 'consent_refused', 'consent_expired']);

/** Statuses in which support already given can still be booked (a confirmation, a payment): every status from
 * approval on, including revision, suspension and the plan's end. Whether it was ever approved is checked apart. */
const BOOKKEEPING_STATUSES = [
  'approved',
  'in_implementation',
  'in_revision',
  'in_approval',
  'returned',
  'suspended',
  'awaiting_evaluation',
  'evaluated',
  'closed',
] as const;

export function decide(command: PlanCommand, state: PlanState, ctx: DecideContext): PlanEvent[] {
  if (!isInstant(ctx.now)) throw new Error(`ctx.now is not an instant: ${ctx.now}`);
  requireRole(command.type, ctx.actor);
  switch (command.type) {
    case 'DraftPlan':
      return draftPlan(command, state, ctx);
    case 'RevisePlan': {
      requireStatus(command.type, state.status, ['draft', 'returned', 'approved', 'in_implementation', 'in_revision']);
      return revisePlan(command, state as ExistingPlan);
    }
    case 'RequestConsent': {
      requireStatus(command.type, state.status, ['draft']);
      const s = state as ExistingPlan;
      if (s.consent) throw new DomainError('plan.consent_already_granted', 'conflict', 'consent is already granted');
      return [
        {
          type: 'ConsentRequested',
          data: {
            reminderDueAt: addDaysToInstant(ctx.now, ctx.config.consentReminderDays),
            expiresAt: addDaysToInstant(ctx.now, ctx.config.consentExpiryDays),
          },
        },
      ];
    }
    case 'SendConsentReminder': {
      if (state.status !== 'awaiting_consent') throw statusError(command.type, state.status, ['awaiting_consent']);
      if (state.consentRequest.reminderSentAt !== null) {
        throw new DomainError('plan.reminder_already_sent', 'conflict', 'the consent reminder was already sent');
      }
      requireDue(ctx.now, state.consentRequest.reminderDueAt, 'the consent reminder');
      return [{ type: 'ConsentReminderSent', data: {} }];
    }
    case 'ExpireConsent': {
      if (state.status !== 'awaiting_consent') throw statusError(command.type, state.status, ['awaiting_consent']);
      requireDue(ctx.now, state.consentRequest.expiresAt, 'consent expiry');
      return [{ type: 'ConsentExpired', data: {} }];
    }
    case 'GrantConsent':
      return grantConsent(command, state, ctx);
    case 'RefuseConsent': {
      requireStatus(command.type, state.status, ['draft', 'awaiting_consent']);
      const s = state as ExistingPlan;
      if (s.consent) throw new DomainError('plan.consent_already_granted', 'conflict', 'consent is already granted');
      const { refusedBy, learnerAge, reason } = command.data;
      requireConsentGiver(refusedBy, learnerAge, 'data.refusedBy', ctx.config);
      return [{ type: 'ConsentRefused', data: { refusedBy, reason: optionalText(reason) } }];
    }
    case 'SubmitForApproval': {
      requireStatus(command.type, state.status, ['draft', 'returned', 'in_revision']);
      const s = state as ExistingPlan;
      if (!s.consent) {
        throw new DomainError('plan.consent_missing', 'rule', 'a plan goes to approval only after consent is granted');
      }
      return [
        { type: 'PlanSubmittedForApproval', data: { revision: s.revision, levels: approvalLevelsFor(s.partner.type) } },
      ];
    }
    case 'ApprovePlan':
    case 'ReturnForRevision':
      return approveOrReturn(command, state, ctx);
    case 'StartImplementation':
      requireStatus(command.type, state.status, ['approved']);
      return [{ type: 'ImplementationStarted', data: { trigger: 'explicit' } }];
    case 'LogConsultation':
      return logConsultation(command, state, ctx);
    case 'ConfirmConsultation':
      return confirmConsultation(command, state, ctx);
    case 'CorrectConsultation':
      return correctConsultation(command, state, ctx);
    case 'ClaimCompensation':
      return claimCompensation(command, state, ctx);
    case 'RecordClaimApproval':
    case 'RecordClaimRejection':
    case 'RecordClaimPayment':
      return recordClaimOutcome(command, state, ctx);
    case 'RecordPreparationHoursPayment':
      return recordPreparationPayment(command, state, ctx);
    case 'SuspendPlan': {
      requireStatus(command.type, state.status, ['in_approval', 'approved', 'in_implementation']);
      const reason = requireText(command.data.reason, 'data.reason', 'a reason for suspension', 'plan.reason_required');
      return [{ type: 'PlanSuspended', data: { reason, suspendedFrom: state.status, by: ctx.actor.id } }];
    }
    case 'ResumePlan': {
      requireStatus(command.type, state.status, ['suspended']);
      const s = state as ExistingPlan;
      const range = semesterRange(s.semester, ctx.config);
      const today = dateOf(ctx.now);
      if (!inRange(today, range)) {
        throw new DomainError(
          'plan.resume_outside_semester',
          'rule',
          `a plan for ${s.semester} (${range.from} – ${range.to}) can only be resumed within that semester; today is ${today}`,
        );
      }
      return [{ type: 'PlanResumed', data: { reason: optionalText(command.data.reason), by: ctx.actor.id } }];
    }
    case 'DeletePlan': {
      requireStatus(command.type, state.status, LIVE_STATUSES);
      const s = state as ExistingPlan;
      const reason = requireText(command.data.reason, 'data.reason', 'a reason for deletion', 'plan.reason_required');
      if (moneyUsed(s)) {
        throw new DomainError(
          'plan.money_used',
          'rule',
          'a plan on which money was paid (claims or preparation hours) cannot be deleted',
        );
      }
      // An approved claim is money promised: deleting would leave a payment with no live plan behind it.
      if (s.claims.some((c) => c.status === 'approved')) {
        throw new DomainError(
          'plan.money_committed',
          'rule',
          'a plan with an approved, unpaid claim cannot be deleted',
        );
      }
      return [{ type: 'PlanDeleted', data: { reason, deletedFrom: state.status, by: ctx.actor.id } }];
    }
    case 'EndSemester': {
      requireStatus(command.type, state.status, LIVE_STATUSES);
      const s = state as ExistingPlan;
      requireDue(ctx.now, semesterEndsAt(s.semester, ctx.config), 'the semester end');
      if (s.approvedRevision === null) {
        // Never approved, so no support was given and there is nothing to evaluate.
        return [
          { type: 'SemesterEnded', data: { evaluationDueAt: null } },
          { type: 'PlanClosed', data: { reason: 'never_approved' } },
        ];
      }
      return [
        { type: 'SemesterEnded', data: { evaluationDueAt: addDaysToInstant(ctx.now, ctx.config.evaluationDueDays) } },
      ];
    }
    case 'MarkEvaluationOverdue': {
      requireStatus(command.type, state.status, ['awaiting_evaluation']);
      const s = state as ExistingPlan;
      if (s.evaluationOverdue) {
        throw new DomainError('plan.already_overdue', 'conflict', 'the evaluation is already marked overdue');
      }
      if (s.evaluationDueAt !== null) requireDue(ctx.now, s.evaluationDueAt, 'the evaluation deadline');
      return [{ type: 'EvaluationOverdue', data: {} }];
    }
    case 'EvaluatePlan':
      return evaluatePlan(command, state, ctx);
    case 'ClosePlan':
      requireStatus(command.type, state.status, ['evaluated']);
      return [{ type: 'PlanClosed', data: { reason: 'evaluated' } }];
    case 'CarryOver':
      return carryOver(command, state);
    default:
      return assertNever(command);
  }
}

function draftPlan(command: PlanCommandOf<'DraftPlan'>, state: PlanState, ctx: DecideContext): PlanEvent[] {
  const d = command.data;
  if (state.status !== 'none') {
    throw new DomainError('plan.already_exists', 'conflict', `plan ${d.planId} already exists`);
  }
  requireText(d.planId, 'data.planId', 'a plan id');
  requireText(d.learnerRef, 'data.learnerRef', 'a learner reference');
  requireText(d.schoolId, 'data.schoolId', 'a school id');
  requireText(d.municipalityId, 'data.municipalityId', 'a municipality id');
  if (!d.partner || !PARTNER_TYPES.includes(d.partner.type)) {
    throw new DomainError(
      'plan.invalid_code',
      'rule',
      `partner type must be one of ${PARTNER_TYPES.join(', ')}`,
      'data.partner.type',
    );
  }
  requireText(d.partner.id, 'data.partner.id', 'a partner id');
  if (!isValidSemester(d.semester, ctx.config)) {
    throw new DomainError(
      'plan.invalid_semester',
      'rule',
      `data.semester is not a semester like "2025/26-1" of the programme's school years`,
      'data.semester',
    );
  }
  if (compareInstants(ctx.now, semesterEndsAt(d.semester, ctx.config)) >= 0) {
    // A plan for a semester that is over could never be carried out, and its timers would close it at once.
    throw new DomainError('plan.semester_over', 'rule', `semester ${d.semester} has already ended`, 'data.semester');
  }
  if (!Number.isInteger(d.grade) || d.grade < 1 || d.grade > 12) {
    throw new DomainError('plan.grade_out_of_range', 'rule', 'grade must be 1–12', 'data.grade');
  }
  validateContent(d.risks, d.measures);
  const previousPlanId = d.previousPlanId ?? null;
  if (previousPlanId !== null && previousPlanId === d.planId) {
    throw new DomainError('plan.invalid_previous_plan', 'rule', 'a plan cannot continue itself', 'data.previousPlanId');
  }
  return [
    {
      type: 'PlanDrafted',
      data: {
        planId: d.planId,
        learnerRef: d.learnerRef,
        schoolId: d.schoolId,
        municipalityId: d.municipalityId,
        partner: { type: d.partner.type, id: d.partner.id },
        semester: d.semester,
        grade: d.grade,
        risks: d.risks,
        measures: d.measures,
        previousPlanId,
        preparedBy: ctx.actor.id,
      },
    },
  ];
}

function revisePlan(command: PlanCommandOf<'RevisePlan'>, s: ExistingPlan): PlanEvent[] {
  const { risks, measures } = command.data;
  validateContent(risks, measures);
  // Support already given stands, so a measure with deliveries keeps its kind (its figures must still add up).
  measures.forEach((m, i) => {
    const before = [...s.approvedMeasures, ...s.retiredMeasures].find((o) => o.measureId === m.measureId);
    if (before && before.kind !== m.kind && hasDeliveries(s, m.measureId)) {
      throw new DomainError(
        'plan.measure_kind_changed',
        'rule',
        `measure ${m.measureId} already has deliveries as a ${before.kind}; add a new measure instead`,
        `data.measures[${i}].kind`,
      );
    }
  });
  const reason =
    s.approvedRevision !== null
      ? requireText(command.data.reason, 'data.reason', 'a reason for revising an approved plan', 'plan.reason_required')
      : optionalText(command.data.reason);
  return [{ type: 'PlanRevised', data: { revision: s.revision + 1, risks, measures, reason } }];
}

function grantConsent(command: PlanCommandOf<'GrantConsent'>, state: PlanState, ctx: DecideContext): PlanEvent[] {
  // A signed application may be handed in before a formal request, so a draft accepts it too.
  requireStatus(command.type, state.status, ['draft', 'awaiting_consent']);
  const s = state as ExistingPlan;
  if (s.consent) throw new DomainError('plan.consent_already_granted', 'conflict', 'consent is already granted');
  // The expiry timer may lag the deadline by a moment; a grant past the deadline must not win that race.
  if (s.status === 'awaiting_consent' && compareInstants(ctx.now, s.consentRequest.expiresAt) >= 0) {
    throw new DomainError(
      'plan.consent_request_lapsed',
      'conflict',
      `the consent request lapsed at ${s.consentRequest.expiresAt}; the plan expires`,
    );
  }
  const d = command.data;
  requireConsentGiver(d.givenBy, d.learnerAge, 'data.givenBy', ctx.config);
  const signedOn = requireDate(d.signedOn, 'data.signedOn', ctx.config);
  if (signedOn > dateOf(ctx.now)) {
    throw new DomainError(
      'plan.date_in_future',
      'rule',
      `the application cannot be signed on ${signedOn}, a future date`,
      'data.signedOn',
    );
  }
  const documentRef = requireText(
    d.documentRef,
    'data.documentRef',
    'the signed application reference',
    'plan.documents_required',
  );
  return [
    {
      type: 'ConsentGranted',
      data: {
        givenBy: d.givenBy,
        learnerAge: d.givenBy === 'learner' ? (d.learnerAge ?? null) : null,
        signedOn,
        documentRef,
      },
    },
  ];
}

function requireConsentGiver(
  giver: ConsentGiver,
  learnerAge: number | undefined,
  field: string,
  config: DomainConfig,
): void {
  if (!CONSENT_GIVERS.includes(giver)) {
    throw new DomainError(
      'plan.invalid_code',
      'rule',
      `consent is given by one of ${CONSENT_GIVERS.join(', ')}`,
      field,
    );
  }
  const adult = typeof learnerAge === 'number' && Number.isInteger(learnerAge) && learnerAge >= config.adultAge;
  if (giver === 'learner' && !adult) {
    throw new DomainError(
      'plan.learner_under_18',
      'rule',
      `a learner answers for themselves only from age ${config.adultAge}; a parent or legal representative must sign`,
      'data.learnerAge',
    );
  }
}

function approveOrReturn(
  command: PlanCommandOf<'ApprovePlan' | 'ReturnForRevision'>,
  state: PlanState,
  ctx: DecideContext,
): PlanEvent[] {
  const { level } = command.data;
  if (!APPROVAL_LEVELS.includes(level)) {
    throw new DomainError(
      'plan.invalid_code',
      'rule',
      `level must be one of ${APPROVAL_LEVELS.join(', ')}`,
      'data.level',
    );
  }
  if (ctx.actor.role !== APPROVER_OF[level]) {
    throw new DomainError(
      'plan.forbidden_role',
      'forbidden',
      `only a ${APPROVER_OF[level]} signs at the ${level} level`,
      'data.level',
    );
  }
  if (state.status !== 'in_approval') throw statusError(command.type, state.status, ['in_approval']);
  const round = state.approval;
  if (!round.levels.includes(level)) {
    throw new DomainError(
      'plan.approval_level_not_applicable',
      'rule',
      `a ${state.partner.type.replace(/_/g, ' ')} partner's plans have no ${level} approval`,
      'data.level',
    );
  }
  if (level !== round.pendingLevel) {
    throw new DomainError(
      'plan.approval_out_of_order',
      'conflict',
      `the plan waits for the ${round.pendingLevel} level, not the ${level} level (order: ${round.levels.join(' → ')})`,
      'data.level',
    );
  }
  if (command.type === 'ReturnForRevision') {
    const comment = requireText(
      command.data.comment,
      'data.comment',
      'a comment saying what to revise',
      'plan.comment_required',
    );
    return [{ type: 'PlanReturnedForRevision', data: { level, by: ctx.actor.id, comment } }];
  }
  const events: PlanEvent[] = [
    { type: 'ApprovalGranted', data: { level, by: ctx.actor.id, comment: optionalText(command.data.comment) } },
  ];
  if (round.levels[round.levels.length - 1] === level) {
    events.push({ type: 'PlanApproved', data: { revision: round.revision } });
  }
  return events;
}

/** Delivery (consultations, claims) runs once approved; claims and late forms may follow the semester end. */
const DELIVERING = ['approved', 'in_implementation', 'awaiting_evaluation'] as const;

function startIfApproved(s: ExistingPlan): PlanEvent[] {
  return s.status === 'approved' ? [{ type: 'ImplementationStarted', data: { trigger: 'first_delivery' } }] : [];
}

function logConsultation(command: PlanCommandOf<'LogConsultation'>, state: PlanState, ctx: DecideContext): PlanEvent[] {
  requireStatus(command.type, state.status, DELIVERING);
  const s = state as ExistingPlan;
  const d = command.data;
  requireText(d.consultationId, 'data.consultationId', 'a consultation id');
  if (s.consultations.some((c) => c.consultationId === d.consultationId)) {
    throw new DomainError(
      'plan.duplicate_consultation',
      'conflict',
      `consultation ${d.consultationId} is already logged`,
      'data.consultationId',
    );
  }
  validateConsultation(d, s, ctx.config, ctx.now);
  const data: ConsultationLoggedData = {
    consultationId: d.consultationId,
    ...consultationDetails(d),
    confirmBy: `${addDays(d.date, ctx.config.consultationConfirmationDays)}T23:59:59.999Z`,
  };
  return [...startIfApproved(s), { type: 'ConsultationLogged', data }];
}

function confirmConsultation(
  command: PlanCommandOf<'ConfirmConsultation'>,
  state: PlanState,
  ctx: DecideContext,
): PlanEvent[] {
  requireStatus(command.type, state.status, BOOKKEEPING_STATUSES);
  const s = state as ExistingPlan;
  const c = findConsultation(s, command.data.consultationId);
  if (c.confirmedAt !== null) {
    throw new DomainError(
      'plan.consultation_already_confirmed',
      'conflict',
      `consultation ${c.consultationId} is already confirmed`,
    );
  }
  const confirmedAt = command.data.confirmedAt ?? ctx.now;
  if (!isInstant(confirmedAt)) {
    throw new DomainError('plan.invalid_date', 'rule', `${confirmedAt} is not an instant`, 'data.confirmedAt');
  }
  if (compareInstants(confirmedAt, ctx.now) > 0) {
    throw new DomainError(
      'plan.date_in_future',
      'rule',
      'a confirmation cannot be dated in the future',
      'data.confirmedAt',
    );
  }
  if (compareInstants(confirmedAt, startOf(c.date)) < 0) {
    throw new DomainError(
      'plan.confirmation_before_consultation',
      'rule',
      `the consultation was on ${c.date}, after ${confirmedAt}`,
      'data.confirmedAt',
    );
  }
  if (compareInstants(confirmedAt, c.confirmBy) > 0) {
    throw new DomainError(
      'plan.confirmation_too_late',
      'rule',
      `the learner had to confirm the consultation of ${c.date} by ${c.confirmBy}; it stays unconfirmed and does not count`,
      'data.confirmedAt',
    );
  }
  return [{ type: 'ConsultationConfirmed', data: { consultationId: c.consultationId, confirmedAt } }];
}

function correctConsultation(
  command: PlanCommandOf<'CorrectConsultation'>,
  state: PlanState,
  ctx: DecideContext,
): PlanEvent[] {
  requireStatus(command.type, state.status, [
    'in_implementation',
    'in_revision',
    'in_approval',
    'returned',
    'suspended',
    'awaiting_evaluation',
  ]);
  const s = state as ExistingPlan;
  const d = command.data;
  const c = findConsultation(s, d.consultationId);
  const reason = requireText(d.reason, 'data.reason', 'a reason for the correction', 'plan.reason_required');
  validateConsultation(d, s, ctx.config, ctx.now);
  // The learner confirmed a figure; a correction may lower it but not add minutes they never signed for.
  if (c.confirmedMinutes !== null && d.minutes > c.confirmedMinutes) {
    throw new DomainError(
      'plan.correction_exceeds_confirmed',
      'rule',
      `the learner confirmed ${c.confirmedMinutes} minutes; a correction cannot raise that to ${d.minutes}`,
      'data.minutes',
    );
  }
  const data: ConsultationCorrectedData = { consultationId: c.consultationId, ...consultationDetails(d), reason };
  return [{ type: 'ConsultationCorrected', data }];
}

function claimCompensation(
  command: PlanCommandOf<'ClaimCompensation'>,
  state: PlanState,
  ctx: DecideContext,
): PlanEvent[] {
  requireStatus(command.type, state.status, DELIVERING);
  const s = state as ExistingPlan;
  const d = command.data;
  requireText(d.claimId, 'data.claimId', 'a claim id');
  if (s.claims.some((c) => c.claimId === d.claimId)) {
    throw new DomainError(
      'plan.duplicate_claim',
      'conflict',
      `claim ${d.claimId} is already submitted`,
      'data.claimId',
    );
  }
  const measure = s.approvedMeasures.find((m) => m.measureId === d.measureId);
  if (!measure || measure.kind !== 'compensation') {
    throw new DomainError(
      'plan.measure_not_in_plan',
      'rule',
      `the approved plan has no compensation measure ${d.measureId}`,
      'data.measureId',
    );
  }
  if (d.compensationType !== measure.compensationType) {
    throw new DomainError(
      'plan.compensation_type_mismatch',
      'rule',
      `measure ${d.measureId} plans ${measure.compensationType}, not ${d.compensationType}`,
      'data.compensationType',
    );
  }
  requirePositiveInt(d.amountCents, 'data.amountCents', 'the claimed amount in cents', 'plan.amount_not_positive');
  const from = requireDateInSemester(d.periodFrom, s, ctx.config, 'data.periodFrom', 'plan.period_outside_semester');
  const to = requireDateInSemester(d.periodTo, s, ctx.config, 'data.periodTo', 'plan.period_outside_semester');
  if (from > to) {
    throw new DomainError(
      'plan.period_reversed',
      'rule',
      `the period ends (${to}) before it starts (${from})`,
      'data.periodTo',
    );
  }
  const refs: readonly unknown[] = Array.isArray(d.documentRefs) ? d.documentRefs : [];
  if (refs.length === 0 || refs.some((r) => typeof r !== 'string' || r.trim() === '')) {
    throw new DomainError(
      'plan.documents_required',
      'rule',
      'a claim needs its supporting documents (receipts, tickets)',
      'data.documentRefs',
    );
  }
  if (!ctx.config.claimsMayExceedPlanned) {
    const committed = s.claims
      .filter((c) => c.measureId === d.measureId)
      .reduce((sum, c) => sum + committedCents(c), 0);
    if (committed + d.amountCents > measure.plannedCents) {
      throw new DomainError(
        'plan.claim_exceeds_planned',
        'rule',
        `measure ${d.measureId} plans ${measure.plannedCents} cents and ${committed} are claimed: ` +
          `${d.amountCents} more is too much`,
        'data.amountCents',
      );
    }
  }
  return [
    ...startIfApproved(s),
    {
      type: 'CompensationClaimed',
      data: {
        claimId: d.claimId,
        measureId: d.measureId,
        compensationType: d.compensationType,
        periodFrom: from,
        periodTo: to,
        amountCents: d.amountCents,
        documentRefs: [...d.documentRefs],
      },
    },
  ];
}

/** What a claim holds of its measure's planned amount: nothing once rejected, the approved sum once decided. */
const committedCents = (c: ClaimRecord): number =>
  c.status === 'rejected' ? 0 : c.status === 'submitted' ? c.amountCents : (c.approvedCents ?? c.amountCents);

function recordClaimOutcome(
  command: PlanCommandOf<'RecordClaimApproval' | 'RecordClaimRejection' | 'RecordClaimPayment'>,
  state: PlanState,
  ctx: DecideContext,
): PlanEvent[] {
  if (state.status === 'none') throw statusError(command.type, state.status, ['any existing plan']);
  // A deleted plan's open claims may only be rejected: money must not reach a plan that no longer runs.
  if (state.status === 'deleted' && command.type !== 'RecordClaimRejection') {
    throw statusError(command.type, state.status, ['any but deleted']);
  }
  const claim = state.claims.find((c) => c.claimId === command.data.claimId);
  if (!claim) {
    throw new DomainError(
      'plan.unknown_claim',
      'rule',
      `the plan has no claim ${command.data.claimId}`,
      'data.claimId',
    );
  }
  switch (command.type) {
    case 'RecordClaimApproval': {
      requireClaimStatus(claim, 'submitted', 'approve');
      const cents = requirePositiveInt(
        command.data.approvedCents,
        'data.approvedCents',
        'the approved amount',
        'plan.amount_not_positive',
      );
      if (cents > claim.amountCents) {
        throw new DomainError(
          'plan.approved_exceeds_claimed',
          'rule',
          `approved ${cents} cents exceeds the claimed ${claim.amountCents}`,
          'data.approvedCents',
        );
      }
      return [{ type: 'CompensationClaimApproved', data: { claimId: claim.claimId, approvedCents: cents } }];
    }
    case 'RecordClaimRejection': {
      requireClaimStatus(claim, 'submitted', 'reject');
      const reason = requireText(command.data.reason, 'data.reason', 'a reason for rejection', 'plan.reason_required');
      return [{ type: 'CompensationClaimRejected', data: { claimId: claim.claimId, reason } }];
    }
    case 'RecordClaimPayment': {
      if (claim.status === 'paid') {
        throw new DomainError(
          'plan.claim_already_paid',
          'conflict',
          `claim ${claim.claimId} is already paid; a claim is never paid twice`,
        );
      }
      requireClaimStatus(claim, 'approved', 'pay');
      const cents = requirePositiveInt(
        command.data.paidCents,
        'data.paidCents',
        'the paid amount',
        'plan.amount_not_positive',
      );
      if (cents > (claim.approvedCents ?? 0)) {
        throw new DomainError(
          'plan.paid_exceeds_approved',
          'rule',
          `paid ${cents} cents exceeds the approved ${claim.approvedCents ?? 0}`,
          'data.paidCents',
        );
      }
      const { paidOn, paymentRef } = requirePayment(command.data, ctx);
      return [
        { type: 'CompensationClaimPaid', data: { claimId: claim.claimId, paidCents: cents, paidOn, paymentRef } },
      ];
    }
    default:
      return assertNever(command);
  }
}

function requireClaimStatus(claim: ClaimRecord, expected: ClaimRecord['status'], verb: string): void {
  if (claim.status !== expected) {
    throw new DomainError(
      'plan.claim_wrong_status',
      'conflict',
      `cannot ${verb} claim ${claim.claimId}: it is ${claim.status}, not ${expected}`,
    );
  }
}

function requirePayment(d: { paidOn: string; paymentRef: string }, ctx: DecideContext) {
  const paidOn = requireDate(d.paidOn, 'data.paidOn', ctx.config);
  if (paidOn > dateOf(ctx.now)) {
    throw new DomainError(
      'plan.date_in_future',
      'rule',
      `a payment cannot be dated ${paidOn}, in the future`,
      'data.paidOn',
    );
  }
  const paymentRef = requireText(d.paymentRef, 'data.paymentRef', 'a payment reference');
  return { paidOn, paymentRef };
}

function recordPreparationPayment(
  command: PlanCommandOf<'RecordPreparationHoursPayment'>,
  state: PlanState,
  ctx: DecideContext,
): PlanEvent[] {
  requireStatus(command.type, state.status, BOOKKEEPING_STATUSES);
  const s = state as ExistingPlan;
  if (s.approvedRevision === null) {
    throw new DomainError('plan.not_approved', 'conflict', 'preparation hours are paid only for an approved plan');
  }
  const hours = requirePositiveInt(command.data.hours, 'data.hours', 'hours', 'plan.hours_not_positive');
  const paidHours = s.preparationPayments.reduce((sum, p) => sum + p.hours, 0);
  if (paidHours + hours > ctx.config.preparationHoursPerPlan) {
    throw new DomainError(
      'plan.preparation_hours_exceeded',
      'rule',
      `a plan pays at most ${ctx.config.preparationHoursPerPlan} preparation hours; ${paidHours} are already paid`,
      'data.hours',
    );
  }
  const paidCents = requirePositiveInt(
    command.data.paidCents,
    'data.paidCents',
    'the paid amount',
    'plan.amount_not_positive',
  );
  const { paidOn, paymentRef } = requirePayment(command.data, ctx);
  return [{ type: 'PreparationHoursPaid', data: { hours, paidCents, paidOn, paymentRef } }];
}

function evaluatePlan(command: PlanCommandOf<'EvaluatePlan'>, state: PlanState, ctx: DecideContext): PlanEvent[] {
  requireStatus(command.type, state.status, ['awaiting_evaluation']);
  const s = state as ExistingPlan;
  const d = command.data;
  const known = new Set(s.risks.map((r) => r.riskId));
  const seen = new Set<string>();
  (d.riskOutcomes ?? []).forEach((o, i) => {
    const f = `data.riskOutcomes[${i}]`;
    if (!known.has(o.riskId)) {
      throw new DomainError('plan.evaluation_unknown_risk', 'rule', `the plan has no risk ${o.riskId}`, `${f}.riskId`);
    }
    if (seen.has(o.riskId)) {
      throw new DomainError(
        'plan.evaluation_duplicate_risk',
        'rule',
        `risk ${o.riskId} is evaluated twice`,
        `${f}.riskId`,
      );
    }
    seen.add(o.riskId);
    if (!RISK_CHANGES.includes(o.change)) {
      throw new DomainError(
        'plan.invalid_code',
        'rule',
        `change must be one of ${RISK_CHANGES.join(', ')}`,
        `${f}.change`,
      );
    }
  });
  const missing = [...known].filter((id) => !seen.has(id));
  if (missing.length > 0) {
    throw new DomainError(
      'plan.evaluation_missing_risk',
      'rule',
      `every risk needs an outcome; missing: ${missing.join(', ')}`,
      'data.riskOutcomes',
    );
  }
  if (!LEARNER_OUTCOMES.includes(d.outcome)) {
    throw new DomainError(
      'plan.invalid_code',
      'rule',
      `outcome must be one of ${LEARNER_OUTCOMES.join(', ')}`,
      'data.outcome',
    );
  }
  const narrative = requireText(d.narrative, 'data.narrative', 'a narrative assessment', 'plan.narrative_required');
  return [
    {
      type: 'PlanEvaluated',
      data: {
        riskOutcomes: d.riskOutcomes.map((o) => ({ riskId: o.riskId, change: o.change })),
        outcome: d.outcome,
        narrative,
        by: ctx.actor.id,
      },
    },
  ];
}

function carryOver(command: PlanCommandOf<'CarryOver'>, state: PlanState): PlanEvent[] {
  requireStatus(command.type, state.status, ['evaluated', 'closed']);
  const s = state as ExistingPlan;
  if (s.carriedOverTo) {
    throw new DomainError(
      'plan.already_carried_over',
      'conflict',
      `the plan is already carried over to ${s.carriedOverTo.nextPlanId}`,
    );
  }
  const nextPlanId = requireText(command.data.nextPlanId, 'data.nextPlanId', 'the next plan id');
  if (nextPlanId === s.planId) {
    throw new DomainError(
      'plan.invalid_next_plan',
      'rule',
      'a plan cannot be carried over into itself',
      'data.nextPlanId',
    );
  }
  const outcome = s.evaluation?.outcome;
  if (outcome === 'left_school' || outcome === 'transferred') {
    throw new DomainError(
      'plan.carry_over_not_possible',
      'rule',
      `the learner ${outcome === 'left_school' ? 'left school' : 'transferred'}; the plan does not continue`,
    );
  }
  return [{ type: 'PlanCarriedOver', data: { nextPlanId, nextSemester: nextSemester(s.semester) } }];
}

function requireDue(now: string, dueAt: string, what: string): void {
  if (compareInstants(now, dueAt) < 0) {
    throw new DomainError('plan.timer_not_due', 'conflict', `${what} is due at ${dueAt}, not yet (now ${now})`);
  }
}

function findConsultation(s: PlanRecord, id: string): ConsultationRecord {
  const c = s.consultations.find((x) => x.consultationId === id);
  if (!c) {
    throw new DomainError('plan.unknown_consultation', 'rule', `the plan has no consultation ${id}`, 'data.consultationId');
  }
  return c;
}

const optionalText = (s: string | undefined | null): string | null =>
  typeof s === 'string' && s.trim() !== '' ? s.trim() : null;

/** Copies a form's fields, leaving out optional ones that are absent so events carry no `undefined`. */
function consultationDetails(d: ConsultationDetails): ConsultationDetails {
  return {
    measureId: d.measureId,
    date: d.date,
    providerType: d.providerType,
    ...(optionalText(d.subject) !== null ? { subject: optionalText(d.subject) as string } : {}),
    minutes: d.minutes,
    mode: d.mode,
    ...(d.mode === 'remote' && optionalText(d.directorOrderRef) !== null
      ? { directorOrderRef: optionalText(d.directorOrderRef) as string }
      : {}),
  };
}

/** The plan decider as one value, for the test helper and for generic event-store code. */
export const planDecider = { decide, evolve, initialState };
