// Issues HS256 bearer tokens the API accepts: for local use (`iap token`), the launcher's demo tokens
// and tests. Production deployments put their identity provider's tokens in front instead.

import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TokenSubject {
  readonly sub: string;
  readonly role: string;
  readonly school?: string;
  readonly municipality?: string;
  readonly partner?: string;
  readonly partnerType?: 'municipality' | 'state_vocational';
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export function signToken(secret: string, subject: TokenSubject, ttlSeconds = 8 * 3600, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ ...subject, iat: nowSeconds, exp: nowSeconds + ttlSeconds }));
  const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
}

/**
 * A secret from `envName`, else one generated once and kept in the data folder (mode 600), so the dev
 * stack keeps working across restarts. Production sets the variable from its secret store.
 */
export function loadOrCreateSecret(dataDir: string, fileName: string, envName: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[envName];
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, fileName);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** The API's token-signing secret (IAP_JWT_SECRET). */
export const loadOrCreateJwtSecret = (dataDir: string, env: NodeJS.ProcessEnv = process.env): string =>
  loadOrCreateSecret(dataDir, 'jwt-secret', 'IAP_JWT_SECRET', env);

/** The key that wraps learners' identity keys (IAP_IDENTITY_KEY: 64 hex characters). */
export const loadOrCreateIdentityKey = (dataDir: string, env: NodeJS.ProcessEnv = process.env): string =>
  loadOrCreateSecret(dataDir, 'identity-key', 'IAP_IDENTITY_KEY', env);
