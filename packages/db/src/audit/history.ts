// A plan's history as an auditor reads it (every event with who, when, in which request, and its hash),
// and its state as of any instant: the same decider `evolve` folded over the log up to that instant, so
// the auditor's view cannot drift from what the workflow decided.

import { initialState, type PlanState } from '@iap/domain';
import type { Kysely } from 'kysely';
import { readStream, type RecordedEvent } from '../event-store.js';
import { foldRecorded } from '../projections/plans.js';
import type { Database } from '../schema.js';
import { diffJson, type Change } from './diff.js';
import { streamsInScope } from './scope.js';

export interface HistoryEntry {
  readonly globalPosition: string;
  readonly streamId: string;
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly actorId: string;
  readonly actorRole: string;
  readonly schoolId: string | null;
  readonly requestId: string | null;
  readonly correlationId: string | null;
  readonly workflowId: string | null;
  readonly runId: string | null;
  readonly data: unknown;
  readonly prevHash: string | null;
  readonly hash: string;
}

export function toHistoryEntry(e: RecordedEvent): HistoryEntry {
  const m = e.metadata;
  return {
    globalPosition: e.globalPosition,
    streamId: e.streamId,
    version: e.streamVersion,
    eventId: e.eventId,
    type: e.type,
    schemaVersion: e.schemaVersion,
    occurredAt: e.occurredAt,
    recordedAt: e.recordedAt,
    actorId: m.actorId,
    actorRole: m.actorRole,
    schoolId: m.schoolId,
    requestId: m.requestId,
    correlationId: m.correlationId,
    workflowId: m.workflowId,
    runId: m.runId,
    data: e.data,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

export interface PlanHistory {
  readonly planId: string;
  readonly events: readonly RecordedEvent[];
  /** The plan's compensation claims, each its own stream (reimbursement workflow). */
  readonly claims: ReadonlyArray<{ readonly streamId: string; readonly events: readonly RecordedEvent[] }>;
}

/** The plan's stream and its claims' streams; null when the log has no such plan. */
export async function readPlanHistory(db: Kysely<Database>, planId: string): Promise<PlanHistory | null> {
  const events = await readStream(db, planId);
  if (events.length === 0) return null;
  const streams = (await streamsInScope(db, { kind: 'plan', planId })) ?? [];
  const claims = await Promise.all(streams.filter((s) => s !== planId).map(async (streamId) => ({ streamId, events: await readStream(db, streamId) })));
  return { planId, events, claims };
}

export interface StateAt {
  readonly at: string;
  /** The plan's version at that instant (0: not drafted yet). */
  readonly version: number;
  readonly state: PlanState;
  /** The last event folded in, if any. */
  readonly lastEvent: { readonly eventId: string; readonly type: string; readonly occurredAt: string } | null;
}

/** How many of the stream's events had happened by `at`: the longest prefix whose events all occurred by then. */
export function prefixAt(events: readonly RecordedEvent[], at: string): number {
  const t = Date.parse(at);
  let n = 0;
  while (n < events.length && Date.parse(events[n]!.occurredAt) <= t) n++;
  return n;
}

export function stateAt(events: readonly RecordedEvent[], at: string): StateAt {
  const n = prefixAt(events, at);
  const last = n > 0 ? events[n - 1]! : null;
  return {
    at,
    version: last?.streamVersion ?? 0,
    state: foldRecorded(initialState(), events.slice(0, n)),
    lastEvent: last ? { eventId: last.eventId, type: last.type, occurredAt: last.occurredAt } : null,
  };
}

export interface StateDiff {
  readonly from: StateAt;
  readonly to: StateAt;
  /** The events that took the plan from one state to the other. */
  readonly events: readonly HistoryEntry[];
  readonly changes: readonly Change[];
}

/** What changed between two instants (`to` may be earlier than `from`: the diff then runs backwards). */
export function diffBetween(events: readonly RecordedEvent[], fromAt: string, toAt: string): StateDiff {
  const from = stateAt(events, fromAt);
  const to = stateAt(events, toAt);
  const [lo, hi] = from.version <= to.version ? [from.version, to.version] : [to.version, from.version];
  return {
    from,
    to,
    events: events.filter((e) => e.streamVersion > lo && e.streamVersion <= hi).map(toHistoryEntry),
    changes: diffJson(from.state, to.state),
  };
}
