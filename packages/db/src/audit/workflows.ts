// Which Temporal workflows wrote a scope's streams, read from the events' own metadata (each event names
// its workflow), so replaying "all plans" needs no visibility query and no copy of the id rules.

import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { streamsInScope } from './scope.js';
import type { VerifyScope } from './verify.js';

export interface RecordedWorkflow {
  readonly workflowId: string;
  readonly streamId: string;
  /** The plan the stream belongs to (a claim's plan for a reimbursement stream). */
  readonly planId: string | null;
}

export async function workflowsInScope(db: Kysely<Database>, scope: VerifyScope): Promise<RecordedWorkflow[]> {
  const streams = await streamsInScope(db, scope);
  if (streams?.length === 0) return [];
  let q = db
    .selectFrom('events')
    .select([
      'stream_id',
      'event_type',
      sql<string | null>`metadata->>'workflowId'`.as('workflow_id'),
      sql<string | null>`data->>'planId'`.as('plan_id'),
    ])
    .where('stream_version', '=', 1);
  if (streams) q = q.where('stream_id', 'in', streams);
  const rows = await q.orderBy('stream_id').execute();
  const out: RecordedWorkflow[] = [];
  for (const r of rows) {
    if (!r.workflow_id) continue;
    const planId = r.event_type === 'PlanDrafted' ? r.stream_id : r.plan_id;
    out.push({ workflowId: r.workflow_id, streamId: r.stream_id, planId });
  }
  return out;
}
