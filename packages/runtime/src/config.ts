// Configuration comes from the environment only; every variable is listed in README.md.

import { DEFAULT_DOMAIN_CONFIG, type DomainConfig } from '@iap/domain';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '@iap/messages';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Set: use this Postgres. Unset: the launcher starts an embedded one. */
  readonly databaseUrl: string | null;
  /** Set: use this Temporal cluster. Unset: the launcher starts the Temporal CLI dev server. */
  readonly temporalAddress: string | null;
  readonly temporalNamespace: string;
  readonly taskQueue: string;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly temporalPort: number;
  readonly temporalUiPort: number;
  readonly logLevel: string;
  /** The database role the API and worker act as (SET ROLE); null to use the login role as is. */
  readonly dbRole: string | null;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number, got "${raw}"`);
  return n;
}

const nonEmpty = (v: string | undefined): string | null => (v === undefined || v.trim() === '' ? null : v.trim());

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  return {
    host: nonEmpty(env.HOST) ?? '127.0.0.1',
    port: int(env, 'PORT', 3000),
    databaseUrl: nonEmpty(env.DATABASE_URL),
    temporalAddress: nonEmpty(env.TEMPORAL_ADDRESS),
    temporalNamespace: nonEmpty(env.TEMPORAL_NAMESPACE) ?? DEFAULT_NAMESPACE,
    taskQueue: nonEmpty(env.TEMPORAL_TASK_QUEUE) ?? DEFAULT_TASK_QUEUE,
    dataDir: nonEmpty(env.IAP_DATA_DIR) ?? `${cwd}/.data`,
    embeddedPgPort: int(env, 'IAP_PG_PORT', 5544),
    temporalPort: int(env, 'IAP_TEMPORAL_PORT', 7233),
    temporalUiPort: int(env, 'IAP_TEMPORAL_UI_PORT', 8233),
    logLevel: nonEmpty(env.LOG_LEVEL) ?? 'info',
    dbRole: env.IAP_DB_ROLE === undefined ? 'iap_app' : nonEmpty(env.IAP_DB_ROLE),
  };
}

/** The values a process needs once the stack is up: both addresses resolved. */
export function requireConnections(c: Config): { databaseUrl: string; temporalAddress: string } {
  if (!c.databaseUrl) throw new ConfigError('DATABASE_URL is not set (the launcher sets it for the processes it starts)');
  if (!c.temporalAddress) throw new ConfigError('TEMPORAL_ADDRESS is not set (the launcher sets it for the processes it starts)');
  return { databaseUrl: c.databaseUrl, temporalAddress: c.temporalAddress };
}

/**
 * The programme's tunable rules (deadlines, semester dates): the domain's defaults, with any fields
 * given as JSON in IAP_DOMAIN_CONFIG laid over them, e.g. {"consentExpiryDays": 21}.
 */
export function loadDomainConfig(env: NodeJS.ProcessEnv = process.env): DomainConfig {
  const raw = env.IAP_DOMAIN_CONFIG;
  if (!raw) return DEFAULT_DOMAIN_CONFIG;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`IAP_DOMAIN_CONFIG is not JSON: ${String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('IAP_DOMAIN_CONFIG must be a JSON object');
  const unknown = Object.keys(parsed).filter((k) => !(k in DEFAULT_DOMAIN_CONFIG));
  if (unknown.length) throw new ConfigError(`IAP_DOMAIN_CONFIG has unknown fields: ${unknown.join(', ')}`);
  const years = (parsed as { programmeYears?: { first?: unknown; last?: unknown } }).programmeYears;
  if (years !== undefined && !(Number.isInteger(years?.first) && Number.isInteger(years?.last) && (years.first as number) <= (years.last as number))) {
    throw new ConfigError('IAP_DOMAIN_CONFIG programmeYears must be {"first": YYYY, "last": YYYY} with first <= last (the years the school years start in)');
  }
  return { ...DEFAULT_DOMAIN_CONFIG, ...(parsed as Partial<DomainConfig>) };
}
