// Builds the worker that runs plan workflows and their activities. The process entry (main.ts) and the
// integration tests both use it, so tests run the same wiring as production.

import { createRequire } from 'node:module';
import { createActivities, type ActivityDeps } from '@iap/activities';
import type { Database } from '@iap/db';
import { DefaultLogger, IllegalStateError, NativeConnection, Runtime, Worker, type DataConverter, type LogLevel } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

export interface PlanWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** A prebuilt workflow bundle (tests build it once); otherwise the worker bundles the workflows itself. */
  readonly workflowBundlePath?: string;
  /** Bounded: each cached plan costs memory; evicted plans are rebuilt from history when needed. */
  readonly maxCachedWorkflows?: number;
  readonly afterCommit?: ActivityDeps['afterCommit'];
  /** Encrypts every payload (temporalDataConverter from @iap/runtime). */
  readonly dataConverter: DataConverter;
}

/**
 * Modules that every workflow in the worker's reusable V8 context shares instead of loading a copy of its
 * own: the pure domain (no module state; the SDK deep-freezes what it shares, so a module that kept state
 * would fail loudly rather than leak between plans). Each cached plan then costs less memory, and a new
 * plan's first workflow task does not evaluate the domain's modules again. Every bundle of the plan
 * workflows (the worker's, the tests', the benchmark's, the audit replay's) is built with the same list.
 */
export const WORKFLOW_PRELOAD_MODULES: readonly string[] = ['@iap/domain'];

/** Path of the compiled workflows module, resolved like any package (never a path across package roots). */
export function workflowsPath(): string {
  return createRequire(import.meta.url).resolve('@iap/workflows');
}

let runtimeInstalled = false;

/**
 * Routes the SDK's own logs (worker, workflow `log`, activity context) into pino. Once per process. With
 * `metricsAddress` (host:port) the SDK's Prometheus metrics (workflow task, activation and local activity
 * latencies, slots, polls) are served at http://<metricsAddress>/metrics.
 */
export function installRuntimeLogger(logger: Logger, metricsAddress?: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  try {
    Runtime.install({
      // Shutdown is driven by the process (main.ts handles the signals), not by the SDK's default handler.
      shutdownSignals: [],
      ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
      // The SDK's own threshold follows the logger's (debug when the logger is at debug).
      logger: new DefaultLogger(logger.isLevelEnabled('debug') ? 'DEBUG' : 'INFO', (entry) => {
        logger[levels[entry.level]]({ ...(entry.meta ?? {}), sdk: true }, entry.message);
      }),
    });
  } catch (err) {
    // Already installed by someone else in this process (a test harness): keep theirs. Anything else (a
    // metrics address that is not host:port) is the operator's to fix: say so.
    if (err instanceof IllegalStateError) return;
    throw new Error(`the Temporal runtime could not start${metricsAddress ? ` (IAP_METRICS_ADDRESS=${metricsAddress})` : ''}: ${String(err)}`);
  }
}

export async function createPlanWorker(opts: PlanWorkerOptions): Promise<Worker> {
  const activities = createActivities({ db: opts.db, logger: opts.logger, afterCommit: opts.afterCommit });
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    dataConverter: opts.dataConverter,
    activities,
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: workflowsPath(), bundlerOptions: { preloadModules: [...WORKFLOW_PRELOAD_MODULES] } }),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? 1_000,
  });
}
