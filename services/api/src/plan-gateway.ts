// The API's only way to change a plan: a Temporal Update to the plan's workflow (Update-with-Start for
// a new plan). Temporal's answers become HTTP problems here, in one place.

import { decide, DEFAULT_DOMAIN_CONFIG, initialState, isDomainError, type BudgetCommand, type DomainConfig, type OrganisationCommand, type PlanCommand, type PlanCommandOf } from '@iap/domain';
import {
  budgetCommandUpdate,
  budgetWorkflowId,
  claimCommandUpdate,
  claimWorkflowId,
  FAILURE_TYPES,
  planCommandUpdate,
  planWorkflowStart,
  planWorkflowId,
  registerCommandUpdate,
  registerWorkflowId,
  type BudgetCommandResult,
  type RegisterCommandResult,
  type RegisterWorkflowInput,
  type BudgetWorkflowInput,
  type ClaimCommandEnvelope,
  type ClaimCommandResult,
  type CommandEnvelope,
  type CommandMeta,
  type CommandResult,
  type RefusalDetails,
} from '@iap/messages';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { HttpProblem } from './problem.js';

export interface PlanGatewayOptions {
  readonly client: Client;
  readonly taskQueue: string;
  /** The programme's rules every new plan is started with (deadlines, semester dates). */
  readonly domainConfig?: DomainConfig;
  /** History length after which plan workflows continue as new (tests force it low). */
  readonly continueAsNewAfterEvents?: number;
  /** How long a request waits for its command to become durable before answering 503 (default 15 s). */
  readonly commandTimeoutMs?: number;
}

const KIND_STATUS: Record<Exclude<RefusalDetails['kind'], 'not_found'>, number> = { conflict: 409, rule: 422, forbidden: 403, stale: 412 };

export class PlanGateway {
  constructor(private readonly opts: PlanGatewayOptions) {}

  /**
   * Starts the plan's workflow if needed and sends it the DraftPlan command, in one call. The domain's own
   * decision runs here first, so a draft it refuses (a semester that is over, a measure with no risk) starts
   * no workflow and leaves nothing in Temporal; the workflow decides again, for what changes in between.
   */
  async create(planId: string, command: PlanCommandOf<'DraftPlan'>, meta: CommandMeta, updateId: string): Promise<CommandResult> {
    const refused = this.refusedDraft(command, meta);
    // A retry of a create that was accepted (its semester may have ended since) gets the workflow's answer.
    if (refused && !(await this.exists(planWorkflowId(planId)))) throw refused;
    const startWorkflowOperation = new WithStartWorkflowOperation('planWorkflow', {
      workflowId: planWorkflowId(planId),
      taskQueue: this.opts.taskQueue,
      // With the search attributes the plan will publish once drafted: its first task need not upsert them.
      ...planWorkflowStart(
        {
          planId,
          ...(this.opts.domainConfig ? { config: this.opts.domainConfig } : {}),
          ...(this.opts.continueAsNewAfterEvents ? { continueAsNewAfterEvents: this.opts.continueAsNewAfterEvents } : {}),
        },
        command.data,
      ),
      // A retried create finds the running workflow; a plan that ended cannot be created again.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    return this.call(() =>
      this.opts.client.workflow.executeUpdateWithStart(planCommandUpdate, {
        args: [{ command, meta } satisfies CommandEnvelope],
        startWorkflowOperation,
        updateId,
      }),
    );
  }

  /** The refusal the domain gives a new plan's draft, or null when it would accept it. */
  private refusedDraft(command: PlanCommandOf<'DraftPlan'>, meta: CommandMeta): HttpProblem | null {
    try {
      decide(command, initialState(), { now: new Date().toISOString(), actor: meta.actor, config: this.opts.domainConfig ?? DEFAULT_DOMAIN_CONFIG });
      return null;
    } catch (e) {
      if (!isDomainError(e)) throw e;
      return new HttpProblem(KIND_STATUS[e.kind], e.code, e.message, { code: e.code, ...(e.field ? { field: e.field } : {}) });
    }
  }

  private async exists(workflowId: string): Promise<boolean> {
    try {
      await this.call(() => this.opts.client.workflow.getHandle(workflowId).describe());
      return true;
    } catch (err) {
      if (err instanceof HttpProblem && err.status === 404) return false;
      throw err;
    }
  }

  /** Sends a command to an existing plan. */
  async execute(planId: string, command: PlanCommand, meta: CommandMeta, updateId: string): Promise<CommandResult> {
    const handle = this.opts.client.workflow.getHandle(planWorkflowId(planId));
    return this.call(() => handle.executeUpdate(planCommandUpdate, { args: [{ command, meta }], updateId }));
  }

  /** Sends finance staff's command to a claim's reimbursement workflow. */
  async claimCommand(planId: string, claimId: string, command: ClaimCommandEnvelope['command'], meta: CommandMeta, updateId: string): Promise<ClaimCommandResult> {
    const handle = this.opts.client.workflow.getHandle(claimWorkflowId(planId, claimId));
    return this.call(() => handle.executeUpdate(claimCommandUpdate, { args: [{ command, meta }], updateId }));
  }

  /** Sets a partner's budget for a semester, starting its budget workflow the first time. */
  async budgetCommand(partnerId: string, semester: string, command: BudgetCommand, meta: CommandMeta, updateId: string): Promise<BudgetCommandResult> {
    const startWorkflowOperation = new WithStartWorkflowOperation('budgetWorkflow', {
      workflowId: budgetWorkflowId(partnerId, semester),
      taskQueue: this.opts.taskQueue,
      args: [{ partnerId, semester } satisfies BudgetWorkflowInput],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    return this.call(() => this.opts.client.workflow.executeUpdateWithStart(budgetCommandUpdate, { args: [{ command, meta }], startWorkflowOperation, updateId }));
  }

  /** Changes the register of organisations, starting its workflow the first time. */
  async registerCommand(command: OrganisationCommand, meta: CommandMeta, updateId: string): Promise<RegisterCommandResult> {
    const startWorkflowOperation = new WithStartWorkflowOperation('registerWorkflow', {
      workflowId: registerWorkflowId(this.opts.taskQueue),
      taskQueue: this.opts.taskQueue,
      args: [{} satisfies RegisterWorkflowInput],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    return this.call(() => this.opts.client.workflow.executeUpdateWithStart(registerCommandUpdate, { args: [{ command, meta }], startWorkflowOperation, updateId }));
  }

  /**
   * Waits for the command's outcome, but not forever: while the database or a worker is down the
   * workflow keeps retrying, and the caller gets a 503 with Retry-After. Retrying with the same
   * Idempotency-Key then returns the outcome (or waits for it) without doing the command twice.
   */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    const ms = this.opts.commandTimeoutMs ?? 15_000;
    // On timeout the caller gets its 503 at once, and the call is aborted, retries included, so no
    // abandoned request keeps knocking (or outlives a closed connection).
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(
          new HttpProblem(503, 'not_yet_durable', `the command was not confirmed durable within ${ms / 1000} s; retry with the same Idempotency-Key`, {
            retryAfterSeconds: 5,
          }),
        );
      }, ms);
    });
    const call = this.opts.client.withAbortSignal(abort.signal, fn);
    call.catch(() => undefined); // its rejection after a timeout is expected and already answered
    try {
      return await Promise.race([call, timeout]);
    } catch (err) {
      throw err instanceof HttpProblem ? err : toProblem(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

export function toProblem(err: unknown): Error {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure) {
    const f = cause;
    const d = (f.details?.[0] ?? {}) as Partial<RefusalDetails>;
    if (f.type === FAILURE_TYPES.domain || f.type === FAILURE_TYPES.staleVersion) {
      const kind = d.kind ?? 'rule';
      // Outside the caller's scope: the same answer as for a plan that does not exist.
      if (kind === 'not_found') return new HttpProblem(404, 'not_found', 'no such plan');
      return new HttpProblem(KIND_STATUS[kind], d.code ?? 'refused', f.message, {
        ...(d.code ? { code: d.code } : {}),
        ...(d.field ? { field: d.field } : {}),
      });
    }
  }
  if (err instanceof WorkflowNotFoundError) return new HttpProblem(404, 'not_found', 'no such plan');
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new HttpProblem(409, 'plan.already_exists', 'a plan with this id exists and has ended');
  }
  // While its database is unreachable, Temporal's server answers NOT_FOUND for its own namespace: an outage to
  // retry, not an answer about the plan.
  if (isGrpcServiceError(err) && err.code === 5 && /^Namespace .+ is not found/.test(err.message)) {
    return new HttpProblem(503, 'unavailable', 'the workflow service is not reachable; retry shortly', { retryAfterSeconds: 5 });
  }
  // The workflow finished between our read and the Update (e.g. a claim paid a moment ago).
  if (isGrpcServiceError(err) && err.code === 5) return new HttpProblem(404, 'not_found', 'no such workflow (it may have just finished)');
  if (err instanceof Error && /workflow execution already completed/i.test(err.message)) {
    return new HttpProblem(404, 'not_found', 'the workflow has finished');
  }
  if (isUnavailable(err)) {
    return new HttpProblem(503, 'unavailable', 'the workflow service is not reachable; retry shortly', { retryAfterSeconds: 5 });
  }
  return err instanceof Error ? err : new Error(String(err));
}

function isUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && [4, 8, 14].includes(e.code)) return true; // DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE
    if (e instanceof Error && /ECONNREFUSED|Connection refused|failed to connect|transport error/i.test(e.message)) return true;
    if (e === (e as { cause?: unknown }).cause) break;
  }
  return false;
}
