// Plan routes for schools and coordinators: create and read. Writes go through the plan's workflow only.

import { erasedLearners, findLearner, foldRecorded, getPlanRow, learnerRefKey, readStream, type Database, type PlanRow } from '@iap/db';
import { initialState } from '@iap/domain';
import type { CommandMeta, CommandResult } from '@iap/messages';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Idempotency } from '../idempotency.js';
import type { PlanGateway } from '../plan-gateway.js';
import type { RequestActor } from '../plugins/auth.js';
import { HttpProblem, problemResponses } from '../problem.js';
import { CommandResultSchema, CreatePlanBody, PlanIdParams, PlanSchema } from '../schemas/plan.js';
import { canSee } from '../scope.js';

export interface PlanRoutesOptions {
  readonly db: Kysely<Database>;
  readonly plans: PlanGateway;
  readonly idempotency: Idempotency;
}

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'retry the create safely: the same key with the same body answers with the same plan and writes nothing more; with another body, 422',
    }),
  ),
});

/** What a command carries besides itself; `commandId` (its Update id) goes into its events' metadata. */
export function commandMeta(actor: RequestActor, requestId: string, expectedVersion: number | null, commandId?: string): CommandMeta {
  return {
    actor: { id: actor.id, role: actor.role },
    schoolId: actor.schoolId,
    requestId,
    ...(commandId !== undefined ? { commandId } : {}),
    correlationId: requestId,
    causationId: null,
    expectedVersion,
  };
}

/**
 * What a command sent under `commandId` left in the plan's log, as the workflow answered it: its events, and
 * the plan's version and status after them. Null when the log holds none (not taken, or refused).
 */
export async function recordedCommandResult(db: Kysely<Database>, planId: string, commandId: string): Promise<CommandResult | null> {
  const stream = await readStream(db, planId);
  const mine = stream.filter((e) => e.metadata.commandId === commandId);
  const last = mine.at(-1);
  if (!last) return null;
  const state = foldRecorded(initialState(), stream.slice(0, stream.indexOf(last) + 1));
  if (state.status === 'none') return null;
  return {
    planId,
    version: last.streamVersion,
    status: state.status,
    events: mine.map((e) => ({ eventId: e.eventId, type: e.type as CommandResult['events'][number]['type'], version: e.streamVersion, globalPosition: e.globalPosition })),
  };
}

/** A plan command's answer (201 for the draft that creates it). */
export const commandAnswer = (result: CommandResult, status: 200 | 201) => ({
  status,
  headers: { ...(status === 201 ? { location: `/plans/${result.planId}` } : {}), etag: `"${result.version}"` },
  body: { ...result, events: [...result.events] },
});

export function toPlanDto(row: PlanRow, erased: ReadonlySet<string> = new Set()) {
  return {
    planId: row.plan_id,
    version: row.version,
    status: row.status,
    learnerRef: row.learner_ref,
    learnerErased: erased.has(learnerRefKey(row.school_id, row.learner_ref)),
    schoolId: row.school_id,
    municipalityId: row.municipality_id,
    partner: { type: row.partner_type, id: row.partner_id },
    semester: row.semester,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    state: row.state as Record<string, unknown>,
  };
}

export const planRoutes: FastifyPluginAsyncTypebox<PlanRoutesOptions> = async (app, { db, plans, idempotency }) => {
  app.addHook('onRequest', app.authenticate);

  app.post(
    '/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Draft a new plan (plan preparer or school director of the school)',
        security: [{ bearerAuth: [] }],
        headers: IdempotencyHeaders,
        body: CreatePlanBody,
        response: { 201: CommandResultSchema, ...problemResponses(400, 401, 403, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const actor = request.actor;
      // The school's municipality and partner are the register's: the token check put them in the actor's scope.
      const { schoolId, municipalityId, partnerId, partnerType } = actor;
      if (!schoolId || !municipalityId || !partnerId || !partnerType) {
        throw new HttpProblem(403, 'forbidden', 'only a token naming a registered school may draft a plan');
      }
      // A plan names a learner its school registered; any other reference, whether another school uses it or
      // none does, gets the same answer.
      if (!(await findLearner(db, schoolId, request.body.learnerRef))) {
        throw new HttpProblem(422, 'learner.not_registered', 'no learner is registered at this school under this reference', {
          field: 'body.learnerRef',
          code: 'learner.not_registered',
        });
      }
      const body = request.body;
      // The plan id is the server's: a new one per create, the same for a retry under the same key.
      return idempotency.run(
        request,
        reply,
        async ({ commandId: planId, updateId }) => {
          const result = await plans.create(
            planId,
            {
              type: 'DraftPlan',
              data: {
                planId,
                learnerRef: body.learnerRef,
                schoolId,
                municipalityId,
                partner: { type: partnerType, id: partnerId },
                semester: body.semester,
                grade: body.grade,
                risks: body.risks,
                measures: body.measures,
                previousPlanId: body.previousPlanId ?? null,
              },
            },
            commandMeta(actor, request.id, null, updateId),
            updateId,
          );
          request.log.info({ planId, version: result.version }, 'plan drafted');
          return commandAnswer(result, 201);
        },
        async ({ commandId: planId, updateId }) => {
          const result = await recordedCommandResult(db, planId, updateId);
          return result && commandAnswer(result, 201);
        },
      );
    },
  );

  app.get(
    '/plans/:planId',
    {
      schema: {
        tags: ['plans'],
        summary: 'Read a plan (its projection: what the last accepted command left)',
        security: [{ bearerAuth: [] }],
        params: PlanIdParams,
        response: { 200: PlanSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const row = await getPlanRow(db, request.params.planId);
      if (!row || !canSee(request.actor, row)) throw new HttpProblem(404, 'not_found', 'no such plan');
      return reply.header('etag', `"${row.version}"`).send(toPlanDto(row, await erasedLearners(db, [row])));
    },
  );
};
