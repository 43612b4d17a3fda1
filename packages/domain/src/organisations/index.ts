// The register of organisations: partners (municipalities and state vocational schools), municipalities and
// schools, with the links school → municipality → partner. National staff keep it; every token's scope is
// checked against it (checkTokenScope), and a plan is drafted with its school's links as registered here.
// A municipal school's partner is its municipality's partner; a state vocational school is its own partner
// (a partner of type state_vocational that no other school has), located in a municipality. Links that
// money and plans hang on never change once registered: a partner's type, a municipality's partner, a
// school's partner. Organisations are closed (active: false), never removed.

import type { ActorScope, Actor, Role } from '../actor.js';
import { assertNever } from '../assert.js';
import { DomainError } from '../errors.js';
import type { MunicipalityId, PartnerId, PartnerType, SchoolId } from '../ids.js';
import { PARTNER_TYPES } from '../ids.js';

/** What an organisation id may look like (it appears in workflow ids, event metadata and URLs). */
export const ORGANISATION_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
const idRe = new RegExp(ORGANISATION_ID_PATTERN);
export const ORGANISATION_NAME_MAX = 200;

export type OrganisationKind = 'partner' | 'municipality' | 'school';
export const ORGANISATION_KINDS: readonly OrganisationKind[] = ['partner', 'municipality', 'school'];

export interface PartnerRecord {
  readonly partnerId: PartnerId;
  readonly type: PartnerType;
  readonly name: string;
  readonly active: boolean;
}

export interface MunicipalityRecord {
  readonly municipalityId: MunicipalityId;
  readonly name: string;
  /** A partner of type municipality. */
  readonly partnerId: PartnerId;
  readonly active: boolean;
}

export interface SchoolRecord {
  readonly schoolId: SchoolId;
  readonly name: string;
  readonly municipalityId: MunicipalityId;
  /** Resolved when registered: the municipality's partner, or the school's own state vocational partner. */
  readonly partnerId: PartnerId;
  readonly partnerType: PartnerType;
  readonly active: boolean;
}

export type OrganisationCommand =
  | { readonly type: 'PutPartner'; readonly data: PartnerRecord }
  | { readonly type: 'PutMunicipality'; readonly data: MunicipalityRecord }
  | {
      readonly type: 'PutSchool';
      readonly data: {
        readonly schoolId: SchoolId;
        readonly name: string;
        readonly municipalityId: MunicipalityId;
        /** A state vocational school's own partner; null for a municipal school. */
        readonly vocationalPartnerId: PartnerId | null;
        readonly active: boolean;
      };
    };

type By = { readonly by: string };
export type OrganisationEvent =
  | { readonly type: 'PartnerRegistered'; readonly data: PartnerRecord & By }
  | { readonly type: 'PartnerChanged'; readonly data: PartnerRecord & By }
  | { readonly type: 'MunicipalityRegistered'; readonly data: MunicipalityRecord & By }
  | { readonly type: 'MunicipalityChanged'; readonly data: MunicipalityRecord & By }
  | { readonly type: 'SchoolRegistered'; readonly data: SchoolRecord & By }
  | { readonly type: 'SchoolChanged'; readonly data: SchoolRecord & By };

export const ORGANISATION_EVENT_SCHEMA_VERSIONS: { readonly [T in OrganisationEvent['type']]: number } = {
  PartnerRegistered: 1,
  PartnerChanged: 1,
  MunicipalityRegistered: 1,
  MunicipalityChanged: 1,
  SchoolRegistered: 1,
  SchoolChanged: 1,
};

/** The whole register (some hundreds of entries): small enough for one workflow to hold and check. */
export interface RegisterState {
  readonly version: number;
  readonly partners: Readonly<Record<PartnerId, PartnerRecord>>;
  readonly municipalities: Readonly<Record<MunicipalityId, MunicipalityRecord>>;
  readonly schools: Readonly<Record<SchoolId, SchoolRecord>>;
}

export const initialRegisterState = (): RegisterState => ({ version: 0, partners: {}, municipalities: {}, schools: {} });

export interface RegisterContext {
  readonly now: string;
  readonly actor: Actor;
}

/** Only national staff keep the register. */
export const REGISTER_KEEPERS: readonly Role[] = ['national_coordinator'];

const own = <T>(r: Readonly<Record<string, T>>, id: string): T | undefined => (Object.prototype.hasOwnProperty.call(r, id) ? r[id] : undefined);

function checkId(id: string, field: string): void {
  if (typeof id !== 'string' || !idRe.test(id)) throw new DomainError('organisation.invalid_id', 'rule', `${field} must match ${ORGANISATION_ID_PATTERN}`, field);
}

function checkName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed.length === 0 || trimmed.length > ORGANISATION_NAME_MAX) {
    throw new DomainError('organisation.invalid_name', 'rule', `name must be 1–${ORGANISATION_NAME_MAX} characters, not blank`, 'data.name');
  }
  return trimmed;
}

const sameRecord = (a: object | undefined, b: object): boolean =>
  a !== undefined && Object.entries(b).every(([k, v]) => (a as Record<string, unknown>)[k] === v);

export function decideRegister(command: OrganisationCommand, state: RegisterState, ctx: RegisterContext): OrganisationEvent[] {
  if (!REGISTER_KEEPERS.includes(ctx.actor.role)) {
    throw new DomainError('organisation.forbidden_role', 'forbidden', `a ${ctx.actor.role} may not change the register; allowed: ${REGISTER_KEEPERS.join(', ')}`);
  }
  const by = ctx.actor.id;
  switch (command.type) {
    case 'PutPartner': {
      const d = command.data;
      checkId(d.partnerId, 'partnerId');
      if (!PARTNER_TYPES.includes(d.type)) throw new DomainError('organisation.invalid_partner_type', 'rule', `type must be one of ${PARTNER_TYPES.join(', ')}`, 'data.type');
      const record: PartnerRecord = { partnerId: d.partnerId, type: d.type, name: checkName(d.name), active: d.active === true };
      const existing = own(state.partners, d.partnerId);
      if (existing && existing.type !== record.type) {
        throw new DomainError('organisation.partner_type_fixed', 'conflict', `partner ${d.partnerId} is registered as ${existing.type}; its type cannot change`, 'data.type');
      }
      if (sameRecord(existing, record)) return [];
      return [{ type: existing ? 'PartnerChanged' : 'PartnerRegistered', data: { ...record, by } }];
    }
    case 'PutMunicipality': {
      const d = command.data;
      checkId(d.municipalityId, 'municipalityId');
      checkId(d.partnerId, 'data.partnerId');
      const record: MunicipalityRecord = { municipalityId: d.municipalityId, name: checkName(d.name), partnerId: d.partnerId, active: d.active === true };
      const existing = own(state.municipalities, d.municipalityId);
      if (existing && existing.partnerId !== record.partnerId) {
        throw new DomainError('organisation.partner_fixed', 'conflict', `municipality ${d.municipalityId} belongs to partner ${existing.partnerId}; that cannot change`, 'data.partnerId');
      }
      const partner = own(state.partners, d.partnerId);
      if (!partner) throw new DomainError('organisation.unknown_partner', 'rule', `no partner ${d.partnerId} is registered`, 'data.partnerId');
      if (partner.type !== 'municipality') {
        throw new DomainError('organisation.partner_type_mismatch', 'rule', `partner ${d.partnerId} is ${partner.type}; a municipality's partner is of type municipality`, 'data.partnerId');
      }
      if (record.active && !partner.active) throw new DomainError('organisation.partner_closed', 'rule', `partner ${d.partnerId} is closed`, 'data.partnerId');
      if (sameRecord(existing, record)) return [];
      return [{ type: existing ? 'MunicipalityChanged' : 'MunicipalityRegistered', data: { ...record, by } }];
    }
    case 'PutSchool': {
      const d = command.data;
      checkId(d.schoolId, 'schoolId');
      checkId(d.municipalityId, 'data.municipalityId');
      if (d.vocationalPartnerId !== null) checkId(d.vocationalPartnerId, 'data.vocationalPartnerId');
      const active = d.active === true;
      const municipality = own(state.municipalities, d.municipalityId);
      if (!municipality) throw new DomainError('organisation.unknown_municipality', 'rule', `no municipality ${d.municipalityId} is registered`, 'data.municipalityId');
      if (active && !municipality.active) throw new DomainError('organisation.municipality_closed', 'rule', `municipality ${d.municipalityId} is closed`, 'data.municipalityId');
      let partnerId = municipality.partnerId;
      let partnerType: PartnerType = 'municipality';
      if (d.vocationalPartnerId !== null) {
        const partner = own(state.partners, d.vocationalPartnerId);
        const field = 'data.vocationalPartnerId';
        if (!partner) throw new DomainError('organisation.unknown_partner', 'rule', `no partner ${d.vocationalPartnerId} is registered`, field);
        if (partner.type !== 'state_vocational') {
          throw new DomainError('organisation.partner_type_mismatch', 'rule', `partner ${d.vocationalPartnerId} is ${partner.type}, not state_vocational`, field);
        }
        if (active && !partner.active) throw new DomainError('organisation.partner_closed', 'rule', `partner ${d.vocationalPartnerId} is closed`, field);
        const other = Object.values(state.schools).find((s) => s.partnerId === partner.partnerId && s.schoolId !== d.schoolId);
        if (other) throw new DomainError('organisation.partner_taken', 'conflict', `partner ${partner.partnerId} is already school ${other.schoolId}'s own`, field);
        partnerId = partner.partnerId;
        partnerType = 'state_vocational';
      }
      const existing = own(state.schools, d.schoolId);
      if (existing && existing.partnerId !== partnerId) {
        throw new DomainError('organisation.partner_fixed', 'conflict', `school ${d.schoolId} belongs to partner ${existing.partnerId}; that cannot change`, d.vocationalPartnerId !== null ? 'data.vocationalPartnerId' : 'data.municipalityId');
      }
      const record: SchoolRecord = { schoolId: d.schoolId, name: checkName(d.name), municipalityId: d.municipalityId, partnerId, partnerType, active };
      if (sameRecord(existing, record)) return [];
      return [{ type: existing ? 'SchoolChanged' : 'SchoolRegistered', data: { ...record, by } }];
    }
    default:
      return assertNever(command);
  }
}

const withoutBy = <T extends By>(d: T): Omit<T, 'by'> => {
  const { by: _by, ...rest } = d;
  return rest;
};

export function evolveRegister(state: RegisterState, event: OrganisationEvent, meta: { readonly version: number }): RegisterState {
  switch (event.type) {
    case 'PartnerRegistered':
    case 'PartnerChanged':
      return { ...state, version: meta.version, partners: { ...state.partners, [event.data.partnerId]: withoutBy(event.data) } };
    case 'MunicipalityRegistered':
    case 'MunicipalityChanged':
      return { ...state, version: meta.version, municipalities: { ...state.municipalities, [event.data.municipalityId]: withoutBy(event.data) } };
    case 'SchoolRegistered':
    case 'SchoolChanged':
      return { ...state, version: meta.version, schools: { ...state.schools, [event.data.schoolId]: withoutBy(event.data) } };
    default:
      return assertNever(event);
  }
}

// ---- Tokens against the register ----

/** The organisations a bearer token names. */
export interface ScopeClaims {
  readonly school: string | null;
  readonly municipality: string | null;
  readonly partner: string | null;
  readonly partnerType: PartnerType | null;
}

/** The register's entries for the ids a token names (null: not registered). */
export interface ScopeEntries {
  readonly school: SchoolRecord | null;
  readonly municipality: MunicipalityRecord | null;
  readonly partner: PartnerRecord | null;
}

export type ScopeCheck =
  | { readonly ok: true; readonly scope: ActorScope & { readonly partnerType: PartnerType | null } }
  | { readonly ok: false; readonly claim: keyof ScopeClaims; readonly reason: string };

/** Roles whose view is everything: their tokens name no organisation the register must confirm. */
const UNSCOPED: readonly Role[] = ['national_coordinator', 'auditor'];

/** Which claim a role's scope hangs on (its tenant); every other claim the token names must agree with it. */
const ANCHOR: Partial<Record<Role, 'school' | 'municipality' | 'partner'>> = {
  preparer: 'school',
  school_director: 'school',
  municipality_coordinator: 'municipality',
  finance: 'partner',
};

/** Whether a role's token is checked against the register at all. */
export const isScopedRole = (role: Role): boolean => !UNSCOPED.includes(role);

/**
 * Which claims must agree with which register entries, per role. School staff are their school's: the
 * municipality, partner and partner type named must be the school's as registered. A municipality coordinator is
 * the municipality's: its partner and type, and any school named, must be that municipality's. Finance staff
 * are their partner's: the type, and any municipality or school named, must be that partner's. Every organisation
 * named must be registered and open, and so must the ones the anchor hangs on (a school's municipality and
 * partner, a municipality's partner: `entries` holds them where the token does not name them, see linkedIds). A
 * token naming no organisation passes with an empty scope (it sees nothing); national staff and auditors are not
 * checked. The scope returned is the register's, so what the caller acts for never comes from the token alone.
 */
export function checkTokenScope(role: Role, claims: ScopeClaims, entries: ScopeEntries): ScopeCheck {
  const fromClaims = { schoolId: claims.school, municipalityId: claims.municipality, partnerId: claims.partner, partnerType: claims.partnerType };
  if (!isScopedRole(role)) return { ok: true, scope: fromClaims };
  const anchor = ANCHOR[role];
  if (anchor === undefined) return { ok: false, claim: 'school', reason: `a ${role} acts through no token` };
  const named = claims.school !== null || claims.municipality !== null || claims.partner !== null || claims.partnerType !== null;
  if (!named) return { ok: true, scope: fromClaims };
  const refuse = (claim: keyof ScopeClaims, reason: string): ScopeCheck => ({ ok: false, claim, reason });
  if (claims[anchor] === null) return refuse(anchor, `a ${role}'s token must name its ${anchor}`);

  // Each named organisation: registered (the entry looked up for that very id) and open.
  const { school, municipality, partner } = entries;
  if (claims.school !== null) {
    if (school?.schoolId !== claims.school) return refuse('school', `school ${claims.school} is not registered`);
    if (!school.active) return refuse('school', `school ${claims.school} is closed`);
  }
  if (claims.municipality !== null) {
    if (municipality?.municipalityId !== claims.municipality) return refuse('municipality', `municipality ${claims.municipality} is not registered`);
    if (!municipality.active) return refuse('municipality', `municipality ${claims.municipality} is closed`);
  }
  if (claims.partner !== null) {
    if (partner?.partnerId !== claims.partner) return refuse('partner', `partner ${claims.partner} is not registered`);
    if (!partner.active) return refuse('partner', `partner ${claims.partner} is closed`);
  }

  // What the anchor's entry says the rest must be.
  let expected: { municipalityId: string | null; partnerId: string; partnerType: PartnerType };
  if (anchor === 'school') {
    expected = { municipalityId: school!.municipalityId, partnerId: school!.partnerId, partnerType: school!.partnerType };
  } else if (anchor === 'municipality') {
    expected = { municipalityId: municipality!.municipalityId, partnerId: municipality!.partnerId, partnerType: 'municipality' };
    if (school && school.municipalityId !== expected.municipalityId) return refuse('school', `school ${school.schoolId} is not in municipality ${expected.municipalityId}`);
  } else {
    expected = { municipalityId: null, partnerId: partner!.partnerId, partnerType: partner!.type };
    if (claims.municipality !== null && municipality!.partnerId !== expected.partnerId) {
      return refuse('municipality', `municipality ${claims.municipality} is not partner ${expected.partnerId}'s`);
    }
    if (claims.school !== null && school!.partnerId !== expected.partnerId) return refuse('school', `school ${claims.school} is not partner ${expected.partnerId}'s`);
  }
  if (anchor === 'school' && claims.municipality !== null && claims.municipality !== expected.municipalityId) {
    return refuse('municipality', `municipality ${claims.municipality} is not the school's (the register says ${expected.municipalityId})`);
  }
  if (claims.partner !== null && claims.partner !== expected.partnerId) {
    return refuse('partner', `partner ${claims.partner} is not the ${anchor}'s (the register says ${expected.partnerId})`);
  }
  if (claims.partnerType !== null && claims.partnerType !== expected.partnerType) {
    return refuse('partnerType', `partner type ${claims.partnerType} is not the ${anchor}'s (the register says ${expected.partnerType})`);
  }
  // The organisations the anchor hangs on must be open too (a closed municipality closes its schools).
  if (anchor === 'school' && (municipality?.municipalityId !== expected.municipalityId || !municipality.active)) {
    return refuse('school', `school ${claims.school}'s municipality ${expected.municipalityId} is closed`);
  }
  if (anchor !== 'partner' && (partner?.partnerId !== expected.partnerId || !partner.active)) {
    return refuse(anchor, `the ${anchor}'s partner ${expected.partnerId} is closed`);
  }
  return {
    ok: true,
    scope: {
      schoolId: claims.school,
      municipalityId: anchor === 'partner' ? claims.municipality : expected.municipalityId,
      partnerId: expected.partnerId,
      partnerType: expected.partnerType,
    },
  };
}

/**
 * The entries checkTokenScope needs beyond the ones the token names: the anchor's municipality and partner, once
 * the anchor's own entry is known. Null where the token names it already or nothing more is needed.
 */
export function linkedIds(role: Role, claims: ScopeClaims, entries: ScopeEntries): { readonly municipality: string | null; readonly partner: string | null } {
  const anchor = ANCHOR[role];
  if (!isScopedRole(role) || anchor === undefined) return { municipality: null, partner: null };
  if (anchor === 'school' && entries.school) {
    return { municipality: claims.municipality === null ? entries.school.municipalityId : null, partner: claims.partner === null ? entries.school.partnerId : null };
  }
  if (anchor === 'municipality' && entries.municipality) return { municipality: null, partner: claims.partner === null ? entries.municipality.partnerId : null };
  return { municipality: null, partner: null };
}

// ---- Who may read which entries ----

/** An entry as the visibility rule sees it: a partner is its own partner, a municipality its own municipality. */
export interface OrganisationRef {
  readonly kind: OrganisationKind;
  readonly id: string;
  readonly municipalityId: string | null;
  readonly partnerId: string | null;
}

/** The entries of a kind an actor may read, as one equality on the entry (id, municipality or partner). */
export type OrganisationFilter = 'all' | 'none' | { readonly column: 'id' | 'municipalityId' | 'partnerId'; readonly value: string };

/**
 * Need to know: school staff read their own school's entry; a municipality coordinator the municipality, its
 * schools and its partner; finance staff their partner and the municipalities and schools under it; national staff
 * and auditors everything. Outside it an entry does not exist for the caller.
 */
export function organisationFilter(role: Role, actor: ActorScope, kind: OrganisationKind): OrganisationFilter {
  switch (role) {
    case 'national_coordinator':
    case 'auditor':
      return 'all';
    case 'preparer':
    case 'school_director':
      return kind === 'school' && actor.schoolId !== null ? { column: 'id', value: actor.schoolId } : 'none';
    case 'municipality_coordinator':
      if (kind === 'partner') return actor.partnerId !== null ? { column: 'id', value: actor.partnerId } : 'none';
      return actor.municipalityId !== null ? { column: 'municipalityId', value: actor.municipalityId } : 'none';
    case 'finance':
      return actor.partnerId !== null ? { column: 'partnerId', value: actor.partnerId } : 'none';
    case 'system':
      return 'none';
    default:
      return assertNever(role);
  }
}

export function maySeeOrganisation(role: Role, actor: ActorScope, o: OrganisationRef): boolean {
  const f = organisationFilter(role, actor, o.kind);
  if (f === 'all' || f === 'none') return f === 'all';
  return o[f.column] === f.value;
}

/** An entry's place for the visibility rule. */
export function organisationRef(kind: 'partner', r: PartnerRecord): OrganisationRef;
export function organisationRef(kind: 'municipality', r: MunicipalityRecord): OrganisationRef;
export function organisationRef(kind: 'school', r: SchoolRecord): OrganisationRef;
export function organisationRef(kind: OrganisationKind, r: PartnerRecord | MunicipalityRecord | SchoolRecord): OrganisationRef {
  if (kind === 'partner') {
    const p = r as PartnerRecord;
    return { kind, id: p.partnerId, municipalityId: null, partnerId: p.partnerId };
  }
  if (kind === 'municipality') {
    const m = r as MunicipalityRecord;
    return { kind, id: m.municipalityId, municipalityId: m.municipalityId, partnerId: m.partnerId };
  }
  const s = r as SchoolRecord;
  return { kind, id: s.schoolId, municipalityId: s.municipalityId, partnerId: s.partnerId };
}
