// Replaying recorded workflow histories for the auditor (`iap replay`): every workflow the log names is
// fetched from Temporal and replayed against the current workflow code without non-determinism, and a
// deliberately non-deterministic change to the plan workflow is caught and reported by plan.
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@iap/infra';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './audit-cli.js';
import { FIXTURES_DIR } from './fixtures.js';
import { startTestStack, testDataConverter, type TestStack } from './stack.js';
import { PlanDriver, PREPARER } from './workflow-driver.js';

let stack: TestStack;
let workDir: string;
let badBundle: string;
let open: PlanDriver;
let refused: PlanDriver;

beforeAll(async () => {
  stack = await startTestStack();
  workDir = await mkdtemp(path.join(tmpdir(), 'iap-replay-'));
  const [bundle] = await Promise.all([
    // A plan workflow that waits on a timer before it appends: the same commands in a different order.
    bundleWorkflowCode({
      workflowsPath: path.join(REPO_ROOT, 'workflows', 'dist', 'testing', 'nondeterministic-plan-workflow.js'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m) => console.error(m), log() {} },
    }),
    (async () => {
      open = await PlanDriver.start(stack);
      await open.consentAndSubmit();
      refused = await PlanDriver.start(stack);
      await refused.send(PREPARER, { type: 'RequestConsent', data: {} });
      await refused.send(PREPARER, { type: 'RefuseConsent', data: { refusedBy: 'parent', reason: 'moving abroad' } });
      await refused.handle.result();
    })(),
  ]);
  badBundle = path.join(workDir, 'nondeterministic-bundle.js');
  await writeFile(badBundle, bundle.code);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('workflow replay', () => {
  it('replays every recorded workflow (running and closed) against the current code', async () => {
    const r = await runCli(stack, ['replay', '--bundle', process.env.IAP_TEST_WORKFLOW_BUNDLE!, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    // The two plans, and the register of organisations the harness filled.
    expect(report).toMatchObject({ workflows: 3, replayed: 3, ok: 3, problems: [], unavailable: [] });
  });

  it('catches a non-deterministic change to the plan workflow and names the plan', async () => {
    const r = await runCli(stack, ['replay', '--plan', open.planId, '--bundle', badBundle, '--json', '--quiet']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report.problems).toEqual([expect.objectContaining({ planId: open.planId, workflowId: open.handle.workflowId, kind: 'nondeterministic' })]);
  });

  it('catches it on committed fixture histories too, appends as activities and as local activities', async () => {
    const files = ['plan-consent-refused.activity-append.json', 'plan-consent-refused.local-append.json'];
    const histories = await Promise.all(files.map(async (f) => ({ workflowId: f, history: JSON.parse(await readFile(path.join(FIXTURES_DIR, f), 'utf8')) })));
    const errors: string[] = [];
    for await (const res of Worker.runReplayHistories({ workflowBundle: { codePath: badBundle }, replayName: 'bad', dataConverter: testDataConverter() }, histories)) {
      if (res.error) errors.push(`${res.workflowId}: ${res.error.name}`);
    }
    expect(errors).toEqual(files.map((f) => `${f}: DeterminismViolationError`));
  });
});
