// What an audit covers (one plan, one school, a period, or the whole log), and reading the log's events
// for it in (stream, version) order, a page at a time, so a whole-log run never holds the log in memory.
// Which plan and school a stream belongs to is read from the log itself (its first event), not from the
// projections, which the application may rewrite.

import { sql, type Kysely } from 'kysely';
import { toRecorded, type RecordedEvent } from '../event-store.js';
import type { Database } from '../schema.js';

export type AuditScope =
  | { readonly kind: 'log' }
  | { readonly kind: 'plan'; readonly planId: string }
  | { readonly kind: 'school'; readonly schoolId: string }
  /** Events that occurred in [from, to). */
  | { readonly kind: 'period'; readonly from: string; readonly to: string };

export const describeScope = (s: AuditScope): string =>
  s.kind === 'log' ? 'the whole log' : s.kind === 'plan' ? `plan ${s.planId}` : s.kind === 'school' ? `school ${s.schoolId}` : `${s.from} to ${s.to}`;

export interface StreamOwner {
  readonly streamId: string;
  readonly planId: string | null;
  readonly schoolId: string | null;
}

/** The plan and school of every stream (or of the given ones): a plan's from PlanDrafted, a claim's from its plan. */
export async function streamOwners(db: Kysely<Database>): Promise<Map<string, StreamOwner>> {
  const firsts = await db
    .selectFrom('events')
    .select(['stream_id', 'event_type', sql<string | null>`data->>'schoolId'`.as('school_id'), sql<string | null>`data->>'planId'`.as('plan_id')])
    .where('stream_version', '=', 1)
    .execute();
  const schoolOfPlan = new Map<string, string | null>();
  for (const f of firsts) if (f.event_type === 'PlanDrafted') schoolOfPlan.set(f.stream_id, f.school_id);
  const out = new Map<string, StreamOwner>();
  for (const f of firsts) {
    const planId = f.event_type === 'PlanDrafted' ? f.stream_id : f.event_type === 'ClaimSubmitted' ? f.plan_id : null;
    out.set(f.stream_id, { streamId: f.stream_id, planId, schoolId: planId ? (schoolOfPlan.get(planId) ?? null) : null });
  }
  return out;
}

/** The streams a plan or school scope covers, as the log has them now; null for log and period scopes. */
export async function streamsInScope(db: Kysely<Database>, scope: AuditScope): Promise<string[] | null> {
  if (scope.kind === 'log' || scope.kind === 'period') return null;
  const plans =
    scope.kind === 'plan'
      ? [scope.planId]
      : (
          await db
            .selectFrom('events')
            .select('stream_id')
            .where('event_type', '=', 'PlanDrafted')
            .where(sql<boolean>`data->>'schoolId' = ${scope.schoolId}`)
            .execute()
        ).map((r) => r.stream_id);
  if (plans.length === 0) return [];
  const claims = await db
    .selectFrom('events')
    .select('stream_id')
    .where('event_type', '=', 'ClaimSubmitted')
    .where('stream_version', '=', 1)
    .where(sql<string>`data->>'planId'`, 'in', plans)
    .execute();
  const present = await db.selectFrom('events').select('stream_id').distinct().where('stream_id', 'in', plans).execute();
  return [...present.map((r) => r.stream_id), ...claims.map((r) => r.stream_id)].sort();
}

/** Is a checkpointed stream's owner inside the scope? (Streams deleted since are found this way.) */
export function ownerInScope(o: { planId: string | null; schoolId: string | null }, scope: AuditScope): boolean {
  if (scope.kind === 'plan') return o.planId === scope.planId;
  if (scope.kind === 'school') return o.schoolId === scope.schoolId;
  return true;
}

export interface EventFilter {
  /** Only these streams; null: every stream. */
  readonly streams: readonly string[] | null;
  readonly from?: string;
  readonly to?: string;
}

export async function filterFor(db: Kysely<Database>, scope: AuditScope): Promise<EventFilter> {
  if (scope.kind === 'period') return { streams: null, from: scope.from, to: scope.to };
  return { streams: await streamsInScope(db, scope) };
}

function filtered(db: Kysely<Database>, f: EventFilter) {
  let q = db.selectFrom('events');
  if (f.streams) q = q.where('stream_id', 'in', f.streams as string[]);
  if (f.from) q = q.where('occurred_at', '>=', f.from as never);
  if (f.to) q = q.where('occurred_at', '<', f.to as never);
  return q;
}

export async function countEvents(db: Kysely<Database>, f: EventFilter): Promise<number> {
  if (f.streams?.length === 0) return 0;
  const r = await filtered(db, f).select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Every event of the filter, ordered by stream then version, read by keyset pages. */
export async function* scanEvents(db: Kysely<Database>, f: EventFilter, pageSize = 2_000): AsyncGenerator<RecordedEvent> {
  if (f.streams?.length === 0) return;
  let after: readonly [string, number] | null = null;
  for (;;) {
    let q = filtered(db, f).selectAll();
    if (after) {
      const [s, v] = after;
      q = q.where(({ eb, refTuple, tuple }) => eb(refTuple('stream_id', 'stream_version'), '>', tuple(s, v)));
    }
    const rows = await q.orderBy('stream_id').orderBy('stream_version').limit(pageSize).execute();
    for (const r of rows) yield toRecorded(r);
    if (rows.length < pageSize) return;
    const last = rows.at(-1)!;
    after = [last.stream_id, last.stream_version];
  }
}
