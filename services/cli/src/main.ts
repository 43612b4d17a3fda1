#!/usr/bin/env node
// iap: the operator's command line: migrations, status, tokens, projections, the simulator and the audit tools.

import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { createDb, migrateToLatest, pendingMigrations, pingDb } from '@iap/db';
import { connectTemporal, loadConfig, loadOrCreateJwtSecret, pingTemporal, signToken } from '@iap/runtime';
import { REPO_ROOT } from '@iap/infra';
import { semesterOf } from '@iap/domain';
import { register as registerProjectionCommands } from './commands/projections.js';
import { register as registerSimulateCommand } from './commands/simulate.js';
import { registerAuditCommands } from './commands/audit.js';
import { PARTNER_TYPES, TOKEN_ROLES, tokenSubject, type TokenOptions } from './commands/token.js';

const config = loadConfig(process.env, REPO_ROOT);
const program = new Command('iap').description('Operate an iap-engine installation.').showHelpAfterError();

/** The embedded dev database when DATABASE_URL is not set (the launcher's default). */
function databaseUrl(): string {
  return config.databaseUrl ?? `postgres://postgres:iap-dev@127.0.0.1:${config.embeddedPgPort}/iap`;
}
function temporalAddress(): string {
  return config.temporalAddress ?? `127.0.0.1:${config.temporalPort}`;
}

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async () => {
    const db = createDb({ connectionString: databaseUrl(), max: 1 });
    try {
      const applied = await migrateToLatest(db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database schema is up to date');
    } finally {
      await db.destroy();
    }
  });

program
  .command('status')
  .description('report each component: database (and pending migrations), Temporal, API')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const db = createDb({ connectionString: databaseUrl(), max: 1 });
    const dbUp = await pingDb(db);
    const pending = dbUp ? await pendingMigrations(db).catch(() => null) : null;
    await db.destroy();
    let temporalUp = false;
    try {
      const conn = await connectTemporal(temporalAddress(), 3_000);
      temporalUp = await pingTemporal(conn, config.temporalNamespace);
      await conn.close();
    } catch {
      temporalUp = false;
    }
    const apiUrl = `http://${config.host}:${config.port}/health`;
    const apiStatus = await fetch(apiUrl, { signal: AbortSignal.timeout(3_000) })
      .then((r) => r.status)
      .catch(() => null);
    const report = {
      database: { url: databaseUrl().replace(/:[^:@/]+@/, ':***@'), status: dbUp ? 'up' : 'down', pendingMigrations: pending },
      temporal: { address: temporalAddress(), namespace: config.temporalNamespace, status: temporalUp ? 'up' : 'down' },
      api: { url: apiUrl, status: apiStatus === 200 ? 'up' : apiStatus === null ? 'down' : `degraded (${apiStatus})` },
    };
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`database  ${report.database.status.padEnd(5)} ${report.database.url}${pending?.length ? `  (${pending.length} pending migrations)` : ''}`);
      console.log(`temporal  ${report.temporal.status.padEnd(5)} ${report.temporal.address} (${report.temporal.namespace})`);
      console.log(`api       ${report.api.status.padEnd(5)} ${report.api.url}`);
    }
    process.exitCode = dbUp && temporalUp && apiStatus === 200 ? 0 : 1;
  });

program
  .command('token')
  .description('issue a bearer token for local use (signed with IAP_JWT_SECRET or the dev stack secret)')
  .requiredOption('--role <role>', `one of: ${TOKEN_ROLES.join(', ')}`)
  .option('--sub <id>', 'the user id (default: a new one for every token, as two people never share one)')
  .option('--school <id>', 'the school (preparer, school_director)')
  .option('--municipality <id>', 'the municipality (preparer, school_director, municipality_coordinator)')
  .option('--partner <id>', 'the partner (preparer, school_director, finance)')
  .option('--partner-type <type>', `${PARTNER_TYPES.join(' | ')} (with --partner)`)
  .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number.parseInt(v, 10), 8 * 3600)
  .action((o: Omit<TokenOptions, 'sub'> & { sub?: string; ttl: number }) => {
    const subject = tokenSubject({ ...o, sub: o.sub ?? `local-${o.role}-${randomBytes(6).toString('hex')}` });
    if ('error' in subject) {
      console.error(`iap token: ${subject.error}`);
      process.exitCode = 2;
    } else console.log(signToken(loadOrCreateJwtSecret(config.dataDir), subject, o.ttl));
  });

program
  .command('semester')
  .description('the semester an instant falls in (now by default), as plans, budgets and URLs name it: 2026/27-1')
  .option('--at <instant>', 'an ISO-8601 instant')
  .action((o: { at?: string }) => {
    const at = o.at ?? new Date().toISOString();
    if (Number.isNaN(Date.parse(at))) {
      console.error(`iap semester: --at must be an ISO-8601 instant, e.g. 2026-10-01T00:00:00Z`);
      process.exitCode = 2;
    } else console.log(semesterOf(new Date(at).toISOString()));
  });

registerAuditCommands(program, { config, databaseUrl, temporalAddress });
registerProjectionCommands(program);
registerSimulateCommand(program);
program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
