// The event-log activity as the workflows call it, and the rule for event ids.

import type { Activities } from '@iap/activities';
import { proxyActivities } from '@temporalio/workflow';

export const { appendEvents } = proxyActivities<Activities>({
  // Appends take milliseconds; a worker that died mid-append is noticed and the append retried soon.
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    // These mean a bug or a second writer, not a passing fault: retrying cannot help.
    nonRetryableErrorTypes: ['ConcurrencyError', 'AppendIntegrityError'],
  },
});

/**
 * An event's id is its stream and version: deterministic, so a retried append (same workflow, same
 * decision) finds it recorded, and a second writer of the same version cannot slip in a different event.
 */
export const eventId = (streamId: string, version: number): string => `${streamId}/${version}`;
