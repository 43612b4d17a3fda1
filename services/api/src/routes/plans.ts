// Plan routes for schools and coordinators: create and read. Writes go through the plan's workflow only.

import { createHash, randomUUID } from 'node:crypto';
import { erasedLearners, findLearner, getPlanRow, learnerRefKey, type Database, type PlanRow } from '@iap/db';
import type { CommandMeta } from '@iap/messages';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { PlanGateway } from '../plan-gateway.js';
import type { RequestActor } from '../plugins/auth.js';
import { HttpProblem, problemResponses } from '../problem.js';
import { CommandResultSchema, CreatePlanBody, PlanIdParams, PlanSchema } from '../schemas/plan.js';
import { canSee } from '../scope.js';

export interface PlanRoutesOptions {
  readonly db: Kysely<Database>;
  readonly plans: PlanGateway;
}

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$', description: 'repeat a POST safely: the same key replays the first answer' }),
  ),
});

/** A plan id that a retried create with the same Idempotency-Key finds again. */
function planIdFor(schoolId: string, key: string): string {
  const h = createHash('sha256').update(`plan:${schoolId}:${key}`).digest('hex');
  // Shaped as an RFC 9562 version-8 (custom) UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/**
 * The Update id a command is sent under: from the caller's Idempotency-Key (a retry with the same key is the
 * same command, deduplicated by Temporal), else from the request.
 */
export const updateIdOf = (actorId: string, key: string | undefined, requestId: string): string => (key ? `idem:${actorId}:${key}` : `req:${requestId}`);

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

export const planRoutes: FastifyPluginAsyncTypebox<PlanRoutesOptions> = async (app, { db, plans }) => {
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
      if (!actor.schoolId || !actor.municipalityId || !actor.partnerId || !actor.partnerType) {
        throw new HttpProblem(403, 'forbidden', 'only a school-scoped token (school, municipality, partner) may draft a plan');
      }
      // A plan names a learner its school registered; any other reference, whether another school uses it or
      // none does, gets the same answer.
      if (!(await findLearner(db, actor.schoolId, request.body.learnerRef))) {
        throw new HttpProblem(422, 'learner.not_registered', 'no learner is registered at this school under this reference', {
          field: 'body.learnerRef',
          code: 'learner.not_registered',
        });
      }
      const key = request.headers['idempotency-key'];
      const updateId = updateIdOf(actor.id, key, request.id);
      const body = request.body;
      const planId = body.planId ?? (key ? planIdFor(actor.schoolId, key) : randomUUID());
      const result = await plans.create(
        planId,
        {
          type: 'DraftPlan',
          data: {
            planId,
            learnerRef: body.learnerRef,
            schoolId: actor.schoolId,
            municipalityId: actor.municipalityId,
            partner: { type: actor.partnerType, id: actor.partnerId },
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
      return reply.code(201).header('location', `/plans/${planId}`).header('etag', `"${result.version}"`).send({ ...result, events: [...result.events] });
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
