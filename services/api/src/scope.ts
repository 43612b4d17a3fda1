// Tenancy: which plans an actor may see. An object outside the caller's scope is answered as 404, so its
// existence does not leak.

import type { RequestActor } from './plugins/auth.js';

export interface ScopedObject {
  readonly school_id: string;
  readonly municipality_id: string;
  readonly partner_id: string;
}

export function canSee(actor: RequestActor, o: ScopedObject): boolean {
  switch (actor.role) {
    case 'preparer':
    case 'school_director':
      return actor.schoolId !== null && actor.schoolId === o.school_id;
    case 'municipality_coordinator':
      return actor.municipalityId !== null && actor.municipalityId === o.municipality_id;
    case 'finance':
      return actor.partnerId !== null && actor.partnerId === o.partner_id;
    case 'national_coordinator':
    case 'auditor':
      return true;
    case 'system':
      return false;
  }
}
