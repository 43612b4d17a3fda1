// The worker process: `node services/worker/dist/main.js`. Reads DATABASE_URL and TEMPORAL_ADDRESS.

import { createDb } from '@iap/db';
import { createLogger, loadConfig, requireConnections } from '@iap/runtime';
import { NativeConnection } from '@temporalio/worker';
import { createPlanWorker, installRuntimeLogger } from './worker.js';

const config = loadConfig();
const logger = createLogger('worker', config.logLevel);

async function main(): Promise<void> {
  const { databaseUrl, temporalAddress } = requireConnections(config);
  installRuntimeLogger(logger);
  const db = createDb({ connectionString: databaseUrl, applicationName: 'iap-worker', role: config.dbRole });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createPlanWorker({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    db,
    logger,
    maxCachedWorkflows: Number(process.env.IAP_MAX_CACHED_WORKFLOWS ?? 2_000),
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // The launcher keeps an IPC channel open: when it dies without a signal, stop instead of lingering.
  process.once('disconnect', () => stop('parent gone'));
  logger.info({ taskQueue: config.taskQueue, namespace: config.temporalNamespace }, 'worker started');
  await worker.run();
  await connection.close();
  await db.destroy();
  logger.info('worker stopped');
  // The launcher's IPC channel would keep the event loop alive.
  process.exit(0);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
