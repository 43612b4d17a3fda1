// One way to open the database: a pg Pool behind Kysely.

import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// bigint columns (global positions) stay strings: they can outgrow Number.MAX_SAFE_INTEGER in theory,
// and string keeps the projection checkpoint exact.
export interface DbOptions {
  readonly connectionString: string;
  readonly max?: number;
  readonly applicationName?: string;
  /**
   * A role every connection switches to (SET ROLE) before use: the API and worker run as `iap_app`, which
   * cannot UPDATE or DELETE events. Deployments that log in as that role directly leave this unset.
   */
  readonly role?: string | null;
}

/** Postgres's type id of DATE. */
const DATE_OID = 1082;

/**
 * Column types as this codebase reads them: a DATE stays the calendar date it is ("2026-12-07"), not a
 * JavaScript Date at local midnight (which renders as "Mon Dec 07 2026 ..." and can shift a day).
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === DATE_OID && format !== 'binary' ? (value: string) => value : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** The role the application's processes act as (IAP_DB_ROLE; empty string: none). */
export const APP_DB_ROLE = 'iap_app';

export function createDb(opts: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'iap-engine',
    // Fail fast when the server is down instead of queueing requests forever.
    connectionTimeoutMillis: 5_000,
    types,
  });
  // A dropped idle connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor one dropped while checked out between two statements (a transaction, a pinned connection): the
  // pool listens only on idle clients, and an 'error' event nobody listens to is an uncaught exception.
  // The next statement on that client fails and the caller sees it; the pool discards the dead client.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  if (opts.role) {
    const stmt = `set role ${pg.escapeIdentifier(opts.role)}`;
    pool.on('connect', (client) => {
      client.query(stmt).catch(() => undefined);
    });
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** True when the server answers a trivial query within the timeout. */
export async function pingDb(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
