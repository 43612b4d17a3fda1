// The simulated population repeats for a seed and keeps the programme's published proportions.
import { describe, expect, it } from 'vitest';
import { planMix, RISK_TYPE_SHARES, schoolsOf } from './simulate-mix.js';

describe('planMix', () => {
  it('is the same for the same seed and differs for another', () => {
    const o = { seed: 3, plans: 50, municipalities: 4, schools: 20 };
    expect(planMix(o)).toEqual(planMix(o));
    expect(planMix({ ...o, seed: 4 })).not.toEqual(planMix(o));
  });

  it('keeps the published shares: risk types, ~80% of measures on learning risks, ~6.5% vocational schools', () => {
    const plans = planMix({ seed: 1, plans: 5_000, municipalities: 90, schools: 500 });
    for (const [type, share] of Object.entries(RISK_TYPE_SHARES)) {
      const got = plans.filter((p) => p.risks.some((r) => r.type === type)).length / plans.length;
      expect(Math.abs(got - share)).toBeLessThan(0.03);
    }
    const measures = plans.flatMap((p) => p.measures.map((m) => p.risks.find((r) => r.riskId === m.riskIds[0])!.type));
    expect(measures.filter((t) => t === 'learning').length / measures.length).toBeCloseTo(0.8, 1);
    const schools = schoolsOf({ seed: 1, plans: 0, municipalities: 94, schools: 507 });
    expect(schools.filter((s) => s.partnerType === 'state_vocational')).toHaveLength(33);
    expect(new Set(schools.map((s) => s.municipalityId)).size).toBe(94);
  });
});
