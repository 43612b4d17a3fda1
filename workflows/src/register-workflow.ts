// The register of organisations: a long-lived entity workflow that takes the national staff's changes one at a
// time, checks them against the whole register with the domain's decider, and records them in the register's
// stream (with its inline projection, the `organisations` table the API reads tokens against).

import { decideRegister, evolveRegister, initialRegisterState, ORGANISATION_EVENT_SCHEMA_VERSIONS, type RegisterState } from '@iap/domain';
import {
  REGISTER_STREAM_ID,
  registerCommandUpdate,
  registerStateQuery,
  type RegisterCommandEnvelope,
  type RegisterCommandResult,
  type RegisterWorkflowInput,
} from '@iap/messages';
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { appendDecided, decideOrRefuse, Lock, staleVersion } from './stream-writer.js';

export async function registerWorkflow(input: RegisterWorkflowInput): Promise<void> {
  let state: RegisterState = input.carried?.state ?? initialRegisterState();
  const lock = new Lock();

  const decide = (env: RegisterCommandEnvelope) => {
    if (env.meta.expectedVersion !== null && env.meta.expectedVersion !== state.version) throw staleVersion('register', state.version, env.meta.expectedVersion);
    return decideOrRefuse(() => decideRegister(env.command, state, { now: new Date().toISOString(), actor: env.meta.actor }));
  };

  setHandler(registerStateQuery, () => state);
  setHandler(
    registerCommandUpdate,
    (env: RegisterCommandEnvelope): Promise<RegisterCommandResult> =>
      lock.run(async () => {
        const decided = decide(env);
        // A PUT that changes nothing records nothing.
        if (decided.length === 0) return { version: state.version, changed: false };
        const { events, recorded } = await appendDecided(REGISTER_STREAM_ID, state.version, decided, ORGANISATION_EVENT_SCHEMA_VERSIONS, env.meta, {
          kind: 'organisations',
        }, { local: true });
        recorded.forEach((r, i) => (state = evolveRegister(state, events[i]!, { version: r.version })));
        return { version: state.version, changed: true };
      }),
    {
      validator: (env: RegisterCommandEnvelope) => {
        if (!lock.busy) decide(env);
      },
    },
  );

  // Lives as long as the register; a fresh run carries the state when history grows.
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5_000);
  await condition(() => !lock.busy && allHandlersFinished());
  await continueAsNew<typeof registerWorkflow>({ ...input, carried: { state } });
}
