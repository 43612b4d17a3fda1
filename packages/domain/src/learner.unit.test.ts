import { describe, expect, it } from 'vitest';
import { ROLES, type ActorScope } from './actor.js';
import { mayActOnLearner, mayReachLearners, mayReadLearnerAccessLog } from './learner.js';

const schoolA: ActorScope = { schoolId: 'school-a', municipalityId: 'muni-a', partnerId: 'muni-a' };
const muniA: ActorScope = { schoolId: null, municipalityId: 'muni-a', partnerId: 'muni-a' };
const nowhere: ActorScope = { schoolId: null, municipalityId: null, partnerId: null };

describe('who reaches a school\'s learners', () => {
  it('lets in only the school\'s own preparers and directors, and the national coordinator', () => {
    expect(mayReachLearners('preparer', schoolA, 'school-a')).toBe(true);
    expect(mayReachLearners('school_director', schoolA, 'school-a')).toBe(true);
    expect(mayReachLearners('national_coordinator', nowhere, 'school-a')).toBe(true);
    expect(mayReachLearners('preparer', schoolA, 'school-b')).toBe(false);
    expect(mayReachLearners('school_director', schoolA, 'school-b')).toBe(false);
    expect(mayReachLearners('preparer', nowhere, 'school-a')).toBe(false);
    for (const role of ['municipality_coordinator', 'finance', 'auditor', 'system'] as const) {
      expect(mayReachLearners(role, role === 'municipality_coordinator' ? muniA : schoolA, 'school-a'), role).toBe(false);
    }
  });

  it('keeps erasure for directors and national staff, transfers for national staff', () => {
    for (const role of ROLES) {
      expect(mayActOnLearner(role, 'erase'), role).toBe(role === 'school_director' || role === 'national_coordinator');
      expect(mayActOnLearner(role, 'transfer'), role).toBe(role === 'national_coordinator');
      expect(mayActOnLearner(role, 'read_identity'), role).toBe(['preparer', 'school_director', 'national_coordinator'].includes(role));
    }
  });

  it('shows the access log to auditors and the national coordinator only', () => {
    expect(ROLES.filter(mayReadLearnerAccessLog)).toEqual(['national_coordinator', 'auditor']);
  });
});
