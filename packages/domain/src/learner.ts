// Who may reach a learner registered by a school. A learner belongs to the school that registered it (or
// that it was transferred to); its school-local reference means nothing anywhere else. This is the one
// place the rule lives: the API only asks it and answers 404 where it says no.

import type { ActorScope, Role } from './actor.js';

/** What is done to a learner. */
export type LearnerAct =
  | 'register'
  | 'read_identity'
  | 'write_identity'
  | 'erase'
  | 'transfer';

export const LEARNER_ACTS: readonly LearnerAct[] = ['register', 'read_identity', 'write_identity', 'erase', 'transfer'];

/**
 * Whether an actor may reach a school's learners at all (see they exist): the school's own preparers and
 * directors, and the national coordinator. Municipality staff, finance and auditors never see an identity
 * (auditors work on pseudonyms and read the access log instead).
 */
export function mayReachLearners(role: Role, actor: ActorScope, schoolId: string): boolean {
  switch (role) {
    case 'preparer':
    case 'school_director':
      return actor.schoolId !== null && actor.schoolId === schoolId;
    case 'national_coordinator':
      return true;
    case 'municipality_coordinator':
    case 'finance':
    case 'auditor':
    case 'system':
      return false;
  }
}

/**
 * Whether an actor who may reach the school's learners may also do this act. Erasure is the owning school's
 * director's or national staff's; a transfer is national staff's alone, since a school that could move a learner
 * into another school would learn which references that school uses and could take them up; registering and
 * the identity itself are all school staff's.
 */
export function mayActOnLearner(role: Role, act: LearnerAct): boolean {
  switch (act) {
    case 'register':
    case 'read_identity':
    case 'write_identity':
      return role === 'preparer' || role === 'school_director' || role === 'national_coordinator';
    case 'erase':
      return role === 'school_director' || role === 'national_coordinator';
    case 'transfer':
      return role === 'national_coordinator';
  }
}

/** Who may list the learner access log (every identity read, registration, change, transfer, erasure). */
export function mayReadLearnerAccessLog(role: Role): boolean {
  return role === 'auditor' || role === 'national_coordinator';
}
