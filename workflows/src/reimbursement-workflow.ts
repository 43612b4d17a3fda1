// One compensation claim's reimbursement: submitted → documents verified → approved (in full or in part)
// or rejected → paid. Finance staff's commands arrive as Updates validated by the reimbursement decider;
// each outcome is appended to the claim's own stream and reported to the plan by a signal.
// Deterministic code only.

import {
  decideReimbursement,
  evolveReimbursement,
  initialReimbursementState,
  isDomainError,
  REIMBURSEMENT_EVENT_SCHEMA_VERSIONS,
  SYSTEM_ACTOR,
  type ReimbursementCommand,
  type ReimbursementEvent,
  type ReimbursementState,
} from '@iap/domain';
import {
  claimCommandUpdate,
  claimOutcomeSignal,
  claimStateQuery,
  claimStreamId,
  planWorkflowId,
  FAILURE_TYPES,
  type ClaimCommandEnvelope,
  type ClaimCommandResult,
  type ClaimOutcome,
  type CommandMeta,
  type RefusalDetails,
  type ReimbursementWorkflowInput,
} from '@iap/messages';
import { allHandlersFinished, ApplicationFailure, condition, getExternalWorkflowHandle, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { appendEvents, eventId } from './append.js';

const FINAL: ReadonlySet<ReimbursementState['status']> = new Set(['rejected', 'paid']);

export async function reimbursementWorkflow(input: ReimbursementWorkflowInput): Promise<ReimbursementState> {
  const streamId = claimStreamId(input.planId, input.claim.claimId);
  let state: ReimbursementState = initialReimbursementState();
  let busy = false;

  setHandler(claimStateQuery, () => state);

  function decideOrRefuse(command: ReimbursementCommand, meta: CommandMeta): ReimbursementEvent[] {
    if (meta.expectedVersion !== null && meta.expectedVersion !== state.version) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.staleVersion,
        message: `claim is at version ${state.version}, not ${meta.expectedVersion}`,
        nonRetryable: true,
        details: [{ code: 'claim.stale_version', kind: 'stale', field: null } satisfies RefusalDetails],
      });
    }
    try {
      return decideReimbursement(command, state, { now: new Date().toISOString(), actor: meta.actor });
    } catch (e) {
      if (isDomainError(e)) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.domain,
          message: e.message,
          nonRetryable: true,
          details: [{ code: e.code, kind: e.kind, field: e.field ?? null } satisfies RefusalDetails],
        });
      }
      throw e;
    }
  }

  async function run(command: ReimbursementCommand, meta: CommandMeta): Promise<ClaimCommandResult> {
    await condition(() => !busy);
    busy = true;
    try {
      const events = decideOrRefuse(command, meta);
      const info = workflowInfo();
      const recorded = await appendEvents({
        streamId,
        expectedVersion: state.version,
        events: events.map((e, i) => ({
          eventId: eventId(streamId, state.version + i + 1),
          type: e.type,
          schemaVersion: REIMBURSEMENT_EVENT_SCHEMA_VERSIONS[e.type],
          data: e.data,
          occurredAt: new Date().toISOString(),
          metadata: {
            actorId: meta.actor.id,
            actorRole: meta.actor.role,
            schoolId: meta.schoolId,
            requestId: meta.requestId,
            correlationId: meta.correlationId ?? meta.requestId,
            causationId: meta.causationId,
            workflowId: info.workflowId,
            runId: info.runId,
          },
        })),
        projection: { kind: 'claim', context: input.context },
      });
      recorded.forEach((r, i) => {
        state = evolveReimbursement(state, events[i]!, { occurredAt: r.occurredAt, version: r.version });
      });
      for (const e of events) await report(e, meta);
      return {
        planId: input.planId,
        claimId: input.claim.claimId,
        version: state.version,
        status: state.status,
        events: recorded.map((r, i) => ({ eventId: r.eventId, type: events[i]!.type, version: r.version, globalPosition: r.globalPosition })),
      };
    } finally {
      busy = false;
    }
  }

  /** Tells the plan what became of its claim. A plan that already ended cannot hear it; the claim stands. */
  async function report(e: ReimbursementEvent, meta: CommandMeta): Promise<void> {
    const base = { claimId: input.claim.claimId, by: meta.actor.id, requestId: meta.requestId };
    const outcome: ClaimOutcome | null =
      e.type === 'ClaimApproved'
        ? { ...base, kind: 'approved', approvedCents: e.data.approvedCents }
        : e.type === 'ClaimRejected'
          ? { ...base, kind: 'rejected', reason: e.data.reason }
          : e.type === 'ClaimPaid'
            ? { ...base, kind: 'paid', paidCents: e.data.paidCents, paidOn: e.data.paidOn, paymentRef: e.data.paymentRef }
            : null;
    if (!outcome) return;
    try {
      await getExternalWorkflowHandle(planWorkflowId(input.planId)).signal(claimOutcomeSignal, outcome);
    } catch (err) {
      log.warn('plan did not take the claim outcome (it has ended)', { planId: input.planId, claimId: input.claim.claimId, error: String(err) });
    }
  }

  setHandler(claimCommandUpdate, (env: ClaimCommandEnvelope) => run(env.command, env.meta), {
    // Right after the plan started this workflow its claim may still be being recorded; the handler
    // waits for that under the lock and decides then.
    validator: (env: ClaimCommandEnvelope) => {
      if (state.status !== 'none') decideOrRefuse(env.command, env.meta);
    },
  });

  await run({ type: 'SubmitClaim', data: input.claim }, { ...input.submittedBy, actor: input.submittedBy.actor ?? SYSTEM_ACTOR, expectedVersion: null });
  await condition(() => FINAL.has(state.status) && !busy && allHandlersFinished());
  return state;
}
