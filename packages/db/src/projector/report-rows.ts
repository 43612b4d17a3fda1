// Pure: the report rows of one plan (and of one claim), derived from the state the domain's own evolve
// folds. Deriving rows from state, not event by event, keeps the reports' meaning the decider's meaning
// (planned vs delivered is the domain's plannedVsDelivered).

import {
  plannedVsDelivered,
  schoolYearOf,
  type ExistingPlan,
  type Measure,
  type PlanStatus,
  type ReimbursementState,
} from '@iap/domain';
import type { Insertable } from 'kysely';
import type { RptClaimsTable, RptMeasuresTable, RptPlanRisksTable, RptPlansTable, ScopeColumns } from './read-model.js';

/** Plans that never went ahead: the programme's counts leave them out. */
export const UNCOUNTED_STATUSES: readonly PlanStatus[] = ['deleted', 'consent_refused', 'consent_expired'];

export interface PlanRows {
  readonly plan: Insertable<RptPlansTable>;
  readonly risks: Insertable<RptPlanRisksTable>[];
  readonly measures: Insertable<RptMeasuresTable>[];
}

export function scopeOf(s: ExistingPlan): ScopeColumns {
  return {
    learner_ref: s.learnerRef,
    school_id: s.schoolId,
    municipality_id: s.municipalityId,
    partner_id: s.partner.id,
    partner_type: s.partner.type,
    semester: s.semester,
    school_year: schoolYearOf(s.semester),
    counted: !UNCOUNTED_STATUSES.includes(s.status),
  };
}

/** The final signature of the first approval round: the national level always signs last. */
function firstApprovedAt(s: ExistingPlan): string | null {
  const national = s.approvals.filter((a) => a.level === 'national').map((a) => a.at);
  return national.length === 0 ? null : national.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
}

export function planRows(s: ExistingPlan, lastGlobalPosition: string): PlanRows {
  const scope = scopeOf(s);
  const riskType = new Map(s.risks.map((r) => [r.riskId, r.type]));
  const change = new Map((s.evaluation?.riskOutcomes ?? []).map((o) => [o.riskId, o.change]));
  const plan: Insertable<RptPlansTable> = {
    plan_id: s.planId,
    ...scope,
    status: s.status,
    risk_types: [...new Set(s.risks.map((r) => r.type))].sort(),
    drafted_at: s.draftedAt,
    approved_at: firstApprovedAt(s),
    evaluation_overdue: s.evaluationOverdue,
    evaluated_at: s.evaluation?.at ?? null,
    outcome: s.evaluation?.outcome ?? null,
    version: s.version,
    last_global_position: lastGlobalPosition,
  };
  const risks = s.risks.map((r) => ({
    plan_id: s.planId,
    risk_id: r.riskId,
    ...scope,
    risk_type: r.type,
    change: change.get(r.riskId) ?? null,
  }));

  const known = new Map<string, Measure>();
  for (const m of [...s.retiredMeasures, ...s.measures, ...s.approvedMeasures]) known.set(m.measureId, m);
  const seen = new Set<string>();
  const measures: Insertable<RptMeasuresTable>[] = [];
  for (const p of plannedVsDelivered(s)) {
    // A measure id appears once; a second sighting would break the table's key and stall the projector.
    if (seen.has(p.measureId)) continue;
    seen.add(p.measureId);
    const m = known.get(p.measureId);
    const types = [...new Set((m?.riskIds ?? []).map((id) => riskType.get(id)).filter((t): t is NonNullable<typeof t> => !!t))].sort();
    const consultation = p.kind === 'consultation' ? p : null;
    measures.push({
      plan_id: s.planId,
      measure_id: p.measureId,
      ...scope,
      kind: p.kind,
      in_plan: p.inPlan,
      risk_types: types,
      provider_type: m?.kind === 'consultation' ? m.providerType : null,
      subject: m?.kind === 'consultation' ? (m.subject ?? null) : null,
      compensation_type: m?.kind === 'compensation' ? m.compensationType : null,
      planned_minutes: consultation?.plannedMinutes ?? 0,
      delivered_minutes: consultation?.deliveredMinutes ?? 0,
      unconfirmed_minutes: consultation?.unconfirmedMinutes ?? 0,
      consultations: consultation?.consultations ?? 0,
      confirmed_consultations: consultation
        ? s.consultations.filter((c) => c.measureId === p.measureId && c.confirmedAt !== null).length
        : 0,
      planned_cents: p.kind === 'compensation' ? p.plannedCents : 0,
    });
  }
  return { plan, risks, measures };
}

export type ExistingClaim = Exclude<ReimbursementState, { status: 'none' }>;

/** A claim's row: its own figures, filed under its plan's school, semester and learner. */
export function claimRow(streamId: string, c: ExistingClaim, scope: ScopeColumns): Insertable<RptClaimsTable> {
  const decision = c.status === 'approved' || c.status === 'paid' ? c.decision : null;
  const payment = c.status === 'paid' ? c.payment : null;
  return {
    stream_id: streamId,
    plan_id: c.planId,
    claim_id: c.claimId,
    ...scope,
    compensation_type: c.compensationType,
    status: c.status,
    amount_cents: c.amountCents,
    approved_cents: decision?.approvedCents ?? null,
    paid_cents: payment?.paidCents ?? null,
    paid_on: payment?.paidOn ?? null,
    version: c.version,
  };
}
