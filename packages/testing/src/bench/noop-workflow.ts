// The engine benchmark's baseline workflow: does nothing but answer an Update at once, so Temporal's own
// cost of Update-with-Start and Update can be measured beside the plan workflow's.

import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

export const NOOP_UPDATE = 'noop';
const noopUpdate = defineUpdate<number, [unknown]>(NOOP_UPDATE);

export async function noopWorkflow(): Promise<void> {
  let handled = 0;
  setHandler(noopUpdate, () => ++handled);
  // Stays open, like a plan: the benchmark's server is thrown away afterwards.
  await condition(() => false);
}
