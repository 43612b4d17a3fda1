// Bearer JWTs carry who the caller is: a role and a scope (school, municipality, partner). Routes read
// `request.actor`; the token is checked before the body is even parsed, and its scope against the register of
// organisations (the domain's checkTokenScope): a token whose organisations are unknown, closed or do not belong
// together is refused, and the actor's scope is the register's.

import fastifyJwt from '@fastify/jwt';
import type { PartnerType, Role, ScopeClaims } from '@iap/domain';
import { checkTokenScope, isScopedRole, linkedIds, PARTNER_TYPES, ROLES } from '@iap/domain';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { OrganisationDirectory } from '../organisations.js';
import { HttpProblem } from '../problem.js';
import type { ProviderTokens } from './oidc-tokens.js';

export interface TokenClaims {
  readonly sub: string;
  readonly role: Role;
  readonly school?: string;
  readonly municipality?: string;
  readonly partner?: string;
  readonly partnerType?: 'municipality' | 'state_vocational';
}

export interface RequestActor {
  readonly id: string;
  readonly role: Role;
  readonly schoolId: string | null;
  readonly municipalityId: string | null;
  readonly partnerId: string | null;
  readonly partnerType: 'municipality' | 'state_vocational' | null;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenClaims;
    user: TokenClaims;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: RequestActor;
  }
  interface FastifyInstance {
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
}

export interface AuthOptions {
  readonly secret: string;
  readonly organisations: OrganisationDirectory;
  /** The OpenID provider's access tokens, accepted beside the HS256 ones when set. */
  readonly providerTokens?: ProviderTokens | null;
}

const HUMAN_ROLES: readonly Role[] = ROLES.filter((r) => r !== 'system');

/** The organisations a token names; a claim of the wrong shape makes the token invalid, not scopeless. */
function scopeClaims(claims: TokenClaims): ScopeClaims {
  const id = (v: unknown, name: string): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.length === 0 || v.length > 64) throw new HttpProblem(401, 'invalid_token', `the bearer token's ${name} claim is not an organisation id`);
    return v;
  };
  const type = claims.partnerType as unknown;
  if (type !== undefined && type !== null && !PARTNER_TYPES.includes(type as PartnerType)) {
    throw new HttpProblem(401, 'invalid_token', `the bearer token's partnerType claim is not one of ${PARTNER_TYPES.join(', ')}`);
  }
  return {
    school: id(claims.school, 'school'),
    municipality: id(claims.municipality, 'municipality'),
    partner: id(claims.partner, 'partner'),
    partnerType: (type as PartnerType | undefined | null) ?? null,
  };
}

export const authPlugin = fp(async (app: FastifyInstance, opts: AuthOptions) => {
  await app.register(fastifyJwt, { secret: opts.secret, sign: { algorithm: 'HS256' }, verify: { algorithms: ['HS256'] } });
  app.decorateRequest('actor', null as unknown as RequestActor);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    if (!request.headers.authorization) throw new HttpProblem(401, 'unauthenticated', 'a bearer token is required (Authorization: Bearer …)');
    let claims: TokenClaims;
    const fromProvider = (await opts.providerTokens?.claimsOf(request.headers.authorization)) ?? null;
    if (fromProvider) claims = fromProvider;
    else
      try {
        claims = await request.jwtVerify<TokenClaims>();
      } catch {
        throw new HttpProblem(401, 'invalid_token', 'the bearer token is not valid or has expired');
      }
    if (typeof claims.sub !== 'string' || !HUMAN_ROLES.includes(claims.role)) {
      throw new HttpProblem(401, 'invalid_token', 'the bearer token does not name a known role');
    }
    const named = scopeClaims(claims);
    let scope = { schoolId: named.school, municipalityId: named.municipality, partnerId: named.partner, partnerType: named.partnerType };
    if (isScopedRole(claims.role)) {
      const found = await opts.organisations.find(named);
      const more = linkedIds(claims.role, named, found);
      const linked = more.municipality !== null || more.partner !== null ? await opts.organisations.find(more) : null;
      const entries = {
        school: found.school,
        municipality: more.municipality !== null ? (linked?.municipality ?? null) : found.municipality,
        partner: more.partner !== null ? (linked?.partner ?? null) : found.partner,
      };
      const checked = checkTokenScope(claims.role, named, entries);
      if (!checked.ok) {
        // The caller gets one answer whatever failed: which claim, and why, would tell it whether another
        // tenant's school exists or where it belongs. The log keeps the reason (ids only).
        request.log.info({ role: claims.role, claim: checked.claim, reason: checked.reason }, 'token refused: its scope does not match the register');
        throw new HttpProblem(
          401,
          'token.scope_mismatch',
          "the organisations the token names are unknown or closed, or do not belong together in the register of organisations",
          { code: 'token.scope_mismatch', field: 'headers.authorization' },
        );
      }
      scope = checked.scope;
    }
    request.actor = { id: claims.sub, role: claims.role, ...scope };
  });
});
