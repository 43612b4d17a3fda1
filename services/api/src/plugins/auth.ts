// Bearer JWTs carry who the caller is: a role and a scope (school, municipality, partner). Routes read
// `request.actor`; the token is checked before the body is even parsed.

import fastifyJwt from '@fastify/jwt';
import type { Role } from '@iap/domain';
import { ROLES } from '@iap/domain';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
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
  /** The OpenID provider's access tokens, accepted beside the HS256 ones when set. */
  readonly providerTokens?: ProviderTokens | null;
}

const HUMAN_ROLES: readonly Role[] = ROLES.filter((r) => r !== 'system');

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
    request.actor = {
      id: claims.sub,
      role: claims.role,
      schoolId: claims.school ?? null,
      municipalityId: claims.municipality ?? null,
      partnerId: claims.partner ?? null,
      partnerType: claims.partnerType ?? null,
    };
  });
});
