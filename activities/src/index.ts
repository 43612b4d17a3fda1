// Activities: the only way the plan workflows touch the world. Built by a factory that the worker wires
// with its database and logger; no client is created inside an activity body.

import {
  appendToStream,
  ConcurrentDuplicateError,
  projectPlan,
  type Database,
  type EventMetadata,
} from '@iap/db';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

export interface ActivityDeps {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** Test hook: runs after the append's transaction committed, before the activity returns. */
  readonly afterCommit?: (input: AppendPlanEventsInput) => void | Promise<void>;
}

export interface EventToAppend {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly occurredAt: string;
  readonly metadata: EventMetadata;
}

export interface AppendPlanEventsInput {
  readonly planId: string;
  readonly expectedVersion: number;
  readonly events: readonly EventToAppend[];
}

export interface AppendedEvent {
  readonly eventId: string;
  readonly version: number;
  readonly globalPosition: string;
  readonly occurredAt: string;
}

export function createActivities(deps: ActivityDeps) {
  const { db } = deps;

  return {
    /**
     * Appends a plan's events and updates its inline projection in one transaction. Idempotent: the
     * event ids come from the workflow, so a retry after a crash finds them recorded and writes nothing.
     */
    async appendPlanEvents(input: AppendPlanEventsInput): Promise<AppendedEvent[]> {
      const info = Context.current().info;
      const log = deps.logger.child({
        workflowId: info.workflowExecution?.workflowId ?? null,
        runId: info.workflowExecution?.runId ?? null,
        activityId: info.activityId,
        attempt: info.attempt,
        requestId: input.events[0]?.metadata.requestId ?? null,
        planId: input.planId,
      });
      try {
        const result = await db.transaction().execute(async (trx) => {
          const appended = await appendToStream(trx, input.planId, input.expectedVersion, input.events);
          if (!appended.alreadyRecorded) await projectPlan(trx, input.planId, appended.events);
          return appended;
        });
        log.info(
          { events: result.events.map((e) => e.type), version: result.events.at(-1)?.streamVersion, retry: result.alreadyRecorded },
          result.alreadyRecorded ? 'events were already recorded (retry): nothing written' : 'events appended',
        );
        await deps.afterCommit?.(input);
        return result.events.map((e) => ({
          eventId: e.eventId,
          version: e.streamVersion,
          globalPosition: e.globalPosition,
          occurredAt: e.occurredAt,
        }));
      } catch (err) {
        if (err instanceof ConcurrentDuplicateError) {
          // Another attempt of this same activity is committing the same events: the retry will find them.
          throw ApplicationFailure.retryable(err.message, 'ConcurrentDuplicate');
        }
        if (err instanceof Error && (err.name === 'ConcurrencyError' || err.name === 'AppendIntegrityError')) {
          log.error({ err }, 'append refused');
          throw ApplicationFailure.nonRetryable(err.message, err.name);
        }
        log.warn({ err }, 'append failed; Temporal will retry');
        throw err;
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
