// Learners' identities (name, personal code, birth date), kept out of plan events and workflow
// histories on purpose: they are encrypted per learner and an erasure destroys the learner's key. That is
// why these writes go straight to the identity store rather than through a workflow: a Temporal history
// would keep the personal data it carried, beyond any erasure.

import { IdentityStore, LearnerErasedError, type Database } from '@iap/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { RequestActor } from '../plugins/auth.js';
import { HttpProblem, problemResponses } from '../problem.js';
import { LocalDate, Ref, Text } from '../schemas/common.js';

export interface LearnerRoutesOptions {
  readonly db: Kysely<Database>;
  readonly identityKey: Buffer;
}

const Params = Type.Object({ learnerRef: Ref('pseudonymous learner id') }, { additionalProperties: false });
const IdentityBody = Type.Object(
  {
    givenName: Text(100),
    familyName: Text(100),
    personalCode: Type.String({ pattern: '^[0-9]{6}-?[0-9]{5}$', description: 'Latvian personal code, e.g. 010203-12345' }),
    birthDate: LocalDate(),
  },
  { additionalProperties: false },
);
const IdentitySchema = Type.Union([
  Type.Object({
    learnerRef: Type.String(),
    erased: Type.Literal(false),
    updatedAt: Type.String(),
    givenName: Type.String(),
    familyName: Type.String(),
    personalCode: Type.String(),
    birthDate: Type.String(),
  }),
  Type.Object({ learnerRef: Type.String(), erased: Type.Literal(true), erasedAt: Type.String() }),
]);
const ErasureSchema = Type.Object({ learnerRef: Type.String(), erased: Type.Literal(true), erasedAt: Type.String() });

export const learnerRoutes: FastifyPluginAsyncTypebox<LearnerRoutesOptions> = async (app, { db, identityKey }) => {
  app.addHook('onRequest', app.authenticate);
  const store = new IdentityStore(db, identityKey);

  /**
   * School staff reach the learners their school has plans for (or a new learner with no plan yet);
   * the national coordinator reaches all. Nobody else sees identities: auditors work on pseudonyms.
   */
  async function mayReach(actor: RequestActor, learnerRef: string, write: boolean): Promise<boolean> {
    if (actor.role === 'national_coordinator') return true;
    if ((actor.role !== 'preparer' && actor.role !== 'school_director') || actor.schoolId === null) return false;
    const schools = await db.selectFrom('plans').select('school_id').distinct().where('learner_ref', '=', learnerRef).execute();
    if (schools.length === 0) return write;
    return schools.some((s) => s.school_id === actor.schoolId);
  }

  app.put(
    '/learners/:learnerRef/identity',
    {
      schema: {
        tags: ['learners'],
        operationId: 'putLearnerIdentity',
        summary: "Record a learner's identity, encrypted under the learner's own key (school staff of the learner's school)",
        security: [{ bearerAuth: [] }],
        params: Params,
        body: IdentityBody,
        response: { 200: IdentitySchema, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { learnerRef } = request.params;
      if (!(await mayReach(request.actor, learnerRef, true))) throw new HttpProblem(404, 'not_found', 'no such learner');
      try {
        await store.put(learnerRef, request.body, request.actor.id);
      } catch (err) {
        if (err instanceof LearnerErasedError) throw new HttpProblem(409, 'learner.erased', err.message, { code: 'learner.erased' });
        throw err;
      }
      return reply.send((await store.get(learnerRef))!);
    },
  );

  app.get(
    '/learners/:learnerRef/identity',
    {
      schema: {
        tags: ['learners'],
        operationId: 'getLearnerIdentity',
        summary: "Read a learner's identity, or that it was erased",
        security: [{ bearerAuth: [] }],
        params: Params,
        response: { 200: IdentitySchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { learnerRef } = request.params;
      if (!(await mayReach(request.actor, learnerRef, false))) throw new HttpProblem(404, 'not_found', 'no such learner');
      const rec = await store.get(learnerRef);
      if (!rec) throw new HttpProblem(404, 'not_found', 'no identity is recorded for this learner');
      return reply.send(rec);
    },
  );

  app.post(
    '/learners/:learnerRef/erasure',
    {
      schema: {
        tags: ['learners'],
        operationId: 'eraseLearner',
        summary: "Erase a learner's identity by destroying their key (school director of the learner's school, or the national coordinator); plans and reports stay, pseudonymous",
        security: [{ bearerAuth: [] }],
        params: Params,
        response: { 200: ErasureSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { learnerRef } = request.params;
      const actor = request.actor;
      if (!(await mayReach(actor, learnerRef, false))) throw new HttpProblem(404, 'not_found', 'no such learner');
      if (actor.role !== 'school_director' && actor.role !== 'national_coordinator') {
        throw new HttpProblem(403, 'learner.forbidden_role', 'an erasure is made by the school director or the national coordinator');
      }
      const { erasedAt } = await store.erase(learnerRef, actor.id);
      request.log.info({ learnerRef }, 'learner erased');
      return reply.send({ learnerRef, erased: true as const, erasedAt });
    },
  );
};
