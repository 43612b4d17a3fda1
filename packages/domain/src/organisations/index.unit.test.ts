import { describe, expect, it } from 'vitest';
import type { Role } from '../actor.js';
import { isDomainError } from '../errors.js';
import {
  checkTokenScope,
  decideRegister,
  evolveRegister,
  initialRegisterState,
  linkedIds,
  maySeeOrganisation,
  type OrganisationCommand,
  type RegisterState,
  type ScopeClaims,
  type ScopeEntries,
} from './index.js';

const national = { now: '2025-09-01T00:00:00.000Z', actor: { id: 'ikvd', role: 'national_coordinator' as Role } };
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isDomainError(e) ? e.code : String(e);
  }
  return 'accepted';
};
function apply(state: RegisterState, ...commands: OrganisationCommand[]): RegisterState {
  for (const c of commands) for (const e of decideRegister(c, state, national)) state = evolveRegister(state, e, { version: state.version + 1 });
  return state;
}
const partner = (partnerId: string, type: 'municipality' | 'state_vocational' = 'municipality', active = true): OrganisationCommand => ({
  type: 'PutPartner',
  data: { partnerId, type, name: `Partner ${partnerId}`, active },
});
const muni = (municipalityId: string, partnerId = municipalityId, active = true): OrganisationCommand => ({
  type: 'PutMunicipality',
  data: { municipalityId, name: `Municipality ${municipalityId}`, partnerId, active },
});
const school = (schoolId: string, municipalityId: string, vocationalPartnerId: string | null = null, active = true): OrganisationCommand => ({
  type: 'PutSchool',
  data: { schoolId, name: `School ${schoolId}`, municipalityId, vocationalPartnerId, active },
});

/** Two municipalities with a school each, and a state vocational school in m1. */
const register = apply(initialRegisterState(), partner('m1'), partner('m2'), partner('voc', 'state_vocational'), muni('m1'), muni('m2'), school('s1', 'm1'), school('s2', 'm2'), school('sv', 'm1', 'voc'));

describe('register decider', () => {
  it("records a municipal school with its municipality's partner, a vocational school with its own", () => {
    expect(register.schools.s1).toEqual({ schoolId: 's1', name: 'School s1', municipalityId: 'm1', partnerId: 'm1', partnerType: 'municipality', active: true });
    expect(register.schools.sv).toMatchObject({ municipalityId: 'm1', partnerId: 'voc', partnerType: 'state_vocational' });
    expect(register.version).toBe(8);
  });

  it('lets only national staff write', () => {
    for (const role of ['preparer', 'school_director', 'municipality_coordinator', 'finance', 'auditor', 'system'] as const) {
      expect(code(() => decideRegister(partner('x'), register, { ...national, actor: { id: 'u', role } }))).toBe('organisation.forbidden_role');
    }
  });

  it('refuses broken links, changed links and a second school on a vocational partner; an identical PUT decides nothing', () => {
    const d = (c: OrganisationCommand) => code(() => decideRegister(c, register, national));
    expect(d(muni('m3', 'nope'))).toBe('organisation.unknown_partner');
    expect(d(muni('m3', 'voc'))).toBe('organisation.partner_type_mismatch');
    expect(d(muni('m1', 'm2'))).toBe('organisation.partner_fixed');
    expect(d(partner('m1', 'state_vocational'))).toBe('organisation.partner_type_fixed');
    expect(d(school('s3', 'nope'))).toBe('organisation.unknown_municipality');
    expect(d(school('s3', 'm1', 'm2'))).toBe('organisation.partner_type_mismatch');
    expect(d(school('s3', 'm1', 'voc'))).toBe('organisation.partner_taken');
    expect(d(school('s1', 'm2'))).toBe('organisation.partner_fixed');
    expect(d({ type: 'PutPartner', data: { partnerId: 'bad id', type: 'municipality', name: 'x', active: true } })).toBe('organisation.invalid_id');
    expect(d({ type: 'PutPartner', data: { partnerId: 'p', type: 'municipality', name: '  ', active: true } })).toBe('organisation.invalid_name');
    expect(decideRegister(school('s1', 'm1'), register, national)).toEqual([]);
    expect(decideRegister(school('s1', 'm1', null, false), register, national)).toMatchObject([{ type: 'SchoolChanged', data: { active: false } }]);
  });
});

const claims = (c: Partial<ScopeClaims>): ScopeClaims => ({ school: null, municipality: null, partner: null, partnerType: null, ...c });
/** What the API does: look up the named ids, then the anchor's links. */
function check(role: Role, c: ScopeClaims, state = register) {
  const look = (m: string | null, p: string | null, s: string | null): ScopeEntries => ({
    school: s !== null ? (state.schools[s] ?? null) : null,
    municipality: m !== null ? (state.municipalities[m] ?? null) : null,
    partner: p !== null ? (state.partners[p] ?? null) : null,
  });
  const first = look(c.municipality, c.partner, c.school);
  const more = linkedIds(role, c, first);
  return checkTokenScope(role, c, look(c.municipality ?? more.municipality, c.partner ?? more.partner, c.school));
}

describe('tokens against the register', () => {
  it("refuses a coordinator of m1 naming m2's partner (the finding), and takes the scope from the register", () => {
    expect(check('municipality_coordinator', claims({ municipality: 'm1', partner: 'm2' }))).toMatchObject({ ok: false, claim: 'partner' });
    expect(check('municipality_coordinator', claims({ municipality: 'm1' }))).toEqual({
      ok: true,
      scope: { schoolId: null, municipalityId: 'm1', partnerId: 'm1', partnerType: 'municipality' },
    });
    expect(check('municipality_coordinator', claims({ municipality: 'm1', school: 's2' }))).toMatchObject({ ok: false, claim: 'school' });
    expect(check('municipality_coordinator', claims({ municipality: 'm1', partnerType: 'state_vocational' }))).toMatchObject({ ok: false, claim: 'partnerType' });
  });

  it("refuses school staff whose municipality, partner or type are not the school's, and unknown or closed schools", () => {
    for (const role of ['preparer', 'school_director'] as const) {
      expect(check(role, claims({ school: 's1', municipality: 'm1', partner: 'm1', partnerType: 'municipality' }))).toMatchObject({ ok: true });
      expect(check(role, claims({ school: 's1', municipality: 'm2', partner: 'm1' }))).toMatchObject({ ok: false, claim: 'municipality' });
      expect(check(role, claims({ school: 's1', municipality: 'm1', partner: 'm2' }))).toMatchObject({ ok: false, claim: 'partner' });
      expect(check(role, claims({ school: 'sv', municipality: 'm1', partner: 'voc', partnerType: 'municipality' }))).toMatchObject({ ok: false, claim: 'partnerType' });
      expect(check(role, claims({ school: 'nope', municipality: 'm1', partner: 'm1' }))).toMatchObject({ ok: false, claim: 'school' });
      expect(check(role, claims({ municipality: 'm1', partner: 'm1' }))).toMatchObject({ ok: false, claim: 'school' });
    }
    expect(check('preparer', claims({ school: 'sv' }))).toEqual({
      ok: true,
      scope: { schoolId: 'sv', municipalityId: 'm1', partnerId: 'voc', partnerType: 'state_vocational' },
    });
    const closed = apply(register, school('s1', 'm1', null, false));
    expect(check('preparer', claims({ school: 's1' }), closed)).toMatchObject({ ok: false, claim: 'school' });
    const muniClosed = apply(register, muni('m1', 'm1', false));
    expect(check('preparer', claims({ school: 's1' }), muniClosed)).toMatchObject({ ok: false, claim: 'school' });
    const partnerClosed = apply(register, partner('m1', 'municipality', false));
    expect(check('municipality_coordinator', claims({ municipality: 'm1' }), partnerClosed)).toMatchObject({ ok: false });
    expect(check('finance', claims({ partner: 'm1' }), partnerClosed)).toMatchObject({ ok: false, claim: 'partner' });
  });

  it("refuses finance naming another partner's school or municipality; leaves national staff, auditors and scopeless tokens alone", () => {
    expect(check('finance', claims({ partner: 'm1', partnerType: 'municipality' }))).toMatchObject({ ok: true, scope: { partnerId: 'm1' } });
    expect(check('finance', claims({ partner: 'm1', school: 's2' }))).toMatchObject({ ok: false, claim: 'school' });
    expect(check('finance', claims({ partner: 'm1', municipality: 'm2' }))).toMatchObject({ ok: false, claim: 'municipality' });
    expect(check('finance', claims({ partner: 'voc', partnerType: 'municipality' }))).toMatchObject({ ok: false, claim: 'partnerType' });
    expect(check('finance', claims({ partner: 'ghost' }))).toMatchObject({ ok: false, claim: 'partner' });
    expect(check('national_coordinator', claims({ school: 'ghost' }))).toMatchObject({ ok: true });
    expect(check('auditor', claims({}))).toMatchObject({ ok: true });
    expect(check('preparer', claims({}))).toEqual({ ok: true, scope: { schoolId: null, municipalityId: null, partnerId: null, partnerType: null } });
  });
});

describe('who reads which entries', () => {
  const s1 = { kind: 'school', id: 's1', municipalityId: 'm1', partnerId: 'm1' } as const;
  const s2 = { kind: 'school', id: 's2', municipalityId: 'm2', partnerId: 'm2' } as const;
  const m1 = { kind: 'municipality', id: 'm1', municipalityId: 'm1', partnerId: 'm1' } as const;
  const p1 = { kind: 'partner', id: 'm1', municipalityId: null, partnerId: 'm1' } as const;
  const scope = { schoolId: 's1', municipalityId: 'm1', partnerId: 'm1' };
  it('school staff their school only; a coordinator the municipality, its schools and partner; finance its partner; national all', () => {
    expect([s1, s2, m1, p1].map((o) => maySeeOrganisation('preparer', scope, o))).toEqual([true, false, false, false]);
    expect([s1, s2, m1, p1].map((o) => maySeeOrganisation('municipality_coordinator', { ...scope, schoolId: null }, o))).toEqual([true, false, true, true]);
    expect([s1, s2, m1, p1].map((o) => maySeeOrganisation('finance', { schoolId: null, municipalityId: null, partnerId: 'm1' }, o))).toEqual([true, false, true, true]);
    expect([s1, s2, m1, p1].map((o) => maySeeOrganisation('auditor', { schoolId: null, municipalityId: null, partnerId: null }, o))).toEqual([true, true, true, true]);
    expect([s1, s2, m1, p1].map((o) => maySeeOrganisation('preparer', { schoolId: null, municipalityId: null, partnerId: null }, o))).toEqual([false, false, false, false]);
  });
});
