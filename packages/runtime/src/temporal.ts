// Temporal connections and health, shared by the API, the CLI and the launcher.

import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, Connection, type ScheduleOptions } from '@temporalio/client';
import { CHECKPOINT_SCHEDULE_ID, CHECKPOINT_TASK_QUEUE, SEARCH_ATTRIBUTE_DEFS } from '@iap/messages';

/** Connects, retrying until `timeoutMs` passes (the dev server takes a few seconds to open its port). */
export async function connectTemporal(address: string, timeoutMs = 30_000): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await Connection.connect({ address, connectTimeout: 2_000 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function pingTemporal(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  }
}

/** Registers the plan search attributes on a cluster that does not have them yet (an existing cluster). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const typeCodes: Record<string, number> = { Keyword: 2, KeywordList: 7 };
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTE_DEFS.filter(([name]) => !have.has(name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([n, t]) => [n, typeCodes[t]!])),
  });
  return missing.map(([n]) => n);
}

/** A Schedule's interval: milliseconds or a duration such as '15 minutes'. */
export type ScheduleInterval = NonNullable<ScheduleOptions['spec']['intervals']>[number]['every'];

/**
 * Creates the Schedule that takes chain-head checkpoints every `every` (e.g. '15 minutes') when it does not
 * exist yet. Overlapping runs are skipped: one checkpoint at a time.
 */
export async function ensureCheckpointSchedule(
  client: Client,
  opts: { every: ScheduleInterval; scheduleId?: string; taskQueue?: string },
): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: opts.scheduleId ?? CHECKPOINT_SCHEDULE_ID,
      spec: { intervals: [{ every: opts.every }] },
      action: { type: 'startWorkflow', workflowType: 'chainCheckpointWorkflow', taskQueue: opts.taskQueue ?? CHECKPOINT_TASK_QUEUE, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}
