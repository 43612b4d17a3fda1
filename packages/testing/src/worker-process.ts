// The real worker as a child process (`node services/worker/dist/main.js`, the production entry), for tests
// that must kill it for real: SIGKILL leaves no chance to report anything to Temporal or roll anything back.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@iap/infra';
import type { Client } from '@temporalio/client';
import { TEST_PAYLOAD_KEY } from './payload-key.js';

export const WORKER_ENTRY = path.join(REPO_ROOT, 'services', 'worker', 'dist', 'main.js');

export interface WorkerProcessOptions {
  readonly databaseUrl: string;
  readonly temporalAddress: string;
  readonly taskQueue: string;
  /** IAP_FAULT_KILL_AFTER_COMMIT: the worker kills itself (SIGKILL) after the first append that commits while this file is missing. */
  readonly killAfterCommitFile?: string;
  /** IAP_FAULT_KILL_AFTER_COMMIT_EVENT: only an append holding an event of this type counts. */
  readonly killAfterCommitEvent?: string;
  /** IAP_METRICS_ADDRESS: host:port where the worker serves Temporal's Prometheus metrics. */
  readonly metricsAddress?: string;
}

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<WorkerExit>;
  /** What the process wrote to stdout and stderr so far (the last 64 KiB), for failure messages. */
  output(): string;
  /** SIGKILLs the process if it still runs and resolves once it is gone. */
  kill(): Promise<WorkerExit>;
}

const OUTPUT_LIMIT = 64 * 1024;

export function spawnWorker(opts: WorkerProcessOptions): WorkerProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: opts.databaseUrl,
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    IAP_DB_ROLE: 'iap_app',
    LOG_LEVEL: 'warn',
    IAP_PAYLOAD_KEY: TEST_PAYLOAD_KEY,
    ...(process.env.IAP_TEST_WORKFLOW_BUNDLE ? { IAP_WORKFLOW_BUNDLE: process.env.IAP_TEST_WORKFLOW_BUNDLE } : {}),
  };
  delete env.IAP_FAULT_KILL_AFTER_COMMIT;
  delete env.IAP_FAULT_KILL_AFTER_COMMIT_EVENT;
  delete env.IAP_METRICS_ADDRESS;
  if (opts.metricsAddress) env.IAP_METRICS_ADDRESS = opts.metricsAddress;
  if (opts.killAfterCommitFile) env.IAP_FAULT_KILL_AFTER_COMMIT = opts.killAfterCommitFile;
  if (opts.killAfterCommitEvent) env.IAP_FAULT_KILL_AFTER_COMMIT_EVENT = opts.killAfterCommitEvent;

  // The IPC channel makes the worker stop by itself should this test process die without killing it.
  // No --enable-source-maps: the entry turns them on for its main thread only, as in production.
  const child = spawn(process.execPath, [WORKER_ENTRY], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${WORKER_ENTRY}`);
  let out = '';
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      collect(Buffer.from(`spawn error: ${String(err)}\n`));
      resolve({ code: null, signal: null });
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid: child.pid,
    exited,
    output: () => out,
    kill: async () => {
      if (!gone()) child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * Resolves `p`, or rejects after `ms` with `what` in the message (a function: read when the time is up,
 * e.g. a process's output by then): a test waits, but never forever.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type DescribeTaskQueueRequest = Parameters<Client['workflowService']['describeTaskQueue']>[0];
type TaskQueueType = NonNullable<DescribeTaskQueueRequest['taskQueueType']>;
/** temporal.api.enums.v1.TaskQueueType */
const WORKFLOW_TASK_QUEUE = 1 as TaskQueueType;
const ACTIVITY_TASK_QUEUE = 2 as TaskQueueType;

/**
 * Waits until the process `pid` polls both the workflow and the activity side of `taskQueue` (Temporal
 * lists a poller by its identity, `<pid>@<host>` by default): from then on it takes tasks.
 */
export async function waitForPolling(client: Client, taskQueue: string, worker: WorkerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const polls = async (taskQueueType: TaskQueueType) => {
    const r = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType });
    return (r.pollers ?? []).some((p) => p.identity?.startsWith(`${worker.pid}@`));
  };
  for (;;) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      throw new Error(`the worker (pid ${worker.pid}) exited before polling ${taskQueue}:\n${worker.output()}`);
    }
    if ((await polls(WORKFLOW_TASK_QUEUE)) && (await polls(ACTIVITY_TASK_QUEUE))) return;
    if (Date.now() > deadline) throw new Error(`the worker (pid ${worker.pid}) did not poll ${taskQueue} within ${timeoutMs} ms:\n${worker.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
