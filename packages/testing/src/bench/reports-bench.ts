// Benchmark (not a test): loads a programme-sized semester pair (44,000 plans by default) into a fresh
// database by appending synthetic streams straight to the event log, rebuilds the report projection,
// and measures every report's latency (p50 / p95 / max) for the national, municipal and school views.
//
//   ./node_modules/.bin/tsc -b && node packages/testing/dist/bench/reports-bench.js [plans] [runs]
//
// Uses DATABASE_URL's server (the role needs CREATEDB) or starts an embedded Postgres of its own.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createDatabaseFromTemplate,
  createDb,
  dropDatabase,
  migrateToLatest,
  projectUntilIdle,
  rebuildProjections,
  REPORT_NAMES,
  runReport,
  type ReportFilter,
  type ReportScope,
} from '@iap/db';
import { ensureDatabase, startEmbeddedPostgres, type RunningPostgres } from '@iap/infra';
import { sql } from 'kysely';
import { pino } from 'pino';
import { appendStreams, rng, syntheticPlan, type SyntheticPlanSpec, type SyntheticStage } from '../synthetic.js';

const PLANS = Number(process.argv[2] ?? 44_000);
const RUNS = Number(process.argv[3] ?? 40);
const SEMESTERS = ['2019/20-1', '2019/20-2'];
const SHARES = { learning: 0.86, economic: 0.58, family: 0.1, social_health: 0.05 } as const;
const STAGES: [SyntheticStage, number][] = [['draft', 0.02], ['refused', 0.03], ['deleted', 0.01], ['in_approval', 0.03], ['implementation', 0.1], ['overdue', 0.06], ['closed', 0.75]];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function specs(n: number): SyntheticPlanSpec[] {
  const r = rng(2019);
  const schools = Array.from({ length: 507 }, (_, i) => ({ school: `school-${i}`, muni: `muni-${i % 94}`, vocational: i < 33 }));
  return Array.from({ length: n }, (_, i) => {
    const s = schools[Math.floor(r() * schools.length)]!;
    let types = Object.entries(SHARES).filter(([, p]) => r() < p).map(([t]) => t as keyof typeof SHARES);
    if (types.length === 0) types = ['learning'];
    let x = r();
    const stage = STAGES.find(([, p]) => (x -= p) < 0)?.[0] ?? 'closed';
    return {
      // About 23,000 learners over two semesters: most learners have a plan in both.
      learnerRef: `L-${i % Math.ceil(n * 0.52)}`,
      schoolId: s.school,
      municipalityId: s.muni,
      partner: s.vocational ? { type: 'state_vocational', id: `voc-${s.school}` } : { type: 'municipality', id: s.muni },
      semester: SEMESTERS[i % 2]!,
      riskTypes: types,
      stage,
      consultations: 2 + Math.floor(r() * 6),
      ...(types.includes('economic') && r() < 0.3 ? { paidClaimCents: 500 * (1 + Math.floor(r() * 20)) } : {}),
    };
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  let pg: RunningPostgres | null = null;
  let dir: string | null = null;
  let admin = process.env.DATABASE_URL ?? null;
  if (!admin) {
    dir = await mkdtemp(path.join(tmpdir(), 'iap-bench-'));
    pg = await startEmbeddedPostgres({ dir, port: await freePort(), database: 'postgres', logger, ephemeral: true });
    admin = pg.url;
  }
  const name = `bench_${Date.now()}`;
  await ensureDatabase(admin, `${name}_tpl`);
  const tplUrl = new URL(admin);
  tplUrl.pathname = `/${name}_tpl`;
  const tpl = createDb({ connectionString: tplUrl.toString(), max: 1 });
  await migrateToLatest(tpl);
  await tpl.destroy();
  const url = await createDatabaseFromTemplate(admin, name, `${name}_tpl`);
  const db = createDb({ connectionString: url, max: 12 });
  try {
    const all = specs(PLANS);
    let t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < all.length) {
          const i = next++;
          await appendStreams(db, syntheticPlan(all[i]!, Date.parse('2019-09-02T08:00:00Z') + i * 1_000));
          if (i % 2_000 === 0) process.stderr.write(`\rloading ${i}/${all.length} plans`);
        }
      }),
    );
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from events`.execute(db);
    const events = Number(rows[0]!.n);
    console.log(`\nloaded ${all.length} plans, ${events} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // REBUILD=all rebuilds the inline projections (plans, claims) too, in the same pass over the log.
    await sql`vacuum analyze`.execute(db);
    t0 = performance.now();
    const outcomes = await rebuildProjections(db, { projections: process.env.REBUILD === 'all' ? undefined : ['reports'] });
    const wallS = (performance.now() - t0) / 1000;
    console.log(`rebuild: ${wallS.toFixed(1)} s in all (the log's ${events} events: ${Math.round(events / wallS)} events/s)`);
    for (const r of outcomes) {
      console.log(`rebuild ${r.projection}: ${r.events} events, swapped in after ${(r.ms / 1000).toFixed(1)} s`);
    }
    await projectUntilIdle(db);
    // Fresh tables have no statistics yet; production autovacuum gathers them within a minute.
    await sql`analyze`.execute(db);

    const views: [string, ReportFilter, ReportScope][] = [
      ['national, all', {}, { kind: 'all' }],
      ['national, semester', { semester: SEMESTERS[0]! }, { kind: 'all' }],
      ['municipality', { schoolYear: '2019/20' }, { kind: 'municipality', municipalityId: 'muni-7' }],
      ['school', {}, { kind: 'school', schoolId: 'school-42' }],
    ];
    const all95: number[] = [];
    console.log(`\n${'report'.padEnd(18)} ${'view'.padEnd(20)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
    for (const report of REPORT_NAMES) {
      for (const [label, filter, scope] of views) {
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t = performance.now();
          await runReport(db, report, filter, scope);
          times.push(performance.now() - t);
        }
        all95.push(pct(times, 0.95));
        console.log(`${report.padEnd(18)} ${label.padEnd(20)} ${pct(times, 0.5).toFixed(1).padStart(8)} ${pct(times, 0.95).toFixed(1).padStart(8)} ${Math.max(...times).toFixed(1).padStart(8)}`);
      }
    }
    console.log(`\nworst p95: ${Math.max(...all95).toFixed(1)} ms (target < 100 ms) over ${PLANS} plans`);
  } finally {
    await db.destroy();
    await dropDatabase(admin, name);
    await dropDatabase(admin, `${name}_tpl`);
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
