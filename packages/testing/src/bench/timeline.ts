// Where a command's time goes, from the logs of an engine benchmark run made with
// `--log-level info --logs DIR`: each consultation logged through the API is followed from the API's
// request log, through the worker's append log, to the workflow's "command accepted" log.
//
//   node packages/testing/dist/bench/timeline.js DIR
//
// The segments: the API up to the start of the workflow task that decides (HTTP, auth, the plan's scope,
// the Update's trip through Temporal to the worker); that task's first activation up to the append's
// scheduling (validator, decider, the folded row); the append waiting for a slot; the append itself (one
// Postgres statement and its commit); the task's second activation (the append's result folded, the
// Update's answer); and Temporal's completion of the task back to the API's answer. Times are the log
// lines' millisecond clocks (one machine), so each segment is good to about a millisecond.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { quantile } from './load.js';

interface Line {
  readonly msg?: string;
  readonly time: number;
  readonly [k: string]: unknown;
}

function lines(file: string): Line[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

export interface Segment {
  readonly segment: string;
  readonly n: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

export interface Followed {
  readonly requestId: string;
  /** When the API took the request (epoch ms). */
  readonly at: number;
  /** Each segment's milliseconds, in the order of SEGMENTS. */
  readonly ms: readonly number[];
}

export const SEGMENTS = [
  'API to the deciding workflow task',
  'first activation, to the append scheduled',
  'append waiting for a slot',
  'append (statement and commit)',
  'second activation, to the Update answered',
  'task completion, to the API answer',
  'total (API request)',
] as const;

/** Each segment's figures over the requests followed. */
export function segments(followed: readonly Followed[]): Segment[] {
  return SEGMENTS.map((segment, i) => {
    const xs = followed.map((f) => f.ms[i]!);
    const r = (x: number) => Math.round(x * 10) / 10;
    return { segment, n: xs.length, meanMs: r(xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length)), p50Ms: r(quantile(xs, 0.5)), p90Ms: r(quantile(xs, 0.9)), p99Ms: r(quantile(xs, 0.99)) };
  });
}

/** Every request that could be followed through the three logs, with its segments. */
export function follow(dir: string, urlSuffix = '/consultations'): Followed[] {
  const api = new Map<string, { start: number; end: number }>();
  for (const l of lines(path.join(dir, 'api.log'))) {
    if (l.msg === 'request' && typeof l.url === 'string' && l.url.endsWith(urlSuffix) && typeof l.ms === 'number' && typeof l.reqId === 'string') {
      api.set(l.reqId, { start: l.time - l.ms, end: l.time });
    }
  }
  const appended = new Map<string, Line>();
  const accepted = new Map<string, number>();
  for (const l of lines(path.join(dir, 'worker.log'))) {
    if (typeof l.requestId !== 'string') continue;
    if (l.msg === 'events appended' && typeof l.queuedMs === 'number' && typeof l.sinceDecidedMs === 'number') appended.set(l.requestId, l);
    if (l.msg === 'command accepted') accepted.set(l.requestId, l.time);
  }
  const out: Followed[] = [];
  for (const [id, r] of api) {
    const a = appended.get(id);
    const done = accepted.get(id);
    if (!a || done === undefined) continue;
    const ms = a.ms as number;
    const appendStart = a.time - ms;
    const decided = appendStart - (a.sinceDecidedMs as number);
    const scheduled = appendStart - (a.queuedMs as number);
    out.push({ requestId: id, at: r.start, ms: [decided - r.start, scheduled - decided, a.queuedMs as number, ms, done - a.time, r.end - done, r.end - r.start] });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node packages/testing/dist/bench/timeline.js DIR   (DIR: an engine benchmark run with --log-level info --logs DIR)');
    process.exit(2);
  }
  const all = follow(dir).sort((a, b) => a.at - b.at);
  const rows = segments(all);
  if (rows[0]!.n === 0) {
    console.error(`no consultation could be followed through ${dir}/api.log and ${dir}/worker.log (was the run made with --log-level info?)`);
    process.exit(1);
  }
  const w = Math.max(...rows.map((r) => r.segment.length));
  console.log(`| ${'segment'.padEnd(w)} | mean ms | p50 | p90 | p99 |`);
  console.log(`|:${'-'.repeat(w + 1)}|--------:|----:|----:|----:|`);
  for (const r of rows) console.log(`| ${r.segment.padEnd(w)} | ${String(r.meanMs).padStart(7)} | ${String(r.p50Ms).padStart(3)} | ${String(r.p90Ms).padStart(3)} | ${String(r.p99Ms).padStart(3)} |`);
  console.log(`\n${rows[0]!.n} requests followed`);
  // The slowest requests, segment by segment: a tail is one segment gone long, or all of them at once.
  const t0 = all[0]?.at ?? 0;
  const slowest = [...all].sort((a, b) => b.ms[6]! - a.ms[6]!).slice(0, 10);
  console.log(`\nslowest ${slowest.length} (s after the first; ms per segment, in the order above):`);
  for (const f of slowest) console.log(`  ${((f.at - t0) / 1000).toFixed(1).padStart(7)} s  ${f.ms.map((x) => Math.round(x).toString().padStart(4)).join(' ')}`);
}
