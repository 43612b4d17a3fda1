// The plan lifecycle over HTTP: one POST per user command (consent, approval, delivery, suspension,
// evaluation...), the plan list and planned-vs-delivered progress. Commands go to the plan's workflow only;
// the decider enforces roles and rules, this file enforces scope (a plan outside it does not exist).

import { erasedLearners, getPlanRow, type Database } from '@iap/db';
import {
  APPROVAL_LEVELS,
  APPROVER_OF,
  plannedVsDelivered,
  requiredRolesFor,
  TERMINAL_STATUSES,
  type PlanCommandOf,
  type PlanCommandType,
  type PlanState,
  type Role,
} from '@iap/domain';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import { sql, type Kysely } from 'kysely';
import type { Idempotency } from '../idempotency.js';
import type { PlanGateway } from '../plan-gateway.js';
import type { RequestActor } from '../plugins/auth.js';
import { HttpProblem, problemResponses } from '../problem.js';
import {
  ApprovePlanBody,
  CarryOverBody,
  ClaimCompensationBody,
  CommandHeaders,
  ConfirmConsultationBody,
  ConsultationParams,
  CorrectConsultationBody,
  EmptyBody,
  EvaluatePlanBody,
  GrantConsentBody,
  ListPlansQuery,
  LogConsultationBody,
  OptionalReasonBody,
  PlanPageSchema,
  PlanParams,
  ProgressSchema,
  ReasonBody,
  RefuseConsentBody,
  ReturnForRevisionBody,
  RevisePlanBody,
} from '../schemas/plan-commands.js';
import { CommandResultSchema } from '../schemas/plan.js';
import { decodeCursor, exactTime, expectedVersionOf, pageSize, splitPage } from '../http.js';
import { canSee, scopeOf } from '../scope.js';
import { commandAnswer, commandMeta, recordedCommandResult, toPlanDto } from './plans.js';

export interface PlanCommandRoutesOptions {
  readonly db: Kysely<Database>;
  readonly plans: PlanGateway;
  readonly idempotency: Idempotency;
}

/** Commands a person sends. Timers (reminder, expiry, semester end, overdue) and claim outcomes are the system's. */
export type UserCommandType = Exclude<
  PlanCommandType,
  | 'DraftPlan'
  | 'SendConsentReminder'
  | 'ExpireConsent'
  | 'EndSemester'
  | 'MarkEvaluationOverdue'
  | 'RecordClaimApproval'
  | 'RecordClaimRejection'
  | 'RecordClaimPayment'
  | 'RecordPreparationHoursPayment'
>;

type PlanParamsT = Static<typeof PlanParams>;

interface CommandRoute<T extends UserCommandType, B extends TSchema, P extends TSchema> {
  readonly type: T;
  /** After /plans/:planId. */
  readonly path: string;
  readonly params: P;
  readonly body: B;
  /** What the command does, for the OpenAPI summary; who may send it is added from the domain's table. */
  readonly does: string;
  readonly description?: string;
  // Method syntax: the table below is checked against a route of any body (parameters compare bivariantly).
  toCommand(body: Static<B>, params: Static<P>): PlanCommandOf<T>;
}

const route = <T extends UserCommandType, B extends TSchema, P extends TSchema>(r: CommandRoute<T, B, P>) => r;

const noData = {} as Record<string, never>;
const reasonOrNull = (b: { reason?: string } | null) => (b?.reason !== undefined ? { reason: b.reason } : {});

/** Every user command has exactly one route (the `satisfies` fails the build when a command is added). */
export const PLAN_COMMAND_ROUTES = {
  RequestConsent: route({
    type: 'RequestConsent',
    path: '/consent-request',
    params: PlanParams,
    body: EmptyBody,
    does: 'Send the consent application to the parent (or adult learner)',
    description: 'draft → awaiting_consent; a reminder follows at day 7 and the request lapses at day 14.',
    toCommand: () => ({ type: 'RequestConsent', data: noData }),
  }),
  GrantConsent: route({
    type: 'GrantConsent',
    path: '/consent',
    params: PlanParams,
    body: GrantConsentBody,
    does: 'Record the signed consent application',
    description: 'Accepted in draft (handed in before a request) or awaiting_consent. A learner signs only from 18.',
    toCommand: (b) => ({ type: 'GrantConsent', data: b }),
  }),
  RefuseConsent: route({
    type: 'RefuseConsent',
    path: '/consent-refusal',
    params: PlanParams,
    body: RefuseConsentBody,
    does: 'Record that consent was refused (closes the plan)',
    toCommand: (b) => ({ type: 'RefuseConsent', data: b }),
  }),
  SubmitForApproval: route({
    type: 'SubmitForApproval',
    path: '/submission',
    params: PlanParams,
    body: EmptyBody,
    does: 'Submit the plan for approval (consent must be granted)',
    description: 'From draft, returned or in_revision. The approval levels follow the partner: school → municipality → national, or school → national for a state vocational school.',
    toCommand: () => ({ type: 'SubmitForApproval', data: noData }),
  }),
  ApprovePlan: route({
    type: 'ApprovePlan',
    path: '/approvals',
    params: PlanParams,
    body: ApprovePlanBody,
    does: 'Approve the plan at one level',
    description: 'Levels sign in order; the last level’s signature approves the plan.',
    toCommand: (b) => ({ type: 'ApprovePlan', data: b }),
  }),
  ReturnForRevision: route({
    type: 'ReturnForRevision',
    path: '/returns',
    params: PlanParams,
    body: ReturnForRevisionBody,
    does: 'Return the plan for revision with a comment',
    description: 'The level the plan waits for sends it back to the preparer.',
    toCommand: (b) => ({ type: 'ReturnForRevision', data: b }),
  }),
  StartImplementation: route({
    type: 'StartImplementation',
    path: '/implementation',
    params: PlanParams,
    body: EmptyBody,
    does: 'Start implementing an approved plan',
    description: 'Optional: the first logged consultation or claim starts implementation too.',
    toCommand: () => ({ type: 'StartImplementation', data: noData }),
  }),
  RevisePlan: route({
    type: 'RevisePlan',
    path: '/revisions',
    params: PlanParams,
    body: RevisePlanBody,
    does: 'Replace the plan’s risks and measures',
    description: 'Edits a draft or returned plan; revising an approved plan (reason required) sends it back through every approval level. Support already given stands.',
    toCommand: (b) => ({ type: 'RevisePlan', data: b }),
  }),
  LogConsultation: route({
    type: 'LogConsultation',
    path: '/consultations',
    params: PlanParams,
    body: LogConsultationBody,
    does: 'Log a consultation held (its form)',
    description: 'Against an approved consultation measure; the learner confirms it within a day.',
    toCommand: (b) => ({ type: 'LogConsultation', data: b }),
  }),
  ConfirmConsultation: route({
    type: 'ConfirmConsultation',
    path: '/consultations/:consultationId/confirmation',
    params: ConsultationParams,
    body: ConfirmConsultationBody,
    does: 'Record the learner’s confirmation of a consultation',
    description: 'Only confirmed minutes count as delivered; a confirmation after the deadline is refused.',
    toCommand: (b, p) => ({
      type: 'ConfirmConsultation',
      data: { consultationId: p.consultationId, ...(b?.confirmedAt !== undefined ? { confirmedAt: b.confirmedAt } : {}) },
    }),
  }),
  CorrectConsultation: route({
    type: 'CorrectConsultation',
    path: '/consultations/:consultationId/corrections',
    params: ConsultationParams,
    body: CorrectConsultationBody,
    does: 'Correct a logged consultation form',
    description: 'A correction may not raise minutes above what the learner confirmed.',
    toCommand: (b, p) => ({ type: 'CorrectConsultation', data: { ...b, consultationId: p.consultationId } }),
  }),
  ClaimCompensation: route({
    type: 'ClaimCompensation',
    path: '/claims',
    params: PlanParams,
    body: ClaimCompensationBody,
    does: 'Submit a compensation claim with its documents',
    description: 'Against an approved compensation measure, within its planned amount; finance staff then work it.',
    toCommand: (b) => ({ type: 'ClaimCompensation', data: b }),
  }),
  SuspendPlan: route({
    type: 'SuspendPlan',
    path: '/suspension',
    params: PlanParams,
    body: ReasonBody,
    does: 'Suspend the plan (reason required)',
    description: 'From in_approval, approved or in_implementation.',
    toCommand: (b) => ({ type: 'SuspendPlan', data: b }),
  }),
  ResumePlan: route({
    type: 'ResumePlan',
    path: '/resumption',
    params: PlanParams,
    body: OptionalReasonBody,
    does: 'Resume a suspended plan',
    description: 'Only within the plan’s semester; the plan goes to in_revision and through approval again.',
    toCommand: (b) => ({ type: 'ResumePlan', data: reasonOrNull(b) }),
  }),
  DeletePlan: route({
    type: 'DeletePlan',
    path: '/deletion',
    params: PlanParams,
    body: ReasonBody,
    does: 'Delete (make inactive) a plan on which no money was used',
    description: 'The record and its history stay.',
    toCommand: (b) => ({ type: 'DeletePlan', data: b }),
  }),
  EvaluatePlan: route({
    type: 'EvaluatePlan',
    path: '/evaluation',
    params: PlanParams,
    body: EvaluatePlanBody,
    does: 'Record the semester-end evaluation',
    description: 'After the semester ended: an outcome for every risk, the learner’s outcome and a narrative.',
    toCommand: (b) => ({ type: 'EvaluatePlan', data: b }),
  }),
  ClosePlan: route({
    type: 'ClosePlan',
    path: '/closure',
    params: PlanParams,
    body: EmptyBody,
    does: 'Close an evaluated plan',
    toCommand: () => ({ type: 'ClosePlan', data: noData }),
  }),
  CarryOver: route({
    type: 'CarryOver',
    path: '/carry-over',
    params: PlanParams,
    body: CarryOverBody,
    does: 'Link an evaluated plan to the learner’s plan for the next semester',
    toCommand: (b) => ({ type: 'CarryOver', data: b }),
  }),
} satisfies { [T in UserCommandType]: CommandRoute<T, TSchema, TSchema> };

const ROLE_LABELS: { readonly [R in Role]: string } = {
  preparer: 'plan preparer',
  school_director: 'school director',
  municipality_coordinator: 'municipality coordinator',
  national_coordinator: 'national coordinator',
  finance: 'finance staff',
  auditor: 'auditor',
  system: 'system',
};

/** "Approve … (school director at school level, …)": who may send the command, from the decider's own table. */
export function whoMay(type: UserCommandType): string {
  if (type === 'ApprovePlan' || type === 'ReturnForRevision') {
    return APPROVAL_LEVELS.map((l) => `${ROLE_LABELS[APPROVER_OF[l]]} at ${l} level`).join(', ');
  }
  const labels = requiredRolesFor(type)
    .filter((r) => r !== 'system')
    .map((r) => ROLE_LABELS[r]);
  return labels.length > 1 ? `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}` : (labels[0] ?? 'nobody');
}



const COMMAND_PROBLEMS = problemResponses(400, 401, 403, 404, 409, 412, 422, 503);

export const planCommandRoutes: FastifyPluginAsyncTypebox<PlanCommandRoutesOptions> = async (app, { db, plans, idempotency }) => {
  app.addHook('onRequest', app.authenticate);

  /** Reads the plan a command is for, answering 404 for one the actor may not see. */
  async function visiblePlan(actor: RequestActor, planId: string) {
    const row = await getPlanRow(db, planId);
    if (!row || !canSee(actor, row)) throw new HttpProblem(404, 'not_found', 'no such plan');
    return row;
  }

  /** What a refused command needs of the plan row (whether the actor may see it, its status), not its state. */
  async function visiblePlanScope(actor: RequestActor, planId: string) {
    const row = await db
      .selectFrom('plans')
      .select(['school_id', 'municipality_id', 'partner_id', 'status'])
      .where('plan_id', '=', planId)
      .executeTakeFirst();
    if (!row || !canSee(actor, row)) throw new HttpProblem(404, 'not_found', 'no such plan');
    return row;
  }

  function register<T extends UserCommandType, B extends TSchema, P extends TSchema>(r: CommandRoute<T, B, P>): void {
    app.post(
      `/plans/:planId${r.path}`,
      {
        schema: {
          tags: ['plan lifecycle'],
          operationId: r.type.charAt(0).toLowerCase() + r.type.slice(1),
          summary: `${r.does} (${whoMay(r.type)})`,
          description: [
            `Sends the plan the \`${r.type}\` command.`,
            r.description,
            'A 200 means the events are durable. The ETag is the plan’s new version: send it back as If-Match to refuse the command (412) when the plan has moved on since.',
          ]
            .filter(Boolean)
            .join(' '),
          security: [{ bearerAuth: [] }],
          headers: CommandHeaders,
          params: r.params,
          body: r.body,
          response: { 200: CommandResultSchema, ...COMMAND_PROBLEMS },
        },
      },
      async (request, reply) => {
        const actor = request.actor;
        const params = request.params as Static<P> & PlanParamsT;
        const headers = request.headers as Static<typeof CommandHeaders>;
        const expectedVersion = expectedVersionOf(headers['if-match']);
        // The decider refuses it too; answering here spares a workflow round trip. For a plan the actor may
        // not see the answer is 404, as for any other command (the row is read on this refusal only).
        if (!requiredRolesFor(r.type).includes(actor.role)) {
          await visiblePlanScope(actor, params.planId);
          const why = actor.role === 'auditor' ? 'auditors read plans and change nothing' : `a ${ROLE_LABELS[actor.role]} may not do this`;
          throw new HttpProblem(403, 'plan.forbidden_role', `${why}; ${r.type} is for the ${whoMay(r.type)}`, { code: 'plan.forbidden_role' });
        }
        const command = r.toCommand(request.body as Static<B>, params);
        return idempotency.run(
          request,
          reply,
          async ({ updateId }) => {
            let result;
            try {
              // The workflow checks the caller's scope against the plan before anything else (the domain's
              // maySee): a plan outside it is refused as not found, so no projection row is read on the way.
              result = await plans.execute(
                params.planId,
                command,
                {
                  ...commandMeta(actor, request.id, expectedVersion, updateId),
                  scope: { schoolId: actor.schoolId, municipalityId: actor.municipalityId, partnerId: actor.partnerId },
                },
                updateId,
              );
            } catch (err) {
              // No workflow takes it: none ever ran for this id, or the plan's has finished (it takes no more
              // commands). Only the row tells the two apart, and whether the caller may know.
              if (err instanceof HttpProblem && err.status === 404) {
                const row = await visiblePlanScope(actor, params.planId);
                if (TERMINAL_STATUSES.has(row.status as PlanState['status'])) {
                  throw new HttpProblem(409, 'plan.wrong_status', `the plan is ${row.status.replace(/_/g, ' ')} and takes no more commands`, {
                    code: 'plan.wrong_status',
                  });
                }
              }
              throw err;
            }
            request.log.info({ planId: params.planId, command: r.type, version: result.version }, 'plan command accepted');
            return commandAnswer(result, 200);
          },
          async ({ updateId }) => {
            // Only a plan the caller may see answers from its log (the workflow would refuse the others).
            const result = await recordedCommandResult(db, params.planId, updateId);
            if (result) await visiblePlanScope(actor, params.planId);
            return result && commandAnswer(result, 200);
          },
        );
      },
    );
  }

  for (const r of Object.values(PLAN_COMMAND_ROUTES)) register(r as CommandRoute<UserCommandType, TSchema, TSchema>);

  app.get(
    '/plans',
    {
      schema: {
        tags: ['plans'],
        operationId: 'listPlans',
        summary: 'List the plans the caller may see, newest first (school staff: their school; municipality coordinator: the municipality; finance: the partner; national coordinator and auditor: all)',
        security: [{ bearerAuth: [] }],
        querystring: ListPlansQuery,
        response: { 200: PlanPageSchema, ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const limit = pageSize(q.limit);
      const cursor = q.cursor !== undefined ? decodeCursor(q.cursor) : null;
      const scope = scopeOf(request.actor);
      if (scope === null) return reply.send({ items: [], nextCursor: null });

      let query = db
        .selectFrom('plans')
        .selectAll()
        .select(exactTime('created_at').as('cursor_time'));
      if (scope !== 'all') query = query.where(scope.column, '=', scope.value);
      if (q.semester !== undefined) query = query.where('semester', '=', q.semester);
      if (q.status !== undefined) query = query.where('status', '=', q.status);
      if (q.schoolId !== undefined) query = query.where('school_id', '=', q.schoolId);
      if (q.municipalityId !== undefined) query = query.where('municipality_id', '=', q.municipalityId);
      if (q.riskType !== undefined) {
        query = query.where(sql<boolean>`state -> 'risks' @> ${JSON.stringify([{ type: q.riskType }])}::jsonb`);
      }
      if (cursor) query = query.where(sql<boolean>`(created_at, plan_id) < (${cursor.t}::timestamptz, ${cursor.id})`);
      const rows = await query.orderBy('created_at', 'desc').orderBy('plan_id', 'desc').limit(limit + 1).execute();

      const { page, nextCursor } = splitPage(rows, limit, (r) => ({ t: r.cursor_time, id: r.plan_id }));
      const erased = await erasedLearners(db, page);
      return reply.send({ items: page.map((r) => toPlanDto(r, erased)), nextCursor });
    },
  );

  app.get(
    '/plans/:planId/progress',
    {
      schema: {
        tags: ['plans'],
        operationId: 'getPlanProgress',
        summary: 'Planned versus delivered, per measure (anyone who may see the plan)',
        description:
          'Planned figures are those of the approved revision in force (before the first approval, of the draft). Only learner-confirmed consultations count as delivered minutes; money is followed from claim to payment.',
        security: [{ bearerAuth: [] }],
        params: PlanParams,
        response: { 200: ProgressSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const row = await visiblePlan(request.actor, request.params.planId);
      const measures = plannedVsDelivered(row.state as PlanState);
      return reply.header('etag', `"${row.version}"`).send({ planId: row.plan_id, version: row.version, status: row.status, measures });
    },
  );
};
