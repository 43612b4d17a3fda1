// The console's backend-for-frontend: signs users in at the OpenID provider (authorization code + PKCE,
// `openid-client`), keeps their tokens server-side behind an httpOnly session cookie, and forwards the
// front end's /api/* calls to the API with the user's access token. Every state-changing call needs the
// session's CSRF token in a header; every answer carries a strict Content-Security-Policy.

import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import type { ConsoleConfig } from './config.js';
import { SessionStore, type Session } from './sessions.js';

export const SESSION_COOKIE = 'iap_session';
export const SIGN_IN_COOKIE = 'iap_signin';
export const CSRF_HEADER = 'x-csrf-token';

export interface ConsoleDeps {
  readonly config: ConsoleConfig;
  readonly logger: Logger;
  readonly sessions?: SessionStore;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Request headers the API needs from the front end; nothing else (no cookie) goes on. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'accept-language', 'idempotency-key', 'if-match', 'x-request-id'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'etag', 'location', 'retry-after', 'x-request-id', 'content-disposition', 'x-event-log-position'];

function csp(config: ConsoleConfig): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    `form-action 'self' ${new URL(config.issuer).origin}`,
  ].join('; ');
}

const problem = (reply: FastifyReply, status: number, type: string, detail: string) =>
  reply.code(status).type('application/problem+json').send({ type: `urn:iap:problem:${type}`, title: type, status, detail });

/** A same-origin path to go back to after signing in (never another site). */
function safeReturnTo(v: unknown): string {
  return typeof v === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(v) && !v.startsWith('/auth/') ? v : '/';
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export async function buildConsole(deps: ConsoleDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const sessions = deps.sessions ?? new SessionStore();
  const secure = config.publicUrl.startsWith('https:');
  const cookieOpts = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure, signed: true };
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: 1024 * 1024, trustProxy: false });

  let provider: Promise<oidc.Configuration> | null = null;
  const providerConfig = (): Promise<oidc.Configuration> => {
    provider ??= oidc
      .discovery(new URL(config.issuer), config.clientId, config.clientSecret, undefined, config.issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : undefined)
      .catch((err: unknown) => {
        provider = null; // try again on the next sign-in
        throw err;
      });
    return provider;
  };

  await app.register(cookie, { secret: config.cookieSecret });
  const contentSecurityPolicy = csp(config);
  app.addHook('onSend', async (request, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (request.url.startsWith('/api/') || request.url.startsWith('/auth/')) reply.header('cache-control', 'no-store');
  });

  const sessionOf = (request: FastifyRequest): Session | null => {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return null;
    const un = request.unsignCookie(raw);
    return un.valid ? sessions.get(un.value ?? undefined) : null;
  };

  /** Refuses a state-changing request without the session's CSRF token (and from another origin). */
  const csrfOk = (request: FastifyRequest, session: Session): boolean => {
    if (SAFE_METHODS.has(request.method)) return true;
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== new URL(config.publicUrl).origin) return false;
    const given = request.headers[CSRF_HEADER];
    return typeof given === 'string' && sameToken(given, session.csrf);
  };

  const freshAccessToken = async (session: Session): Promise<string | null> => {
    if (Date.now() < session.accessExpiresAt - 30_000) return session.accessToken;
    if (!session.refreshToken) return null;
    try {
      const tokens = await oidc.refreshTokenGrant(await providerConfig(), session.refreshToken);
      session.accessToken = tokens.access_token;
      session.refreshToken = tokens.refresh_token ?? session.refreshToken;
      session.accessExpiresAt = Date.now() + (tokens.expiresIn() ?? 300) * 1000;
      return session.accessToken;
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message, user: session.user.sub }, 'token refresh failed');
      return null;
    }
  };

  app.get('/auth/login', async (request, reply) => {
    const cfg = await providerConfig();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const returnTo = safeReturnTo((request.query as Record<string, unknown>).returnTo);
    const id = sessions.startSignIn({ codeVerifier, state, nonce, returnTo });
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: `${config.publicUrl}/auth/callback`,
      scope: 'openid profile offline_access iap',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return reply.setCookie(SIGN_IN_COOKIE, id, { ...cookieOpts, maxAge: 600 }).redirect(url.href, 303);
  });

  app.get('/auth/callback', async (request, reply) => {
    const raw = request.cookies[SIGN_IN_COOKIE];
    const un = raw ? request.unsignCookie(raw) : null;
    const pending = sessions.takeSignIn(un?.valid ? (un.value ?? undefined) : undefined);
    void reply.clearCookie(SIGN_IN_COOKIE, { path: '/' });
    if (!pending) return reply.redirect('/?signin=expired', 303);
    const cfg = await providerConfig();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(cfg, new URL(request.url, config.publicUrl), {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'sign-in refused');
      return reply.redirect('/?signin=failed', 303);
    }
    const claims = tokens.claims();
    if (!claims) return reply.redirect('/?signin=failed', 303);
    const session = sessions.create({
      user: {
        sub: claims.sub,
        name: str(claims.name) ?? claims.sub,
        role: str(claims.role) ?? '',
        school: str(claims.school),
        municipality: str(claims.municipality),
        partner: str(claims.partner),
      },
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? null,
      idToken: tokens.id_token,
      accessExpiresAt: Date.now() + (tokens.expiresIn() ?? 300) * 1000,
    });
    request.log.info({ user: session.user.sub }, 'signed in');
    return reply.setCookie(SESSION_COOKIE, session.id, cookieOpts).redirect(pending.returnTo, 303);
  });

  app.get('/auth/session', async (request, reply) => {
    const session = sessionOf(request);
    if (!session) return problem(reply, 401, 'unauthenticated', 'not signed in');
    return reply.send({ user: session.user, csrfToken: session.csrf });
  });

  // Ends the session here and answers where the browser goes to end it at the provider too.
  app.post('/auth/logout', async (request, reply) => {
    const session = sessionOf(request);
    if (!session) return reply.clearCookie(SESSION_COOKIE, { path: '/' }).send({ location: '/' });
    if (!csrfOk(request, session)) return problem(reply, 403, 'csrf', 'the request lacks this session’s CSRF token');
    sessions.delete(session.id);
    const cfg = await providerConfig();
    if (session.refreshToken) await oidc.tokenRevocation(cfg, session.refreshToken).catch(() => undefined);
    const end = oidc.buildEndSessionUrl(cfg, {
      post_logout_redirect_uri: `${config.publicUrl}/`,
      ...(session.idToken ? { id_token_hint: session.idToken } : {}),
    });
    request.log.info({ user: session.user.sub }, 'signed out');
    return reply.clearCookie(SESSION_COOKIE, { path: '/' }).send({ location: end.href });
  });

  app.all('/api/*', async (request, reply) => {
    const session = sessionOf(request);
    if (!session) return problem(reply, 401, 'unauthenticated', 'not signed in');
    if (!csrfOk(request, session)) return problem(reply, 403, 'csrf', 'the request lacks this session’s CSRF token');
    const token = await freshAccessToken(session);
    if (!token) {
      sessions.delete(session.id);
      return problem(reply, 401, 'unauthenticated', 'the session has ended; sign in again');
    }
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-request-id': request.id };
    for (const h of FORWARDED_REQUEST_HEADERS) {
      const v = request.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const target = `${config.apiUrl}${request.url.slice('/api'.length)}`;
    const hasBody = !SAFE_METHODS.has(request.method) && request.body !== undefined;
    let res: Response;
    try {
      res = await fetch(target, {
        method: request.method,
        headers,
        ...(hasBody ? { body: typeof request.body === 'string' ? request.body : JSON.stringify(request.body) } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      request.log.error({ err: (err as Error).message }, 'API unreachable');
      return problem(reply, 502, 'api_unreachable', 'the API did not answer');
    }
    for (const h of FORWARDED_RESPONSE_HEADERS) {
      const v = res.headers.get(h);
      if (v !== null) void reply.header(h, v);
    }
    return reply.code(res.status).send(Buffer.from(await res.arrayBuffer()));
  });
  // Bodies reach the API as they were sent: parse nothing, check nothing here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  if (existsSync(path.join(config.staticDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: config.staticDir, index: false, wildcard: false, serve: true });
    // Any other page is the single-page app's; it routes in the browser.
    app.setNotFoundHandler((request, reply) => {
      if (request.method !== 'GET' || request.url.startsWith('/api/') || request.url.startsWith('/auth/')) return problem(reply, 404, 'not_found', 'no such route');
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').sendFile('index.html');
    });
  } else {
    deps.logger.warn({ staticDir: config.staticDir }, 'the front end is not built: only /auth and /api are served');
  }
  return app;
}
