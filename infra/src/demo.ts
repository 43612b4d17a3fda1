// Demo identities for a local stack: one token per role, all in one municipal partner's school (the launcher
// registers it), so a newcomer can walk a plan through every step with curl.

import { signToken, type TokenSubject } from '@iap/runtime';

export const DEMO_SUBJECTS: readonly TokenSubject[] = [
  { sub: 'demo-preparer', role: 'preparer', school: 'demo-school-1', municipality: 'demo-muni-1', partner: 'demo-muni-1', partnerType: 'municipality' },
  { sub: 'demo-director', role: 'school_director', school: 'demo-school-1', municipality: 'demo-muni-1', partner: 'demo-muni-1', partnerType: 'municipality' },
  { sub: 'demo-muni-coordinator', role: 'municipality_coordinator', municipality: 'demo-muni-1', partner: 'demo-muni-1', partnerType: 'municipality' },
  { sub: 'demo-national-coordinator', role: 'national_coordinator' },
  { sub: 'demo-finance', role: 'finance', partner: 'demo-muni-1', partnerType: 'municipality', municipality: 'demo-muni-1' },
  { sub: 'demo-auditor', role: 'auditor' },
];

export function demoTokens(secret: string, ttlSeconds = 7 * 24 * 3600): Record<string, string> {
  return Object.fromEntries(DEMO_SUBJECTS.map((s) => [s.role, signToken(secret, s, ttlSeconds)]));
}
