// Process plumbing for the engine benchmark: node child processes with captured output, their memory from
// /proc, and a cleanup list that runs once, in reverse order, on success, failure or Ctrl-C.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { REPO_ROOT } from '@iap/infra';
import { stopLoads } from './load.js';

const OUTPUT_LIMIT = 64 * 1024;

export interface NodeChild {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last 64 KiB the process wrote, for error messages. */
  output(): string;
  gone(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * `node <entry>` with `env` on top of this process's environment. The IPC channel makes the child stop
 * by itself should the benchmark die without stopping it (the worker, the API and bare-fastify all
 * listen for 'disconnect'). `flags`: node's own options (default `--enable-source-maps`); `logFile`:
 * where to keep the whole output besides the last 64 KiB.
 */
export function spawnNode(name: string, entry: string, env: NodeJS.ProcessEnv, opts: { logFile?: string | undefined; flags?: readonly string[] | undefined } = {}): NodeChild {
  const child = spawn(process.execPath, [...(opts.flags ?? ['--enable-source-maps']), entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${entry}`);
  let out = '';
  const file = opts.logFile ? createWriteStream(opts.logFile) : null;
  const collect = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-OUTPUT_LIMIT);
    file?.write(b);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      file?.end();
      resolve();
    });
    child.once('error', (err) => {
      collect(Buffer.from(`spawn error: ${String(err)}\n`));
      resolve();
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    pid: child.pid,
    child,
    output: () => out,
    gone,
    stop: async (graceMs = 15_000) => {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Memory {
  /** Resident set size now (VmRSS), MiB. */
  readonly rssMiB: number;
  /** Peak resident set size since the process started (VmHWM), MiB. */
  readonly peakMiB: number;
}

/** A process's resident memory from /proc/<pid>/status (Linux). */
export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) / 1024;
  };
  return { rssMiB: kib('VmRSS'), peakMiB: kib('VmHWM') };
}

/** What to undo, newest first. `run` is idempotent; a second Ctrl-C while it runs kills what is left. */
export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> | void }[] = [];
  private readonly children: NodeChild[] = [];
  private readonly forced: (() => void)[] = [];
  private running: Promise<void> | null = null;
  /** Set by Ctrl-C / SIGTERM: the run is being stopped, not failing. */
  signalled = false;

  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }

  /** Registers a child process to stop (and to SIGKILL on a forced stop). */
  child(c: NodeChild): NodeChild {
    this.children.push(c);
    this.add(c.name, () => c.stop());
    return c;
  }

  /** What a forced stop (a second Ctrl-C) does at once instead of waiting for the orderly steps. */
  onForce(fn: () => void): void {
    this.forced.push(fn);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.fn();
        } catch (err) {
          process.stderr.write(`cleanup: ${step.name} failed: ${String(err)}\n`);
        }
      }
    })();
    return this.running;
  }

  /** Stops everything on SIGINT / SIGTERM, then exits; a second signal kills the children at once. */
  onSignals(): void {
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    const handler = (signal: NodeJS.Signals) => {
      if (this.signalled) {
        for (const c of this.children) if (!c.gone()) c.child.kill('SIGKILL');
        for (const fn of this.forced) fn();
        process.exit(130);
      }
      this.signalled = true;
      stopLoads();
      process.stderr.write(`\n${signal}: stopping the benchmark's processes and removing its data (again to force)\n`);
      // Work still in flight fails as its servers go away: expected now, and no reason to stop cleaning up.
      const ignore = () => undefined;
      process.on('uncaughtException', ignore);
      process.on('unhandledRejection', ignore);
      void this.run().finally(() => process.exit(130));
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }
}

/** CPU seconds (user + system) each named group of processes has used so far, from /proc/<pid>/stat (Linux). */
function cpuSeconds(groupOf: (pid: number, comm: string) => string | null): Map<string, number> {
  const ticks = 100; // USER_HZ: 100 on every Linux that Node supports
  const out = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid … utime stime cutime cstime: comm may hold spaces, so split after its closing
    // parenthesis. Children's time counts once they have exited and been waited for (Postgres backends
    // whose connection closed, under the postmaster).
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const group = groupOf(pid, comm);
    if (group === null) continue;
    const f = stat.slice(close + 2).split(' ');
    const used = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / ticks;
    out.set(group, (out.get(group) ?? 0) + used);
  }
  return out;
}

/** Adds up, per label, the CPU each group used while `fn` ran (the groups' processes must not exit meanwhile). */
export function cpuMeter(groupOf: (pid: number, comm: string) => string | null) {
  const totals = new Map<string, Map<string, number>>();
  return {
    async during<T>(label: string, fn: () => Promise<T>): Promise<T> {
      const before = cpuSeconds(groupOf);
      const result = await fn();
      const after = cpuSeconds(groupOf);
      const t = totals.get(label) ?? new Map<string, number>();
      for (const [g, s] of after) t.set(g, (t.get(g) ?? 0) + s - (before.get(g) ?? 0));
      totals.set(label, t);
      return result;
    },
    /** CPU seconds per group while `label` ran. */
    of: (label: string): ReadonlyMap<string, number> => totals.get(label) ?? new Map(),
  };
}
