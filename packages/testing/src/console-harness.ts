// The console on the real stack for tests: a test stack's API on a real port, the embedded OpenID provider
// (the launcher's, with its demo users and one preparer of another school) and the console's BFF, each on a
// free port. Nothing is mocked: sign-in goes through the provider's real authorization code + PKCE flow.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { buildConsole, CONSOLE_STATIC_DIR } from '@iap/console';
import { DEMO_PASSWORD, DEMO_USERS, startOidcProvider, type OidcUser, type RunningOidcProvider } from '@iap/infra/oidc-provider';
import { DEFAULT_OIDC_AUDIENCE, DEFAULT_OIDC_CLAIMS } from '@iap/runtime';
import type { FastifyInstance } from 'fastify';
import { registerTestTenants, startTestStack, type TestStack } from './stack.js';

/** A preparer of a school the demo users have nothing to do with. */
export const OTHER_SCHOOL_PREPARER: OidcUser = {
  sub: 'other-preparer',
  role: 'preparer',
  school: 'other-school',
  municipality: 'other-muni',
  partner: 'other-muni',
  partnerType: 'municipality',
  name: 'Other school preparer',
  password: DEMO_PASSWORD,
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export interface ConsoleStack {
  readonly stack: TestStack;
  readonly provider: RunningOidcProvider;
  readonly console: FastifyInstance;
  readonly consoleUrl: string;
  readonly apiUrl: string;
  /** Registers a learner at a user's school (plans may name only registered learners). */
  registerLearner(user: OidcUser, learnerRef: string): Promise<void>;
  close(): Promise<void>;
}

export async function startConsoleStack(opts: { accessTokenTtlSeconds?: number } = {}): Promise<ConsoleStack> {
  const [oidcPort, consolePort] = [await freePort(), await freePort()];
  const consoleUrl = `http://127.0.0.1:${consolePort}`;
  const clientSecret = randomBytes(16).toString('hex');
  const provider = await startOidcProvider({
    port: oidcPort,
    users: [...DEMO_USERS, OTHER_SCHOOL_PREPARER],
    clients: [{ clientId: 'iap-console', clientSecret, redirectUris: [`${consoleUrl}/auth/callback`], postLogoutRedirectUris: [`${consoleUrl}/`] }],
    ...(opts.accessTokenTtlSeconds ? { accessTokenTtlSeconds: opts.accessTokenTtlSeconds } : {}),
  });
  const stack = await startTestStack();
  const api = await stack.buildApp({ oidc: { issuer: provider.issuer, audience: DEFAULT_OIDC_AUDIENCE, claims: DEFAULT_OIDC_CLAIMS } });
  // The users' organisations are in the register, as the launcher's are: tokens naming others are refused.
  await registerTestTenants(api, [...DEMO_USERS, OTHER_SCHOOL_PREPARER]);
  const apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });
  const app = await buildConsole({
    logger: stack.logger,
    config: {
      host: '127.0.0.1',
      port: consolePort,
      publicUrl: consoleUrl,
      apiUrl,
      issuer: provider.issuer,
      clientId: 'iap-console',
      clientSecret,
      cookieSecret: randomBytes(32).toString('hex'),
      staticDir: CONSOLE_STATIC_DIR,
    },
  });
  await app.listen({ host: '127.0.0.1', port: consolePort });
  return {
    stack,
    provider,
    console: app,
    consoleUrl,
    apiUrl,
    registerLearner: async (user, learnerRef) => {
      const { name: _name, password: _password, ...subject } = user;
      const res = await api.inject({
        method: 'PUT',
        url: `/schools/${user.school}/learners/${learnerRef}`,
        headers: { authorization: `Bearer ${stack.token(subject)}` },
      });
      if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`registering ${learnerRef}: ${res.statusCode} ${res.body}`);
    },
    close: async () => {
      await app.close();
      await stack.close();
      await provider.stop();
    },
  };
}

/** A browser's cookies, enough for following the sign-in redirects with fetch. */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  store(url: string, res: Response): void {
    const origin = new URL(url).origin;
    const jar = this.cookies.get(origin) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(origin, jar);
  }

  header(url: string): string {
    return [...(this.cookies.get(new URL(url).origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(url, res);
    return res;
  }

  /** GETs `url` and follows redirects; the last answer and its address. */
  async follow(url: string, init: RequestInit = {}): Promise<{ res: Response; url: string }> {
    let res = await this.fetch(url, init);
    for (let i = 0; i < 12 && res.status >= 300 && res.status < 400; i++) {
      url = new URL(res.headers.get('location')!, url).href;
      res = await this.fetch(url);
    }
    return { res, url };
  }
}

/** Signs `user` in to the console through the provider's sign-in page, as a browser would. */
export async function signIn(consoleUrl: string, user: OidcUser, jar = new CookieJar()): Promise<CookieJar> {
  const page = await jar.follow(`${consoleUrl}/auth/login`);
  if (!/\/interaction\/[A-Za-z0-9_-]+$/.test(page.url)) throw new Error(`expected the sign-in page, reached ${page.url} (${page.res.status})`);
  await page.res.text();
  const done = await jar.follow(`${page.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user.sub, password: user.password }).toString(),
  });
  await done.res.text();
  if (!done.url.startsWith(consoleUrl)) throw new Error(`sign-in ended at ${done.url} (${done.res.status})`);
  return jar;
}
