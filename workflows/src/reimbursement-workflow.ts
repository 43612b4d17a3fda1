// One compensation claim's reimbursement: submitted → documents verified → approved (in full or in part)
// or rejected → paid. Finance staff's commands arrive as Updates validated by the reimbursement decider;
// each outcome is appended to the claim's own stream (an approval within the partner's budget, checked by
// the database in the same transaction) and reported to the plan by a signal.
// Deterministic code only.

import {
  decideReimbursement,
  evolveReimbursement,
  initialReimbursementState,
  REIMBURSEMENT_EVENT_SCHEMA_VERSIONS,
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
  type ClaimCommandEnvelope,
  type ClaimCommandResult,
  type ClaimOutcome,
  type CommandMeta,
  type ReimbursementWorkflowInput,
} from '@iap/messages';
import { allHandlersFinished, condition, getExternalWorkflowHandle, log, setHandler } from '@temporalio/workflow';
import { appendDecided, decideOrRefuse, Lock, staleVersion } from './stream-writer.js';

const FINAL: ReadonlySet<ReimbursementState['status']> = new Set(['rejected', 'paid']);

export async function reimbursementWorkflow(input: ReimbursementWorkflowInput): Promise<ReimbursementState> {
  const streamId = claimStreamId(input.planId, input.claim.claimId);
  let state: ReimbursementState = initialReimbursementState();
  const lock = new Lock();

  setHandler(claimStateQuery, () => state);

  function decide(command: ReimbursementCommand, meta: CommandMeta): ReimbursementEvent[] {
    if (meta.expectedVersion !== null && meta.expectedVersion !== state.version) throw staleVersion('claim', state.version, meta.expectedVersion);
    return decideOrRefuse(() => decideReimbursement(command, state, { now: new Date().toISOString(), actor: meta.actor }));
  }

  const run = (command: ReimbursementCommand, meta: CommandMeta): Promise<ClaimCommandResult> =>
    lock.run(async () => {
      const { events, recorded } = await appendDecided(streamId, state.version, decide(command, meta), REIMBURSEMENT_EVENT_SCHEMA_VERSIONS, meta, {
        kind: 'claim',
        context: input.context,
      });
      recorded.forEach((r, i) => (state = evolveReimbursement(state, events[i]!, { occurredAt: r.occurredAt, version: r.version })));
      for (const e of events) await report(e, meta);
      return {
        planId: input.planId,
        claimId: input.claim.claimId,
        version: state.version,
        status: state.status,
        events: recorded.map((r, i) => ({ eventId: r.eventId, type: events[i]!.type, version: r.version, globalPosition: r.globalPosition })),
      };
    });

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
    // Right after the plan started this workflow its claim may still be being recorded, or another step
    // is: the handler waits for that under the lock and decides then.
    validator: (env: ClaimCommandEnvelope) => {
      if (state.status !== 'none' && !lock.busy) decide(env.command, env.meta);
    },
  });

  await run({ type: 'SubmitClaim', data: input.claim }, { ...input.submittedBy, expectedVersion: null });
  await condition(() => FINAL.has(state.status) && !lock.busy && allHandlersFinished());
  return state;
}
