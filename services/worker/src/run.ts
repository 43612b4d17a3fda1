// The worker process, loaded by main.ts (`node services/worker/dist/main.js`). Reads DATABASE_URL and
// TEMPORAL_ADDRESS.

import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createDb, projectorLease, startProjector } from '@iap/db';
import { createLogger, loadConfig, loadOrCreatePayloadKey, requireConnections, temporalDataConverter } from '@iap/runtime';
import { NativeConnection } from '@temporalio/worker';
import { createPlanWorker, installRuntimeLogger } from './worker.js';

const config = loadConfig();
/**
 * Fault injection for the crash tests: with IAP_FAULT_KILL_AFTER_COMMIT=<file>, the first append after
 * which <file> does not exist yet creates it and kills this process (SIGKILL) between the transaction's
 * commit and the activity's completion report: the worst moment to die.
 */
const faultFile = process.env.IAP_FAULT_KILL_AFTER_COMMIT;
/** With IAP_FAULT_KILL_AFTER_COMMIT_EVENT=<type>, only an append holding an event of that type counts. */
const faultEvent = process.env.IAP_FAULT_KILL_AFTER_COMMIT_EVENT || null;

function killOnceAfterCommit(file: string) {
  return (input: { events: ReadonlyArray<{ type: string }> }) => {
    if (existsSync(file)) return;
    if (faultEvent && !input.events.some((e) => e.type === faultEvent)) return;
    writeFileSync(file, String(process.pid));
    process.kill(process.pid, 'SIGKILL');
  };
}
const logger = createLogger('worker', config.logLevel);

async function main(): Promise<void> {
  const { databaseUrl, temporalAddress } = requireConnections(config);
  // IAP_METRICS_ADDRESS=host:port serves Temporal's worker metrics for Prometheus at /metrics.
  installRuntimeLogger(logger, process.env.IAP_METRICS_ADDRESS || undefined);
  const db = createDb({ connectionString: databaseUrl, applicationName: 'iap-worker', role: config.dbRole });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createPlanWorker({
    connection,
    namespace: config.temporalNamespace,
    dataConverter: temporalDataConverter(loadOrCreatePayloadKey(config.dataDir)),
    taskQueue: config.taskQueue,
    db,
    logger,
    maxCachedWorkflows: Number(process.env.IAP_MAX_CACHED_WORKFLOWS ?? 1_000),
    ...(faultFile ? { afterCommit: killOnceAfterCommit(faultFile) } : {}),
    // A prebuilt bundle (IAP_WORKFLOW_BUNDLE) skips bundling at start: tests and quick restarts.
    ...(process.env.IAP_WORKFLOW_BUNDLE ? { workflowBundlePath: process.env.IAP_WORKFLOW_BUNDLE } : {}),
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
  // The report projections follow the event log in commit order. With several workers, the one holding the
  // projector's lease projects and the others take it over within an interval of its death. IAP_PROJECTOR=off
  // leaves it to a separate `iap project --follow`.
  const projector =
    process.env.IAP_PROJECTOR === 'off'
      ? null
      : startProjector({
          db,
          logger,
          intervalMs: Number(process.env.IAP_PROJECTOR_INTERVAL_MS ?? 500),
          lease: projectorLease({
            connectionString: databaseUrl,
            holder: `${process.pid}@${hostname()}`,
            onChange: (held) => logger.info({ held }, held ? 'report projector lease taken' : 'report projector lease lost'),
          }),
        });
  logger.info({ taskQueue: config.taskQueue, namespace: config.temporalNamespace, projector: projector !== null }, 'worker started');
  await worker.run();
  await projector?.stop();
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
