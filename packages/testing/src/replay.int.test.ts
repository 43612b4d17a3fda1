// Replays every recorded workflow history under workflows/fixtures/ against the current workflow code.
// A change that would make running plans non-deterministic fails here, before it reaches a worker.
// (Record new fixtures with RECORD_WORKFLOW_FIXTURES=1 after a deliberate change guarded by patched().)
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from './fixtures.js';
import { testDataConverter } from './payload-key.js';

describe('recorded workflow histories', () => {
  it('all replay against the current workflow code without non-determinism', async () => {
    const files = (await readdir(FIXTURES_DIR)).filter((f) => f.endsWith('.json')).sort();
    expect(files.filter((f) => f.endsWith('.activity-append.json')).length).toBeGreaterThanOrEqual(5);
    expect(files.filter((f) => f.endsWith('.local-append.json')).length).toBeGreaterThanOrEqual(5);
    expect(files.filter((f) => f.endsWith('.sa-on-change.json')).length).toBeGreaterThanOrEqual(5);
    expect(files.filter((f) => f.endsWith('.timers-when-needed.json')).length).toBeGreaterThanOrEqual(5);
    expect(files.filter((f) => f.endsWith('.generation-1.json')).length).toBeGreaterThanOrEqual(5);
    const histories = await Promise.all(
      files.map(async (f) => ({ workflowId: path.basename(f, '.json'), history: JSON.parse(await readFile(path.join(FIXTURES_DIR, f), 'utf8')) })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: process.env.IAP_TEST_WORKFLOW_BUNDLE! }, replayName: 'fixtures', dataConverter: testDataConverter() },
      histories,
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
  });
});
