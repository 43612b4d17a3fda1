// `iap rebuild`, `iap check` and `iap project`: rebuild projections from the event log (blue/green), compare
// the live ones with a fresh build, and run the async report projector by hand.

import {
  checkProjections,
  createDb,
  PROJECTIONS,
  projectBatch,
  projectorStatus,
  rebuildProjections,
  startProjector,
  type ProjectionName,
  type RebuildProgress,
} from '@iap/db';
import { InvalidArgumentError, type Command } from 'commander';
import { databaseUrl, progressLine } from './env.js';

function projectionList(v: string, prev: ProjectionName[] = []): ProjectionName[] {
  if (!(PROJECTIONS as readonly string[]).includes(v)) throw new InvalidArgumentError(`one of: ${PROJECTIONS.join(', ')}`);
  return [...prev, v as ProjectionName];
}

/** One progress bar per projection, redrawn as the build reads events. */
function progressReporter() {
  const bars = new Map<string, { bar: ReturnType<typeof progressLine>; last: RebuildProgress }>();
  return {
    onProgress: (p: RebuildProgress) => {
      let b = bars.get(p.projection);
      if (!b) bars.set(p.projection, (b = { bar: progressLine(p.projection.padEnd(8), 'events'), last: p }));
      b.last = p;
      b.bar.update(p.done, p.total, p.phase);
    },
    /** Closes every bar drawn since the last call (a rebuild draws one for all its projections, a check one each). */
    finish() {
      for (const b of bars.values()) b.bar.done(b.last.done, b.last.total, 'built');
      bars.clear();
    },
  };
}

export function register(program: Command): void {
  program
    .command('rebuild')
    .description(`rebuild projections from the event log into fresh tables and swap them in (${PROJECTIONS.join(', ')}; default: all)`)
    .argument('[projections...]', 'which projections', (v: string, prev: ProjectionName[] | undefined) => projectionList(v, prev))
    .option('--json', 'print the outcome as JSON')
    .action(async (projections: ProjectionName[] | undefined, opts: { json?: boolean }) => {
      const db = createDb({ connectionString: databaseUrl(), max: 4, applicationName: 'iap-rebuild' });
      try {
        const progress = progressReporter();
        const wanted = projections?.length ? projections : [...PROJECTIONS];
        const t0 = Date.now();
        // One pass over the log builds them all; each is swapped in on its own.
        const out = await rebuildProjections(db, { projections: wanted, onProgress: progress.onProgress });
        progress.finish();
        if (!opts.json) {
          for (const o of out) {
            console.log(`${o.projection}: rebuilt from ${o.events} events, swapped in after ${o.ms} ms; ${o.caughtUp} caught up at the swap`);
            if (o.orphans?.length) console.log(`  ${o.orphans.length} claims without a plan row: ${o.orphans.slice(0, 5).join(', ')}`);
          }
          const ms = Date.now() - t0;
          // The log's events read: all of them for reports, else the plan and claim streams'.
          const read = out.find((o) => o.projection === 'reports')?.events ?? out.reduce((n, o) => n + o.events, 0);
          console.log(`rebuilt in ${ms} ms (${Math.round(read / Math.max(0.001, ms / 1000))} events/s)`);
        }
        if (opts.json) console.log(JSON.stringify(out, null, 2));
      } finally {
        await db.destroy();
      }
    });

  program
    .command('check')
    .description('compare live projections with a fresh rebuild and name every row that differs (exit 1 when any does)')
    .argument('[projections...]', 'which projections', (v: string, prev: ProjectionName[] | undefined) => projectionList(v, prev))
    .option('--json', 'print the outcome as JSON')
    .action(async (projections: ProjectionName[] | undefined, opts: { json?: boolean }) => {
      const db = createDb({ connectionString: databaseUrl(), max: 4, applicationName: 'iap-check' });
      try {
        const progress = progressReporter();
        const out = [];
        for (const p of projections?.length ? projections : PROJECTIONS) {
          const [o] = await checkProjections(db, { projections: [p], onProgress: progress.onProgress });
          progress.finish();
          out.push(o!);
        }
        if (opts.json) console.log(JSON.stringify(out, null, 2));
        else
          for (const o of out) {
            console.log(`${o.projection}: ${o.ok ? 'matches a fresh rebuild' : `${o.total} rows differ`}`);
            for (const d of o.differences) {
              const cols = d.columns?.map((c) => `${c.column}: live ${JSON.stringify(c.live)} ≠ rebuilt ${JSON.stringify(c.rebuilt)}`).join('; ');
              console.log(`  ${d.table} ${JSON.stringify(d.key)} ${d.kind}${cols ? ` (${cols})` : ''}`);
            }
          }
        process.exitCode = out.every((o) => o.ok) ? 0 : 1;
      } finally {
        await db.destroy();
      }
    });

  program
    .command('project')
    .description('run the async report projector: catch up and stop, or with --follow keep going until Ctrl-C')
    .option('--follow', 'keep projecting new events')
    .option('--interval <ms>', 'poll interval when caught up', (v) => Number.parseInt(v, 10), 500)
    .option('--batch <n>', 'events per transaction', (v) => Number.parseInt(v, 10), 1_000)
    .action(async (opts: { follow?: boolean; interval: number; batch: number }) => {
      const db = createDb({ connectionString: databaseUrl(), max: 2, applicationName: 'iap-projector' });
      try {
        if (opts.follow) {
          const logger = { info: (o: object, m?: string) => console.error(m ?? '', JSON.stringify(o)), error: (o: object, m?: string) => console.error(m ?? '', o) };
          const projector = startProjector({ db, logger, intervalMs: opts.interval, batchSize: opts.batch });
          await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
          await projector.stop();
        } else {
          const start = await projectorStatus(db);
          const bar = progressLine('reports ', 'events');
          let done = 0;
          for (;;) {
            const r = await projectBatch(db, { batchSize: opts.batch });
            done += r.applied;
            bar.update(done, start.behind);
            if (r.applied === 0 && !r.busy) break;
            if (r.busy) await new Promise((res) => setTimeout(res, 100));
          }
          bar.done(done, Math.max(done, start.behind));
        }
        const s = await projectorStatus(db);
        console.log(`checkpoint ${s.checkpoint.transactionId}/${s.checkpoint.globalPosition} (${s.checkpoint.eventsApplied} events applied); ${s.behind} events not yet projectable`);
      } finally {
        await db.destroy();
      }
    });
}
