// Test only, never in the worker's bundle: a plan workflow that takes the same commands as the real one
// but waits on a timer before it appends (commands in a different order). Replaying a recorded plan
// history against it must fail as non-deterministic; the audit replay test proves the check catches it.

import { planCommandUpdate, type CommandEnvelope, type CommandResult } from '@iap/messages';
import { ApplicationFailure, condition, setHandler, sleep } from '@temporalio/workflow';
import { appendEvents } from '../append.js';

export async function planWorkflow(): Promise<void> {
  setHandler(planCommandUpdate, async (env: CommandEnvelope): Promise<CommandResult> => {
    await sleep('1 second');
    await appendEvents({ streamId: 'never', expectedVersion: 0, events: [], projection: { kind: 'plan' } });
    throw ApplicationFailure.nonRetryable(`not deciding ${env.command.type}`);
  });
  await condition(() => false);
}
