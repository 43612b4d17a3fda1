// The contract between the API, the workflows and the worker: task queue, workflow-id rules, Update and
// Query definitions, search attributes, and the shapes that cross them. Imported by workflow code, so it
// must stay deterministic and free of Node built-ins.

import type {
  Actor,
  ActorScope,
  Cents,
  DomainConfig,
  LocalDate,
  PlanCommand,
  PlanEventType,
  PlanState,
  BudgetCommand,
  BudgetState,
  OrganisationCommand,
  RegisterState,
  ReimbursementCommand,
  ReimbursementState,
  SubmitClaimData,
} from '@iap/domain';
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const DEFAULT_TASK_QUEUE = 'iap-plans';
export const DEFAULT_NAMESPACE = 'default';

/** A plan's workflow id. Derived from the plan id only (no personal data), so a retried create finds it. */
export const planWorkflowId = (planId: string): string => `plan-${planId}`;

/** Everything about a command that is not the command itself: who, and which request. */
export interface CommandMeta {
  readonly actor: Actor;
  /** The school the actor acts for, recorded in event metadata (null for national roles). */
  readonly schoolId: string | null;
  readonly requestId: string | null;
  /**
   * The command's identity across retries: the Update id the API sends it under (from the Idempotency-Key),
   * recorded in its events' metadata. A command whose events this run took up after a lost workflow task is
   * known by it when it comes again under a new request. Absent in commands sent before it existed.
   */
  readonly commandId?: string | null;
  readonly correlationId: string | null;
  readonly causationId: string | null;
  /** If-Match: the plan version the caller saw; a different current version refuses the command. */
  readonly expectedVersion: number | null;
  /**
   * Where the caller works, from its token: the workflow refuses a command for a plan outside it as not found
   * (the domain's maySee), before any other rule. Absent for the system's own commands (timers, claim
   * outcomes), and in commands recorded before the API sent it (it checked a projection row instead).
   */
  readonly scope?: ActorScope;
}

export interface CommandEnvelope {
  readonly command: PlanCommand;
  readonly meta: CommandMeta;
}

export interface RecordedEventRef {
  readonly eventId: string;
  readonly type: PlanEventType;
  readonly version: number;
  readonly globalPosition: string;
}

export interface CommandResult {
  readonly planId: string;
  readonly version: number;
  readonly status: PlanState['status'];
  readonly events: readonly RecordedEventRef[];
}

/** A compensation claim's reimbursement workflow: one per claim, a child of the plan that outlives it. */
export const claimWorkflowId = (planId: string, claimId: string): string => `claim-${planId}-${claimId}`;
/** The claim's own event stream in the log. */
export const claimStreamId = (planId: string, claimId: string): string => `claim-${planId}-${claimId}`;

/** Every plan command arrives through this Update; its validator runs the decider. */
export const planCommandUpdate = defineUpdate<CommandResult, [CommandEnvelope]>('plan.command');
export const planStateQuery = defineQuery<PlanState>('plan.state');

/** ApplicationFailure types the workflow uses for refusals, so the API can map them to HTTP. */
export const FAILURE_TYPES = {
  domain: 'DomainError',
  staleVersion: 'StaleVersion',
} as const;

/** Details attached to a domain refusal's ApplicationFailure. */
export interface RefusalDetails {
  readonly code: string;
  /** not_found: the caller may not see the object (tenancy), answered as if it did not exist. */
  readonly kind: 'conflict' | 'rule' | 'forbidden' | 'stale' | 'not_found';
  readonly field: string | null;
}

// Search attributes, so `temporal workflow list --query "PlanStatus='awaiting_consent'"` works.
export const SA = {
  school: defineSearchAttributeKey('PlanSchool', 'KEYWORD'),
  municipality: defineSearchAttributeKey('PlanMunicipality', 'KEYWORD'),
  semester: defineSearchAttributeKey('PlanSemester', 'KEYWORD'),
  status: defineSearchAttributeKey('PlanStatus', 'KEYWORD'),
  riskTypes: defineSearchAttributeKey('PlanRiskTypes', 'KEYWORD_LIST'),
} as const;

/** name → type in the form `temporal server start-dev --search-attribute NAME=TYPE` takes. */
export const SEARCH_ATTRIBUTE_DEFS: ReadonlyArray<readonly [string, 'Keyword' | 'KeywordList']> = [
  ['PlanSchool', 'Keyword'],
  ['PlanMunicipality', 'Keyword'],
  ['PlanSemester', 'Keyword'],
  ['PlanStatus', 'Keyword'],
  ['PlanRiskTypes', 'KeywordList'],
];

/** Where a plan's claim belongs, for the finance queue (the claim's own events do not repeat it). */
export interface ClaimContext {
  readonly schoolId: string;
  readonly municipalityId: string;
  readonly partnerType: 'municipality' | 'state_vocational';
  readonly semester: string;
}

export interface ReimbursementWorkflowInput {
  readonly planId: string;
  readonly claim: SubmitClaimData;
  readonly context: ClaimContext;
  /** Who claimed it, and in which request: the claim's first event carries the same. */
  readonly submittedBy: CommandMeta;
}

export interface ClaimCommandEnvelope {
  readonly command: Exclude<ReimbursementCommand, { type: 'SubmitClaim' }>;
  readonly meta: CommandMeta;
}

export interface ClaimCommandResult {
  readonly planId: string;
  readonly claimId: string;
  readonly version: number;
  readonly status: ReimbursementState['status'];
  readonly events: ReadonlyArray<{ readonly eventId: string; readonly type: string; readonly version: number; readonly globalPosition: string }>;
}

export const claimCommandUpdate = defineUpdate<ClaimCommandResult, [ClaimCommandEnvelope]>('claim.command');
export const claimStateQuery = defineQuery<ReimbursementState>('claim.state');

/** What became of a claim, sent by its reimbursement workflow to the plan so the plan records it too. */
export type ClaimOutcome =
  | { readonly kind: 'approved'; readonly claimId: string; readonly approvedCents: Cents; readonly by: string; readonly requestId: string | null }
  | { readonly kind: 'rejected'; readonly claimId: string; readonly reason: string; readonly by: string; readonly requestId: string | null }
  | {
      readonly kind: 'paid';
      readonly claimId: string;
      readonly paidCents: Cents;
      readonly paidOn: LocalDate;
      readonly paymentRef: string;
      readonly by: string;
      readonly requestId: string | null;
    };

export const claimOutcomeSignal = defineSignal<[ClaimOutcome]>('plan.claimOutcome');

/** What a plan workflow is started with, and what it hands to its next run on continue-as-new. */
export interface PlanWorkflowInput {
  readonly planId: string;
  /** The programme's tunable rules (deadlines, semester dates); defaults when absent. */
  readonly config?: DomainConfig;
  /** How long a workflow whose first command was refused waits for a valid one before it ends. */
  readonly draftGraceMs?: number;
  /** History length after which the workflow continues as new (Temporal also suggests it by size). */
  readonly continueAsNewAfterEvents?: number;
  /** How long a closed plan's workflow stays to take a carry-over or late claim outcomes (default 30 days). */
  readonly closedGraceMs?: number;
  /** Set on continue-as-new: the state and unprocessed claim outcomes of the previous run. */
  readonly carried?: {
    readonly state: PlanState;
    readonly pendingOutcomes: readonly ClaimOutcome[];
    /**
     * Commands the previous run took up from the log after a lost workflow task, with their answers: a retry
     * that reaches this run is answered with them. The most recent ones only; absent when there were none.
     */
    readonly adopted?: ReadonlyArray<{ readonly key: string; readonly actorId: string; readonly result: CommandResult }>;
  };
  /**
   * The plan workflow's code generation the run was started by (PLAN_WORKFLOW_GENERATION). From 1 on, what
   * patches guard in older histories is simply on, without a marker in every new plan's history, and the
   * search attributes the start carried count as published. Absent in runs started before it existed: they
   * replay through their patches.
   */
  readonly generation?: number;
}

/** See PlanWorkflowInput.generation. */
export const PLAN_WORKFLOW_GENERATION = 1;

/** What a plan's search attributes are made of (a plan's state, or its DraftPlan and status). */
export interface PlanSearchAttributeSource {
  readonly schoolId: string;
  readonly municipalityId: string;
  readonly semester: string;
  readonly status: string;
  readonly risks: ReadonlyArray<{ readonly type: string }>;
}

/** The plan's search attributes, in the order planSearchAttributes gives their values. */
export const PLAN_SEARCH_ATTRIBUTE_KEYS = [SA.school, SA.municipality, SA.semester, SA.status, SA.riskTypes] as const;

/**
 * A plan's search attributes (PLAN_SEARCH_ATTRIBUTE_KEYS), as the workflow publishes them and as the API sets
 * them on the workflow's start (so a new plan's first task need not upsert them). Risk types: each once, sorted.
 */
export function planSearchAttributes(p: PlanSearchAttributeSource) {
  return [
    { key: SA.school, value: p.schoolId },
    { key: SA.municipality, value: p.municipalityId },
    { key: SA.semester, value: p.semester },
    { key: SA.status, value: p.status },
    { key: SA.riskTypes, value: [...new Set(p.risks.map((r) => r.type))].sort() },
  ] as const;
}

/**
 * What a plan's workflow is started with (the API's create, and tests that start plans as it does): this
 * code's generation, and the search attributes the plan has once its DraftPlan is recorded.
 */
export function planWorkflowStart(input: Omit<PlanWorkflowInput, 'generation'>, draft: Omit<PlanSearchAttributeSource, 'status'>) {
  return {
    args: [{ ...input, generation: PLAN_WORKFLOW_GENERATION }] as [PlanWorkflowInput],
    typedSearchAttributes: [...planSearchAttributes({ ...draft, status: 'draft' })],
  };
}

/** A partner's compensation budget for one semester: one long-lived workflow, one event stream. */
export const budgetWorkflowId = (partnerId: string, semester: string): string => `budget-${partnerId}-${semester}`;
export const budgetStreamId = budgetWorkflowId;

export interface BudgetWorkflowInput {
  readonly partnerId: string;
  readonly semester: string;
  readonly carried?: { readonly state: BudgetState };
}

export interface BudgetCommandEnvelope {
  readonly command: BudgetCommand;
  readonly meta: CommandMeta;
}

export interface BudgetCommandResult {
  readonly partnerId: string;
  readonly semester: string;
  readonly version: number;
  readonly allocatedCents: number;
}

export const budgetCommandUpdate = defineUpdate<BudgetCommandResult, [BudgetCommandEnvelope]>('budget.command');
export const budgetStateQuery = defineQuery<BudgetState>('budget.state');

/**
 * The register of organisations: one long-lived workflow per deployment (its task queue), one event stream.
 * The workflow id carries the task queue so that deployments (and test stacks) sharing a Temporal namespace
 * each keep their own register, next to their own database.
 */
export const registerWorkflowId = (taskQueue: string): string => `organisations-${taskQueue}`;
export const REGISTER_STREAM_ID = 'organisations';

export interface RegisterWorkflowInput {
  readonly carried?: { readonly state: RegisterState };
}

export interface RegisterCommandEnvelope {
  readonly command: OrganisationCommand;
  readonly meta: CommandMeta;
}

export interface RegisterCommandResult {
  /** The register's version after the command (unchanged when the command changed nothing). */
  readonly version: number;
  /** Whether the command recorded anything (an identical PUT does not). */
  readonly changed: boolean;
}

export const registerCommandUpdate = defineUpdate<RegisterCommandResult, [RegisterCommandEnvelope]>('register.command');
export const registerStateQuery = defineQuery<RegisterState>('register.state');

/**
 * Chain-head checkpoints: a Temporal Schedule starts `chainCheckpointWorkflow` on this task queue, whose
 * worker alone holds the signing key (the plan workers and the API never do).
 */
export const CHECKPOINT_TASK_QUEUE = 'iap-checkpoints';
export const CHECKPOINT_SCHEDULE_ID = 'iap-chain-checkpoint';

export interface CheckpointSummary {
  readonly id: string;
  readonly takenAt: string;
  readonly streams: number;
  readonly events: number;
  readonly keyId: string;
}

export interface CheckpointActivities {
  takeChainCheckpoint(): Promise<CheckpointSummary>;
}
