// Load generation for the engine benchmark: a keep-alive HTTP client (no pipelining), a closed loop
// (C clients as fast as they can, for a fixed time) and an open loop (a fixed request rate), with latencies.

import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** At most `connections` sockets to one server, reused between requests, one request per socket at a time. */
export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly base: string,
    connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  request(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(new URL(path, this.base), { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The p-quantile (0..1) of `xs` by the nearest-rank method; NaN when empty. */
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly seconds: number;
  /** Successful operations per second. */
  readonly rate: number;
  /** Milliseconds, successful operations only. */
  readonly latencies: number[];
  /** When each of those was due (performance.now() milliseconds), in the same order. */
  readonly startedAt: number[];
  /** The first few failures, for the report. */
  readonly failures: string[];
}

let stopped = false;
/** Ends every running and future loop early (Ctrl-C): their callers get what was measured so far. */
export function stopLoads(): void {
  stopped = true;
}

/** One operation: resolves true when it succeeded; false or a rejection count as a failure. */
export type Operation = (i: number) => Promise<boolean | string>;

class Tally {
  ok = 0;
  failed = 0;
  readonly latencies: number[] = [];
  readonly startedAt: number[] = [];
  readonly failures: string[] = [];

  async run(op: Operation, i: number, startedAt: number): Promise<void> {
    let outcome: boolean | string;
    try {
      outcome = await op(i);
    } catch (err) {
      outcome = err instanceof Error ? err.message : String(err);
    }
    if (outcome === true) {
      this.ok++;
      this.latencies.push(performance.now() - startedAt);
      this.startedAt.push(startedAt);
    } else {
      this.failed++;
      if (this.failures.length < 5) this.failures.push(outcome === false ? 'failed' : outcome.slice(0, 300));
    }
  }

  result(seconds: number): LoadResult {
    return { ok: this.ok, failed: this.failed, seconds, rate: this.ok / seconds, latencies: this.latencies, startedAt: this.startedAt, failures: this.failures };
  }
}

/**
 * `clients` loops, each running `op` again as soon as the previous one answered, until `seconds` have
 * passed; operations started before the end are waited for and counted.
 */
export async function closedLoop(clients: number, seconds: number, op: Operation): Promise<LoadResult> {
  const tally = new Tally();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end && !stopped) {
        const i = next++;
        await tally.run(op, i, performance.now());
      }
    }),
  );
  return tally.result((performance.now() - t0) / 1000);
}

/** Runs `op` `total` times from `clients` loops (for setup work such as creating plans), however long it takes. */
export async function countedLoop(clients: number, total: number, op: Operation, onTick?: (done: number) => void): Promise<LoadResult> {
  const tally = new Tally();
  const t0 = performance.now();
  let next = 0;
  const ticker = onTick ? setInterval(() => onTick(tally.ok + tally.failed), 5_000) : undefined;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total && !stopped) {
        const i = next++;
        await tally.run(op, i, performance.now());
      }
    }),
  );
  clearInterval(ticker);
  return tally.result((performance.now() - t0) / 1000);
}

/**
 * Starts `op` at a fixed rate for `seconds`, whether or not earlier ones have answered (an open loop, so a
 * slow answer cannot hold back the next request and hide its own delay). Latency runs from the moment the
 * operation was due, not from when it was sent.
 */
export async function openLoop(ratePerSecond: number, seconds: number, op: Operation): Promise<LoadResult> {
  return (await rotating(ratePerSecond, seconds, { op })).op;
}

/**
 * Several operations, `seconds` of each, taken in turns of `blockSeconds` (A, B, C, A, B, C, …) rather than
 * one after the other: a machine that slows down for a minute then slows every operation alike, and their
 * ratios hold. One operation runs at a time, so none loads the others. `loop` runs one turn: an open loop at
 * a fixed rate, or a closed loop of C clients.
 */
export async function inTurns<K extends string>(
  seconds: number,
  blockSeconds: number,
  ops: Record<K, Operation>,
  loop: (op: Operation, seconds: number, name: K) => Promise<LoadResult>,
): Promise<Record<K, LoadResult>> {
  const names = Object.keys(ops) as K[];
  const parts = new Map<K, LoadResult[]>(names.map((n) => [n, []]));
  for (let done = 0; done < seconds && !stopped; done += blockSeconds) {
    const block = Math.min(blockSeconds, seconds - done);
    for (const name of names) parts.get(name)!.push(await loop(ops[name], block, name));
  }
  const merged = {} as Record<K, LoadResult>;
  for (const name of names) {
    const rs = parts.get(name)!;
    const secs = rs.reduce((s, r) => s + r.seconds, 0);
    const ok = rs.reduce((s, r) => s + r.ok, 0);
    merged[name] = {
      ok,
      failed: rs.reduce((s, r) => s + r.failed, 0),
      seconds: secs,
      rate: secs > 0 ? ok / secs : 0,
      latencies: rs.flatMap((r) => r.latencies),
      startedAt: rs.flatMap((r) => r.startedAt),
      failures: rs.flatMap((r) => r.failures).slice(0, 5),
    };
  }
  return merged;
}

/**
 * One open loop at `ratePerSecond` whose requests take the operations in rotation (A, B, C, A, B, C, …), for
 * `seconds` of each operation's share: every operation sees the same machine at the same moments, so a
 * stall (a checkpoint's fsync, a GC) falls on all of them alike instead of on whichever ran that minute.
 * The machine carries the one fixed rate throughout.
 */
export async function rotating<K extends string>(ratePerSecond: number, secondsEach: number, ops: Record<K, Operation>): Promise<Record<K, LoadResult>> {
  const names = Object.keys(ops) as K[];
  const tallies = new Map<K, Tally>(names.map((n) => [n, new Tally()]));
  const total = Math.round(ratePerSecond * secondsEach) * names.length;
  const interval = 1000 / ratePerSecond;
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < total && !stopped; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = names[i % names.length]!;
    running.push(tallies.get(name)!.run(ops[name], Math.floor(i / names.length), due));
  }
  await Promise.all(running);
  const seconds = (performance.now() - t0) / 1000;
  const out = {} as Record<K, LoadResult>;
  // Each operation ran at its share of the rate over the whole time: its own seconds are its share of them.
  for (const name of names) out[name] = tallies.get(name)!.result(seconds / names.length);
  return out;
}

/** The `n` slowest operations: when each was due (seconds after `t0`, a performance.now() instant) and how long it took. */
export function slowest(r: LoadResult, t0: number, n = 5): Array<{ atS: number; ms: number }> {
  return r.latencies
    .map((ms, i) => ({ atS: Number(((r.startedAt[i]! - t0) / 1000).toFixed(2)), ms: Number(ms.toFixed(1)) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}
