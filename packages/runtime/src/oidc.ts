// Where the OpenID provider is and which of its claims say who a user is: read by the API (to verify the
// provider's access tokens), the console (to sign users in) and the launcher.

import { ConfigError } from './config.js';

/** Claim names in the provider's tokens for each part of a user's role and scope. */
export interface OidcClaimNames {
  readonly role: string;
  readonly school: string;
  readonly municipality: string;
  readonly partner: string;
  readonly partnerType: string;
}

export const DEFAULT_OIDC_CLAIMS: OidcClaimNames = { role: 'role', school: 'school', municipality: 'municipality', partner: 'partner', partnerType: 'partnerType' };
export const DEFAULT_OIDC_AUDIENCE = 'urn:iap:api';

export interface OidcConfig {
  readonly issuer: string;
  /** The `aud` the API's access tokens must carry. */
  readonly audience: string;
  readonly claims: OidcClaimNames;
}

/** IAP_OIDC_ISSUER (unset: no provider), IAP_OIDC_AUDIENCE and IAP_OIDC_CLAIMS (JSON, e.g. {"role":"iap_role"}). */
export function loadOidcConfig(env: NodeJS.ProcessEnv = process.env): OidcConfig | null {
  const issuer = env.IAP_OIDC_ISSUER?.trim();
  if (!issuer) return null;
  try {
    new URL(issuer);
  } catch {
    throw new ConfigError(`IAP_OIDC_ISSUER must be a URL, got "${issuer}"`);
  }
  let claims = DEFAULT_OIDC_CLAIMS;
  if (env.IAP_OIDC_CLAIMS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.IAP_OIDC_CLAIMS);
    } catch (err) {
      throw new ConfigError(`IAP_OIDC_CLAIMS is not JSON: ${String(err)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('IAP_OIDC_CLAIMS must be a JSON object');
    const unknown = Object.keys(parsed).filter((k) => !(k in DEFAULT_OIDC_CLAIMS));
    if (unknown.length) throw new ConfigError(`IAP_OIDC_CLAIMS has unknown fields: ${unknown.join(', ')}`);
    if (Object.values(parsed).some((v) => typeof v !== 'string' || v === '')) throw new ConfigError('IAP_OIDC_CLAIMS values must be claim names');
    claims = { ...DEFAULT_OIDC_CLAIMS, ...(parsed as Partial<OidcClaimNames>) };
  }
  return { issuer: issuer.replace(/\/$/, ''), audience: env.IAP_OIDC_AUDIENCE?.trim() || DEFAULT_OIDC_AUDIENCE, claims };
}
