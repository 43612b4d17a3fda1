// The console's settings, from the environment only (listed in README.md).

import { ConfigError } from '@iap/runtime';

export interface ConsoleConfig {
  readonly host: string;
  readonly port: number;
  /** The address users reach the console at; the OpenID redirect and the cookies' Secure flag follow from it. */
  readonly publicUrl: string;
  readonly apiUrl: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Signs the session and sign-in cookies. */
  readonly cookieSecret: string;
  /** The built front end (index.html and its assets). */
  readonly staticDir: string;
}

export function loadConsoleConfig(env: NodeJS.ProcessEnv, staticDir: string): ConsoleConfig {
  const need = (name: string): string => {
    const v = env[name]?.trim();
    if (!v) throw new ConfigError(`${name} is not set (the launcher sets it for the console it starts)`);
    return v;
  };
  const port = Number(env.IAP_CONSOLE_PORT ?? 3100);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`IAP_CONSOLE_PORT must be a port number, got "${env.IAP_CONSOLE_PORT}"`);
  const host = env.IAP_CONSOLE_HOST?.trim() || '127.0.0.1';
  return {
    host,
    port,
    publicUrl: (env.IAP_CONSOLE_URL?.trim() || `http://${host}:${port}`).replace(/\/$/, ''),
    apiUrl: (env.IAP_API_URL?.trim() || `http://127.0.0.1:${env.PORT ?? 3000}`).replace(/\/$/, ''),
    issuer: need('IAP_OIDC_ISSUER').replace(/\/$/, ''),
    clientId: env.IAP_CONSOLE_CLIENT_ID?.trim() || 'iap-console',
    clientSecret: need('IAP_CONSOLE_CLIENT_SECRET'),
    cookieSecret: need('IAP_CONSOLE_COOKIE_SECRET'),
    staticDir,
  };
}
