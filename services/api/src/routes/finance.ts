// Finance staff's routes: the claims queue, the reimbursement steps (verify, approve in full or in part,
// reject, pay) and partners' budgets. Every step goes to the claim's (or budget's) workflow; approvals
// are held within the budget by the database in the claim's own transaction, so many concurrent
// approvals never overspend it.

import type { Database, ClaimRow } from '@iap/db';
import type { ReimbursementCommand, Role } from '@iap/domain';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import { sql, type Kysely } from 'kysely';
import { decodeCursor, exactTime, expectedVersionOf, pageSize, splitPage } from '../http.js';
import type { Idempotency } from '../idempotency.js';
import type { PlanGateway } from '../plan-gateway.js';
import type { RequestActor } from '../plugins/auth.js';
import { HttpProblem, problemResponses } from '../problem.js';
import {
  ApproveBody,
  BudgetParams,
  BudgetSchema,
  ClaimPageSchema,
  ClaimParams,
  ClaimResultSchema,
  ClaimSchema,
  ListClaimsQuery,
  PayBody,
  RejectBody,
  SetBudgetBody,
  VerifyBody,
} from '../schemas/finance.js';
import { CommandHeaders } from '../schemas/plan-commands.js';
import { canSee, scopeOf } from '../scope.js';
import { commandMeta } from './plans.js';

export interface FinanceRoutesOptions {
  readonly db: Kysely<Database>;
  readonly plans: PlanGateway;
  readonly idempotency: Idempotency;
}

export function toClaimDto(r: ClaimRow) {
  const state = r.state as { documentRefs?: string[] };
  return {
    planId: r.plan_id,
    claimId: r.claim_id,
    measureId: r.measure_id,
    partnerId: r.partner_id,
    partnerType: r.partner_type,
    schoolId: r.school_id,
    municipalityId: r.municipality_id,
    semester: r.semester,
    compensationType: r.compensation_type,
    status: r.status,
    version: r.version,
    amountCents: Number(r.amount_cents),
    approvedCents: r.approved_cents === null ? null : Number(r.approved_cents),
    paidCents: r.paid_cents === null ? null : Number(r.paid_cents),
    paidOn: r.paid_on === null ? null : String(r.paid_on).slice(0, 10),
    paymentRef: r.payment_ref,
    submittedAt: r.submitted_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    documentRefs: state.documentRefs ?? [],
  };
}

type ClaimStep = Exclude<ReimbursementCommand['type'], 'SubmitClaim'>;

const STEPS: ReadonlyArray<{
  readonly type: ClaimStep;
  readonly path: string;
  readonly does: string;
  readonly body: typeof VerifyBody | typeof ApproveBody | typeof RejectBody | typeof PayBody;
  toCommand(body: unknown): Extract<ReimbursementCommand, { type: ClaimStep }>;
}> = [
  {
    type: 'VerifyDocuments',
    path: 'verification',
    does: 'Record that the supporting documents were checked',
    body: VerifyBody,
    toCommand: (b) => {
      const note = (b as Static<typeof VerifyBody>)?.note;
      return { type: 'VerifyDocuments', data: note !== undefined ? { note } : {} };
    },
  },
  {
    type: 'ApproveClaim',
    path: 'approval',
    does: "Approve the claim in full or in part, within the partner's budget for the semester",
    body: ApproveBody,
    toCommand: (b) => ({ type: 'ApproveClaim', data: b as Static<typeof ApproveBody> }),
  },
  {
    type: 'RejectClaim',
    path: 'rejection',
    does: 'Reject the claim with a reason',
    body: RejectBody,
    toCommand: (b) => ({ type: 'RejectClaim', data: b as Static<typeof RejectBody> }),
  },
  {
    type: 'PayClaim',
    path: 'payment',
    does: 'Record the payment of an approved claim (once)',
    body: PayBody,
    toCommand: (b) => ({ type: 'PayClaim', data: b as Static<typeof PayBody> }),
  },
];

const FINANCE_ROLES: readonly Role[] = ['finance'];
const BUDGET_SETTERS: readonly Role[] = ['finance', 'national_coordinator'];

/** A budget belongs to a partner: its finance staff see it, as do national staff and auditors. */
function canSeeBudget(actor: RequestActor, partnerId: string): boolean {
  if (actor.role === 'national_coordinator' || actor.role === 'auditor') return true;
  return actor.partnerId !== null && actor.partnerId === partnerId && (actor.role === 'finance' || actor.role === 'municipality_coordinator');
}

export const financeRoutes: FastifyPluginAsyncTypebox<FinanceRoutesOptions> = async (app, { db, plans, idempotency }) => {
  app.addHook('onRequest', app.authenticate);

  async function visibleClaim(actor: RequestActor, planId: string, claimId: string): Promise<ClaimRow> {
    const row = await db.selectFrom('claims').selectAll().where('plan_id', '=', planId).where('claim_id', '=', claimId).executeTakeFirst();
    if (!row || !canSee(actor, row)) throw new HttpProblem(404, 'not_found', 'no such claim');
    return row;
  }

  app.get(
    '/claims',
    {
      schema: {
        tags: ['finance'],
        operationId: 'listClaims',
        summary: "The claims queue, oldest first (finance: their partner's claims; school staff: their school's; municipality coordinator: the municipality's; national coordinator and auditor: all)",
        security: [{ bearerAuth: [] }],
        querystring: ListClaimsQuery,
        response: { 200: ClaimPageSchema, ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const limit = pageSize(q.limit);
      const cursor = q.cursor !== undefined ? decodeCursor(q.cursor) : null;
      const scope = scopeOf(request.actor);
      if (scope === null) return reply.send({ items: [], nextCursor: null });
      let query = db
        .selectFrom('claims')
        .selectAll()
        .select(exactTime('submitted_at').as('cursor_time'));
      if (scope !== 'all') query = query.where(scope.column, '=', scope.value);
      if (q.status !== undefined) query = query.where('status', '=', q.status);
      if (q.partnerId !== undefined) query = query.where('partner_id', '=', q.partnerId);
      if (q.schoolId !== undefined) query = query.where('school_id', '=', q.schoolId);
      if (q.semester !== undefined) query = query.where('semester', '=', q.semester);
      if (q.type !== undefined) query = query.where('compensation_type', '=', q.type);
      if (q.olderThanDays !== undefined) {
        query = query.where(sql<boolean>`submitted_at <= now() - make_interval(days => ${Number(q.olderThanDays)})`);
      }
      if (cursor) query = query.where(sql<boolean>`(submitted_at, stream_id) > (${cursor.t}::timestamptz, ${cursor.id})`);
      const rows = await query.orderBy('submitted_at', 'asc').orderBy('stream_id', 'asc').limit(limit + 1).execute();
      const { page, nextCursor } = splitPage(rows, limit, (r) => ({ t: r.cursor_time, id: r.stream_id }));
      return reply.send({ items: page.map(toClaimDto), nextCursor });
    },
  );

  app.get(
    '/claims/:planId/:claimId',
    {
      schema: {
        tags: ['finance'],
        operationId: 'getClaim',
        summary: 'One claim and where it stands',
        security: [{ bearerAuth: [] }],
        params: ClaimParams,
        response: { 200: ClaimSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const row = await visibleClaim(request.actor, request.params.planId, request.params.claimId);
      return reply.header('etag', `"${row.version}"`).send(toClaimDto(row));
    },
  );

  for (const step of STEPS) {
    app.post(
      `/claims/:planId/:claimId/${step.path}`,
      {
        schema: {
          tags: ['finance'],
          operationId: step.type.charAt(0).toLowerCase() + step.type.slice(1),
          summary: `${step.does} (finance staff of the claim's partner)`,
          security: [{ bearerAuth: [] }],
          headers: CommandHeaders,
          params: ClaimParams,
          body: step.body,
          response: { 200: ClaimResultSchema, ...problemResponses(400, 401, 403, 404, 409, 412, 422, 503) },
        },
      },
      async (request, reply) => {
        const actor = request.actor;
        const { planId, claimId } = request.params as Static<typeof ClaimParams>;
        const headers = request.headers as Static<typeof CommandHeaders>;
        const expectedVersion = expectedVersionOf(headers['if-match']);
        const row = await visibleClaim(actor, planId, claimId);
        if (!FINANCE_ROLES.includes(actor.role)) {
          throw new HttpProblem(403, 'claim.forbidden_role', `only finance staff work claims; a ${actor.role} may not`, { code: 'claim.forbidden_role' });
        }
        return idempotency.run(request, reply, async ({ updateId }) => {
          const result = await plans
            .claimCommand(planId, claimId, step.toCommand(request.body), commandMeta(actor, request.id, expectedVersion, updateId), updateId)
            .catch((err: unknown) => {
              // The claim exists but its workflow has ended (paid or rejected): it takes no more steps.
              if (err instanceof HttpProblem && err.status === 404) {
                throw new HttpProblem(409, 'claim.wrong_status', `the claim is ${row.status} and takes no more steps`, { code: 'claim.wrong_status' });
              }
              throw err;
            });
          request.log.info({ planId, claimId, command: step.type, version: result.version }, 'claim step accepted');
          return { status: 200, headers: { etag: `"${result.version}"` }, body: { ...result, events: [...result.events] } };
        });
      },
    );
  }

  app.get(
    '/budgets/:partnerId/:semester',
    {
      schema: {
        tags: ['finance'],
        operationId: 'getBudget',
        summary: "A partner's compensation budget for a semester: allocated, approved, paid, remaining",
        security: [{ bearerAuth: [] }],
        params: BudgetParams,
        response: { 200: BudgetSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { partnerId, semester } = request.params;
      if (!canSeeBudget(request.actor, partnerId)) throw new HttpProblem(404, 'not_found', 'no such budget');
      const row = await db.selectFrom('budgets').selectAll().where('partner_id', '=', partnerId).where('semester', '=', semester).executeTakeFirst();
      if (!row) throw new HttpProblem(404, 'not_found', `no budget is set for ${partnerId} in ${semester}`);
      const [allocated, approved, paid] = [Number(row.allocated_cents), Number(row.approved_cents), Number(row.paid_cents)];
      return reply.header('etag', `"${row.revision}"`).send({
        partnerId,
        semester,
        version: row.revision,
        allocatedCents: allocated,
        approvedCents: approved,
        paidCents: paid,
        remainingCents: allocated - approved,
      });
    },
  );

  app.put(
    '/budgets/:partnerId/:semester',
    {
      schema: {
        tags: ['finance'],
        operationId: 'setBudget',
        summary: "Set a partner's compensation budget for a semester (its finance staff, or the national coordinator)",
        description: 'Refused (422) when more than the new amount is already approved against the budget.',
        security: [{ bearerAuth: [] }],
        headers: CommandHeaders,
        params: BudgetParams,
        body: SetBudgetBody,
        response: { 200: BudgetSchema, ...problemResponses(400, 401, 403, 404, 409, 412, 422, 503) },
      },
    },
    async (request, reply) => {
      const actor = request.actor;
      const { partnerId, semester } = request.params;
      const headers = request.headers as Static<typeof CommandHeaders>;
      const expectedVersion = expectedVersionOf(headers['if-match']);
      if (!canSeeBudget(actor, partnerId)) throw new HttpProblem(404, 'not_found', 'no such budget');
      if (!BUDGET_SETTERS.includes(actor.role)) {
        throw new HttpProblem(403, 'budget.forbidden_role', `a ${actor.role} may not set budgets`, { code: 'budget.forbidden_role' });
      }
      const body = request.body;
      return idempotency.run(request, reply, async ({ updateId }) => {
        const budgetRow = () => db.selectFrom('budgets').selectAll().where('partner_id', '=', partnerId).where('semester', '=', semester).executeTakeFirst();
        // If-Match names the revision the caller saw (every approval and payment moves it); the workflow then
        // checks the allocation it was based on, so an allocation changed meanwhile is refused there too.
        let allocationVersion: number | null = null;
        if (expectedVersion !== null) {
          const seen = await budgetRow();
          if ((seen?.revision ?? 0) !== expectedVersion) {
            throw new HttpProblem(412, 'budget.stale_version', `budget is at version ${seen?.revision ?? 0}, not ${expectedVersion}`, { code: 'budget.stale_version' });
          }
          allocationVersion = seen?.version ?? 0;
        }
        await plans.budgetCommand(
          partnerId,
          semester,
          { type: 'SetBudget', data: body.note !== undefined ? { allocatedCents: body.allocatedCents, note: body.note } : { allocatedCents: body.allocatedCents } },
          { ...commandMeta(actor, request.id, allocationVersion, updateId), schoolId: null },
          updateId,
        );
        const row = (await budgetRow())!;
        return {
          status: 200,
          headers: { etag: `"${row.revision}"` },
          body: {
            partnerId,
            semester,
            version: row.revision,
            allocatedCents: Number(row.allocated_cents),
            approvedCents: Number(row.approved_cents),
            paidCents: Number(row.paid_cents),
            remainingCents: Number(row.allocated_cents) - Number(row.approved_cents),
          },
        };
      });
    },
  );
};
