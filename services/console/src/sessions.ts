// Server-side sessions: the browser holds only a random id in an httpOnly cookie; the tokens stay here.
// In memory, so one console process per deployment (or sticky sessions); a restart signs everyone out.

import { randomBytes } from 'node:crypto';

export interface SessionUser {
  readonly sub: string;
  readonly name: string;
  readonly role: string;
  readonly school: string | null;
  readonly municipality: string | null;
  readonly partner: string | null;
}

export interface Session {
  readonly id: string;
  readonly csrf: string;
  readonly user: SessionUser;
  accessToken: string;
  refreshToken: string | null;
  readonly idToken: string | undefined;
  /** Epoch ms when the access token expires. */
  accessExpiresAt: number;
  readonly createdAt: number;
  lastSeenAt: number;
}

export interface PendingSignIn {
  readonly codeVerifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly returnTo: string;
  readonly createdAt: number;
}

const ABSOLUTE_MS = 8 * 3600_000;
const IDLE_MS = 3600_000;
const PENDING_MS = 10 * 60_000;

export const newId = (): string => randomBytes(32).toString('base64url');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, PendingSignIn>();

  constructor(private readonly now: () => number = Date.now) {}

  create(s: Omit<Session, 'id' | 'csrf' | 'createdAt' | 'lastSeenAt'>): Session {
    this.sweep();
    const t = this.now();
    const session: Session = { ...s, id: newId(), csrf: newId(), createdAt: t, lastSeenAt: t };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | null {
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    const t = this.now();
    if (t - s.createdAt > ABSOLUTE_MS || t - s.lastSeenAt > IDLE_MS) {
      this.sessions.delete(id);
      return null;
    }
    s.lastSeenAt = t;
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  startSignIn(p: Omit<PendingSignIn, 'createdAt'>): string {
    this.sweep();
    const id = newId();
    this.pending.set(id, { ...p, createdAt: this.now() });
    return id;
  }

  /** A sign-in's checks, usable once. */
  takeSignIn(id: string | undefined): PendingSignIn | null {
    if (!id) return null;
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p && this.now() - p.createdAt <= PENDING_MS ? p : null;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, s] of this.sessions) if (t - s.createdAt > ABSOLUTE_MS || t - s.lastSeenAt > IDLE_MS) this.sessions.delete(k);
    for (const [k, p] of this.pending) if (t - p.createdAt > PENDING_MS) this.pending.delete(k);
  }
}
