// Activities: the only way the plan workflows touch the world. Built by a factory that the worker wires
// with its database and logger; no client is created inside an activity body.

import {
  alreadyRecorded,
  AppendIntegrityError,
  appendPlanEvents,
  appendToStream,
  applyClaimToBudget,
  BudgetError,
  ConcurrentDuplicateError,
  projectBudget,
  projectClaim,
  projectOrganisations,
  projectPlan,
  recordedByRunAfter,
  type ClaimProjectionContext,
  type Database,
  type EventMetadata,
  type RecordedEvent,
} from '@iap/db';
import type { Transaction } from 'kysely';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { sameCommand, type PlanState } from '@iap/domain';

export interface ActivityDeps {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** Test hook: runs after the append's transaction committed, before the activity returns. */
  readonly afterCommit?: (input: AppendEventsInput) => void | Promise<void>;
}

export interface EventToAppend {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly occurredAt: string;
  readonly metadata: EventMetadata;
}

/** Which inline projection the events feed, in the same transaction. */
export type ProjectionTarget =
  /**
   * `state`: the plan after these events, folded by the workflow with the decider's evolve; with it the
   * append and the row are one statement. Without it (or when that statement cannot apply) the row is
   * read, folded and written in the append's transaction.
   */
  | { readonly kind: 'plan'; readonly state?: PlanState }
  | { readonly kind: 'claim'; readonly context: ClaimProjectionContext }
  | { readonly kind: 'budget' }
  | { readonly kind: 'organisations' };

export interface AppendEventsInput {
  readonly streamId: string;
  readonly expectedVersion: number;
  readonly events: readonly EventToAppend[];
  readonly projection: ProjectionTarget;
  /**
   * The caller takes up events its own run recorded after `expectedVersion` for another command (see
   * recordedByRunAfter): they come back as `adopted` instead of the append failing. Unset: such an append fails.
   */
  readonly adoptOwnRun?: boolean;
}

/** Events the caller's own run recorded for another command, its workflow task lost after the commit. */
export interface AdoptedEvents {
  readonly adopted: ReadonlyArray<
    AppendedEvent & {
      readonly type: string;
      readonly schemaVersion: number;
      readonly data: unknown;
      /** Who recorded it, in which request: the command's retry is answered with these events. */
      readonly metadata: EventMetadata;
    }
  >;
}


export interface AppendedEvent {
  readonly eventId: string;
  readonly version: number;
  readonly globalPosition: string;
  readonly occurredAt: string;
  /**
   * On a retry only: the event's data as recorded. The same command decided again later (a retried workflow
   * task) may carry other time-dependent data; the log's version is the one the workflow must fold.
   */
  readonly data?: unknown;
}

const appended = (retry: boolean) => (e: RecordedEvent): AppendedEvent => ({
  eventId: e.eventId,
  version: e.streamVersion,
  globalPosition: e.globalPosition,
  occurredAt: e.occurredAt,
  ...(retry ? { data: e.data } : {}),
});

async function project(trx: Transaction<Database>, input: AppendEventsInput, events: readonly RecordedEvent[]): Promise<void> {
  switch (input.projection.kind) {
    case 'plan':
      await projectPlan(trx, input.streamId, events);
      return;
    case 'claim': {
      const claim = await projectClaim(trx, input.streamId, events, input.projection.context);
      if (claim.status !== 'none') await applyClaimToBudget(trx, claim.partnerId, input.projection.context.semester, events);
      return;
    }
    case 'budget':
      await projectBudget(trx, events);
      return;
    case 'organisations':
      await projectOrganisations(trx, events);
      return;
  }
}

/** Failure types of the append that the workflows act on (see workflows/src/stream-writer.ts). */
export const APPEND_FAILURE_TYPES = {
  /** The database refused the data itself: retrying cannot help, the command is refused. */
  unstorable: 'UnstorableData',
  /** Anything else (the database unreachable, a timeout): retried within a bound. */
  failed: 'AppendFailed',
} as const;

/** The SQLSTATE of a database error, on the error or its cause. */
function sqlStateOf(err: unknown): string | null {
  for (let e: unknown = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}

/**
 * A data exception (class 22) or an integrity violation (class 23) that the event store and projections did
 * not turn into a conflict they expect (ConcurrencyError, ConcurrentDuplicateError, BudgetError): the data
 * can never be written, e.g. a lone surrogate Postgres refuses in JSON (22P02).
 */
export const isUnstorable = (sqlState: string | null): boolean => sqlState !== null && (sqlState.startsWith('22') || sqlState.startsWith('23'));

/**
 * The message an append failure carries out of the activity (into the workflow's history and the logs):
 * the error's kind and SQLSTATE only. A database error's own message can quote the value it refused.
 */
function safeMessage(err: unknown): string {
  const code = sqlStateOf(err);
  const name = err instanceof Error ? err.name : typeof err;
  return code ? `append failed: database error ${code}` : `append failed: ${name}${err instanceof Error && (err as { code?: unknown }).code ? ` (${String((err as { code?: unknown }).code)})` : ''}`;
}

export function createActivities(deps: ActivityDeps) {
  const { db } = deps;

  /**
   * Appends a stream's events and updates its inline projection in one transaction. Idempotent: the
   * event ids come from the workflow, so a retry after a crash finds them recorded and writes nothing.
   */
  async function appendEvents(input: AppendEventsInput): Promise<AppendedEvent[] | AdoptedEvents> {
    const info = Context.current().info;
    const log = deps.logger.child({
      workflowId: info.workflowExecution?.workflowId ?? null,
      runId: info.workflowExecution?.runId ?? null,
      activityId: info.activityId,
      attempt: info.attempt,
      requestId: input.events[0]?.metadata.requestId ?? null,
      streamId: input.streamId,
    });
    const started = performance.now();
    // Where a command's time goes (see packages/testing/src/bench/timeline.ts): how long the append waited
    // between its scheduling and its start, and since the workflow task that decided it started (the
    // events' time is that task's workflow clock).
    const queuedMs = Date.now() - info.currentAttemptScheduledTimestampMs;
    const decidedAt = Date.parse(input.events[0]?.occurredAt ?? '');
    const sinceDecidedMs = Number.isNaN(decidedAt) ? null : Date.now() - decidedAt;
    try {
      const fast =
        input.projection.kind === 'plan' && input.projection.state
          ? await appendPlanEvents(db, input.streamId, input.expectedVersion, input.events, input.projection.state)
          : null;
      const result =
        fast ??
        (await db.transaction().execute(async (trx) => {
          const appended = await appendToStream(trx, input.streamId, input.expectedVersion, input.events);
          if (!appended.alreadyRecorded) await project(trx, input, appended.events);
          return appended;
        }));
      log.info(
        { events: result.events.map((e) => e.type), version: result.events.at(-1)?.streamVersion, retry: result.alreadyRecorded, ms: Math.round((performance.now() - started) * 10) / 10, queuedMs, sinceDecidedMs },
        result.alreadyRecorded ? 'events were already recorded (retry): nothing written' : 'events appended',
      );
      await deps.afterCommit?.(input);
      return result.events.map(appended(result.alreadyRecorded));
    } catch (err) {
      if (err instanceof BudgetError) {
        // A rule only the database can check (the budget across all of a partner's claims): nothing was
        // written, and retrying cannot help. The workflow turns it into the caller's refusal.
        log.info({ code: err.code }, err.message);
        throw ApplicationFailure.create({ type: 'BudgetError', message: err.message, nonRetryable: true, details: [{ code: err.code }] });
      }
      if (err instanceof ConcurrentDuplicateError) {
        // Another attempt of this same activity is committing the same events: the retry will find them.
        throw ApplicationFailure.retryable(err.message, 'ConcurrentDuplicate');
      }
      if (err instanceof Error && err.name === 'ConcurrencyError') {
        // A stale attempt of this same activity (timed out, still running) may have committed the batch
        // after this attempt read the head: then the batch is recorded and this attempt succeeded too.
        // Recorded with other content is not this batch (refused below); a failed read is retried.
        const recorded = await alreadyRecorded(db, input.streamId, input.events).catch((e: unknown) => {
          if (e instanceof AppendIntegrityError) return null;
          throw retryCheck(log, e);
        });
        if (recorded) {
          log.info('events were recorded by another attempt of this activity: nothing written');
          return recorded.map(appended(true));
        }
      }
      if (err instanceof Error && (err.name === 'ConcurrencyError' || err.name === 'AppendIntegrityError')) {
        const adopted = input.adoptOwnRun ? await ownRunsOthers(input, info.workflowExecution?.runId, log) : [];
        if (adopted.length > 0) {
          log.warn(
            { adopted: adopted.map((e) => ({ version: e.version, type: e.type, requestId: e.metadata.requestId, commandId: e.metadata.commandId ?? null })) },
            'the stream holds events this run recorded for another command (its workflow task was lost after the commit): handed back to be taken up',
          );
          return { adopted };
        }
        log.error({ err }, 'append refused');
        throw ApplicationFailure.nonRetryable(err.message, err.name);
      }
      const sqlState = sqlStateOf(err);
      if (isUnstorable(sqlState)) {
        // Nothing was written (the transaction rolled back) and no retry can write it: refused at once.
        log.error({ err, sqlState }, 'append refused by the database: the data cannot be stored');
        throw ApplicationFailure.create({ type: APPEND_FAILURE_TYPES.unstorable, message: `the database refused the data (SQLSTATE ${sqlState})`, nonRetryable: true, details: [{ sqlState }] });
      }
      log.warn({ err, sqlState }, 'append failed; Temporal will retry');
      throw ApplicationFailure.create({ type: APPEND_FAILURE_TYPES.failed, message: safeMessage(err), details: [{ sqlState }] });
    }
  }

  /** A refused append whose cause could not be read (the database failed meanwhile): retried, never refused. */
  function retryCheck(log: Logger, err: unknown): Error {
    log.warn({ err }, 'append refused, but reading why failed; Temporal will retry');
    return ApplicationFailure.create({ type: APPEND_FAILURE_TYPES.failed, message: safeMessage(err), details: [{ sqlState: sqlStateOf(err) }] });
  }

  /**
   * Events this run recorded after the expected version for other commands, up to this command's own (a lost
   * task may have recorded this one after them: once they are taken up, its append finds its own, a retry).
   */
  async function ownRunsOthers(input: AppendEventsInput, runId: string | undefined, log: Logger): Promise<AdoptedEvents['adopted']> {
    const ours = input.events[0]?.metadata;
    // A failed read is not "nothing to take up": the refusal would be final, so Temporal retries instead.
    const own = runId && ours ? await recordedByRunAfter(db, input.streamId, input.expectedVersion, runId).catch((e: unknown) => {
      throw retryCheck(log, e);
    }) : null;
    if (!own || !ours) return [];
    const mine = own.findIndex((e) => sameCommand(e.metadata, ours));
    return (mine === -1 ? own : own.slice(0, mine)).map((e) => ({ ...appended(true)(e), type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata }));
  }

  return { appendEvents };
}

export type Activities = ReturnType<typeof createActivities>;
