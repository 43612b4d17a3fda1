// The checkpoint worker: runs `chainCheckpointWorkflow` and its one activity on the checkpoint task queue.
// It alone holds the key that signs chain heads, and it writes as `iap_auditor`, the only role that may
// insert checkpoints. Started by checkpoint-main.ts (a process of its own) and by the tests.

import { takeCheckpoint, type CheckpointKey, type Database } from '@iap/db';
import { CHECKPOINT_TASK_QUEUE, type CheckpointActivities } from '@iap/messages';
import { NativeConnection, Worker, type DataConverter } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { WORKFLOW_PRELOAD_MODULES, workflowsPath } from './worker.js';

export function checkpointActivities(db: Kysely<Database>, key: CheckpointKey): CheckpointActivities {
  return {
    async takeChainCheckpoint() {
      const c = await takeCheckpoint(db, key);
      return { id: c.id, takenAt: c.takenAt, streams: c.streamCount, events: c.eventCount, keyId: c.keyId };
    },
  };
}

export interface CheckpointWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue?: string;
  /** Acting as iap_auditor (createDb({ role: AUDITOR_DB_ROLE })). */
  readonly db: Kysely<Database>;
  readonly key: CheckpointKey;
  readonly workflowBundlePath?: string;
  /** Encrypts every payload (temporalDataConverter from @iap/runtime). */
  readonly dataConverter: DataConverter;
}

export async function createCheckpointWorker(opts: CheckpointWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? CHECKPOINT_TASK_QUEUE,
    dataConverter: opts.dataConverter,
    activities: checkpointActivities(opts.db, opts.key),
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: workflowsPath(), bundlerOptions: { preloadModules: [...WORKFLOW_PRELOAD_MODULES] } }),
    maxCachedWorkflows: 10,
  });
}
