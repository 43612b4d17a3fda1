// A partner's compensation budget for one semester: a long-lived entity workflow that takes allocation
// changes one at a time and records them in the budget's stream. Approvals against it are checked by the
// database in each claim's own transaction (see the claims projection), not here.

import { BUDGET_EVENT_SCHEMA_VERSIONS, decideBudget, evolveBudget, initialBudgetState, type BudgetState } from '@iap/domain';
import {
  budgetCommandUpdate,
  budgetStateQuery,
  budgetStreamId,
  type BudgetCommandEnvelope,
  type BudgetCommandResult,
  type BudgetWorkflowInput,
} from '@iap/messages';
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { appendDecided, decideOrRefuse, Lock, staleVersion } from './stream-writer.js';

export async function budgetWorkflow(input: BudgetWorkflowInput): Promise<void> {
  const streamId = budgetStreamId(input.partnerId, input.semester);
  let state: BudgetState = input.carried?.state ?? initialBudgetState();
  const lock = new Lock();

  const decide = (env: BudgetCommandEnvelope) => {
    if (env.meta.expectedVersion !== null && env.meta.expectedVersion !== state.version) throw staleVersion('budget', state.version, env.meta.expectedVersion);
    return decideOrRefuse(() =>
      decideBudget(env.command, state, { now: new Date().toISOString(), actor: env.meta.actor, partnerId: input.partnerId, semester: input.semester }),
    );
  };

  setHandler(budgetStateQuery, () => state);
  setHandler(
    budgetCommandUpdate,
    (env: BudgetCommandEnvelope): Promise<BudgetCommandResult> =>
      lock.run(async () => {
        const decided = decide(env);
        // The amount it already has: nothing to record, the answer is the budget as it stands.
        if (decided.length > 0) {
          const { events, recorded } = await appendDecided(streamId, state.version, decided, BUDGET_EVENT_SCHEMA_VERSIONS, env.meta, { kind: 'budget' });
          recorded.forEach((r, i) => (state = evolveBudget(state, events[i]!, { occurredAt: r.occurredAt, version: r.version })));
        }
        return {
          partnerId: input.partnerId,
          semester: input.semester,
          version: state.version,
          allocatedCents: state.status === 'allocated' ? state.allocatedCents : 0,
        };
      }),
    {
      validator: (env: BudgetCommandEnvelope) => {
        if (!lock.busy) decide(env);
      },
    },
  );

  // Lives as long as the budget may change; a fresh run carries the state when history grows.
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5_000);
  await condition(() => !lock.busy && allHandlersFinished());
  await continueAsNew<typeof budgetWorkflow>({ ...input, carried: { state } });
}
