// evolve(state, event, meta) → state: folds a plan's events into its state. Never refuses what decide
// emitted, so any recorded history replays; it throws only on a stream that cannot be a plan's.

import { assertNever } from '../assert.js';
import type { PlanEvent } from './events.js';
import {
  type ClaimRecord,
  type ConsultationRecord,
  type ExistingPlan,
  type PlanRecord,
  type PlanState,
  hasDeliveries,
  recordOf,
} from './state.js';

export interface EventMeta {
  readonly occurredAt: string;
  /** The stream version this event has in the log (1 for the first). */
  readonly version: number;
}

export function evolve(state: PlanState, event: PlanEvent, meta: EventMeta): PlanState {
  if (event.type === 'PlanDrafted') {
    if (state.status !== 'none') throw new Error(`PlanDrafted on an existing plan (v${state.version})`);
    return {
      status: 'draft',
      ...event.data,
      version: meta.version,
      draftedAt: meta.occurredAt,
      revision: 0,
      consent: null,
      approvals: [],
      approvedRevision: null,
      approvedMeasures: [],
      retiredMeasures: [],
      implementationStartedAt: null,
      consultations: [],
      claims: [],
      preparationPayments: [],
      semesterEndedAt: null,
      evaluationDueAt: null,
      evaluationOverdue: false,
      evaluation: null,
      carriedOverTo: null,
    };
  }
  if (state.status === 'none') throw new Error(`${event.type} before PlanDrafted`);
  const s = state;
  const version = meta.version;
  const at = meta.occurredAt;
  // Same status, some record fields changed (keeps the status's own fields).
  const patch = (p: Partial<PlanRecord>): PlanState => ({ ...s, ...p, version }) as PlanState;
  // Into another status: the status's own fields are dropped with the old status.
  const base = (): PlanRecord => ({ ...recordOf(s), version });

  switch (event.type) {
    case 'PlanRevised': {
      const p = { revision: event.data.revision, risks: event.data.risks, measures: event.data.measures };
      if (s.status === 'approved' || s.status === 'in_implementation') return { ...base(), ...p, status: 'in_revision' };
      return patch(p);
    }
    case 'ConsentRequested':
      return {
        ...base(),
        status: 'awaiting_consent',
        consentRequest: { requestedAt: at, ...event.data, reminderSentAt: null },
      };
    case 'ConsentReminderSent':
      if (s.status !== 'awaiting_consent') return patch({});
      return { ...s, version, consentRequest: { ...s.consentRequest, reminderSentAt: at } };
    case 'ConsentExpired':
      return { ...base(), status: 'consent_expired' };
    case 'ConsentGranted':
      return { ...base(), status: 'draft', consent: { ...event.data, grantedAt: at } };
    case 'ConsentRefused':
      return { ...base(), status: 'consent_refused', refusal: { ...event.data, at } };
    case 'PlanSubmittedForApproval':
      return {
        ...base(),
        status: 'in_approval',
        approval: {
          revision: event.data.revision,
          levels: event.data.levels,
          approvedLevels: [],
          pendingLevel: event.data.levels[0] ?? 'school',
          submittedAt: at,
        },
      };
    case 'ApprovalGranted': {
      if (s.status !== 'in_approval') return patch({});
      const { levels } = s.approval;
      const next = levels[levels.indexOf(event.data.level) + 1] ?? s.approval.pendingLevel;
      return {
        ...s,
        version,
        approvals: [
          ...s.approvals,
          { level: event.data.level, by: event.data.by, at, revision: s.approval.revision, comment: event.data.comment },
        ],
        approval: { ...s.approval, approvedLevels: [...s.approval.approvedLevels, event.data.level], pendingLevel: next },
      };
    }
    case 'PlanApproved': {
      // Measures taken out by this revision keep their deliveries visible in planned-vs-delivered.
      const dropped = s.approvedMeasures.filter(
        (m) => !s.measures.some((n) => n.measureId === m.measureId) && hasDeliveries(s, m.measureId),
      );
      const retired = [...s.retiredMeasures, ...dropped].filter((m) => !s.measures.some((n) => n.measureId === m.measureId));
      return {
        ...base(),
        status: s.implementationStartedAt !== null ? 'in_implementation' : 'approved',
        approvedRevision: event.data.revision,
        approvedMeasures: s.measures,
        retiredMeasures: retired,
      };
    }
    case 'PlanReturnedForRevision':
      return { ...base(), status: 'returned', returnedBy: { ...event.data, at } };
    case 'ImplementationStarted':
      return { ...base(), status: 'in_implementation', implementationStartedAt: at };
    case 'ConsultationLogged': {
      const { consultationId, confirmBy, ...details } = event.data;
      const record: ConsultationRecord = {
        consultationId,
        ...details,
        loggedAt: at,
        confirmBy,
        confirmedAt: null,
        confirmedMinutes: null,
        corrections: 0,
      };
      return patch({ consultations: [...s.consultations, record] });
    }
    case 'ConsultationConfirmed':
      return patch({
        consultations: s.consultations.map((c) =>
          c.consultationId === event.data.consultationId
            ? { ...c, confirmedAt: event.data.confirmedAt, confirmedMinutes: c.minutes }
            : c,
        ),
      });
    case 'ConsultationCorrected': {
      const { consultationId, reason: _reason, ...details } = event.data;
      return patch({
        consultations: s.consultations.map((c) =>
          c.consultationId === consultationId
            ? {
                consultationId,
                ...details,
                loggedAt: c.loggedAt,
                confirmBy: c.confirmBy,
                confirmedAt: c.confirmedAt,
                confirmedMinutes: c.confirmedMinutes,
                corrections: c.corrections + 1,
              }
            : c,
        ),
      });
    }
    case 'CompensationClaimed':
      return patch({
        claims: [
          ...s.claims,
          {
            ...event.data,
            status: 'submitted',
            approvedCents: null,
            paidCents: null,
            paidOn: null,
            paymentRef: null,
            rejectionReason: null,
          },
        ],
      });
    case 'CompensationClaimApproved':
      return patchClaim(s, event.data.claimId, { status: 'approved', approvedCents: event.data.approvedCents }, version);
    case 'CompensationClaimRejected':
      return patchClaim(s, event.data.claimId, { status: 'rejected', rejectionReason: event.data.reason }, version);
    case 'CompensationClaimPaid': {
      const { paidCents, paidOn, paymentRef } = event.data;
      return patchClaim(s, event.data.claimId, { status: 'paid', paidCents, paidOn, paymentRef }, version);
    }
    case 'PreparationHoursPaid':
      return patch({ preparationPayments: [...s.preparationPayments, { ...event.data }] });
    case 'PlanSuspended':
      return {
        ...base(),
        status: 'suspended',
        suspension: { reason: event.data.reason, from: event.data.suspendedFrom, at },
      };
    case 'PlanResumed':
      return { ...base(), status: 'in_revision' };
    case 'PlanDeleted':
      return { ...base(), status: 'deleted', deletion: { reason: event.data.reason, from: event.data.deletedFrom, at } };
    case 'SemesterEnded':
      return { ...base(), status: 'awaiting_evaluation', semesterEndedAt: at, evaluationDueAt: event.data.evaluationDueAt };
    case 'EvaluationOverdue':
      return patch({ evaluationOverdue: true });
    case 'PlanEvaluated':
      return { ...base(), status: 'evaluated', evaluation: { ...event.data, at } };
    case 'PlanClosed':
      return { ...base(), status: 'closed' };
    case 'PlanCarriedOver':
      return patch({ carriedOverTo: { ...event.data } });
    default:
      return assertNever(event);
  }
}

function patchClaim(s: ExistingPlan, claimId: string, p: Partial<ClaimRecord>, version: number): PlanState {
  return { ...s, version, claims: s.claims.map((c) => (c.claimId === claimId ? { ...c, ...p } : c)) } as PlanState;
}

/** Folds a stream of events into a state: the auditor's replay and the workflow's recovery use it. */
export function fold(events: Iterable<{ event: PlanEvent; meta: EventMeta }>, from: PlanState): PlanState {
  let s = from;
  for (const { event, meta } of events) s = evolve(s, event, meta);
  return s;
}

