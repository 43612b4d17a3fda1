import { describe, expect, it } from 'vitest';
import { maySee, ROLES, type ActorScope, type ObjectScope, type Role } from './actor.js';

const plan: ObjectScope = { schoolId: 'school-a', municipalityId: 'muni-a', partnerId: 'muni-a' };
const schoolA: ActorScope = { schoolId: 'school-a', municipalityId: 'muni-a', partnerId: 'muni-a' };
const schoolB: ActorScope = { schoolId: 'school-b', municipalityId: 'muni-a', partnerId: 'muni-a' };
const muniB: ActorScope = { schoolId: null, municipalityId: 'muni-b', partnerId: 'muni-b' };
const none: ActorScope = { schoolId: null, municipalityId: null, partnerId: null };

describe('tenancy (maySee)', () => {
  it('gives school staff their own school only, even inside the same municipality', () => {
    for (const role of ['preparer', 'school_director'] as const) {
      expect(maySee(role, schoolA, plan)).toBe(true);
      expect(maySee(role, schoolB, plan)).toBe(false);
      expect(maySee(role, none, plan)).toBe(false);
    }
  });

  it("gives a municipality coordinator the municipality's schools, finance staff their partner's plans", () => {
    expect(maySee('municipality_coordinator', schoolB, plan)).toBe(true);
    expect(maySee('municipality_coordinator', muniB, plan)).toBe(false);
    expect(maySee('finance', { schoolId: null, municipalityId: null, partnerId: 'muni-a' }, plan)).toBe(true);
    expect(maySee('finance', muniB, plan)).toBe(false);
    expect(maySee('finance', { ...schoolA, partnerId: null }, plan)).toBe(false);
  });

  it('gives national staff and auditors everything, and the system actor nothing through a caller', () => {
    const answers = Object.fromEntries(ROLES.map((r: Role) => [r, maySee(r, none, plan)]));
    expect(answers).toEqual({
      preparer: false,
      school_director: false,
      municipality_coordinator: false,
      national_coordinator: true,
      finance: false,
      auditor: true,
      system: false,
    });
  });
});
