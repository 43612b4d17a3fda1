// Planned versus delivered, per measure: what the plan promised and what reached the learner. Only
// learner-confirmed consultations count as delivered minutes; money is followed from claim to payment.

import { assertNever } from '../assert.js';
import type { Cents } from '../money.js';
import type { Measure, MeasureId } from './model.js';
import type { PlanState } from './state.js';

interface ProgressBase {
  readonly measureId: MeasureId;
  /** False for a measure a revision took out after support was given on it (that support still stands). */
  readonly inPlan: boolean;
}

export interface ConsultationProgress extends ProgressBase {
  readonly kind: 'consultation';
  readonly plannedMinutes: number;
  /** Minutes the learner confirmed in time. */
  readonly deliveredMinutes: number;
  /** Minutes logged but not (or not yet) confirmed. */
  readonly unconfirmedMinutes: number;
  readonly consultations: number;
}

export interface CompensationProgress extends ProgressBase {
  readonly kind: 'compensation';
  readonly plannedCents: Cents;
  /** Claimed on claims not rejected. */
  readonly claimedCents: Cents;
  readonly approvedCents: Cents;
  readonly paidCents: Cents;
  readonly rejectedCents: Cents;
}

export interface YouthInitiativeProgress extends ProgressBase {
  readonly kind: 'youth_initiative';
  readonly project: string;
}

export type MeasureProgress = ConsultationProgress | CompensationProgress | YouthInitiativeProgress;

/**
 * Per-measure figures. Planned figures are those of the approved revision in force (or, before the first
 * approval, of the current draft); measures retired by a revision follow, marked inPlan: false.
 */
export function plannedVsDelivered(state: PlanState): MeasureProgress[] {
  if (state.status === 'none') return [];
  const inForce = state.approvedRevision !== null ? state.approvedMeasures : state.measures;
  const rows = (measures: readonly Measure[], inPlan: boolean): MeasureProgress[] =>
    measures.map((m): MeasureProgress => {
      switch (m.kind) {
        case 'consultation': {
          const cs = state.consultations.filter((c) => c.measureId === m.measureId);
          const confirmed = cs.filter((c) => c.confirmedAt !== null);
          const sum = (xs: typeof cs) => xs.reduce((n, c) => n + c.minutes, 0);
          return {
            kind: 'consultation',
            measureId: m.measureId,
            inPlan,
            plannedMinutes: inPlan ? m.plannedMinutes : 0,
            deliveredMinutes: sum(confirmed),
            unconfirmedMinutes: sum(cs) - sum(confirmed),
            consultations: cs.length,
          };
        }
        case 'compensation': {
          const cl = state.claims.filter((c) => c.measureId === m.measureId);
          const live = cl.filter((c) => c.status !== 'rejected');
          return {
            kind: 'compensation',
            measureId: m.measureId,
            inPlan,
            plannedCents: inPlan ? m.plannedCents : 0,
            claimedCents: live.reduce((n, c) => n + c.amountCents, 0),
            approvedCents: live.reduce((n, c) => n + (c.approvedCents ?? 0), 0),
            paidCents: live.reduce((n, c) => n + (c.paidCents ?? 0), 0),
            rejectedCents: cl.filter((c) => c.status === 'rejected').reduce((n, c) => n + c.amountCents, 0),
          };
        }
        case 'youth_initiative':
          return { kind: 'youth_initiative', measureId: m.measureId, inPlan, project: m.project };
        default:
          return assertNever(m);
      }
    });
  return [...rows(inForce, true), ...rows(state.retiredMeasures, false)];
}
