// The embedded OpenID provider (the `oidc-provider` package) the local stack and the tests sign in with:
// one demo user per role and scope, a plain sign-in page, authorization code + PKCE for the console, and
// RS256 JWT access tokens for the API carrying the user's role and scope as claims.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { TokenSubject } from '@iap/runtime';
import { DEMO_SUBJECTS } from './demo.js';

/** The `aud` of the API's access tokens (IAP_OIDC_AUDIENCE on the API's side). */
export const API_AUDIENCE = 'urn:iap:api';
/** The scope that carries the IAP role and scope claims. */
export const IAP_SCOPE = 'iap';

export interface OidcUser extends TokenSubject {
  readonly name: string;
  readonly password: string;
}

export interface OidcClientRegistration {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
}

export interface OidcProviderOptions {
  readonly port: number;
  readonly host?: string;
  readonly users: readonly OidcUser[];
  readonly clients: readonly OidcClientRegistration[];
  /** Where the signing key is kept across restarts (mode 600); a fresh key each start when absent. */
  readonly keyFile?: string;
  readonly accessTokenTtlSeconds?: number;
}

export interface RunningOidcProvider {
  readonly issuer: string;
  stop(): Promise<void>;
}

const IAP_CLAIMS = ['sub', 'name', 'role', 'school', 'municipality', 'partner', 'partnerType'] as const;

/** The password every demo user signs in with on the local stack. */
export const DEMO_PASSWORD = 'demo';

const DISPLAY_NAMES: Record<string, string> = {
  preparer: 'Demo IAP sagatavotājs',
  school_director: 'Demo direktors',
  municipality_coordinator: 'Demo pašvaldības koordinators',
  national_coordinator: 'Demo valsts koordinators',
  finance: 'Demo finanses',
  auditor: 'Demo auditors',
};

/** The launcher's demo tokens as provider users: same subjects, same school, municipality and partner. */
export const DEMO_USERS: readonly OidcUser[] = DEMO_SUBJECTS.map((s) => ({ ...s, name: DISPLAY_NAMES[s.role] ?? s.sub, password: DEMO_PASSWORD }));

function signingKey(keyFile: string | undefined): Record<string, unknown> {
  if (keyFile && existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
  if (keyFile) {
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  }
  return jwk;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="lv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
label{display:block;margin-top:1rem;font-weight:600}input,select{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}
button{font:inherit;margin-top:1.5rem;padding:.5rem 1.5rem;background:#0b4f8a;color:#fff;border:0;border-radius:4px}
:focus-visible{outline:3px solid #c25e00;outline-offset:2px}.error{color:#a10000}table{border-collapse:collapse;margin-top:2rem}
td,th{border:1px solid #999;padding:.2rem .5rem;text-align:left;font-size:.9rem}
</style></head><body><main>${body}</main></body></html>`;
}

function signInPage(uid: string, users: readonly OidcUser[], error: string | null): string {
  const rows = users.map((u) => `<tr><td>${escapeHtml(u.sub)}</td><td>${escapeHtml(u.role)}</td><td>${escapeHtml(u.school ?? u.municipality ?? u.partner ?? '')}</td></tr>`).join('');
  return page(
    'Pieteikšanās / Sign in',
    `<h1>Pieteikšanās / Sign in</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="username">Lietotājs / User</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Parole / Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Pieteikties / Sign in</button></form>
<table><caption>Demo users (password: ${escapeHtml(DEMO_PASSWORD)})</caption><tr><th>user</th><th>role</th><th>scope</th></tr>${rows}</table>`,
  );
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startOidcProvider(opts: OidcProviderOptions): Promise<RunningOidcProvider> {
  const host = opts.host ?? '127.0.0.1';
  const issuer = `http://${host}:${opts.port}`;
  const users = new Map(opts.users.map((u) => [u.sub, u]));
  const ttl = opts.accessTokenTtlSeconds ?? 15 * 60;

  const configuration: Configuration = {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [...c.redirectUris],
      post_logout_redirect_uris: [...c.postLogoutRedirectUris],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'offline_access', IAP_SCOPE],
    claims: { openid: ['sub'], profile: ['name'], [IAP_SCOPE]: ['role', 'school', 'municipality', 'partner', 'partnerType'] },
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => {
      const u = users.get(id);
      if (!u) return undefined;
      return { accountId: id, claims: () => ({ sub: id, name: u.name, ...claimsOf(u) }) };
    },
    extraTokenClaims: (_ctx, token) => {
      const u = 'accountId' in token && typeof token.accountId === 'string' ? users.get(token.accountId) : undefined;
      return u ? claimsOf(u) : undefined;
    },
    // A first-party client: the user is not asked to consent to what the programme's own console needs.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const client = ctx.oidc.client!;
      const session = ctx.oidc.session!;
      const existing = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId! });
      grant.addOIDCScope(`openid profile offline_access ${IAP_SCOPE}`);
      grant.addOIDCClaims([...IAP_CLAIMS]);
      grant.addResourceScope(API_AUDIENCE, IAP_SCOPE);
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: IAP_SCOPE,
          audience: API_AUDIENCE,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    jwks: { keys: [signingKey(opts.keyFile) as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: { AccessToken: ttl, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Session: 8 * 3600, Grant: 8 * 3600, RefreshToken: 8 * 3600 },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>${escapeHtml(String(out.error))}</h1><p>${escapeHtml(String(out.error_description ?? ''))}</p>`);
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  const handleInteraction = async (req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> => {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (req.method === 'GET' && !action && details.prompt.name === 'consent') {
      // Asked for explicitly (prompt=consent, which refresh tokens need): granted as loadExistingGrant does.
      const grant = new provider.Grant({ clientId: details.params.client_id as string, accountId: details.session!.accountId });
      grant.addOIDCScope(`openid profile offline_access ${IAP_SCOPE}`);
      grant.addOIDCClaims([...IAP_CLAIMS]);
      grant.addResourceScope(API_AUDIENCE, IAP_SCOPE);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    if (req.method === 'GET' && !action) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" });
      res.end(signInPage(uid, opts.users, null));
      return;
    }
    if (req.method === 'POST' && action === 'login') {
      const form = await formBody(req);
      const user = users.get(form.get('username') ?? '');
      if (!user || form.get('password') !== user.password) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(signInPage(uid, opts.users, 'Nepareizs lietotājs vai parole / Wrong user or password'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    res.writeHead(404).end();
  };

  const server: Server = createServer((req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/.exec((req.url ?? '').split('?')[0]!);
    if (!m) {
      void callback(req, res);
      return;
    }
    handleInteraction(req, res, m[1]!, m[2]).catch(() => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Error', '<h1>Sign-in expired</h1><p>Start again from the console.</p>'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  return {
    issuer,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function claimsOf(u: TokenSubject): Record<string, string> {
  const out: Record<string, string> = { role: u.role };
  if (u.school) out.school = u.school;
  if (u.municipality) out.municipality = u.municipality;
  if (u.partner) out.partner = u.partner;
  if (u.partnerType) out.partnerType = u.partnerType;
  return out;
}
