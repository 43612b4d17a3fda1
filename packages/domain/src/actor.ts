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
