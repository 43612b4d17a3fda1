// Recorded workflow histories, committed under workflows/fixtures/ and replayed by every test run
// against the current workflow code, so a change that would break running plans fails CI. Tests record
// them only when RECORD_WORKFLOW_FIXTURES=1 (after a deliberate, compatible change of behaviour).

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '@iap/infra';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestStack } from './stack.js';

export const FIXTURES_DIR = path.join(REPO_ROOT, 'workflows', 'fixtures');

/**
 * Histories recorded by earlier code stay beside the new ones, so every patched branch keeps replaying:
 * `*.activity-append.json` appends as regular activities (before `append-local-activity`),
 * `*.local-append.json` search attributes upserted after every command (before `search-attributes-on-change`),
 * `*.sa-on-change.json` a deadline's timer restarted after every command and a grace timer in every new plan
 * (before `timers-when-needed`), `*.timers-when-needed.json` with that patch's marker, `*.generation-1.json`
 * the current code (runs started with PlanWorkflowInput.generation 1: no patch markers).
 */
const FIXTURE_GENERATION = 'generation-1';

export async function recordFixture(stack: TestStack, workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_WORKFLOW_FIXTURES !== '1') return;
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  await writeFile(path.join(FIXTURES_DIR, `${name}.${FIXTURE_GENERATION}.json`), `${historyToJSON(history)}\n`);
}
