// What every entity workflow here does with a command: decide under a lock, append the events (with
// their inline projection) through the event-log activity, then fold them into the in-memory state. A
// domain refusal becomes an ApplicationFailure the API maps to HTTP; so does a budget rule that only the
// database can check.

import { isDomainError, type Role } from '@iap/domain';
import { FAILURE_TYPES, type CommandMeta, type RefusalDetails } from '@iap/messages';
import type { AdoptedEvents, ProjectionTarget } from '@iap/activities';
import { ActivityFailure, ApplicationFailure, condition, isCancellation, log, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { APPEND_LOCAL_PATCH, appendEvents, appendEventsLocally, eventId } from './append.js';

export interface Decided<E extends { type: string; data: unknown }> {
  readonly events: E[];
  readonly recorded: ReadonlyArray<{ eventId: string; version: number; globalPosition: string; occurredAt: string }>;
}

export function refusal(code: string, kind: RefusalDetails['kind'], message: string, field: string | null): ApplicationFailure {
  return ApplicationFailure.create({ type: FAILURE_TYPES.domain, message, nonRetryable: true, details: [{ code, kind, field } satisfies RefusalDetails] });
}

export function staleVersion(what: string, version: number, expected: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: FAILURE_TYPES.staleVersion,
    message: `${what} is at version ${version}, not ${expected}`,
    nonRetryable: true,
    details: [{ code: `${what}.stale_version`, kind: 'stale', field: null } satisfies RefusalDetails],
  });
}

/**
 * Thrown by appendDecided when the stream holds, where the events were to go, events the caller's own run
 * recorded for another command whose workflow task was lost after the commit (AdoptedEvents): the caller folds
 * them, as that command's outcome, and decides its own command again.
 */
export class EventsToAdopt extends Error {
  constructor(readonly events: AdoptedEvents['adopted']) {
    super(`the stream holds ${events.length} event(s) this run recorded for another command`);
    this.name = 'EventsToAdopt';
  }
}

/** Runs `decide`, turning a DomainError into the refusal the caller sees. */
export function decideOrRefuse<E>(decide: () => E[]): E[] {
  try {
    return decide();
  } catch (e) {
    if (isDomainError(e)) throw refusal(e.code, e.kind, e.message, e.field ?? null);
    throw e;
  }
}

export function eventMetadata(meta: CommandMeta) {
  const info = workflowInfo();
  return {
    actorId: meta.actor.id,
    actorRole: meta.actor.role,
    schoolId: meta.schoolId,
    requestId: meta.requestId,
    ...(meta.commandId ? { commandId: meta.commandId } : {}),
    correlationId: meta.correlationId ?? meta.requestId,
    causationId: meta.causationId,
    workflowId: info.workflowId,
    runId: info.runId,
  };
}

/** The command meta an event's metadata was made from (eventMetadata): who, in which request and command. */
export function commandMetaOf(md: AdoptedEvents['adopted'][number]['metadata']): CommandMeta {
  return {
    actor: { id: md.actorId, role: md.actorRole as Role },
    schoolId: md.schoolId,
    requestId: md.requestId,
    commandId: md.commandId ?? null,
    correlationId: md.correlationId,
    causationId: md.causationId,
    expectedVersion: null,
  };
}

/** A one-at-a-time lock for a workflow's command handlers. */
export class Lock {
  private held = false;
  get busy(): boolean {
    return this.held;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    // Several waiters wake in the same activation when the lock frees: each checks again, so only the
    // first continuation takes it and the others wait for the next release. Always yield once first:
    // recorded histories have the handler's activity scheduled after the main loop's timer, not before.
    do await condition(() => !this.held);
    while (this.held);
    this.held = true;
    try {
      return await fn();
    } finally {
      this.held = false;
    }
  }
}

/** Appends decided events to `streamId` at `version`, mapping a database-checked rule to a refusal. */
export async function appendDecided<E extends { type: string; data: unknown }>(
  streamId: string,
  version: number,
  events: E[],
  schemaVersions: Readonly<Record<string, number>>,
  meta: CommandMeta,
  /** The inline projection the events feed; a function gets the events' time (the plan folds its new state). */
  projection: ProjectionTarget | ((occurredAt: string) => ProjectionTarget),
  /**
   * local: append as a local activity or not, as the caller decided (the plan workflow, by its generation and
   *   patches); absent, the append-local-activity patch decides.
   * adoptOwnRun: events the run recorded for another command come back as EventsToAdopt instead of a failure.
   */
  opts: { readonly local?: boolean; readonly adoptOwnRun?: boolean } = {},
): Promise<Decided<E>> {
  const occurredAt = new Date().toISOString();
  try {
    const append = (opts.local ?? patched(APPEND_LOCAL_PATCH)) ? appendEventsLocally : appendEvents;
    const recorded = await retryingAppend(streamId, () => append({
      streamId,
      expectedVersion: version,
      events: events.map((e, i) => ({
        eventId: eventId(streamId, version + i + 1),
        type: e.type,
        schemaVersion: schemaVersions[e.type] ?? 1,
        data: e.data,
        occurredAt,
        metadata: eventMetadata(meta),
      })),
      projection: typeof projection === 'function' ? projection(occurredAt) : projection,
      ...(opts.adoptOwnRun ? { adoptOwnRun: true } : {}),
    }));
    if (!Array.isArray(recorded)) throw new EventsToAdopt(recorded.adopted);
    // A retried workflow task may have decided again what an earlier attempt recorded: fold the log's version.
    return { events: events.map((e, i) => (recorded[i]?.data === undefined ? e : { ...e, data: recorded[i].data as E['data'] })), recorded };
  } catch (err) {
    // A regular activity's failure arrives wrapped in an ActivityFailure; a local activity's as itself.
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === 'BudgetError') {
      const code = (cause.details?.[0] as { code?: string } | undefined)?.code ?? 'claim.budget_exceeded';
      throw refusal(code, 'rule', cause.message, code === 'budget.below_approved' ? 'data.allocatedCents' : null);
    }
    if (cause instanceof ApplicationFailure && cause.type === UNSTORABLE) {
      // The database refused the data itself (e.g. text it cannot hold): nothing was written, and the same
      // command can never be. The caller is told so, without the data.
      throw refusal('data.unstorable', 'rule', 'the command holds data that cannot be stored; nothing was recorded', null);
    }
    throw err;
  }
}

/** The append activity's failure type for data the database refuses (APPEND_FAILURE_TYPES in activities). */
const UNSTORABLE = 'UnstorableData';
/** Append failures no further round can change (APPEND_OPTIONS' nonRetryableErrorTypes, and the budget's). */
const FINAL_FAILURES = new Set(['BudgetError', 'ConcurrencyError', 'AppendIntegrityError', UNSTORABLE]);
/** The pause after a round of failed append attempts, before the next round. */
const APPEND_PAUSE = '30 seconds';

/**
 * Runs an append until it succeeds or fails for a reason retrying cannot change. Each call of `append` is
 * one bounded round of the activity's own retries (APPEND_OPTIONS); a round that ends still failing
 * (the database unreachable) is logged as an error for the operators and followed by a pause and another
 * round. The command's Update stays open meanwhile: the caller has its 503 (the API's own timeout), and its
 * retry under the same Idempotency-Key joins this Update, so the command is written once, when it can be.
 */
async function retryingAppend<T>(streamId: string, append: () => Promise<T>): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await append();
    } catch (err) {
      // Only an activity that ran out of attempts (a failure or a timeout) is worth another round; a
      // refusal, a cancellation or anything else goes to the caller.
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      if (!(err instanceof ActivityFailure) && !(cause instanceof ApplicationFailure)) throw err;
      if (cause instanceof ApplicationFailure && (cause.nonRetryable || FINAL_FAILURES.has(cause.type ?? ''))) throw err;
      log.error('append still failing after a round of retries; pausing before the next', {
        streamId,
        round,
        failure: cause instanceof ApplicationFailure ? (cause.type ?? null) : cause instanceof Error ? cause.name : null,
        message: cause instanceof Error ? cause.message : null,
      });
      await sleep(APPEND_PAUSE);
    }
  }
}
