// Drives plan workflows straight through Temporal (no HTTP), the way the API does, for the workflow
// tests: each plan can get its own rules (short deadlines, an early semester end).

import { randomUUID } from 'node:crypto';
import { readStream, verifyChain } from '@iap/db';
import {
  fold,
  initialState,
  semesterOf,
  type DomainConfig,
  type PlanCommand,
  type PlanCommandOf,
  type PlanEvent,
  type PlanState,
  type ReimbursementCommand,
  type Role,
} from '@iap/domain';
import {
  budgetCommandUpdate,
  budgetWorkflowId,
  type BudgetCommandResult,
  claimCommandUpdate,
  claimWorkflowId,
  planCommandUpdate,
  planStateQuery,
  planWorkflowStart,
  planWorkflowId,
  type ClaimCommandResult,
  type CommandMeta,
  type CommandResult,
} from '@iap/messages';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { TestStack } from './stack.js';
import { MUNI_A, TEST_DOMAIN_CONFIG } from './stack.js';

export const SEMESTER_NOW = semesterOf(new Date().toISOString());
export const TODAY = new Date().toISOString().slice(0, 10);


/** Rules with every deadline a few seconds away, so timers fire within a test. */
export function fastConfig(over: { semesterEndsInMs?: number; reminderMs?: number; expiryMs?: number; evaluationDueMs?: number } = {}): DomainConfig {
  const days = (ms: number) => ms / 86_400_000;
  return {
    ...TEST_DOMAIN_CONFIG,
    consentReminderDays: days(over.reminderMs ?? 60_000),
    consentExpiryDays: days(over.expiryMs ?? 120_000),
    evaluationDueDays: days(over.evaluationDueMs ?? 60_000),
    semesterEndInstants: over.semesterEndsInMs === undefined ? {} : { [SEMESTER_NOW]: new Date(Date.now() + over.semesterEndsInMs).toISOString() },
  };
}

export interface Who {
  readonly id: string;
  readonly role: Role;
  readonly schoolId?: string | null;
}

export const PREPARER: Who = { id: 'preparer-1', role: 'preparer', schoolId: 'school-a' };
export const DIRECTOR: Who = { id: 'director-1', role: 'school_director', schoolId: 'school-a' };
export const MUNI: Who = { id: 'muni-coord-1', role: 'municipality_coordinator' };
export const NATIONAL: Who = { id: 'ikvd-1', role: 'national_coordinator' };
export const FINANCE: Who = { id: 'finance-1', role: 'finance' };

export const meta = (who: Who, expectedVersion: number | null = null): CommandMeta => ({
  actor: { id: who.id, role: who.role },
  schoolId: who.schoolId ?? null,
  requestId: `test-${randomUUID()}`,
  correlationId: null,
  causationId: null,
  expectedVersion,
});

/** The README's sample `POST /plans` body for a registered learner, with fields replaced by `over`. */
export const draftBody = (learnerRef: string, over: Record<string, unknown> = {}) => ({
  learnerRef,
  semester: SEMESTER_NOW,
  grade: 7,
  risks: [{ riskId: 'r1', type: 'learning', factor: 'insufficient grades in mathematics', note: '' }],
  measures: [
    { measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'extra lessons', providerType: 'teacher', subject: 'mathematics', plannedMinutes: 240 },
  ],
  ...over,
});

export function draftCommand(planId: string, partnerType: 'municipality' | 'state_vocational' = 'municipality'): PlanCommandOf<'DraftPlan'> {
  return {
    type: 'DraftPlan',
    data: {
      planId,
      learnerRef: `L-${planId.slice(0, 8)}`,
      schoolId: 'school-a',
      municipalityId: MUNI_A,
      partner: { type: partnerType, id: partnerType === 'municipality' ? MUNI_A : 'voc-school-a' },
      semester: SEMESTER_NOW,
      grade: 9,
      risks: [
        { riskId: 'r1', type: 'learning', factor: 'insufficient grades in mathematics', note: 'two terms below 4' },
        { riskId: 'r2', type: 'economic', factor: 'low-income family', note: '' },
      ],
      measures: [
        { measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'extra lessons', providerType: 'teacher', subject: 'mathematics', plannedMinutes: 240 },
        { measureId: 'm2', kind: 'compensation', riskIds: ['r2'], justification: 'bus to school', compensationType: 'public_transport', plannedCents: 6000 },
      ],
    },
  };
}

export class PlanDriver {
  constructor(
    private readonly stack: TestStack,
    readonly planId: string,
  ) {}

  static async start(
    stack: TestStack,
    opts: { config?: DomainConfig; partnerType?: 'municipality' | 'state_vocational'; continueAsNewAfterEvents?: number; closedGraceMs?: number } = {},
  ) {
    const planId = randomUUID();
    const input = {
      planId,
      config: opts.config ?? fastConfig(),
      closedGraceMs: opts.closedGraceMs ?? 300,
      ...(opts.continueAsNewAfterEvents ? { continueAsNewAfterEvents: opts.continueAsNewAfterEvents } : {}),
    };
    const draft = draftCommand(planId, opts.partnerType);
    await stack.client.workflow.executeUpdateWithStart(planCommandUpdate, {
      args: [{ command: draft, meta: meta(PREPARER) }],
      // As the API starts a plan (plan-gateway.ts).
      startWorkflowOperation: new WithStartWorkflowOperation('planWorkflow', {
        workflowId: planWorkflowId(planId),
        taskQueue: stack.taskQueue,
        ...planWorkflowStart(input, draft.data),
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    return new PlanDriver(stack, planId);
  }

  get handle() {
    return this.stack.client.workflow.getHandle(planWorkflowId(this.planId));
  }

  send(who: Who, command: PlanCommand, expectedVersion: number | null = null): Promise<CommandResult> {
    return this.handle.executeUpdate(planCommandUpdate, { args: [{ command, meta: meta(who, expectedVersion) }] });
  }

  claim(claimId: string, who: Who, command: ReimbursementCommand & { type: Exclude<ReimbursementCommand['type'], 'SubmitClaim'> }): Promise<ClaimCommandResult> {
    return this.stack.client.workflow
      .getHandle(claimWorkflowId(this.planId, claimId))
      .executeUpdate(claimCommandUpdate, { args: [{ command, meta: meta(who) }] });
  }

  state(): Promise<PlanState> {
    return this.handle.query(planStateQuery);
  }

  /** Polls the workflow's state until `ok` holds (timers and signals act on their own time). */
  async waitFor(ok: (s: PlanState) => boolean, timeoutMs = 20_000): Promise<PlanState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.state();
      if (ok(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting; plan is ${s.status} at version ${s.version}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async eventTypes(): Promise<string[]> {
    return (await readStream(this.stack.db, this.planId)).map((e) => e.type);
  }

  /**
   * The log agrees with the workflow: every accepted event is there, in order, chain intact, and folding
   * the log with the same decider gives the workflow's state.
   */
  async expectLogMatchesWorkflow(): Promise<{ logState: PlanState; workflowState: PlanState; chainBreak: unknown }> {
    const events = await readStream(this.stack.db, this.planId);
    const logState = fold(
      events.map((e) => ({ event: { type: e.type, data: e.data } as PlanEvent, meta: { occurredAt: e.occurredAt, version: e.streamVersion } })),
      initialState(),
    );
    const running = (await this.handle.describe()).status.name === 'RUNNING';
    const workflowState = running ? await this.state() : await this.handle.result();
    return { logState, workflowState, chainBreak: verifyChain(events) };
  }

  /** Consent granted by a parent, then submitted for approval. */
  async consentAndSubmit(): Promise<void> {
    await this.send(PREPARER, { type: 'RequestConsent', data: {} });
    await this.send(PREPARER, { type: 'GrantConsent', data: { givenBy: 'parent', signedOn: TODAY, documentRef: 'consent-scan-1' } });
    await this.send(PREPARER, { type: 'SubmitForApproval', data: {} });
  }

  async approveAll(partnerType: 'municipality' | 'state_vocational' = 'municipality'): Promise<void> {
    await this.send(DIRECTOR, { type: 'ApprovePlan', data: { level: 'school' } });
    if (partnerType === 'municipality') await this.send(MUNI, { type: 'ApprovePlan', data: { level: 'municipality' } });
    await this.send(NATIONAL, { type: 'ApprovePlan', data: { level: 'national' } });
  }
}

/** Allocates a partner's budget for a semester through its budget workflow, as finance staff would. */
export async function setBudget(stack: TestStack, partnerId: string, semester: string, allocatedCents: number, who: Who = FINANCE): Promise<BudgetCommandResult> {
  return stack.client.workflow.executeUpdateWithStart(budgetCommandUpdate, {
    args: [{ command: { type: 'SetBudget', data: { allocatedCents } }, meta: meta(who) }],
    startWorkflowOperation: new WithStartWorkflowOperation('budgetWorkflow', {
      workflowId: budgetWorkflowId(partnerId, semester),
      taskQueue: stack.taskQueue,
      args: [{ partnerId, semester }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
}
