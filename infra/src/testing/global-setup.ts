// Vitest global setup for the integration tier: one real Postgres and one real Temporal dev server for
// the whole run (embedded and in memory unless DATABASE_URL / TEMPORAL_ADDRESS say otherwise), a migrated
// template database that each test file copies, and the workflow bundle built once. What the test files
// need is handed over in IAP_TEST_* environment variables, which the test processes inherit.

import { rm, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createDb, migrateToLatest } from '@iap/db';
import type * as TemporalWorker from '@temporalio/worker';
import type * as Pino from 'pino';
import { ensureDatabase, startEmbeddedPostgres, type RunningPostgres } from '../postgres.js';
import { freePort } from '../ports.js';
import { REPO_ROOT, startTemporalDevServer, type RunningTemporal } from '../temporal-server.js';
import { connectTemporal, ensureSearchAttributes } from '@iap/runtime';
import { WORKFLOW_PRELOAD_MODULES } from '@iap/worker';

export { freePort };

// Vitest loads this file through its root resolver, which does not find CommonJS packages that are not
// dependencies of the repository root; Node's own resolution from this file does.
const require = createRequire(import.meta.url);
const { bundleWorkflowCode } = require('@temporalio/worker') as typeof TemporalWorker;
const { pino } = require('pino') as typeof Pino;

export default async function setup(): Promise<() => Promise<void>> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const runDir = path.join(REPO_ROOT, '.data', 'test', `run-${process.pid}`);
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  const t0 = Date.now();

  let pg: RunningPostgres | null = null;
  let adminUrl = process.env.DATABASE_URL ?? null;
  const [temporal, bundle] = await Promise.all([
    process.env.TEMPORAL_ADDRESS
      ? null
      : startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: null, namespace: 'default', logger }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('@iap/workflows'),
      preloadModules: [...WORKFLOW_PRELOAD_MODULES],
      logger: { trace() {}, debug() {}, info() {}, warn: (m) => logger.warn(m), error: (m) => logger.error(m), log() {} },
    }),
    (async () => {
      if (!adminUrl) {
        pg = await startEmbeddedPostgres({ dir: path.join(runDir, 'pg'), port: await freePort(), database: 'postgres', logger, ephemeral: true });
        adminUrl = pg.url;
      }
    })(),
  ]).then(([t, b]) => [t as RunningTemporal | null, b] as const);

  const temporalAddress = temporal?.address ?? process.env.TEMPORAL_ADDRESS!;
  if (!temporal) {
    const conn = await connectTemporal(temporalAddress);
    await ensureSearchAttributes(conn, 'default');
    await conn.close();
  }

  const template = `iap_template_${process.pid}`;
  await ensureDatabase(adminUrl!, template);
  const tplUrl = new URL(adminUrl!);
  tplUrl.pathname = `/${template}`;
  const db = createDb({ connectionString: tplUrl.toString(), max: 1 });
  await migrateToLatest(db);
  await db.destroy();

  const bundlePath = path.join(runDir, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);

  process.env.IAP_TEST_PG_ADMIN_URL = adminUrl!;
  process.env.IAP_TEST_PG_TEMPLATE = template;
  process.env.IAP_TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.IAP_TEST_WORKFLOW_BUNDLE = bundlePath;
  logger.info({ ms: Date.now() - t0, temporalAddress }, 'test servers ready');

  return async () => {
    await temporal?.stop();
    const pgNow = pg as RunningPostgres | null;
    if (pgNow) {
      await pgNow.stop();
      // A cluster kept out of the clone (one the postgres user could not reach) goes too.
      if (pgNow.dataDir !== path.join(runDir, 'pg')) await rm(pgNow.dataDir, { recursive: true, force: true });
    } else {
      const { dropDatabase } = await import('@iap/db');
      await dropDatabase(adminUrl!, template).catch(() => undefined);
    }
    await rm(runDir, { recursive: true, force: true });
  };
}
