// The learner register and learners' identities (name, personal code, birth date). A school registers its
// learners under references of its own; a reference reaches a learner only within the school that uses it, so
// the school is part of every route, and another school's learner is "not found" like one that does not exist.
// Who may reach a learner and do what is the domain's rule (mayReachLearners, mayActOnLearner).
//
// Identities are kept out of plan events and workflow histories on purpose: they are encrypted per learner
// and an erasure destroys the learner's key. That is why these writes go straight to the identity store
// rather than through a workflow: a Temporal history would keep the personal data it carried, beyond any
// erasure. Every identity read, registration, change, transfer and erasure is written to the append-only
// learner access log, which auditors and the national coordinator list.

import { mayActOnLearner, mayReachLearners, mayReadLearnerAccessLog, type LearnerAct } from '@iap/domain';
import {
  findLearner,
  findLearnerByPastRef,
  IdentityStore,
  LearnerErasedError,
  LearnerRefRetiredError,
  LearnerRefTakenError,
  listLearnerAccess,
  recordLearnerAccess,
  registerLearner,
  transferLearner,
  type Database,
  type LearnerAccessBy,
  type RegisteredLearner,
} from '@iap/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { OrganisationDirectory } from '../organisations.js';
import { HttpProblem, problemResponses } from '../problem.js';
import { LocalDate, Ref, Text, Uuid } from '../schemas/common.js';

export interface LearnerRoutesOptions {
  readonly db: Kysely<Database>;
  readonly identityKey: Buffer;
  /** The register of organisations: a learner belongs to, or moves to, a registered and open school only. */
  readonly organisations: OrganisationDirectory;
}

const Params = Type.Object(
  { schoolId: Ref('the school whose learner this is'), learnerRef: Ref("the school's own reference for the learner (never a name or personal code)") },
  { additionalProperties: false },
);
const IdentityBody = Type.Object(
  {
    givenName: Text(100),
    familyName: Text(100),
    personalCode: Type.String({ pattern: '^[0-9]{6}-?[0-9]{5}$', description: 'Latvian personal code, e.g. 010203-12345' }),
    birthDate: LocalDate(),
  },
  { additionalProperties: false },
);
const ErasureBody = Type.Object({ reason: Text(1000, 'why the identity is erased (kept in the access log)') }, { additionalProperties: false });
const TransferBody = Type.Object(
  { toSchoolId: Ref('the school the learner moves to'), learnerRef: Ref("the learner's reference at that school") },
  { additionalProperties: false },
);
const LearnerSchema = Type.Object({
  learnerId: Type.String({ format: 'uuid', description: 'the pseudonymous id the server gave the learner' }),
  schoolId: Type.String(),
  learnerRef: Type.String(),
  registeredAt: Type.String({ format: 'date-time' }),
});
const learnerFields = { learnerId: Type.String(), schoolId: Type.String(), learnerRef: Type.String() };
const IdentitySchema = Type.Union([
  Type.Object({
    ...learnerFields,
    erased: Type.Literal(false),
    updatedAt: Type.String(),
    givenName: Type.String(),
    familyName: Type.String(),
    personalCode: Type.String(),
    birthDate: Type.String(),
  }),
  Type.Object({ ...learnerFields, erased: Type.Literal(true), erasedAt: Type.String() }),
]);
const ErasureSchema = Type.Object({ ...learnerFields, erased: Type.Literal(true), erasedAt: Type.String() });
const AccessQuery = Type.Object(
  {
    learnerId: Type.Optional(Uuid('only this learner')),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'entries at or after this instant (RFC 3339)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'entries before this instant (RFC 3339)' })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'nextCursor of the previous page' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'page size, 1–500 (default 100)' })),
  },
  { additionalProperties: false },
);
const AccessPage = Type.Object({
  items: Type.Array(
    Type.Object({
      seq: Type.String(),
      at: Type.String({ format: 'date-time' }),
      learnerId: Type.String(),
      schoolId: Type.String({ description: 'the school the learner belonged to at the time' }),
      action: Type.String({ description: 'register, identity.read, identity.write, transfer or erasure' }),
      actorId: Type.String(),
      actorRole: Type.String(),
      requestId: Type.String(),
      detail: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page; null on the last page' }),
});

const notFound = () => new HttpProblem(404, 'not_found', 'no such learner');
const byOf = (request: FastifyRequest): LearnerAccessBy => ({ actorId: request.actor.id, actorRole: request.actor.role, requestId: request.id });
const learnerView = (l: RegisteredLearner) => ({ learnerId: l.learnerId, schoolId: l.schoolId, learnerRef: l.learnerRef });

export const learnerRoutes: FastifyPluginAsyncTypebox<LearnerRoutesOptions> = async (app, { db, identityKey, organisations }) => {
  app.addHook('onRequest', app.authenticate);
  const store = new IdentityStore(db, identityKey);

  /** The domain's rule on the school in the path; outside it the school's learners do not exist for the caller. */
  function checkSchool(request: FastifyRequest, schoolId: string): void {
    if (!mayReachLearners(request.actor.role, request.actor, schoolId)) throw notFound();
  }

  /** Whether the register holds the school, open. (School staff's own school was checked with their token.) */
  async function isOpenSchool(schoolId: string): Promise<boolean> {
    const { school } = await organisations.find({ school: schoolId });
    return school !== null && school.active;
  }

  function checkAct(request: FastifyRequest, act: LearnerAct): void {
    if (!mayActOnLearner(request.actor.role, act)) {
      throw new HttpProblem(403, 'learner.forbidden_role', `a ${request.actor.role.replace('_', ' ')} may not do this to a learner`, { code: 'learner.forbidden_role' });
    }
  }

  /** The learner the school knows by this reference now, once the caller may reach the school's learners. */
  async function reach(request: FastifyRequest, schoolId: string, learnerRef: string, act: LearnerAct): Promise<RegisteredLearner> {
    checkSchool(request, schoolId);
    const learner = await findLearner(db, schoolId, learnerRef);
    if (!learner) throw notFound();
    checkAct(request, act);
    return learner;
  }

  app.put(
    '/schools/:schoolId/learners/:learnerRef',
    {
      schema: {
        tags: ['learners'],
        operationId: 'registerLearner',
        summary: "Register a learner at a school under the school's own reference (school staff, national coordinator); again for a registered one answers it",
        description: 'The server gives the learner a pseudonymous id. A reference the school used for a learner since transferred away is refused (409).',
        security: [{ bearerAuth: [] }],
        params: Params,
        response: { 200: LearnerSchema, 201: LearnerSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { schoolId, learnerRef } = request.params;
      checkSchool(request, schoolId);
      checkAct(request, 'register');
      if (!(await isOpenSchool(schoolId))) throw new HttpProblem(404, 'not_found', 'no such school in the register of organisations');
      try {
        const { learner, created } = await registerLearner(db, schoolId, learnerRef, byOf(request));
        if (created) request.log.info({ learnerId: learner.learnerId }, 'learner registered');
        return reply.code(created ? 201 : 200).send(learner);
      } catch (err) {
        if (err instanceof LearnerRefRetiredError) {
          throw new HttpProblem(409, 'learner.ref_retired', 'this school uses the reference for another learner (one since moved away keeps it); choose another', {
            field: 'params.learnerRef',
            code: 'learner.ref_retired',
          });
        }
        throw err;
      }
    },
  );

  app.get(
    '/schools/:schoolId/learners/:learnerRef',
    {
      schema: {
        tags: ['learners'],
        operationId: 'getLearner',
        summary: 'Read a registered learner (its pseudonymous id; no personal data)',
        security: [{ bearerAuth: [] }],
        params: Params,
        response: { 200: LearnerSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { schoolId, learnerRef } = request.params;
      checkSchool(request, schoolId);
      const learner = await findLearner(db, schoolId, learnerRef);
      if (!learner) throw notFound();
      return reply.send(learner);
    },
  );

  app.put(
    '/schools/:schoolId/learners/:learnerRef/identity',
    {
      schema: {
        tags: ['learners'],
        operationId: 'putLearnerIdentity',
        summary: "Record a registered learner's identity, encrypted under the learner's own key (school staff of the learner's school, national coordinator)",
        security: [{ bearerAuth: [] }],
        params: Params,
        body: IdentityBody,
        response: { 200: IdentitySchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { schoolId, learnerRef } = request.params;
      const learner = await reach(request, schoolId, learnerRef, 'write_identity');
      try {
        await store.put(learner, request.body, byOf(request));
      } catch (err) {
        if (err instanceof LearnerErasedError) throw new HttpProblem(409, 'learner.erased', err.message, { code: 'learner.erased' });
        throw err;
      }
      const rec = (await store.get(learner.learnerId))!;
      return reply.send({ ...rec, ...learnerView(learner) });
    },
  );

  app.get(
    '/schools/:schoolId/learners/:learnerRef/identity',
    {
      schema: {
        tags: ['learners'],
        operationId: 'getLearnerIdentity',
        summary: "Read a learner's identity, or that it was erased; every read is recorded in the learner access log",
        security: [{ bearerAuth: [] }],
        params: Params,
        response: { 200: IdentitySchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { schoolId, learnerRef } = request.params;
      const learner = await reach(request, schoolId, learnerRef, 'read_identity');
      // Recorded before the read: an identity is never answered without its line in the log.
      await recordLearnerAccess(db, learner, 'identity.read', byOf(request));
      const rec = await store.get(learner.learnerId);
      if (!rec) throw new HttpProblem(404, 'not_found', 'no identity is recorded for this learner');
      return reply.send({ ...rec, ...learnerView(learner) });
    },
  );

  app.post(
    '/schools/:schoolId/learners/:learnerRef/erasure',
    {
      schema: {
        tags: ['learners'],
        operationId: 'eraseLearner',
        summary: "Erase a learner's identity by destroying their key (the owning school's director, or the national coordinator), with a reason; plans and reports stay, pseudonymous",
        security: [{ bearerAuth: [] }],
        params: Params,
        body: ErasureBody,
        response: { 200: ErasureSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { schoolId, learnerRef } = request.params;
      const learner = await reach(request, schoolId, learnerRef, 'erase');
      const { erasedAt } = await store.erase(learner, request.body.reason, byOf(request));
      request.log.info({ learnerId: learner.learnerId }, 'learner erased');
      return reply.send({ ...learnerView(learner), erased: true as const, erasedAt });
    },
  );

  app.post(
    '/schools/:schoolId/learners/:learnerRef/transfer',
    {
      schema: {
        tags: ['learners'],
        operationId: 'transferLearner',
        summary: "Move a learner to another school under that school's reference (the national coordinator)",
        description:
          'The learner keeps its id and identity; the old school no longer reaches it, and its plans stay its own. Repeating a transfer that was made answers it again.',
        security: [{ bearerAuth: [] }],
        params: Params,
        body: TransferBody,
        response: { 200: LearnerSchema, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { schoolId, learnerRef } = request.params;
      const { toSchoolId, learnerRef: toRef } = request.body;
      checkSchool(request, schoolId);
      const current = await findLearner(db, schoolId, learnerRef);
      if (!current) {
        // A retry of a transfer that was made: the reference now names a learner at the target, as asked.
        const moved = await findLearnerByPastRef(db, schoolId, learnerRef);
        if (moved && moved.schoolId === toSchoolId && moved.learnerRef === toRef && mayActOnLearner(request.actor.role, 'transfer')) return reply.send(moved);
        throw notFound();
      }
      checkAct(request, 'transfer');
      if (!(await isOpenSchool(toSchoolId))) {
        throw new HttpProblem(422, 'learner.unknown_school', 'the target school is not an open school in the register of organisations', {
          field: 'body.toSchoolId',
          code: 'learner.unknown_school',
        });
      }
      try {
        const moved = await transferLearner(db, current.learnerId, { schoolId: toSchoolId, learnerRef: toRef }, byOf(request));
        request.log.info({ learnerId: moved.learnerId, fromSchoolId: schoolId, toSchoolId }, 'learner transferred');
        return reply.send(moved);
      } catch (err) {
        if (err instanceof LearnerRefTakenError) {
          throw new HttpProblem(409, 'learner.ref_taken', 'the target school uses this reference for another learner; choose another', {
            field: 'body.learnerRef',
            code: 'learner.ref_taken',
          });
        }
        throw err;
      }
    },
  );

  app.get(
    '/learner-access-log',
    {
      schema: {
        tags: ['learners'],
        operationId: 'listLearnerAccess',
        summary: 'List who read or changed which learner, when and under which request (auditors and the national coordinator), oldest first',
        security: [{ bearerAuth: [] }],
        querystring: AccessQuery,
        response: { 200: AccessPage, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      if (!mayReadLearnerAccessLog(request.actor.role)) throw new HttpProblem(403, 'forbidden', 'the learner access log is for auditors and the national coordinator');
      const q = request.query;
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      if (limit < 1 || limit > 500) throw new HttpProblem(400, 'validation', 'querystring.limit must be between 1 and 500', { field: 'querystring.limit' });
      const instant = (value: string | undefined, field: string): string | undefined => {
        if (value === undefined) return undefined;
        const ms = Date.parse(value.toUpperCase());
        if (Number.isNaN(ms)) throw new HttpProblem(400, 'validation', `querystring.${field} is not an RFC 3339 instant`, { field: `querystring.${field}` });
        return new Date(ms).toISOString();
      };
      const from = instant(q.from, 'from');
      const to = instant(q.to, 'to');
      const { items, next } = await listLearnerAccess(db, {
        limit,
        ...(q.learnerId !== undefined ? { learnerId: q.learnerId } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(q.cursor !== undefined ? { after: q.cursor } : {}),
      });
      return reply.send({ items, nextCursor: next });
    },
  );
};
