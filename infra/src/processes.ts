// Child processes of the launcher: the worker and the API, each a node process with an IPC channel, so a
// child whose launcher died (even by SIGKILL) notices the closed channel and stops instead of lingering.

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

const require = createRequire(import.meta.url);

export function entryOf(specifier: string): string {
  return require.resolve(specifier);
}

export interface Supervised {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

/** `flags`: node's own options (the worker's entry turns source maps on itself, for its main thread only). */
export function startNode(name: string, entry: string, env: NodeJS.ProcessEnv, logger: Logger, flags: readonly string[] = ['--enable-source-maps']): Supervised {
  const child = spawn(process.execPath, [...flags, entry], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  logger.debug({ name, pid: child.pid }, 'started');
  return {
    name,
    child,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        logger.warn({ name }, 'did not stop in time: killing');
        child.kill('SIGKILL');
      }, timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitForHttp(url: string, timeoutMs: number, isUp: (status: number) => boolean = (s) => s === 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (isUp(r.status)) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
