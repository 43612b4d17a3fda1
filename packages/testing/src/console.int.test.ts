// The console's backend-for-frontend on the real stack: sign-in through the embedded OpenID provider, the
// API accepting the provider's access tokens, CSRF, scope and sign-out, seen from a client's side.

import { semesterOf } from '@iap/domain';
import { DEMO_USERS } from '@iap/infra/oidc-provider';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_SCHOOL_PREPARER, signIn, startConsoleStack, type ConsoleStack, type CookieJar } from './console-harness.js';

const preparer = DEMO_USERS.find((u) => u.role === 'preparer')!;

const draft = () => ({
  learnerRef: 'L-console-1',
  semester: semesterOf(new Date().toISOString()),
  grade: 7,
  risks: [{ riskId: 'r1', type: 'learning', factor: 'insufficient grades in mathematics', note: '' }],
  measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'extra lessons', providerType: 'teacher', subject: 'mathematics', plannedMinutes: 240 }],
});

describe('console sign-in and API proxy', () => {
  let s: ConsoleStack;
  let jar: CookieJar;
  let csrf: string;

  beforeAll(async () => {
    s = await startConsoleStack();
    await s.registerLearner(preparer, 'L-console-1');
    jar = await signIn(s.consoleUrl, preparer);
    const session = await jar.fetch(`${s.consoleUrl}/auth/session`);
    expect(session.status).toBe(200);
    const body = (await session.json()) as { user: { sub: string; role: string; school: string }; csrfToken: string };
    expect(body.user).toMatchObject({ sub: 'demo-preparer', role: 'preparer', school: 'demo-school-1' });
    csrf = body.csrfToken;
  });
  afterAll(async () => s?.close());

  it('keeps the tokens server-side: the browser gets an httpOnly session cookie only', async () => {
    const res = await fetch(`${s.consoleUrl}/auth/login`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const signin = res.headers.getSetCookie().join('\n');
    expect(signin).toMatch(/HttpOnly/i);
    expect(signin).toMatch(/SameSite=Lax/i);
    const page = await jar.fetch(`${s.consoleUrl}/auth/session`);
    expect(JSON.stringify(await page.json())).not.toMatch(/eyJ/); // no JWT reaches the page
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('forwards calls with the provider access token, which the API accepts', async () => {
    const res = await jar.fetch(`${s.consoleUrl}/api/plans`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [], nextCursor: null });
  });

  it('changes nothing for a session cookie without the CSRF token', async () => {
    const refused = await jar.fetch(`${s.consoleUrl}/api/plans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'csrf-1' },
      body: JSON.stringify(draft()),
    });
    expect(refused.status).toBe(403);
    const wrong = await jar.fetch(`${s.consoleUrl}/api/plans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'csrf-2', 'x-csrf-token': 'x'.repeat(43) },
      body: JSON.stringify(draft()),
    });
    expect(wrong.status).toBe(403);
    const list = (await (await jar.fetch(`${s.consoleUrl}/api/plans`)).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(0);
  });

  it('drafts a plan with the token, and another school gets not found for it', async () => {
    const created = await jar.fetch(`${s.consoleUrl}/api/plans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'console-draft-1', 'x-csrf-token': csrf },
      body: JSON.stringify(draft()),
    });
    expect(created.status).toBe(201);
    const { planId } = (await created.json()) as { planId: string };
    expect((await jar.fetch(`${s.consoleUrl}/api/plans/${planId}`)).status).toBe(200);

    const other = await signIn(s.consoleUrl, OTHER_SCHOOL_PREPARER);
    const seen = await other.fetch(`${s.consoleUrl}/api/plans/${planId}`);
    expect(seen.status).toBe(404);
  });

  it('refuses a token signed by another key under the provider’s name', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ role: 'national_coordinator' })
      .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
      .setIssuer(s.provider.issuer)
      .setAudience('urn:iap:api')
      .setSubject('mallory')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await fetch(`${s.apiUrl}/plans`, { headers: { authorization: `Bearer ${forged}` } });
    expect(res.status).toBe(401);
  });

  it('signs out at both ends: the session ends here and the provider is sent its end-session request', async () => {
    const own = await signIn(s.consoleUrl, preparer);
    const { csrfToken } = (await (await own.fetch(`${s.consoleUrl}/auth/session`)).json()) as { csrfToken: string };
    const out = await own.fetch(`${s.consoleUrl}/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': csrfToken } });
    expect(out.status).toBe(200);
    const { location } = (await out.json()) as { location: string };
    expect(location.startsWith(s.provider.issuer)).toBe(true);
    expect(new URL(location).searchParams.get('id_token_hint')).toBeTruthy();
    expect((await own.fetch(`${s.consoleUrl}/api/plans`)).status).toBe(401);
    expect((await own.fetch(`${s.consoleUrl}/auth/session`)).status).toBe(401);
  });
});

describe('console sessions outlive the access token', () => {
  let s: ConsoleStack;
  beforeAll(async () => {
    s = await startConsoleStack({ accessTokenTtlSeconds: 2 });
  });
  afterAll(async () => s?.close());

  it('renews the access token with the refresh token, call after call', async () => {
    const jar = await signIn(s.consoleUrl, preparer);
    for (let i = 0; i < 3; i++) {
      const res = await jar.fetch(`${s.consoleUrl}/api/plans`);
      expect(res.status, `call ${i}`).toBe(200);
      await new Promise((r) => setTimeout(r, 2_100));
    }
  });
});
