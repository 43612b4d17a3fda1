// One signed checkpoint of every chain head. A Temporal Schedule starts it on the checkpoint task queue,
// whose worker alone holds the signing key; a run that fails is retried, and a missed one simply waits for
// the next firing.

import type { CheckpointActivities, CheckpointSummary } from '@iap/messages';
import { proxyActivities } from '@temporalio/workflow';

const { takeChainCheckpoint } = proxyActivities<CheckpointActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5 },
});

export async function chainCheckpointWorkflow(): Promise<CheckpointSummary> {
  return takeChainCheckpoint();
}
