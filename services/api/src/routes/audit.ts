// The auditor's routes, read-only: a plan's full history with every event's hash, its state as of any
// instant and the difference between two, verification of the hash chains (one plan, one school or the
// whole log) against the latest signed checkpoint, and the plan's Temporal workflow history.

import { diffBetween, readPlanHistory, stateAt, toHistoryEntry, verifyLog, type Database, type RecordedEvent, type VerifyScope } from '@iap/db';
import type { Role } from '@iap/domain';
import { planWorkflowId } from '@iap/messages';
import { decodeHistoryPayloads } from '@iap/runtime';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { Kysely } from 'kysely';
import { toProblem } from '../plan-gateway.js';
import { HttpProblem, problemResponses } from '../problem.js';
import {
  AsOfQuery,
  AuditPlanParams,
  DiffQuery,
  PlanHistorySchema,
  StateAtSchema,
  StateDiffSchema,
  VerifyQuery,
  VerifyReportSchema,
  WorkflowHistorySchema,
} from '../schemas/audit.js';

export interface AuditRoutesOptions {
  readonly db: Kysely<Database>;
  readonly temporal: Client;
  /** The checkpoint public keys the API trusts (PEM): a checkpoint signed by any other key proves nothing. */
  readonly checkpointPublicKeys?: readonly string[];
}

/** Auditors, and the national agency that sees every plan anyway. Nobody else reads the raw log. */
const AUDIT_ROLES: ReadonlySet<Role> = new Set(['auditor', 'national_coordinator']);

const security = [{ bearerAuth: [] }];

export const auditRoutes: FastifyPluginAsyncTypebox<AuditRoutesOptions> = async (app, { db, temporal, checkpointPublicKeys }) => {
  app.addHook('onRequest', app.authenticate);
  app.addHook('onRequest', async (request) => {
    if (!AUDIT_ROLES.has(request.actor.role)) throw new HttpProblem(403, 'forbidden', 'only auditors (and the national coordinator) may read the audit log');
  });

  async function planEvents(planId: string): Promise<{ events: readonly RecordedEvent[]; claims: ReadonlyArray<{ streamId: string; events: readonly RecordedEvent[] }> }> {
    const history = await readPlanHistory(db, planId);
    if (!history) throw new HttpProblem(404, 'not_found', 'the log has no such plan');
    return history;
  }

  app.get(
    '/audit/plans/:planId/events',
    {
      schema: {
        tags: ['audit'],
        summary: "A plan's full history: every event in order with actor, role, time, request id and hash (and its claims' streams)",
        security,
        params: AuditPlanParams,
        response: { 200: PlanHistorySchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { planId } = request.params;
      const h = await planEvents(planId);
      return {
        planId,
        events: h.events.map(toHistoryEntry),
        claims: h.claims.map((c) => ({ streamId: c.streamId, events: c.events.map(toHistoryEntry) })),
      };
    },
  );

  app.get(
    '/audit/plans/:planId/state',
    {
      schema: {
        tags: ['audit'],
        summary: "A plan's state as of an instant: the decider replayed over the log up to then",
        security,
        params: AuditPlanParams,
        querystring: AsOfQuery,
        response: { 200: StateAtSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { planId } = request.params;
      const at = normalise(request.query.at ?? new Date().toISOString(), 'at');
      const s = stateAt((await planEvents(planId)).events, at);
      return { planId, at: s.at, version: s.version, lastEvent: s.lastEvent, state: s.state as unknown as Record<string, unknown> };
    },
  );

  app.get(
    '/audit/plans/:planId/diff',
    {
      schema: {
        tags: ['audit'],
        summary: 'What changed in a plan between two instants: the events in between and the changed fields of its state',
        security,
        params: AuditPlanParams,
        querystring: DiffQuery,
        response: { 200: StateDiffSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { planId } = request.params;
      const from = normalise(request.query.from, 'from');
      const to = normalise(request.query.to ?? new Date().toISOString(), 'to');
      const d = diffBetween((await planEvents(planId)).events, from, to);
      const end = (s: typeof d.from) => ({ at: s.at, version: s.version, status: s.state.status });
      return { planId, from: end(d.from), to: end(d.to), events: [...d.events], changes: [...d.changes] };
    },
  );

  app.get(
    '/audit/verify',
    {
      schema: {
        tags: ['audit'],
        summary: 'Verify the hash chains of a plan, a school or the whole log, and compare heads with the latest signed checkpoint',
        security,
        querystring: VerifyQuery,
        response: { 200: VerifyReportSchema, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { planId, schoolId } = request.query;
      if (planId && schoolId) throw new HttpProblem(400, 'validation', 'give planId or schoolId, not both', { field: 'querystring.schoolId' });
      const scope: VerifyScope = planId ? { kind: 'plan', planId } : schoolId ? { kind: 'school', schoolId } : { kind: 'log' };
      const report = await verifyLog(db, scope, { trustedPublicKeys: checkpointPublicKeys ?? [] });
      // How old the newest checkpoint is: deleting events newer than it goes unseen until the next one.
      const checkpoint = report.checkpoint && { ...report.checkpoint, ageSeconds: Math.max(0, Math.round((Date.now() - Date.parse(report.checkpoint.takenAt)) / 1000)) };
      return { ...report, checkpoint, findings: [...report.findings] };
    },
  );

  app.get(
    '/audit/plans/:planId/workflow-history',
    {
      schema: {
        tags: ['audit'],
        summary: "The plan's Temporal workflow history (its latest run) as JSON, for replay against the workflow code",
        security,
        params: AuditPlanParams,
        response: { 200: WorkflowHistorySchema, ...problemResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { planId } = request.params;
      const workflowId = planWorkflowId(planId);
      try {
        // Decrypted with the client's own codec: auditors may read the plan, its free text included.
        const history = await decodeHistoryPayloads(
          await temporal.workflow.getHandle(workflowId).fetchHistory(),
          temporal.options.loadedDataConverter.payloadCodecs,
        );
        return { planId, workflowId, history: JSON.parse(historyToJSON(history)) as unknown };
      } catch (err) {
        if (isGrpcServiceError(err) && err.code === 5) throw new HttpProblem(404, 'not_found', 'no workflow for this plan');
        throw toProblem(err);
      }
    },
  );
};

/** An instant as the log writes them (ISO, UTC, milliseconds), so answers compare with event times. */
function normalise(value: string, field: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new HttpProblem(400, 'validation', `${field} is not an instant`, { field: `querystring.${field}` });
  return new Date(t).toISOString();
}
