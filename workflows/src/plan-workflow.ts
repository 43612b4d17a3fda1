// One durable workflow per plan. Commands arrive as Updates: the validator runs the decider (a refused
// command leaves no trace in history), the handler runs it again under a lock, appends the events through
// the event-log activity and only then answers, so the caller's 2xx means "durable". Timers (consent
// reminder and expiry, semester end, evaluation deadline) are derived from the state by the domain's
// nextDeadline, and fire as system commands through the same path. Each compensation claim starts a
// reimbursement child workflow that outlives the plan if it must.
// Deterministic code only: no I/O, no clock but workflow time, no Node built-ins.

import {
  commandKey,
  DEFAULT_DOMAIN_CONFIG,
  SYSTEM_ACTOR,
  TERMINAL_STATUSES,
  decide,
  EVENT_SCHEMA_VERSIONS,
  evolve,
  initialState,
  maySee,
  nextDeadline,
  upcastPlanEvent,
  type PlanCommand,
  type PlanEvent,
  type PlanState,
} from '@iap/domain';
import {
  claimOutcomeSignal,
  claimWorkflowId,
  planCommandUpdate,
  PLAN_SEARCH_ATTRIBUTE_KEYS,
  PLAN_WORKFLOW_GENERATION,
  planSearchAttributes,
  planStateQuery,
  type ClaimOutcome,
  type CommandEnvelope,
  type CommandMeta,
  type CommandResult,
  type PlanWorkflowInput,
} from '@iap/messages';
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { appendDecided, commandMetaOf, decideOrRefuse as refuseDomainErrors, EventsToAdopt, Lock, refusal, staleVersion, type Decided } from './stream-writer.js';
import { APPEND_LOCAL_PATCH } from './append.js';
import { reimbursementWorkflow } from './reimbursement-workflow.js';

export type { PlanWorkflowInput } from '@iap/messages';

/** See planWorkflow: one timer per deadline, and no grace timer while the create's draft is recorded. */
const TIMERS_WHEN_NEEDED_PATCH = 'timers-when-needed';
/** Search attributes upserted only when they change, not after every command. */
const SA_ON_CHANGE_PATCH = 'search-attributes-on-change';
/** A closed plan's workflow stays a while for a carry-over and late claim outcomes. */
const CLOSED_PLAN_GRACE_PATCH = 'closed-plan-grace';

/** How many taken-up commands (see adopt) a continued run carries, so their retries are still answered. */
const MAX_CARRIED_ADOPTED = 100;

function systemMeta(requestId: string | null = null): CommandMeta {
  return { actor: SYSTEM_ACTOR, schoolId: null, requestId, correlationId: requestId, causationId: null, expectedVersion: null };
}

export async function planWorkflow(input: PlanWorkflowInput): Promise<PlanState> {
  // A plan started before a rule was added to the config carries a config without it: the default applies.
  const config = { ...DEFAULT_DOMAIN_CONFIG, ...input.config };
  let state: PlanState = input.carried?.state ?? initialState();
  const outcomes: ClaimOutcome[] = [...(input.carried?.pendingOutcomes ?? [])];
  const lock = new Lock();
  /** The search attributes this run last published (see updateSearchAttributes). */
  let published: string | null = null;
  // A run started by this code's generation has every patched behaviour below on, without a patch marker in
  // its history; older runs replay through their patches.
  const modern = (input.generation ?? 0) >= 1;
  /** A patched behaviour: on in this generation without asking (no marker), else as the run's history says. */
  const patchOn = (patch: string): boolean => modern || patched(patch);
  // The search attributes the start carried (the API sets them with the create) count as published.
  if (modern) published = publishedAtStart();
  // Timers only where something waits for time: one per deadline (not restarted by every command) and no
  // grace timer while the create's own DraftPlan is being recorded. Histories recorded before this replay
  // the old way (a timer restarted after each command, a grace timer in every new plan's first task).
  const timersWhenNeeded = patchOn(TIMERS_WHEN_NEEDED_PATCH);
  const onChangeOnly = () => patchOn(SA_ON_CHANGE_PATCH);
  /** DraftPlan commands in their handler for a plan not drafted yet (the create's, from Update-with-Start). */
  let draftsInFlight = 0;
  /** Commands this run took up from the log (see adopt), by commandKey: their retry is answered with them. */
  const adopted = new Map<string, { readonly actorId: string; readonly result: CommandResult }>(
    (input.carried?.adopted ?? []).map(({ key, ...answer }) => [key, answer]),
  );
  /** The answer to a command this run took up, if `env` is that command again (same key, same actor). */
  const takenUp = (env: CommandEnvelope): CommandResult | undefined => {
    const key = commandKey(env.meta);
    const found = key !== null ? adopted.get(key) : undefined;
    return found && found.actorId === env.meta.actor.id ? found.result : undefined;
  };

  setHandler(planStateQuery, () => state);
  setHandler(claimOutcomeSignal, (o) => void outcomes.push(o));

  setHandler(
    planCommandUpdate,
    async (env: CommandEnvelope): Promise<CommandResult> => {
      const drafting = env.command.type === 'DraftPlan' && state.status === 'none';
      if (drafting) draftsInFlight++;
      try {
        const result = await lock.run(() => run(env));
        log.info('command accepted', { planId: input.planId, command: env.command.type, requestId: env.meta.requestId, version: result.version });
        return result;
      } finally {
        if (drafting) draftsInFlight--;
      }
    },
    {
      // While another command is being recorded the state is about to change (its projection row may
      // already show the new status): judge this one after it, under the lock, rather than now.
      // A command whose events this run took up from the log (see adopt) is answered with them, not judged again.
      validator: (env: CommandEnvelope) => {
        refuseOutOfScope(env);
        if (!lock.busy && takenUp(env) === undefined) decideOrRefuse(env);
      },
    },
  );


  // One command at a time (the lock): the state may have moved since a validator ran, so run() decides again.
  async function run(env: CommandEnvelope): Promise<CommandResult> {
    refuseOutOfScope(env);
    const answered = takenUp(env);
    if (answered) return answered;
    for (;;) {
      const decided = decideOrRefuse(env);
      // The plan's row is the state after these events, folded here by the same evolve: the append writes it
      // in the same statement as the events.
      const after = (occurredAt: string) => decided.reduce((s, e, i) => evolve(s, e, { occurredAt, version: state.version + i + 1 }), state);
      try {
        const { events, recorded } = await appendDecided(
          input.planId,
          state.version,
          decided,
          EVENT_SCHEMA_VERSIONS,
          env.meta,
          (occurredAt) => ({ kind: 'plan', state: after(occurredAt) }),
          { local: patchOn(APPEND_LOCAL_PATCH), adoptOwnRun: true },
        );
        return await fold(events, recorded, env.meta);
      } catch (err) {
        if (!(err instanceof EventsToAdopt)) throw err;
        await adopt(err.events);
        // Decided again on the state those events left (it may now refuse: the other command came first).
      }
    }
  }

  /** Folds recorded events into the state and does what follows from them; the command's answer. */
  async function fold(events: PlanEvent[], recorded: Decided<PlanEvent>['recorded'], meta: CommandMeta): Promise<CommandResult> {
    recorded.forEach((r, i) => {
      state = evolve(state, events[i]!, { occurredAt: r.occurredAt, version: r.version });
    });
    published = updateSearchAttributes(state, published, onChangeOnly);
    for (const e of events) if (e.type === 'CompensationClaimed') await startClaim(e, meta);
    return {
      planId: input.planId,
      version: state.version,
      status: state.status,
      events: recorded.map((r, i) => ({ eventId: r.eventId, type: events[i]!.type, version: r.version, globalPosition: r.globalPosition })),
    };
  }

  /**
   * Takes up events this run recorded for other commands whose workflow task was lost after the append
   * committed (a worker died), and whose Updates did not come back first: each command's events are folded
   * as its outcome (its retry is then answered with them), in the order they were recorded.
   */
  async function adopt(events: EventsToAdopt['events']): Promise<void> {
    for (let i = 0; i < events.length; ) {
      const md = events[i]!.metadata;
      const key = commandKey(md);
      let j = i + 1;
      while (j < events.length && commandKey(events[j]!.metadata) === key) j++;
      const group = events.slice(i, j);
      const result = await fold(group.map((e) => upcastPlanEvent(e)), group, commandMetaOf(md));
      log.warn('events of a lost workflow task taken up', { planId: input.planId, requestId: md.requestId, version: result.version });
      if (key !== null) adopted.set(key, { actorId: md.actorId, result });
      i = j;
    }
  }

  /** Tenancy first: for a caller who may not see the plan it does not exist, whatever else would be refused. */
  function refuseOutOfScope(env: CommandEnvelope): void {
    const scope = env.meta.scope;
    if (scope === undefined || (env.command.type === 'DraftPlan' && state.status === 'none')) return;
    const visible = state.status !== 'none' && maySee(env.meta.actor.role, scope, { schoolId: state.schoolId, municipalityId: state.municipalityId, partnerId: state.partner.id });
    if (!visible) throw refusal('not_found', 'not_found', 'no such plan', null);
  }

  /** Decides a command whose scope was checked (refuseOutOfScope), turning refusals into the caller's. */
  function decideOrRefuse(env: CommandEnvelope): PlanEvent[] {
    if (env.command.type === 'DraftPlan' && env.command.data.planId !== input.planId) {
      throw refusal('plan.id_mismatch', 'rule', `command is for plan ${env.command.data.planId}, not ${input.planId}`, 'data.planId');
    }
    if (env.meta.expectedVersion !== null && env.meta.expectedVersion !== state.version) throw staleVersion('plan', state.version, env.meta.expectedVersion);
    return refuseDomainErrors(() => decide(env.command, state, { now: new Date().toISOString(), actor: env.meta.actor, config }));
  }

  async function startClaim(e: Extract<PlanEvent, { type: 'CompensationClaimed' }>, meta: CommandMeta): Promise<void> {
    if (state.status === 'none') return;
    const d = e.data;
    await startChild(reimbursementWorkflow, {
      workflowId: claimWorkflowId(input.planId, d.claimId),
      // Payment can come after the plan closed: the claim must not die with it.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [
        {
          planId: input.planId,
          claim: {
            claimId: d.claimId,
            planId: input.planId,
            measureId: d.measureId,
            partnerId: state.partner.id,
            compensationType: d.compensationType,
            periodFrom: d.periodFrom,
            periodTo: d.periodTo,
            amountCents: d.amountCents,
            documentRefs: d.documentRefs,
          },
          context: {
            schoolId: state.schoolId,
            municipalityId: state.municipalityId,
            partnerType: state.partner.type,
            semester: state.semester,
          },
          submittedBy: meta,
        },
      ],
    });
  }

  /** A claim's outcome, reported by its reimbursement workflow, recorded on the plan as the finance actor. */
  async function recordOutcome(o: ClaimOutcome): Promise<void> {
    const command: PlanCommand =
      o.kind === 'approved'
        ? { type: 'RecordClaimApproval', data: { claimId: o.claimId, approvedCents: o.approvedCents } }
        : o.kind === 'rejected'
          ? { type: 'RecordClaimRejection', data: { claimId: o.claimId, reason: o.reason } }
          : { type: 'RecordClaimPayment', data: { claimId: o.claimId, paidCents: o.paidCents, paidOn: o.paidOn, paymentRef: o.paymentRef } };
    const meta: CommandMeta = { ...systemMeta(o.requestId), actor: { id: o.by, role: 'finance' } };
    try {
      await lock.run(() => run({ command, meta }));
    } catch (err) {
      // The claim's own stream holds the outcome; a plan that can no longer take it (deleted) says why.
      log.warn('claim outcome not recorded on the plan', { planId: input.planId, claimId: o.claimId, kind: o.kind, error: String(err) });
    }
  }

  async function fireDeadline(command: PlanCommand, at: string): Promise<void> {
    try {
      // The deadline names the command: decided again by a retried workflow task (whose worker died after
      // the append committed), it is known as the same command and the log's version stands.
      await lock.run(() => run({ command, meta: systemMeta(`deadline:${command.type}@${at}`) }));
      log.info('deadline fired', { planId: input.planId, command: command.type });
    } catch (err) {
      // The state moved on between the timer and the lock (e.g. consent arrived): nothing to do.
      log.info('deadline no longer applies', { planId: input.planId, command: command.type, reason: String(err) });
    }
  }

  // A create whose DraftPlan was refused started this workflow with nothing in it. Wait a little for a
  // corrected retry, then end as failed, so the plan id can be used again (id reuse: failed only).
  // Update-with-Start delivers the create's DraftPlan with the start: its handler began when it was set above.
  // Only a refused (or missing) draft needs the grace timer.
  if (state.status === 'none' && timersWhenNeeded && draftsInFlight > 0) await condition(() => state.status !== 'none' || draftsInFlight === 0);
  if (state.status === 'none') {
    const drafted = await condition(() => state.status !== 'none', input.draftGraceMs ?? 60_000);
    // A draft still being recorded when the grace ends is waited for: its append may already have committed.
    if (!drafted && modern && draftsInFlight > 0) await condition(() => state.status !== 'none' || draftsInFlight === 0);
    if (state.status === 'none') throw ApplicationFailure.nonRetryable('no plan was drafted in this workflow', 'NotDrafted');
  }

  const canThreshold = input.continueAsNewAfterEvents ?? 10_000;
  let graceUntil: number | null = null;
  let timer: DeadlineTimer | null = null;
  /** Cancels the deadline's timer, if one is pending (cancelling a fired timer sends nothing). */
  const dropTimer = () => {
    timer?.cancel();
    timer = null;
  };
  for (;;) {
    const outcome = outcomes.shift();
    if (outcome) {
      await recordOutcome(outcome);
      continue;
    }
    if (TERMINAL_STATUSES.has(state.status)) {
      // Nothing falls due for an ended plan.
      dropTimer();
      // A closed plan still takes a carry-over into next semester's plan and late claim outcomes (a
      // payment after the evaluation) for a while before its workflow ends. Histories recorded before
      // this existed end at once, so the patch keeps them replaying.
      if (state.status !== 'closed' || !patchOn(CLOSED_PLAN_GRACE_PATCH)) break;
      graceUntil ??= Date.now() + (input.closedGraceMs ?? 30 * 86_400_000);
      // What an operator sees of a Running workflow whose plan is closed (Web UI, `temporal workflow metadata`).
      setCurrentDetails(`Plan closed: finished work. Until ${new Date(graceUntil).toISOString()} it takes a carry-over or a late claim outcome; then the workflow completes.`);
      const version = state.version;
      const woke = await condition(() => state.version !== version || outcomes.length > 0, Math.max(1, graceUntil - Date.now()));
      if (!woke) break;
      continue;
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= canThreshold) {
      // Let running Updates finish so none is lost; later ones reach the next run.
      await condition(() => !lock.busy && allHandlersFinished());
      if (outcomes.length === 0) {
        // Taken-up commands go along (the latest few: their retries come soon after the loss, if at all); the
        // field stays out when there are none, so the input is what runs before it carried.
        const carriedAdopted = [...adopted].slice(Math.max(0, adopted.size - MAX_CARRIED_ADOPTED)).map(([key, answer]) => ({ key, ...answer }));
        await continueAsNew<typeof planWorkflow>({
          ...input,
          generation: PLAN_WORKFLOW_GENERATION,
          carried: { state, pendingOutcomes: [], ...(carriedAdopted.length > 0 ? { adopted: carriedAdopted } : {}) },
        });
      }
      continue;
    }
    const deadline = nextDeadline(state, config);
    const version = state.version;
    const changed = () => state.version !== version || outcomes.length > 0;
    setCurrentDetails(`Plan ${state.status}: waits for a command${deadline ? `; ${deadline.command.type} falls due at ${deadline.at}` : ''}.`);
    if (!deadline) {
      dropTimer();
      await condition(changed);
      continue;
    }
    const waitMs = Math.max(0, Date.parse(deadline.at) - Date.now());
    if (timersWhenNeeded) {
      // One timer per deadline, not per command: a command that leaves the deadline where it was (most do: a
      // logged consultation) neither cancels nor starts one, so its workflow task carries no timer commands.
      const key = `${deadline.command.type}@${deadline.at}`;
      if (timer?.key !== key) dropTimer();
      if (waitMs > 0 && !timer?.fired) {
        const t = (timer ??= startDeadlineTimer(key, waitMs));
        await condition(() => changed() || t.fired);
        // Judged again either way: a state that moved may have moved the deadline too.
        continue;
      }
      // Due (fired, or the clock passed the deadline first): a timer still pending is not wanted any more.
      dropTimer();
      await fireDeadline(deadline.command, deadline.at);
      continue;
    }
    const woke = waitMs > 0 ? await condition(changed, waitMs) : false;
    if (!woke) await fireDeadline(deadline.command, deadline.at);
  }

  await condition(() => !lock.busy && allHandlersFinished());
  return state;
}

/** The timer of one deadline (its command and instant): fired, or cancelled when the deadline moves. */
interface DeadlineTimer {
  readonly key: string;
  readonly fired: boolean;
  cancel(): void;
}

function startDeadlineTimer(key: string, ms: number): DeadlineTimer {
  const scope = new CancellationScope();
  const timer = { key, fired: false, cancel: () => scope.cancel() };
  scope.run(() => sleep(ms)).then(
    () => void (timer.fired = true),
    (err: unknown) => {
      if (!isCancellation(err)) throw err;
    },
  );
  return timer;
}

/**
 * Publishes the plan's search attributes when they change, and returns what is published. Each upsert is a
 * history event and a visibility write on the server, so a command that leaves them as they were (most of
 * them: logging a consultation) upserts nothing. Histories recorded before this upserted after every
 * command, and still replay (the patch).
 */
function updateSearchAttributes(s: PlanState, published: string | null, onChangeOnly: () => boolean): string | null {
  if (s.status === 'none') return published;
  const pairs = planSearchAttributes(s);
  const attributes = JSON.stringify(pairs.map((p) => p.value));
  if (onChangeOnly() && attributes === published) return published;
  upsertSearchAttributes([...pairs]);
  return attributes;
}

/** The search attributes the run started with, as updateSearchAttributes records them; null without all five. */
function publishedAtStart(): string | null {
  const sa = workflowInfo().typedSearchAttributes;
  const values = PLAN_SEARCH_ATTRIBUTE_KEYS.map((k) => sa.get(k));
  return values.some((v) => v === undefined) ? null : JSON.stringify(values);
}
