// Tenancy: which plans an actor may see. An object outside the caller's scope is answered as 404, so its
// existence does not leak.

import { maySee } from '@iap/domain';
import type { RequestActor } from './plugins/auth.js';

export interface ScopedObject {
  readonly school_id: string;
  readonly municipality_id: string;
  readonly partner_id: string;
}

/** The domain's tenancy rule (maySee) for a projection row. */
export function canSee(actor: RequestActor, o: ScopedObject): boolean {
  return maySee(actor.role, actor, { schoolId: o.school_id, municipalityId: o.municipality_id, partnerId: o.partner_id });
}

/** The plans an actor may see, as a filter; null when nothing is visible. Mirrors the domain's maySee. */
export function scopeOf(actor: RequestActor): { column: 'school_id' | 'municipality_id' | 'partner_id'; value: string } | 'all' | null {
  switch (actor.role) {
    case 'preparer':
    case 'school_director':
      return actor.schoolId !== null ? { column: 'school_id', value: actor.schoolId } : null;
    case 'municipality_coordinator':
      return actor.municipalityId !== null ? { column: 'municipality_id', value: actor.municipalityId } : null;
    case 'finance':
      return actor.partnerId !== null ? { column: 'partner_id', value: actor.partnerId } : null;
    case 'national_coordinator':
    case 'auditor':
      return 'all';
    case 'system':
      return null;
    default: {
      const never: never = actor.role;
      return never;
    }
  }
}
