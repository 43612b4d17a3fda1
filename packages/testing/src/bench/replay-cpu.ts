// The workflow code's own CPU per workflow task, without a server, a database or a disk: a recorded task
// replayed many times in this process (the worker runs the same code the same way, less the local
// activity's body, whose result replay reads from the history). Noise from the machine's disk or from
// Temporal's server cannot reach it, so it tells the plan workflow's cost from the floor's on its own.
//
// Replaying installs the SDK's promise hook and stack-trace formatter in this process for good (the
// replay worker runs the sandbox on this thread): run it after anything else this process measures.

import v8 from 'node:v8';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { testDataConverter } from '../payload-key.js';

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
  /** Promises the workflow context created per replay: the SDK captures a stack trace for each. */
  readonly promises: number;
  readonly replays: number;
}

/**
 * Replays `history` `rounds × perRound` times (each under its own workflow id, so each creates its
 * workflow anew, as a start does) and returns the CPU per replay. Each round's replay worker is set up
 * anew (a sandbox, the bundle compiled, its source map read): that is left out by counting from the end
 * of a round's first replay. `kinds` are taken in turns, round by round, so a busy moment of the machine
 * falls on all of them.
 */
export async function replayCpu<K extends string>(
  kinds: Record<K, { readonly code: string; readonly history: History }>,
  opts: { readonly rounds: number; readonly perRound: number },
): Promise<Record<K, ReplayCpu>> {
  const names = Object.keys(kinds) as K[];
  const used = new Map<K, { cpuMs: number; promises: number; replays: number }>(names.map((n) => [n, { cpuMs: 0, promises: 0, replays: 0 }]));
  let counting = false;
  let promises = 0;
  const stopHook = v8.promiseHooks.onInit((p: Promise<unknown>) => {
    // Promises of a workflow context (the sandbox's realm), not this one's.
    if (counting && p.constructor !== Promise) promises++;
  });
  /** Replays `n` copies; CPU and promises from the end of the first one to the end of the last. */
  const replay = async (name: K, n: number, tag: string) => {
    const { code, history } = kinds[name];
    async function* copies() {
      for (let i = 0; i < n; i++) yield { workflowId: `${tag}-${i}`, history };
    }
    let seen = 0;
    let from = process.cpuUsage();
    for await (const r of Worker.runReplayHistories({ workflowBundle: { code }, replayName: tag, dataConverter: testDataConverter() }, copies())) {
      if (r.error) throw new Error(`replaying ${name}: ${String(r.error)}`);
      if (++seen === 1) {
        from = process.cpuUsage();
        promises = 0;
        counting = true;
      }
    }
    counting = false;
    const d = process.cpuUsage(from);
    return { cpuMs: (d.user + d.system) / 1000, promises, replays: seen - 1 };
  };
  try {
    for (const name of names) await replay(name, Math.min(50, opts.perRound), `warm-${name}`);
    for (let round = 0; round < opts.rounds; round++) {
      for (const name of names) {
        const r = await replay(name, opts.perRound + 1, `${name}-${round}`);
        const t = used.get(name)!;
        t.cpuMs += r.cpuMs;
        t.promises += r.promises;
        t.replays += r.replays;
      }
    }
  } finally {
    stopHook();
  }
  const out = {} as Record<K, ReplayCpu>;
  for (const name of names) {
    const t = used.get(name)!;
    out[name] = { cpuMs: t.cpuMs / t.replays, promises: Math.round(t.promises / t.replays), replays: t.replays };
  }
  return out;
}
