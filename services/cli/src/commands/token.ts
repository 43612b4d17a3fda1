// `iap token`: which scope each role's token must name, so that a token the API would later refuse or
// misread is refused here, when it is made, with the option that is missing.

import type { TokenSubject } from '@iap/runtime';

export const TOKEN_ROLES = ['preparer', 'school_director', 'municipality_coordinator', 'national_coordinator', 'finance', 'auditor'] as const;
export const PARTNER_TYPES = ['municipality', 'state_vocational'] as const;

type ScopeOption = 'school' | 'municipality' | 'partner' | 'partnerType';
const OPTION: Record<ScopeOption, string> = { school: '--school', municipality: '--municipality', partner: '--partner', partnerType: '--partner-type' };

/** A school's staff act for their school's partner (a plan is made under it); finance staff work one partner's claims. */
const REQUIRED: Record<(typeof TOKEN_ROLES)[number], readonly ScopeOption[]> = {
  preparer: ['school', 'municipality', 'partner', 'partnerType'],
  school_director: ['school', 'municipality', 'partner', 'partnerType'],
  municipality_coordinator: ['municipality'],
  finance: ['partner', 'partnerType'],
  national_coordinator: [],
  auditor: [],
};

export interface TokenOptions {
  readonly role: string;
  readonly sub: string;
  readonly school?: string;
  readonly municipality?: string;
  readonly partner?: string;
  readonly partnerType?: string;
}

/** The token's claims, or the one sentence that says what is missing or wrong. */
export function tokenSubject(o: TokenOptions): TokenSubject | { readonly error: string } {
  const role = TOKEN_ROLES.find((r) => r === o.role);
  if (!role) return { error: `--role must be one of ${TOKEN_ROLES.join(', ')}` };
  if (o.partnerType !== undefined && !PARTNER_TYPES.some((t) => t === o.partnerType)) {
    return { error: `--partner-type must be one of ${PARTNER_TYPES.join(', ')}` };
  }
  const missing = REQUIRED[role].filter((k) => !o[k]);
  if (missing.length) return { error: `a ${role} token needs ${missing.map((k) => OPTION[k]).join(', ')}` };
  if (o.partner && !o.partnerType) return { error: '--partner needs --partner-type (municipality or state_vocational)' };
  if (o.partnerType && !o.partner) return { error: '--partner-type needs --partner' };
  return {
    sub: o.sub,
    role,
    ...(o.school ? { school: o.school } : {}),
    ...(o.municipality ? { municipality: o.municipality } : {}),
    ...(o.partner ? { partner: o.partner } : {}),
    ...(o.partnerType ? { partnerType: o.partnerType as (typeof PARTNER_TYPES)[number] } : {}),
  };
}
