// Who did something. Roles are the programme's (../shared/domain.md); the scope says which objects the
// actor may touch: a school, a municipality, a partner, or everything.

export type Role =
  | 'preparer'
  | 'school_director'
  | 'municipality_coordinator'
  | 'national_coordinator'
  | 'finance'
  | 'auditor'
  | 'system';

export const ROLES: readonly Role[] = [
  'preparer',
  'school_director',
  'municipality_coordinator',
  'national_coordinator',
  'finance',
  'auditor',
  'system',
];

export interface Actor {
  readonly id: string;
  readonly role: Role;
}

/** The actor for things the workflow does by itself (timers: reminders, expiry, semester end). */
export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'system' };

/** Where an actor works: the school, municipality and partner its token names (null where it names none). */
export interface ActorScope {
  readonly schoolId: string | null;
  readonly municipalityId: string | null;
  readonly partnerId: string | null;
}

/** Where an object belongs (a plan, a claim). */
export interface ObjectScope {
  readonly schoolId: string;
  readonly municipalityId: string;
  readonly partnerId: string;
}

/**
 * Tenancy: whether an actor may see (and so act on) an object. School staff see their school's, a
 * municipality coordinator the municipality's, finance staff their partner's, national staff and auditors
 * everything; the system actor nothing through the API. Outside it an object does not exist for the actor.
 */
export function maySee(role: Role, actor: ActorScope, o: ObjectScope): boolean {
  switch (role) {
    case 'preparer':
    case 'school_director':
      return actor.schoolId !== null && actor.schoolId === o.schoolId;
    case 'municipality_coordinator':
      return actor.municipalityId !== null && actor.municipalityId === o.municipalityId;
    case 'finance':
      return actor.partnerId !== null && actor.partnerId === o.partnerId;
    case 'national_coordinator':
    case 'auditor':
      return true;
    case 'system':
      return false;
  }
}
