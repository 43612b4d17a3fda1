// One durable workflow per plan. Commands arrive as Updates: the validator runs the decider (a refused
// command leaves no trace in history), the handler runs it again under a lock, appends the events through
// the event-log activity and only then answers, so the caller's 2xx means "durable".
// Deterministic code only: no I/O, no clock but workflow time, no Node built-ins.

import {
  DEFAULT_DOMAIN_CONFIG,
  decide,
  EVENT_SCHEMA_VERSIONS,
  evolve,
  initialState,
  isDomainError,
  type DomainConfig,
  type PlanEvent,
  type PlanState,
} from '@iap/domain';
import {
  FAILURE_TYPES,
  planCommandUpdate,
  planStateQuery,
  SA,
  type CommandEnvelope,
  type CommandResult,
  type RefusalDetails,
} from '@iap/messages';
import type { createActivities } from '@iap/activities';
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';

type Activities = ReturnType<typeof createActivities>;

const { appendPlanEvents } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    // These mean a bug or a second writer, not a passing fault: retrying cannot help.
    nonRetryableErrorTypes: ['ConcurrencyError', 'AppendIntegrityError'],
  },
});

export interface PlanWorkflowInput {
  readonly planId: string;
  /** How long a workflow whose first command was refused waits for a valid one before it ends. */
  readonly draftGraceMs?: number;
  /** The programme's tunable rules (deadlines, semester dates); defaults when absent. */
  readonly config?: DomainConfig;
}

const TERMINAL: ReadonlySet<string> = new Set(['closed', 'deleted', 'consent_refused', 'consent_expired']);

export async function planWorkflow(input: PlanWorkflowInput): Promise<PlanState> {
  let state: PlanState = initialState();
  let busy = false;

  setHandler(planStateQuery, () => state);

  setHandler(
    planCommandUpdate,
    async (env: CommandEnvelope): Promise<CommandResult> => {
      await condition(() => !busy);
      busy = true;
      try {
        // The state may have moved since the validator ran (another Update got the lock first).
        const events = decideOrRefuse(input, env, state);
        const result = await append(env, events);
        log.info('command accepted', {
          planId: input.planId,
          command: env.command.type,
          requestId: env.meta.requestId,
          version: result.version,
        });
        return result;
      } finally {
        busy = false;
      }
    },
    { validator: (env: CommandEnvelope) => void decideOrRefuse(input, env, state) },
  );

  async function append(env: CommandEnvelope, events: PlanEvent[]): Promise<CommandResult> {
    const info = workflowInfo();
    const occurredAt = new Date().toISOString();
    const recorded = await appendPlanEvents({
      planId: input.planId,
      expectedVersion: state.version,
      events: events.map((e) => ({
        eventId: uuid4(),
        type: e.type,
        schemaVersion: EVENT_SCHEMA_VERSIONS[e.type],
        data: e.data,
        occurredAt,
        metadata: {
          actorId: env.meta.actor.id,
          actorRole: env.meta.actor.role,
          schoolId: env.meta.schoolId,
          requestId: env.meta.requestId,
          correlationId: env.meta.correlationId ?? env.meta.requestId,
          causationId: env.meta.causationId,
          workflowId: info.workflowId,
          runId: info.runId,
        },
      })),
    });
    recorded.forEach((r, i) => {
      state = evolve(state, events[i]!, { occurredAt: r.occurredAt, version: r.version });
    });
    updateSearchAttributes(state);
    return {
      planId: input.planId,
      version: state.version,
      status: state.status,
      events: recorded.map((r, i) => ({ eventId: r.eventId, type: events[i]!.type, version: r.version, globalPosition: r.globalPosition })),
    };
  }

  // A create whose DraftPlan was refused started this workflow with nothing in it. Wait a little for a
  // corrected retry, then end as failed, so the plan id can be used again (id reuse: failed only).
  const drafted = await condition(() => state.status !== 'none', input.draftGraceMs ?? 60_000);
  if (!drafted) throw ApplicationFailure.nonRetryable('no plan was drafted in this workflow', 'NotDrafted');

  await condition(() => TERMINAL.has(state.status) && allHandlersFinished());
  return state;
}

function decideOrRefuse(input: PlanWorkflowInput, env: CommandEnvelope, state: PlanState): PlanEvent[] {
  const planId = input.planId;
  if (env.command.type === 'DraftPlan' && env.command.data.planId !== planId) {
    throw refusal('plan.id_mismatch', 'rule', `command is for plan ${env.command.data.planId}, not ${planId}`, 'data.planId');
  }
  if (env.meta.expectedVersion !== null && env.meta.expectedVersion !== state.version) {
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.staleVersion,
      message: `plan is at version ${state.version}, not ${env.meta.expectedVersion}`,
      nonRetryable: true,
      details: [{ code: 'plan.stale_version', kind: 'stale', field: null } satisfies RefusalDetails],
    });
  }
  try {
    return decide(env.command, state, { now: new Date().toISOString(), actor: env.meta.actor, config: input.config ?? DEFAULT_DOMAIN_CONFIG });
  } catch (e) {
    if (isDomainError(e)) throw refusal(e.code, e.kind, e.message, e.field ?? null);
    throw e;
  }
}

function refusal(code: string, kind: RefusalDetails['kind'], message: string, field: string | null): ApplicationFailure {
  return ApplicationFailure.create({
    type: FAILURE_TYPES.domain,
    message,
    nonRetryable: true,
    details: [{ code, kind, field } satisfies RefusalDetails],
  });
}

function updateSearchAttributes(s: PlanState): void {
  if (s.status === 'none') return;
  upsertSearchAttributes([
    { key: SA.school, value: s.schoolId },
    { key: SA.municipality, value: s.municipalityId },
    { key: SA.semester, value: s.semester },
    { key: SA.status, value: s.status },
  ]);
}
