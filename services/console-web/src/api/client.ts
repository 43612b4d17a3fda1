// The console's API client: types generated from the API's OpenAPI document (openapi-typescript), calls
// through the console's /api proxy with the session cookie; every write carries the CSRF token.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema.js';

export interface SessionUser {
  readonly sub: string;
  readonly name: string;
  readonly role: string;
  readonly school: string | null;
  readonly municipality: string | null;
  readonly partner: string | null;
}

export interface Problem {
  readonly type?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly field?: string;
  readonly code?: string;
}

let csrfToken = '';

export async function loadSession(): Promise<SessionUser | null> {
  const res = await fetch('/auth/session', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(`session: ${res.status}`);
  const body = (await res.json()) as { user: SessionUser; csrfToken: string };
  csrfToken = body.csrfToken;
  return body.user;
}

export async function signOut(): Promise<void> {
  const res = await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': csrfToken }, credentials: 'same-origin' });
  const body = (await res.json().catch(() => ({ location: '/' }))) as { location?: string };
  window.location.assign(body.location ?? '/');
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method)) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '/api', credentials: 'same-origin' });
api.use(csrf);

/** A fresh key per user action; a retry of the same action reuses it. */
export const newIdempotencyKey = (): string => crypto.randomUUID();

/** The short name of a problem type: urn:iap:problem:not_found → not_found. */
export const problemSlug = (p: Problem | undefined): string => (p?.type ?? '').replace(/^urn:iap:problem:/, '');
