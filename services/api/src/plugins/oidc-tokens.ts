// Access tokens from the OpenID provider (RS256/ES256, verified against its JWKS with `jose`): their
// claims, named as IAP_OIDC_CLAIMS says, become the same TokenClaims as the API's own HS256 tokens.

import type { OidcConfig } from '@iap/runtime';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { HttpProblem } from '../problem.js';
import type { TokenClaims } from './auth.js';

const PROVIDER_ALGS = ['RS256', 'ES256'];

export interface ProviderTokens {
  /** The claims of a provider-signed bearer token; null when the token is not one (e.g. an HS256 token). */
  claimsOf(authorization: string | undefined): Promise<TokenClaims | null>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function providerTokens(config: OidcConfig): ProviderTokens {
  let jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  // The JWKS address comes from the provider's discovery document, read once it is first needed (the
  // API starts even while the provider is down).
  const keys = async (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    if (jwks) return jwks;
    const res = await fetch(`${config.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    const doc = (await res.json()) as { jwks_uri?: unknown; issuer?: unknown };
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery names no jwks_uri');
    jwks = createRemoteJWKSet(new URL(doc.jwks_uri));
    return jwks;
  };
  return {
    async claimsOf(authorization) {
      const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization ?? '');
      if (!m) return null;
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(m[1]!).alg;
      } catch {
        return null;
      }
      if (!alg || !PROVIDER_ALGS.includes(alg)) return null;
      let payload: JWTPayload;
      try {
        const k = await keys();
        ({ payload } = await jwtVerify(m[1]!, k, { issuer: config.issuer, audience: config.audience, algorithms: PROVIDER_ALGS }));
      } catch {
        throw new HttpProblem(401, 'invalid_token', 'the bearer token is not valid or has expired');
      }
      const n = config.claims;
      const partnerType = str(payload[n.partnerType]);
      return {
        sub: str(payload.sub) ?? '',
        role: str(payload[n.role]) as TokenClaims['role'],
        ...(str(payload[n.school]) ? { school: str(payload[n.school])! } : {}),
        ...(str(payload[n.municipality]) ? { municipality: str(payload[n.municipality])! } : {}),
        ...(str(payload[n.partner]) ? { partner: str(payload[n.partner])! } : {}),
        ...(partnerType === 'municipality' || partnerType === 'state_vocational' ? { partnerType } : {}),
      };
    },
  };
}
