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
 * Histories recorded by earlier code stay beside the new ones (`*.activity-append.json`: appends as regular
 * activities, before the `append-local-activity` patch), so the patched branches keep replaying.
 */
const FIXTURE_GENERATION = 'local-append';

export async function recordFixture(stack: TestStack, workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_WORKFLOW_FIXTURES !== '1') return;
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  await writeFile(path.join(FIXTURES_DIR, `${name}.${FIXTURE_GENERATION}.json`), `${historyToJSON(history)}\n`);
}
