// The event-log activity as the workflows call it, and the rule for event ids.

import type { Activities } from '@iap/activities';
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';

const APPEND_OPTIONS: ActivityOptions = {
  // Appends take milliseconds; a worker that died mid-append is noticed and the append retried soon.
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    // About 15 seconds of retries (a database restart), then the workflow raises an alert and tries again
    // after a pause (appendDecided): a failing database is not hammered, and the caller's retry finds the
    // command waiting.
    maximumAttempts: 8,
    // These mean a bug, a second writer or data the database refuses, not a passing fault: retrying cannot help.
    nonRetryableErrorTypes: ['ConcurrencyError', 'AppendIntegrityError', 'UnstorableData'],
  },
};

/**
 * The append as a local activity: it runs in the worker inside the workflow task that decided, so a command
 * costs one workflow task instead of a task, an activity task and a second task. A worker that dies after the
 * commit has its workflow task retried: the command is decided again, later (what depends on the clock, such
 * as a consent deadline, may differ), and the re-run append finds its events recorded under the same ids for
 * the same request and run, writes nothing and returns the log's data, which the workflow folds instead.
 */
export const { appendEvents: appendEventsLocally } = proxyLocalActivities<Activities>(APPEND_OPTIONS);

/** The append as a regular activity: how plans appended before the `append-local-activity` patch replay. */
export const { appendEvents } = proxyActivities<Activities>(APPEND_OPTIONS);

/** Workflows started before the change replay their appends as regular activities; new appends run locally. */
export const APPEND_LOCAL_PATCH = 'append-local-activity';

/**
 * An event's id is its stream and version: deterministic, so a retried append (same workflow, same
 * decision) finds it recorded, and a second writer of the same version cannot slip in a different event.
 */
export const eventId = (streamId: string, version: number): string => `${streamId}/${version}`;
