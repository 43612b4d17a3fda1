// The engine benchmark's baseline workflow: does nothing but answer an Update at once, so Temporal's own
// cost of Update-with-Start and Update can be measured beside the plan workflow's. A second Update runs one
// local activity before it answers (none at all, or one fsync'd INSERT into Postgres): the least that any
// workflow which makes a write durable inside an Update must pay on this SDK and this server.

import { condition, defineUpdate, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export const NOOP_UPDATE = 'noop';
export const LOCAL_ACTIVITY_UPDATE = 'local-activity';
const noopUpdate = defineUpdate<number, [unknown]>(NOOP_UPDATE);
const localActivityUpdate = defineUpdate<number, ['nothing' | 'insert']>(LOCAL_ACTIVITY_UPDATE);

/** The bench registers these on the no-op worker (engine-bench.ts). */
export interface BaselineActivities {
  nothing(): Promise<number>;
  insertOne(): Promise<number>;
}
const { nothing, insertOne } = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '10 seconds' });

export async function noopWorkflow(): Promise<void> {
  let handled = 0;
  setHandler(noopUpdate, () => ++handled);
  setHandler(localActivityUpdate, async (kind) => (kind === 'insert' ? insertOne() : nothing()));
  // Stays open, like a plan: the benchmark's server is thrown away afterwards.
  await condition(() => false);
}
