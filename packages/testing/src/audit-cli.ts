// Runs the compiled `iap` CLI against a test stack's database and Temporal server, as an operator would,
// for the audit tests (run `tsc -b` first: the tests use services/cli/dist like the worker uses its bundle).

import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@iap/infra';
import { TEST_PAYLOAD_KEY } from './payload-key.js';
import type { TestStack } from './stack.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(stack: TestStack, args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const cli = path.join(REPO_ROOT, 'services', 'cli', 'dist', 'main.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      {
        env: {
          ...process.env,
          DATABASE_URL: stack.database.url,
          TEMPORAL_ADDRESS: process.env.IAP_TEST_TEMPORAL_ADDRESS!,
          IAP_PAYLOAD_KEY: TEST_PAYLOAD_KEY,
          TEMPORAL_NAMESPACE: 'default',
          ...env,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
