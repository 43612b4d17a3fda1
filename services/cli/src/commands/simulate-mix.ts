// Pure and seeded: the population of a simulated semester (partners, schools, learners' plans and what
// becomes of each), in the programme's published proportions (docs: shared/domain.md): risk-type shares of
// semester I 2019/20, about 80% of measures on learning risks, 33 of 507 schools vocational.

export type Random = () => number;

/** Mulberry32: a small seeded generator, so a seed replays the same semester. */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
function weighted<T extends string>(r: Random, shares: Readonly<Record<T, number>>): T {
  const entries = Object.entries(shares) as [T, number][];
  let x = r() * entries.reduce((n, [, w]) => n + w, 0);
  for (const [k, w] of entries) if ((x -= w) < 0) return k;
  return entries.at(-1)![0];
}

/** Learners with each risk type among 10,077 plans of semester I 2019/20. */
export const RISK_TYPE_SHARES = { learning: 8_655 / 10_077, economic: 5_862 / 10_077, family: 1_048 / 10_077, social_health: 528 / 10_077 } as const;
export type SimRiskType = keyof typeof RISK_TYPE_SHARES;
export const VOCATIONAL_SHARE = 33 / 507;
const RISK_TYPES_SIM = Object.keys(RISK_TYPE_SHARES) as SimRiskType[];

/**
 * Every plan names at least one risk, so types are drawn independently and an empty draw is drawn again.
 * That lifts each share by 1 / P(non-empty); these base rates are lowered to match (a fixed point).
 */
const BASE_RATES: Readonly<Record<SimRiskType, number>> = (() => {
  const q = { ...RISK_TYPE_SHARES } as Record<SimRiskType, number>;
  for (let i = 0; i < 50; i++) {
    const nonEmpty = 1 - RISK_TYPES_SIM.reduce((p, t) => p * (1 - q[t]), 1);
    for (const t of RISK_TYPES_SIM) q[t] = RISK_TYPE_SHARES[t] * nonEmpty;
  }
  return q;
})();

export interface SimSchool {
  readonly schoolId: string;
  readonly municipalityId: string;
  readonly partnerId: string;
  readonly partnerType: 'municipality' | 'state_vocational';
}

/** What the simulator does with a plan; "approved" plans get delivery, claims and (maybe) an evaluation. */
export type Fate = 'draft' | 'refused' | 'deleted' | 'in_approval' | 'approved';
export const FATE_SHARES: Readonly<Record<Fate, number>> = { draft: 0.02, refused: 0.03, deleted: 0.01, in_approval: 0.03, approved: 0.91 };

export interface SimRisk {
  readonly riskId: string;
  readonly type: SimRiskType;
  readonly factor: string;
  readonly note: string;
}

export type SimMeasure =
  | { readonly measureId: string; readonly kind: 'consultation'; readonly riskIds: string[]; readonly justification: string; readonly providerType: string; readonly subject?: string; readonly plannedMinutes: number }
  | { readonly measureId: string; readonly kind: 'compensation'; readonly riskIds: string[]; readonly justification: string; readonly compensationType: string; readonly plannedCents: number };

export interface SimConsultation {
  readonly consultationId: string;
  readonly measureId: string;
  readonly providerType: string;
  readonly subject?: string;
  readonly minutes: number;
  readonly confirm: boolean;
}

export interface SimClaim {
  readonly claimId: string;
  readonly measureId: string;
  readonly compensationType: string;
  readonly amountCents: number;
  /** What finance does: reject, approve in part or in full, and pay (or not yet). */
  readonly decision: 'reject' | 'approve';
  readonly approvedCents: number | null;
  readonly pay: boolean;
}

export interface SimEvaluation {
  readonly riskOutcomes: { riskId: string; change: 'reduced' | 'unchanged' | 'increased' }[];
  readonly outcome: 'continues' | 'completed_year' | 'extended_school_year' | 'left_school' | 'transferred';
  readonly narrative: string;
}

export interface SimPlan {
  readonly key: string;
  readonly learnerRef: string;
  readonly school: SimSchool;
  readonly grade: number;
  readonly risks: SimRisk[];
  readonly measures: SimMeasure[];
  readonly fate: Fate;
  readonly consultations: SimConsultation[];
  readonly claims: SimClaim[];
  /** Null when the plan is left unevaluated (it goes overdue). */
  readonly evaluation: SimEvaluation | null;
}

export interface MixOptions {
  readonly seed: number;
  readonly plans: number;
  readonly municipalities: number;
  readonly schools: number;
}

const SUBJECTS = ['mathematics', 'latvian', 'english', 'physics', 'chemistry', 'history'];
const COMPENSATIONS = ['public_transport', 'meals', 'learning_materials', 'personal_items', 'lodging'];
const FACTORS: Record<SimRiskType, string[]> = {
  learning: ['insufficient grades in mathematics', 'missed material', 'unexcused absences'],
  economic: ['low-income family', 'poor family status'],
  family: ['family crisis', 'parents working abroad'],
  social_health: ['long illness', 'conflicts with peers'],
};

export function schoolsOf(o: MixOptions): SimSchool[] {
  const vocational = o.schools >= 5 ? Math.max(1, Math.round(o.schools * VOCATIONAL_SHARE)) : 0;
  return Array.from({ length: o.schools }, (_, i): SimSchool => {
    const municipalityId = `muni-${String((i % o.municipalities) + 1).padStart(3, '0')}`;
    const schoolId = `school-${String(i + 1).padStart(4, '0')}`;
    // The last schools are the vocational ones: each is its own partner, skipping municipal approval.
    return i >= o.schools - vocational
      ? { schoolId, municipalityId, partnerId: `voc-${schoolId}`, partnerType: 'state_vocational' }
      : { schoolId, municipalityId, partnerId: municipalityId, partnerType: 'municipality' };
  });
}

export function planMix(o: MixOptions): SimPlan[] {
  const r = seeded(o.seed);
  const schools = schoolsOf(o);
  return Array.from({ length: o.plans }, (_, i) => {
    let types: SimRiskType[] = [];
    while (types.length === 0) types = RISK_TYPES_SIM.filter((t) => r() < BASE_RATES[t]);
    const risks = types.map((type, k): SimRisk => ({ riskId: `r${k + 1}`, type, factor: pick(r, FACTORS[type]), note: '' }));
    const measures: SimMeasure[] = [];
    for (const risk of risks) {
      const id = () => `m${measures.length + 1}`;
      if (risk.type === 'learning') {
        // About three learning measures per plan against fewer than one of every other kind: ~80% of measures.
        for (let k = 0; k < 2 + Math.floor(r() * 3); k++) {
          const teacher = r() < 0.75;
          measures.push({
            measureId: id(), kind: 'consultation', riskIds: [risk.riskId], justification: 'catch up',
            providerType: teacher ? 'teacher' : pick(r, ['special_education_teacher', 'teacher_assistant']),
            ...(teacher ? { subject: pick(r, SUBJECTS) } : {}),
            plannedMinutes: 60 * (2 + Math.floor(r() * 6)),
          });
        }
      } else if (risk.type === 'economic') {
        measures.push({ measureId: id(), kind: 'compensation', riskIds: [risk.riskId], justification: 'economic support', compensationType: pick(r, COMPENSATIONS), plannedCents: 2_000 * (2 + Math.floor(r() * 10)) });
      } else {
        measures.push({ measureId: id(), kind: 'consultation', riskIds: [risk.riskId], justification: 'support', providerType: risk.type === 'family' ? 'social_pedagogue' : 'psychologist', plannedMinutes: 45 * (2 + Math.floor(r() * 4)) });
      }
    }
    const fate = weighted(r, FATE_SHARES);
    const consultations: SimConsultation[] = [];
    const claims: SimClaim[] = [];
    let evaluation: SimEvaluation | null = null;
    if (fate === 'approved') {
      for (const m of measures) {
        if (m.kind === 'consultation') {
          for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
            consultations.push({ consultationId: `c${consultations.length + 1}`, measureId: m.measureId, providerType: m.providerType, ...(m.subject ? { subject: m.subject } : {}), minutes: pick(r, [40, 45, 60]), confirm: r() < 0.9 });
          }
        } else {
          const amountCents = Math.max(100, Math.round((m.plannedCents * (0.2 + r() * 0.6)) / 100) * 100);
          const x = r();
          const decision = x < 0.05 ? 'reject' : 'approve';
          const approvedCents = decision === 'reject' ? null : x < 0.2 ? Math.round(amountCents * 0.75) : amountCents;
          claims.push({ claimId: `k${claims.length + 1}`, measureId: m.measureId, compensationType: m.compensationType, amountCents, decision, approvedCents, pay: decision === 'approve' && r() < 0.9 });
        }
      }
      if (r() < 0.9) {
        evaluation = {
          riskOutcomes: risks.map((k) => ({ riskId: k.riskId, change: weighted(r, { reduced: 0.6, unchanged: 0.3, increased: 0.1 }) })),
          outcome: weighted(r, { continues: 0.7, completed_year: 0.2, extended_school_year: 0.04, left_school: 0.03, transferred: 0.03 }),
          narrative: 'Semester-end assessment (simulated).',
        };
      }
    }
    return {
      key: `p${String(i + 1).padStart(6, '0')}`,
      learnerRef: `sim-${o.seed}-${String(i + 1).padStart(6, '0')}`,
      school: schools[Math.floor(r() * schools.length)]!,
      grade: 1 + Math.floor(r() * 12),
      risks,
      measures,
      fate,
      consultations,
      claims,
      evaluation,
    };
  });
}
