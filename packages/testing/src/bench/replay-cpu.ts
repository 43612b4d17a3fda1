// The workflow code's own CPU per workflow task, without a server, a database or a disk: a recorded task
// replayed many times in this process (the worker runs the same code the same way, less the local
// activity's body, whose result replay reads from the history). Noise from the machine's disk or from
// Temporal's server cannot reach it, so it tells the plan workflow's cost from the floor's on its own.

import v8 from 'node:v8';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';

/** The history up to the end of its first workflow task's outcome: the start, as a worker first runs it. */
export function firstTask(history: History): History {
  const events = history.events ?? [];
  let scheduled = 0;
  const end = events.findIndex((e) => e.workflowTaskScheduledEventAttributes != null && ++scheduled === 2);
  return { events: end === -1 ? events : events.slice(0, end) };
}

export interface ReplayCpu {
  /** Process CPU (user + system) per replayed history. */
  readonly cpuMs: number;
  /** Promises the workflow context created in one replay: the SDK captures a stack trace for each. */
  readonly promises: number;
  readonly replays: number;
}

/**
 * Replays `history` `rounds × perRound` times (each under its own workflow id, so each creates its
 * workflow anew, as a start does) and returns the CPU per replay. `kinds` are taken in turns, round by
 * round, so a busy moment of the machine falls on all of them.
 */
export async function replayCpu<K extends string>(
  kinds: Record<K, { readonly code: string; readonly history: History }>,
  opts: { readonly rounds: number; readonly perRound: number },
): Promise<Record<K, ReplayCpu>> {
  const names = Object.keys(kinds) as K[];
  const used = new Map<K, number>(names.map((n) => [n, 0]));
  const replay = async (name: K, n: number, tag: string) => {
    const { code, history } = kinds[name];
    async function* copies() {
      for (let i = 0; i < n; i++) yield { workflowId: `${tag}-${i}`, history };
    }
    for await (const r of Worker.runReplayHistories({ workflowBundle: { code }, replayName: tag }, copies())) {
      if (r.error) throw new Error(`replaying ${name}: ${String(r.error)}`);
    }
  };
  // Warm-up (bundles loaded, code compiled), then the measured rounds.
  for (const name of names) await replay(name, Math.min(50, opts.perRound), `warm-${name}`);
  for (let round = 0; round < opts.rounds; round++) {
    for (const name of names) {
      const before = process.cpuUsage();
      await replay(name, opts.perRound, `${name}-${round}`);
      const d = process.cpuUsage(before);
      used.set(name, used.get(name)! + (d.user + d.system) / 1000);
    }
  }
  const out = {} as Record<K, ReplayCpu>;
  for (const name of names) {
    const replays = opts.rounds * opts.perRound;
    out[name] = { cpuMs: used.get(name)! / replays, promises: await promisesPerReplay(() => replay(name, 1, `count-${name}`)), replays };
  }
  return out;
}

/** Promises created inside workflow contexts (not this realm's) while `fn` runs. */
async function promisesPerReplay(fn: () => Promise<void>): Promise<number> {
  let n = 0;
  let counting = true;
  const stop = v8.promiseHooks.onInit((p: Promise<unknown>) => {
    if (counting && p.constructor !== Promise) n++;
  });
  try {
    await fn();
  } finally {
    counting = false;
    stop();
  }
  return n;
}
