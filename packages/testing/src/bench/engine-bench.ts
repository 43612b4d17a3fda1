// Engine benchmark (not a test): starts its own durable stack and measures the engine beside bare baselines
// on the same machine in one run (plan starts, command latency, event appends, projection rebuild, report
// endpoint, worker and API memory), prints a table and writes bench/results/engine-<timestamp>.json.
//
//   ./node_modules/.bin/tsc -b && node packages/testing/dist/bench/engine-bench.js [--scale small|full] [--plans N] ...
//
// The stack: embedded Postgres with fsync on, the Temporal dev server on a SQLite file (as `infra/up` runs
// it), the real worker (`services/worker/dist/main.js`) and API (`services/api/dist/server.js`) as child
// processes, all in a temporary folder that is removed at the end (also on Ctrl-C). `--help` lists options.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { appendToStream, createDb, migrateToLatest, rebuildProjections, type Database, type NewEvent, type RebuildOutcome } from '@iap/db';
import { semesterOf, type DraftPlanData } from '@iap/domain';
import { ensureDatabase, REPO_ROOT, startEmbeddedPostgres, startTemporalDevServer, waitForHttp } from '@iap/infra';
import { freePort } from '@iap/infra/testing';
import { planCommandUpdate, planWorkflowId } from '@iap/messages';
import { fetchSend, loadDomainConfig, registerScopes, signToken, type TokenSubject } from '@iap/runtime';
import { PlanGateway } from '@iap/api';
import { workflowsPath, WORKFLOW_PRELOAD_MODULES } from '@iap/worker';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { appendStreams, rng, syntheticPlan, type SyntheticPlanSpec, type SyntheticStage } from '../synthetic.js';
import { closedLoop, countedLoop, HttpClient, inTurns, openLoop, quantile, rotating, slowest, type LoadResult } from './load.js';
import { Cleanup, cpuMeter, memoryOf, spawnNode, type Memory, type NodeChild } from './processes.js';
import { firstTask, replayCpu } from './replay-cpu.js';
import { TEST_PAYLOAD_KEY, testDataConverter } from '../payload-key.js';

// ---------------------------------------------------------------------------------------------- options

const USAGE = `node packages/testing/dist/bench/engine-bench.js [options]
  --scale small|full   small (default): 2,000 open plans and a 11,000-plan school year, about 7 minutes on 2 cores;
                       full: the programme's 22,000 open plans and a 44,000-plan school year
  --plans N            open plans to hold while memory is measured (overrides the scale)
  --year-plans N       plans in the simulated school year that the rebuild replays (overrides the scale)
  --clients C          concurrent clients / connections for the throughput phases (default 10)
  --seconds S          length of each throughput measurement (default 20)
  --rate R             command rate for the latency phase, per second (default 20)
  --rate-seconds S     the latency phase sends rate × S requests of each kind (default 30), the kinds in rotation,
                       so it lasts S × 5 seconds
  --approved K         approved plans the latency phase logs consultations on (default 40)
  --cache N            the worker's IAP_MAX_CACHED_WORKFLOWS (default 1000)
  --replays N          a recorded plan start and a floor start are each replayed 3 × N times in the bench's own
                       process: the workflow code's CPU per start without server or disk (default 200)
  --heap MB            the worker's V8 old-space limit, as infra/up sets it (default 768)
  --log-level L        the worker's and the API's LOG_LEVEL (default warn)
  --worker-flags F     extra node flags for the worker process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc"
  --logs DIR           keep the worker's, the API's and bare Fastify's whole output in DIR/<name>.log
  --dir PATH           where the temporary stack folder goes (default: the OS temp folder; keep it on a real disk)
  --temporal-dir PATH  where the Temporal dev server's SQLite file goes (default: in the stack folder, beside
                       Postgres); e.g. /dev/shm keeps its fsyncs off the disk Postgres commits to, as a Temporal
                       cluster of its own would
  --skip LIST          phases to leave out, comma-separated: rebuild, appends, reports (for quick runs of the others;
                       plan starts, command latency and memory always run)`;

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: 'small' },
    plans: { type: 'string' },
    'year-plans': { type: 'string' },
    clients: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '20' },
    'rate-seconds': { type: 'string', default: '30' },
    approved: { type: 'string', default: '40' },
    cache: { type: 'string', default: '1000' },
    replays: { type: 'string', default: '200' },
    heap: { type: 'string', default: '768' },
    dir: { type: 'string', default: tmpdir() },
    'temporal-dir': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    logs: { type: 'string' },
    'worker-flags': { type: 'string' },
    skip: { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args.scale !== 'small' && args.scale !== 'full') {
  console.error(`--scale must be small or full\n\n${USAGE}`);
  process.exit(2);
}
const num = (name: string, raw: string | undefined, dflt: number): number => {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got "${raw}"`);
    process.exit(2);
  }
  return n;
};
const FULL = args.scale === 'full';
const OPT = {
  scale: args.scale,
  openPlans: num('plans', args.plans, FULL ? 22_000 : 2_000),
  yearPlans: num('year-plans', args['year-plans'], FULL ? 44_000 : 11_000),
  clients: num('clients', args.clients, 10),
  seconds: num('seconds', args.seconds, 20),
  rate: num('rate', args.rate, 20),
  rateSeconds: num('rate-seconds', args['rate-seconds'], 30),
  approved: num('approved', args.approved, 40),
  cache: num('cache', args.cache, 1_000),
  replays: Math.max(2, Math.round(num('replays', args.replays, 200))),
  heap: num('heap', args.heap, 768),
  dir: args.dir ?? tmpdir(),
  temporalDir: args['temporal-dir'] ?? null,
  logLevel: args['log-level'] ?? 'warn',
  logs: args.logs ?? null,
  workerFlags: args['worker-flags']?.split(/\s+/).filter(Boolean) ?? [],
  skip: new Set((args.skip ?? '').split(',').map((s) => s.trim()).filter(Boolean)),
};
for (const phase of OPT.skip) {
  if (!['rebuild', 'appends', 'reports'].includes(phase)) {
    console.error(`--skip takes rebuild, appends and reports, got "${phase}"\n\n${USAGE}`);
    process.exit(2);
  }
}
const WARMUP_S = 3;
const APPEND_SECONDS = 10;
const APPEND_BATCH = 10;
/** Engine and baselines are measured in turns of this many seconds (see inTurns), not one after the other. */
const TURN_S = 5;

// ------------------------------------------------------------------------------------------- reporting

const T0 = performance.now();
function progress(msg: string): void {
  const s = Math.round((performance.now() - T0) / 1000);
  process.stderr.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${msg}\n`);
}

interface Target {
  readonly on: 'ratio' | 'engine';
  readonly op: '>=' | '<=';
  readonly value: number;
}

interface Row {
  readonly metric: string;
  readonly unit: string;
  readonly engine: number;
  readonly baseline: number | null;
  /** engine / baseline. */
  readonly ratio: number | null;
  readonly target: Target | null;
  readonly pass: boolean | null;
}

const rows: Row[] = [];
function row(metric: string, unit: string, engine: number, baseline: number | null, target: Target | null): void {
  const ratio = baseline === null || baseline === 0 ? null : engine / baseline;
  const subject = target?.on === 'ratio' ? ratio : engine;
  const pass = target === null || subject === null || Number.isNaN(subject) ? null : target.op === '>=' ? subject >= target.value : subject <= target.value;
  rows.push({ metric, unit, engine, baseline, ratio, target, pass });
}

const fmt = (n: number | null, unit = ''): string => {
  if (n === null || Number.isNaN(n)) return '—';
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return `${n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit}`;
};

function table(): string {
  const head = ['metric', 'engine', 'baseline', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    `${r.metric} (${r.unit})`,
    fmt(r.engine),
    fmt(r.baseline),
    r.ratio === null ? '—' : `${r.ratio < 0.1 ? r.ratio.toPrecision(2) : fmt(r.ratio)}×`,
    r.target === null ? '—' : `${r.target.on} ${r.target.op} ${r.target.on === 'ratio' ? `${r.target.value}×` : r.target.value.toLocaleString('en-US')}`,
    r.pass === null ? 'info' : r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

const summary = (r: LoadResult) => ({
  ok: r.ok,
  failed: r.failed,
  seconds: Number(r.seconds.toFixed(2)),
  perSecond: Number(r.rate.toFixed(1)),
  p50ms: Number(quantile(r.latencies, 0.5).toFixed(2)),
  p95ms: Number(quantile(r.latencies, 0.95).toFixed(2)),
  p99ms: Number(quantile(r.latencies, 0.99).toFixed(2)),
  maxMs: Number(r.latencies.reduce((m, x) => Math.max(m, x), 0).toFixed(2)),
  failures: r.failures,
});

function requireClean(what: string, r: LoadResult): void {
  // A few failures are reported; a phase where most requests fail measures nothing.
  if (r.failed > 0) progress(`  ${what}: ${r.failed} of ${r.ok + r.failed} failed, e.g. ${r.failures[0]}`);
  if (r.ok === 0 || r.failed > r.ok) throw new Error(`${what}: ${r.failed} failures and ${r.ok} successes, e.g. ${r.failures.join(' | ')}`);
}

// ------------------------------------------------------------------------------------------ the domain

const TODAY = new Date().toISOString().slice(0, 10);
const SEMESTER = semesterOf(new Date().toISOString());
const MONTH = Number(TODAY.slice(5, 7));
/** In June to August no semester runs by default; stretch term 2 (as the tests do) so consultations can be logged. */
const DOMAIN_CONFIG = MONTH >= 6 && MONTH <= 8 ? JSON.stringify({ semesterDates: { term1: { from: '09-01', to: '12-31' }, term2: { from: '01-01', to: '08-31' } } }) : '';
const JWT_SECRET = `bench-${randomUUID()}`;
const PLAN_QUEUE = 'iap-plans';
const NOOP_QUEUE = 'bench-noop';
/** The Updates' names in noop-workflow.ts (not imported: that module only runs inside the workflow sandbox). */
const NOOP_UPDATE = 'noop';
const LOCAL_ACTIVITY_UPDATE = 'local-activity';

interface School {
  readonly school: string;
  readonly municipality: string;
  readonly preparer: string;
  readonly director: string;
  readonly coordinator: string;
}
const schoolScope = (i: number) => ({ school: `bench-school-${i}`, municipality: `bench-muni-${i % 5}`, partner: `bench-muni-${i % 5}`, partnerType: 'municipality' }) as const;
const SCHOOL_SCOPES = Array.from({ length: 20 }, (_, i) => schoolScope(i));
const SCHOOLS: School[] = Array.from({ length: 20 }, (_, i) => {
  const s = schoolScope(i);
  const t = (subject: TokenSubject) => signToken(JWT_SECRET, subject, 24 * 3600);
  return {
    school: s.school,
    municipality: s.municipality,
    preparer: t({ sub: `preparer-${i}`, role: 'preparer', ...s }),
    director: t({ sub: `director-${i}`, role: 'school_director', ...s }),
    coordinator: t({ sub: `coordinator-${s.municipality}`, role: 'municipality_coordinator', municipality: s.municipality, partner: s.partner }),
  };
});
const NATIONAL = signToken(JWT_SECRET, { sub: 'ikvd-bench', role: 'national_coordinator' }, 24 * 3600);

/** Learners each school registers before the run; its plans name them in turn. */
const LEARNERS_PER_SCHOOL = 100;
const learnerRefOf = (n: number) => `L-B${Math.floor(n / SCHOOLS.length) % LEARNERS_PER_SCHOOL}`;

const draftBody = (n: number) => ({
  learnerRef: learnerRefOf(n),
  semester: SEMESTER,
  grade: 5 + (n % 5),
  risks: [{ riskId: 'r1', type: 'learning', factor: 'insufficient grades in mathematics', note: '' }],
  measures: [
    { measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'extra lessons', providerType: 'teacher', subject: 'mathematics', plannedMinutes: 240 },
  ],
});

/** A simulated school year: the previous year's two semesters, shares as in the programme's reports. */
function schoolYear(n: number): SyntheticPlanSpec[] {
  const start = Number(SEMESTER.slice(0, 4)) - 1;
  const semesters = [`${start}/${String((start + 1) % 100).padStart(2, '0')}-1`, `${start}/${String((start + 1) % 100).padStart(2, '0')}-2`];
  const shares = { learning: 0.86, economic: 0.58, family: 0.1, social_health: 0.05 } as const;
  const stages: [SyntheticStage, number][] = [['draft', 0.02], ['refused', 0.03], ['deleted', 0.01], ['in_approval', 0.03], ['implementation', 0.1], ['overdue', 0.06], ['closed', 0.75]];
  const r = rng(start);
  return Array.from({ length: n }, (_, i) => {
    const school = Math.floor(r() * 507);
    let types = Object.entries(shares).filter(([, p]) => r() < p).map(([t]) => t as keyof typeof shares);
    if (types.length === 0) types = ['learning'];
    let x = r();
    const stage = stages.find(([, p]) => (x -= p) < 0)?.[0] ?? 'closed';
    return {
      learnerRef: `L-Y${i % Math.ceil(n * 0.52)}`,
      schoolId: `school-${school}`,
      municipalityId: `muni-${school % 94}`,
      partner: school < 33 ? { type: 'state_vocational', id: `voc-${school}` } : { type: 'municipality', id: `muni-${school % 94}` },
      semester: semesters[i % 2]!,
      riskTypes: types,
      stage,
      consultations: 2 + Math.floor(r() * 6),
      ...(types.includes('economic') && r() < 0.3 ? { paidClaimCents: 500 * (1 + Math.floor(r() * 20)) } : {}),
    };
  });
}

/** An event shaped like the engine's (a logged consultation), for the append phase. */
function consultationEvent(streamId: string, version: number): NewEvent {
  return {
    eventId: `${streamId}/${version}`,
    type: 'ConsultationLogged',
    schemaVersion: 1,
    data: { consultationId: `c${version}`, measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person', confirmBy: `${TODAY}T23:59:59.999Z` },
    metadata: { actorId: 'preparer-bench', actorRole: 'preparer', schoolId: 'bench-school-0', requestId: randomUUID(), correlationId: null, causationId: null, workflowId: `plan-${streamId}`, runId: randomUUID() },
    occurredAt: new Date().toISOString(),
  };
}

// ------------------------------------------------------------------------------------------ the phases

async function loadSchoolYear(db: Kysely<Database>, n: number): Promise<{ events: number; seconds: number }> {
  const specs = schoolYear(n);
  const t0 = performance.now();
  const base = Date.parse(`${SEMESTER.slice(0, 4)}-09-01T08:00:00Z`) - 365 * 86_400_000;
  let next = 0;
  let done = 0;
  const ticker = setInterval(() => progress(`  school year: ${done.toLocaleString('en-US')} / ${n.toLocaleString('en-US')} plans written`), 10_000);
  // Twenty plans per transaction: a load, not what is measured; one commit per plan would take far longer.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < specs.length) {
        const from = next;
        next += 20;
        await db.transaction().execute(async (trx) => {
          for (let i = from; i < Math.min(from + 20, specs.length); i++) await appendStreams(trx, syntheticPlan(specs[i]!, base + i * 600_000));
        });
        done = Math.min(next, specs.length);
      }
    }),
  );
  clearInterval(ticker);
  const { rows: r } = await sql<{ n: string }>`select count(*)::text as n from events`.execute(db);
  return { events: Number(r[0]!.n), seconds: (performance.now() - t0) / 1000 };
}

/** Events/s through appendToStream, and through a plain INSERT into a twin table without the hash chain. */
async function appendPhase(adminUrl: string): Promise<Record<string, unknown>> {
  await ensureDatabase(adminUrl, 'bench_append');
  const url = new URL(adminUrl);
  url.pathname = '/bench_append';
  const db = createDb({ connectionString: url.toString(), max: OPT.clients, applicationName: 'bench-append' });
  try {
    await migrateToLatest(db);
    // Same columns (less prev_hash and hash), same identity, defaults, checks, unique constraints and indexes.
    await sql`create table raw_events (like events including defaults including constraints including indexes including identity)`.execute(db);
    await sql`alter table raw_events drop column prev_hash, drop column hash`.execute(db);

    // Each run appends to streams of its own (50 per connection), so nothing is ever a no-op retry.
    const streamsPer = 50;
    let runNo = 0;
    const engine = async (batch: number, seconds: number) => {
      const versions = new Map<string, number>();
      const run = runNo++;
      return closedLoop(OPT.clients, seconds, async (i) => {
        const stream = `s${run}-${i % (OPT.clients * streamsPer)}`;
        const v = versions.get(stream) ?? 0;
        versions.set(stream, v + batch);
        const events = Array.from({ length: batch }, (_, k) => consultationEvent(stream, v + k + 1));
        // One statement, its own transaction (autocommit), like the baseline's INSERT.
        await appendToStream(db, stream, v, events);
        return true;
      });
    };
    const raw = async (batch: number, seconds: number) => {
      const versions = new Map<string, number>();
      const run = runNo++;
      return closedLoop(OPT.clients, seconds, async (i) => {
        const stream = `r${run}-${i % (OPT.clients * streamsPer)}`;
        const v = versions.get(stream) ?? 0;
        versions.set(stream, v + batch);
        const now = new Date().toISOString();
        const values = Array.from({ length: batch }, (_, k) => {
          const e = consultationEvent(stream, v + k + 1);
          return sql`(${stream}, ${v + k + 1}, ${e.eventId}, ${e.type}, ${e.schemaVersion}, ${JSON.stringify(e.data)}::jsonb, ${JSON.stringify(e.metadata)}::jsonb, ${e.occurredAt}::timestamptz, ${now}::timestamptz)`;
        });
        // One statement, its own transaction (autocommit).
        await sql`insert into raw_events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata, occurred_at, recorded_at) values ${sql.join(values)}`.execute(db);
        return true;
      });
    };
    const out: Record<string, unknown> = {};
    for (const batch of [1, APPEND_BATCH]) {
      progress(`appends, ${batch} event(s) per transaction: appendToStream, then raw INSERT (${APPEND_SECONDS} s each, ${OPT.clients} connections)`);
      await engine(batch, WARMUP_S);
      await raw(batch, WARMUP_S);
      const e = await engine(batch, APPEND_SECONDS);
      const r = await raw(batch, APPEND_SECONDS);
      requireClean('appendToStream', e);
      requireClean('raw insert', r);
      row(`event appends, ${batch}/txn`, 'events/s', e.rate * batch, r.rate * batch, { on: 'ratio', op: '>=', value: 0.5 });
      out[`batch${batch}`] = { appendToStream: summary(e), rawInsert: summary(r) };
    }
    return out;
  } finally {
    await db.destroy();
  }
}

/** Waits until process `pid` polls both sides of `taskQueue` (Temporal names pollers `<pid>@<host>`). */
/**
 * Where a command's time goes inside Temporal, from the workflows' own histories: for each workflow task that
 * completed an Update, the wait from its scheduling to a worker picking it up, and the worker's time on it
 * (for the plan workflow: deciding, the local append, folding). Only tasks scheduled at or after `sinceMs`.
 */
async function updateTaskTimes(client: Client, workflowIds: readonly string[], sinceMs: number) {
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);
  const pickup: number[] = [];
  const work: number[] = [];
  for (const id of workflowIds) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    let scheduled = NaN;
    let started = NaN;
    let completed = NaN;
    for (const e of events) {
      if (e.workflowTaskScheduledEventAttributes) scheduled = ms(e.eventTime);
      else if (e.workflowTaskStartedEventAttributes) started = ms(e.eventTime);
      else if (e.workflowTaskCompletedEventAttributes) completed = ms(e.eventTime);
      else if (e.workflowExecutionUpdateCompletedEventAttributes && scheduled >= sinceMs) {
        pickup.push(started - scheduled);
        work.push(completed - started);
      }
    }
  }
  const q = (xs: number[]) => ({ n: xs.length, p50: Number(quantile(xs, 0.5).toFixed(2)), p99: Number(quantile(xs, 0.99).toFixed(2)) });
  return { pickupMs: q(pickup), workerMs: q(work) };
}

/** A Prometheus text page's histogram sums and counts, added up over their labels. */
async function scrapeHistograms(url: string): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(url)).text();
  const out = new Map<string, { sum: number; count: number }>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)_(sum|count)(?:\{[^}]*\})? ([\d.eE+-]+|NaN)$/.exec(line);
    if (!m) continue;
    const h = out.get(m[1]!) ?? { sum: 0, count: 0 };
    h[m[2] as 'sum' | 'count'] += Number(m[3]);
    out.set(m[1]!, h);
  }
  return out;
}

/** Each histogram's mean over what was observed between two scrapes. */
function histogramMeans(before: Map<string, { sum: number; count: number }>, after: Map<string, { sum: number; count: number }>) {
  const means: Record<string, { n: number; mean: number }> = {};
  for (const [name, a] of after) {
    const b = before.get(name) ?? { sum: 0, count: 0 };
    const n = a.count - b.count;
    if (n > 0) means[name] = { n, mean: Number(((a.sum - b.sum) / n).toFixed(2)) };
  }
  return means;
}

async function waitForPolling(client: Client, taskQueue: string, child: NodeChild, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const polls = async (taskQueueType: 1 | 2) => {
    const r = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType });
    return (r.pollers ?? []).some((p) => p.identity?.startsWith(`${child.pid}@`));
  };
  for (;;) {
    if (child.gone()) throw new Error(`the ${child.name} exited before polling ${taskQueue}:\n${child.output()}`);
    if ((await polls(1)) && (await polls(2))) return;
    if (Date.now() > deadline) throw new Error(`the ${child.name} did not poll ${taskQueue} within ${timeoutMs} ms:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function gitDescription(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT }).toString().trim() !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

/** The node_modules folder that holds `pkg` as the worker package resolves it (pnpm keeps it out of ours). */
function nodeModulesOf(pkg: string, from: string): string {
  let dir = path.dirname(createRequire(from).resolve(pkg));
  while (path.basename(dir) !== 'node_modules') {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`${pkg} is not inside a node_modules folder`);
    dir = up;
  }
  return dir;
}

// ------------------------------------------------------------------------------------------------ main

async function main(cleanup: Cleanup): Promise<void> {
  cleanup.onSignals();
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const details: Record<string, unknown> = {};
  const startedAt = new Date();
  const loadBefore = loadavg()[0]!;
  if (loadBefore > cpus().length * 0.5) {
    progress(`warning: the machine is busy already (load average ${loadBefore.toFixed(1)} on ${cpus().length} CPUs); ratios hold better than absolute figures`);
  }
  try {
    progress(`engine benchmark, scale ${OPT.scale}: ${OPT.openPlans.toLocaleString('en-US')} open plans, a ${OPT.yearPlans.toLocaleString('en-US')}-plan school year, ${OPT.clients} clients`);
    // ---- the stack
    await mkdir(OPT.dir, { recursive: true });
    const dir = await mkdtemp(path.join(OPT.dir, 'iap-engine-bench-'));
    cleanup.add('temporary folder', () => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755); // the postgres user (when run as root) must reach its data folder
    // The dev server's own file, apart when asked (its SQLite checkpoints' fsyncs then stall no Postgres commit).
    const temporalDir = OPT.temporalDir ? await mkdtemp(path.join(OPT.temporalDir, 'iap-bench-temporal-')) : dir;
    if (temporalDir !== dir) cleanup.add('temporal folder', () => rm(temporalDir, { recursive: true, force: true }));
    const temporalDbFile = path.join(temporalDir, 'temporal.db');
    progress(`starting Postgres (fsync on) in ${dir} and the Temporal dev server (file database ${temporalDbFile}); bundling workflows`);
    const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: (m: string) => logger.warn(m), error: (m: string) => logger.error(m) };
    const [pg, temporal, planBundle, noopBundle] = await Promise.all([
      startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), database: 'iap', logger }).then((pg) => {
        cleanup.add('postgres', () => pg.stop());
        cleanup.onForce(() => pg.kill());
        return pg;
      }),
      startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: temporalDbFile, namespace: 'default', logger }).then((t) => {
        cleanup.add('temporal', () => t.stop());
        cleanup.onForce(() => t.process.kill('SIGKILL'));
        return t;
      }),
      bundleWorkflowCode({ workflowsPath: workflowsPath(), preloadModules: [...WORKFLOW_PRELOAD_MODULES], logger: quiet }),
      bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('./noop-workflow.js', import.meta.url)),
        logger: quiet,
        webpackConfigHook: (config) => {
          const modules = config.resolve?.modules ?? ['node_modules'];
          return { ...config, resolve: { ...config.resolve, modules: [...modules, nodeModulesOf('@temporalio/workflow', workflowsPath())] } };
        },
      }),
    ]);
    // startEmbeddedPostgres takes SIGINT/SIGTERM over: take them back.
    cleanup.onSignals();
    const bundlePath = path.join(dir, 'workflow-bundle.js');
    await writeFile(bundlePath, planBundle.code);

    const adminUrl = new URL(pg.url);
    adminUrl.pathname = '/postgres';
    const db = createDb({ connectionString: pg.url, max: 8, applicationName: 'bench' });
    cleanup.add('bench pool', () => db.destroy());
    await migrateToLatest(db);
    const settings = await sql<{ name: string; setting: string }>`
      select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'server_version')`.execute(db);
    const pgSettings = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
    if (pgSettings.fsync !== 'on' || pgSettings.synchronous_commit !== 'on') throw new Error(`Postgres is not durable: ${JSON.stringify(pgSettings)}`);

    // ---- 4. projection rebuild over a simulated school year (before the worker starts: nothing else runs)
    if (!OPT.skip.has('rebuild')) {
      progress(`writing a simulated school year (${OPT.yearPlans.toLocaleString('en-US')} plans) straight to the event log`);
      const year = await loadSchoolYear(db, OPT.yearPlans);
      progress(`  ${year.events.toLocaleString('en-US')} events in ${year.seconds.toFixed(1)} s; vacuum analyze and checkpoint, then rebuild every projection`);
      await sql`vacuum analyze`.execute(db);
      // The load's writes flushed first: the rebuild is timed on its own I/O, not on the load's checkpoint.
      await sql`checkpoint`.execute(db);
      let lastTick = 0;
      const rebuildT0 = performance.now();
      const rebuilt: RebuildOutcome[] = await rebuildProjections(db, {
        onProgress: (p) => {
          if (performance.now() - lastTick < 5_000) return;
          lastTick = performance.now();
          progress(`  rebuild ${p.projection}: ${p.phase} ${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} events`);
        },
      });
      // One pass builds every projection; each is then swapped in (its time is to its swap).
      for (const r of rebuilt) row(`rebuild ${r.projection}, swapped in after`, 's', r.ms / 1000, null, null);
      // The whole log replayed into every projection: the log's events over the rebuild's wall time.
      const allMs = performance.now() - rebuildT0;
      row('rebuild all, log events / total time', 'events/s', year.events / (allMs / 1000), null, { on: 'engine', op: '>=', value: 20_000 });
      details.schoolYear = { plans: OPT.yearPlans, events: year.events, loadSeconds: Number(year.seconds.toFixed(1)), rebuild: rebuilt.map((r) => ({ projection: r.projection, events: r.events, ms: r.ms })) };
      await sql`analyze`.execute(db);
    }

    // ---- 3. event appends (own database on the same server)
    if (!OPT.skip.has('appends')) details.appends = await appendPhase(adminUrl.toString());

    // ---- the engine's processes and the baselines
    progress('starting the worker, the API, a bare Fastify server and the no-op Temporal worker');
    Runtime.install({
      shutdownSignals: [],
      logger: new DefaultLogger('WARN', (e) => {
        // The no-op worker has no activities, by design.
        if (!e.message.startsWith('No activities registered')) logger.warn({ sdk: true }, e.message);
      }),
    });
    const common = {
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: PLAN_QUEUE,
      IAP_DB_ROLE: 'iap_app',
      IAP_DATA_DIR: dir,
      IAP_PAYLOAD_KEY: TEST_PAYLOAD_KEY,
      LOG_LEVEL: OPT.logLevel,
      IAP_FAULT_KILL_AFTER_COMMIT: '',
    };
    if (OPT.logs) await mkdir(OPT.logs, { recursive: true });
    const logFile = (name: string) => (OPT.logs ? path.join(OPT.logs, `${name}.log`) : undefined);
    const metricsPort = await freePort();
    const worker = cleanup.child(
      spawnNode('worker', path.join(REPO_ROOT, 'services', 'worker', 'dist', 'main.js'), {
        ...common,
        IAP_MAX_CACHED_WORKFLOWS: String(OPT.cache),
        IAP_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
        IAP_WORKFLOW_BUNDLE: bundlePath,
        NODE_OPTIONS: `--max-old-space-size=${OPT.heap}`,
      }, { logFile: logFile('worker'), flags: OPT.workerFlags }), // no --enable-source-maps, as infra/up runs it
    );
    const apiPort = await freePort();
    const api = cleanup.child(
      spawnNode('api', path.join(REPO_ROOT, 'services', 'api', 'dist', 'server.js'), {
        ...common,
        HOST: '127.0.0.1',
        PORT: String(apiPort),
        IAP_JWT_SECRET: JWT_SECRET,
        IAP_RATE_LIMIT: '100000000',
        IAP_DOMAIN_CONFIG: DOMAIN_CONFIG,
      }, { logFile: logFile('api') }),
    );
    const barePort = await freePort();
    const bare = cleanup.child(spawnNode('bare fastify', fileURLToPath(new URL('./bare-fastify.js', import.meta.url)), { HOST: '127.0.0.1', PORT: String(barePort) }, { logFile: logFile('bare-fastify') }));

    const connection = await Connection.connect({ address: temporal.address });
    cleanup.add('temporal client', () => connection.close());
    const client = new Client({ connection, namespace: 'default', dataConverter: testDataConverter() });
    const native = await NativeConnection.connect({ address: temporal.address });
    cleanup.add('native connection', () => native.close());
    // The baseline's local activities: nothing, or one row INSERTed in its own fsync'd transaction.
    await sql`create table if not exists bench_local_activity (id bigserial primary key, at timestamptz not null default now())`.execute(db);
    const noopWorker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue: NOOP_QUEUE,
      dataConverter: testDataConverter(),
      workflowBundle: { code: noopBundle.code },
      activities: {
        nothing: async () => 0,
        insertOne: async () => {
          const { rows: inserted } = await sql<{ id: string }>`insert into bench_local_activity default values returning id`.execute(db);
          return Number(inserted[0]!.id);
        },
      },
      maxCachedWorkflows: OPT.cache,
    });
    const noopRunning = noopWorker.run();
    cleanup.add('no-op worker', async () => {
      if (noopWorker.getState() === 'RUNNING') noopWorker.shutdown();
      await noopRunning;
    });

    const apiBase = `http://127.0.0.1:${apiPort}`;
    if (!(await waitForHttp(`${apiBase}/health`, 60_000))) throw new Error(`the API did not become healthy within 60 s:\n${api.output()}`);
    // The bench schools' organisations in the register, or the API refuses their tokens.
    await registerScopes(fetchSend(apiBase), NATIONAL, SCHOOL_SCOPES);
    if (!(await waitForHttp(`http://127.0.0.1:${barePort}/constant`, 30_000))) throw new Error(`bare Fastify did not start:\n${bare.output()}`);
    await waitForPolling(client, PLAN_QUEUE, worker);
    /** A phase's failures name a crashed worker or API rather than a refused connection. */
    const assertAlive = () => {
      for (const c of [worker, api, bare]) if (c.gone()) throw new Error(`the ${c.name} exited:\n${c.output()}`);
    };
    const http = new HttpClient(apiBase, OPT.clients);
    const bareHttp = new HttpClient(`http://127.0.0.1:${barePort}`, OPT.clients);
    cleanup.add('http clients', () => {
      http.close();
      bareHttp.close();
    });

    // ---- the schools register their learners (a plan can only name a learner its school registered)
    const registered = await countedLoop(OPT.clients, SCHOOLS.length * LEARNERS_PER_SCHOOL, async (n) => {
      const school = SCHOOLS[n % SCHOOLS.length]!;
      const res = await http.request('PUT', `/schools/${school.school}/learners/${learnerRefOf(n)}`, { token: school.preparer });
      return res.status === 201 || res.status === 200 ? true : `PUT learner: ${res.status} ${res.body.slice(0, 200)}`;
    });
    requireClean('registering learners', registered);

    // ---- 1. plan starts per second: POST /plans → 201, beside bare Update-with-Start
    const plans: { planId: string; school: School }[] = [];
    let planNo = 0;
    const createPlan = async (): Promise<boolean | string> => {
      const n = planNo++;
      const school = SCHOOLS[n % SCHOOLS.length]!;
      const res = await http.request('POST', '/plans', { token: school.preparer, body: draftBody(n), headers: { 'idempotency-key': `bench-${n}` } });
      if (res.status !== 201) return `POST /plans: ${res.status} ${res.body.slice(0, 200)}`;
      plans.push({ planId: (JSON.parse(res.body) as { planId: string }).planId, school });
      return true;
    };
    const noopIds: string[] = [];
    let noopNo = 0;
    const startNoop = async (): Promise<boolean> => {
      const workflowId = `noop-${noopNo++}`;
      await client.workflow.executeUpdateWithStart(NOOP_UPDATE, {
        args: [0],
        startWorkflowOperation: new WithStartWorkflowOperation('noopWorkflow', { workflowId, taskQueue: NOOP_QUEUE, workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
      noopIds.push(workflowId);
      return true;
    };
    // The floor for starts: Update-with-Start whose Update waits for one fsync'd INSERT (a local activity).
    let floorWorkflowId: string | null = null;
    const startNoopWithInsert = async (): Promise<boolean> => {
      const workflowId = `noop-${noopNo++}`;
      await client.workflow.executeUpdateWithStart(LOCAL_ACTIVITY_UPDATE, {
        args: ['insert'],
        startWorkflowOperation: new WithStartWorkflowOperation('noopWorkflow', { workflowId, taskQueue: NOOP_QUEUE, workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
      noopIds.push(workflowId);
      floorWorkflowId ??= workflowId;
      return true;
    };
    // The same create sent straight to Temporal by the API's own gateway, from this process: what the HTTP hop adds.
    const gateway = new PlanGateway({ client, taskQueue: PLAN_QUEUE, domainConfig: loadDomainConfig({ IAP_DOMAIN_CONFIG: DOMAIN_CONFIG }) });
    const createDirect = async (): Promise<boolean> => {
      const n = planNo++;
      const s = SCHOOLS[n % SCHOOLS.length]!;
      const planId = randomUUID();
      const body = draftBody(n);
      const updateId = `direct-create-${n}`;
      await gateway.create(
        planId,
        { type: 'DraftPlan', data: { planId, ...body, schoolId: s.school, municipalityId: s.municipality, partner: { type: 'municipality', id: s.municipality }, previousPlanId: null } as DraftPlanData },
        { actor: { id: `preparer-${n % SCHOOLS.length}`, role: 'preparer' }, schoolId: s.school, requestId: updateId, commandId: updateId, correlationId: updateId, causationId: null, expectedVersion: null },
        updateId,
      );
      plans.push({ planId, school: s });
      return true;
    };
    progress(`plan starts: ${WARMUP_S} s warm-up each, then ${OPT.seconds} s each of POST /plans, of the same create without the API, of bare Update-with-Start and of Update-with-Start waiting for a local INSERT, in turns of ${TURN_S} s, ${OPT.clients} clients`);
    const startOps = { starts: createPlan, directStarts: createDirect, noopStarts: startNoop, insertStarts: startNoopWithInsert };
    for (const op of Object.values(startOps)) await closedLoop(OPT.clients, WARMUP_S, op);
    // Where the CPU goes per start, by process: the starts are bound by CPU (two cores for everything).
    const cpu = cpuMeter((pid, comm) =>
      pid === worker.pid ? 'worker' : pid === api.pid ? 'api' : pid === process.pid ? 'bench' : comm === 'postgres' ? 'postgres' : comm === 'temporal' ? 'temporal' : null,
    );
    const startResults = await inTurns(OPT.seconds, TURN_S, startOps, (op, secs, name) => cpu.during(name, () => closedLoop(OPT.clients, secs, op)));
    const { starts, directStarts, noopStarts, insertStarts } = startResults;
    progress(`  ${starts.ok} plans created, ${noopStarts.ok} bare Update-with-Starts, ${insertStarts.ok} with a local INSERT`);
    const cpuPerStart = (name: keyof typeof startOps) =>
      Object.fromEntries([...cpu.of(name)].map(([g, s]) => [g, Number(((s * 1000) / Math.max(1, startResults[name].ok)).toFixed(2))]));
    const startCpu = { engine: cpuPerStart('starts'), direct: cpuPerStart('directStarts'), bare: cpuPerStart('noopStarts'), floor: cpuPerStart('insertStarts') };
    for (const [k, v] of Object.entries(startCpu)) {
      progress(`  CPU ms per start, ${k}: ${Object.entries(v).map(([g, ms]) => `${g} ${ms}`).join(', ')}`);
    }
    assertAlive();
    requireClean('POST /plans', starts);
    requireClean('Update-with-Start', noopStarts);
    row(`plan starts, ${OPT.clients} clients`, '/s', starts.rate, noopStarts.rate, { on: 'ratio', op: '>=', value: 0.7 });
    row('plan start p99', 'ms', quantile(starts.latencies, 0.99), quantile(noopStarts.latencies, 0.99), null);
    requireClean('Update-with-Start with a local INSERT', insertStarts);
    row('Update-with-Start + local INSERT (the floor)', '/s', insertStarts.rate, noopStarts.rate, null);
    row('plan starts vs the floor', '/s', starts.rate, insertStarts.rate, null);
    requireClean('plan Update-with-Start without the API', directStarts);
    row('plan starts without the API', '/s', directStarts.rate, noopStarts.rate, null);
    details.planStarts = { engine: summary(starts), bareUpdateWithStart: summary(noopStarts), updateWithStartAndLocalInsert: summary(insertStarts), withoutApi: summary(directStarts), cpuMsPerStart: startCpu };

    // ---- open plans up to N (they are all in draft: open workflows), then some walked to approval
    const missing = OPT.openPlans - plans.length;
    if (missing > 0) {
      progress(`creating ${missing.toLocaleString('en-US')} more plans through the API to reach ${OPT.openPlans.toLocaleString('en-US')} open plans`);
      const topUp = await countedLoop(OPT.clients, missing, createPlan, (n) => progress(`  ${(plans.length).toLocaleString('en-US')} / ${OPT.openPlans.toLocaleString('en-US')} open plans (${n} of ${missing} sent)`));
      requireClean('creating open plans', topUp);
      details.topUp = summary(topUp);
    }
    const memoryAtN = { worker: memoryOf(worker.pid), api: memoryOf(api.pid) };
    progress(`  ${plans.length.toLocaleString('en-US')} open plans; worker RSS ${memoryAtN.worker.rssMiB.toFixed(0)} MiB, API RSS ${memoryAtN.api.rssMiB.toFixed(0)} MiB`);

    progress(`walking ${OPT.approved} plans to approved (consent, submission, three approvals)`);
    const approved = plans.slice(0, OPT.approved);
    const command = async (token: string, url: string, body?: unknown) => {
      const res = await http.request('POST', url, { token, ...(body === undefined ? {} : { body }) });
      if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${res.body.slice(0, 200)}`);
    };
    const walk = await countedLoop(OPT.clients, approved.length, async (i) => {
      const { planId, school } = approved[i]!;
      const p = `/plans/${planId}`;
      await command(school.preparer, `${p}/consent`, { givenBy: 'parent', signedOn: TODAY, documentRef: `consent-${i}` });
      await command(school.preparer, `${p}/submission`);
      await command(school.director, `${p}/approvals`, { level: 'school' });
      await command(school.coordinator, `${p}/approvals`, { level: 'municipality' });
      await command(NATIONAL, `${p}/approvals`, { level: 'national' });
      return true;
    });
    assertAlive();
    if (walk.failed > 0) throw new Error(`walking plans to approval failed: ${walk.failures.join(' | ')}`);

    // ---- 2. command latency at a fixed rate: consultations on approved plans, beside bare Updates
    let consultationNo = 0;
    const logConsultation = async (i: number): Promise<boolean | string> => {
      const { planId, school } = approved[i % approved.length]!;
      const res = await http.request('POST', `/plans/${planId}/consultations`, {
        token: school.preparer,
        body: { consultationId: `c${consultationNo++}`, measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person' },
      });
      return res.status === 200 || `POST consultations: ${res.status} ${res.body.slice(0, 200)}`;
    };
    const noopTargets = noopIds.slice(0, OPT.approved);
    const noopUpdate = async (i: number): Promise<boolean> => {
      await client.workflow.getHandle(noopTargets[i % noopTargets.length]!).executeUpdate(NOOP_UPDATE, { args: [i] });
      return true;
    };
    // The floor under any engine that makes a write durable inside an Update on this SDK and server: the
    // Update waits for one local activity, doing nothing or one fsync'd INSERT.
    const laUpdate = (kind: 'nothing' | 'insert') => async (i: number): Promise<boolean> => {
      await client.workflow.getHandle(noopTargets[i % noopTargets.length]!).executeUpdate(LOCAL_ACTIVITY_UPDATE, { args: [kind] });
      return true;
    };
    // The same command sent straight to the plan's workflow, as the API sends it: what the HTTP hop adds.
    const directConsultation = async (i: number): Promise<boolean> => {
      const { planId, school } = approved[i % approved.length]!;
      const requestId = `direct-${consultationNo}`;
      await client.workflow.getHandle(planWorkflowId(planId)).executeUpdate(planCommandUpdate, {
        args: [
          {
            command: {
              type: 'LogConsultation',
              data: { consultationId: `c${consultationNo++}`, measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person' },
            },
            meta: { actor: { id: `preparer-${SCHOOLS.indexOf(school)}`, role: 'preparer' }, schoolId: school.school, requestId, correlationId: requestId, causationId: null, expectedVersion: null },
          },
        ],
        updateId: requestId,
      });
      return true;
    };
    progress(
      `command latency at ${OPT.rate}/s: ${WARMUP_S} s warm-up each, then ${OPT.rateSeconds} s' worth each of consultations, of the same Update without the API, ` +
        `of bare Updates, and of Updates that wait for a no-op local activity and for a local INSERT, taken in rotation, request by request, at ${OPT.rate}/s in all`,
    );
    const latencyOps = {
      commands: logConsultation,
      direct: directConsultation,
      updates: noopUpdate,
      withLocalActivity: laUpdate('nothing'),
      withInsert: laUpdate('insert'),
    };
    for (const op of Object.values(latencyOps)) await openLoop(OPT.rate, WARMUP_S, op);
    // Start every kind from the same Postgres: the set-up's burst of plans vacuumed and flushed, so neither an
    // autovacuum of it nor a checkpoint owed for it lands in the measurement (each stalled commits for 100s of ms).
    await sql`vacuum analyze`.execute(db);
    await sql`checkpoint`.execute(db);
    const latencyFrom = Date.now();
    const latencyT0 = performance.now();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const metricsBefore = await scrapeHistograms(metricsUrl);
    const taken = await rotating(OPT.rate, OPT.rateSeconds, latencyOps);
    const { commands, direct, updates, withLocalActivity, withInsert } = taken;
    // Seconds into the phase and milliseconds: stalls that hit every kind at once are the machine's.
    const slowestOf = Object.fromEntries(Object.entries(taken).map(([k, r]) => [k, slowest(r, latencyT0)]));
    for (const [k, list] of Object.entries(slowestOf)) progress(`  slowest ${k} (s into the phase: ms): ${list.map((x) => `${x.atS}: ${x.ms}`).join(', ')}`);
    const workerMeans = histogramMeans(metricsBefore, await scrapeHistograms(metricsUrl));
    progress(`  the worker's own figures over the plan commands (mean ms): ${Object.entries(workerMeans).map(([k, v]) => `${k} ${v.mean} (${v.n})`).join(', ')}`);
    assertAlive();
    requireClean('POST consultations', commands);
    requireClean('bare Update', updates);
    for (const [label, p] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
      row(`command ${label} at ${OPT.rate}/s`, 'ms', quantile(commands.latencies, p), quantile(updates.latencies, p), p === 0.99 ? { on: 'ratio', op: '<=', value: 1.5 } : null);
    }
    requireClean('plan Update without the API', direct);
    const tasks = {
      engine: await updateTaskTimes(client, approved.map((a) => planWorkflowId(a.planId)), latencyFrom),
      bareUpdate: await updateTaskTimes(client, noopTargets, latencyFrom),
    };
    progress(`  workflow tasks that completed an Update (ms, p50 / p99): plan pickup ${tasks.engine.pickupMs.p50} / ${tasks.engine.pickupMs.p99}, worker ${tasks.engine.workerMs.p50} / ${tasks.engine.workerMs.p99}; no-op pickup ${tasks.bareUpdate.pickupMs.p50} / ${tasks.bareUpdate.pickupMs.p99}, worker ${tasks.bareUpdate.workerMs.p50} / ${tasks.bareUpdate.workerMs.p99}`);
    for (const [label, p] of [['p50', 0.5], ['p99', 0.99]] as const) {
      row(`plan Update without the API ${label}`, 'ms', quantile(direct.latencies, p), quantile(updates.latencies, p), null);
    }
    requireClean('Update with a local activity', withLocalActivity);
    requireClean('Update with a local INSERT', withInsert);
    // The floor, beside the bare Update; and the engine's command beside the floor (what the engine itself adds).
    for (const [label, p] of [['p50', 0.5], ['p99', 0.99]] as const) {
      row(`Update + no-op local activity ${label}`, 'ms', quantile(withLocalActivity.latencies, p), quantile(updates.latencies, p), null);
      row(`Update + local INSERT (the floor) ${label}`, 'ms', quantile(withInsert.latencies, p), quantile(updates.latencies, p), null);
      row(`command ${label} vs the floor`, 'ms', quantile(commands.latencies, p), quantile(withInsert.latencies, p), null);
    }
    details.commandLatency = {
      ratePerSecond: OPT.rate,
      engine: summary(commands),
      planUpdateWithoutApi: summary(direct),
      bareUpdate: summary(updates),
      updateWithNoopLocalActivity: summary(withLocalActivity),
      updateWithLocalInsert: summary(withInsert),
      slowest: slowestOf,
      workflowTasks: tasks,
      workerMeansMs: workerMeans,
    };

    // ---- 5. the report endpoint under load, beside bare Fastify
    if (!OPT.skip.has('reports')) {
      progress(`report endpoint: ${OPT.seconds} s of GET /reports/participation, then ${OPT.seconds} s of bare Fastify, ${OPT.clients} connections`);
      const getReport = async (): Promise<boolean | string> => {
        const res = await http.request('GET', '/reports/participation', { token: NATIONAL });
        return res.status === 200 || `GET /reports/participation: ${res.status} ${res.body.slice(0, 200)}`;
      };
      const getConstant = async (): Promise<boolean | string> => {
        const res = await bareHttp.request('GET', '/constant');
        return res.status === 200 || `GET /constant: ${res.status}`;
      };
      const sample = await http.request('GET', '/reports/participation', { token: NATIONAL });
      await closedLoop(OPT.clients, WARMUP_S, getReport);
      const reports = await closedLoop(OPT.clients, OPT.seconds, getReport);
      await closedLoop(OPT.clients, WARMUP_S, getConstant);
      const constant = await closedLoop(OPT.clients, OPT.seconds, getConstant);
      assertAlive();
      requireClean('GET /reports/participation', reports);
      requireClean('GET /constant', constant);
      row(`report requests, ${OPT.clients} conns`, '/s', reports.rate, constant.rate, null);
      row('report p99', 'ms', quantile(reports.latencies, 0.99), quantile(constant.latencies, 0.99), null);
      details.reports = { responseBytes: sample.body.length, engine: summary(reports), bareFastify: summary(constant) };
    }

    // ---- 6. memory
    const { rows: counted } = await sql<{ n: string }>`select count(*)::text as n from plans where semester = ${SEMESTER}`.execute(db);
    const openPlans = Number(counted[0]!.n);
    const end = { worker: memoryOf(worker.pid), api: memoryOf(api.pid) };
    const mem = (m: Memory) => ({ rssMiB: Number(m.rssMiB.toFixed(1)), peakMiB: Number(m.peakMiB.toFixed(1)) });
    const label = `${openPlans.toLocaleString('en-US')} open plans`;
    row(`worker RSS, ${label}`, 'MiB', Math.max(memoryAtN.worker.rssMiB, end.worker.rssMiB), null, { on: 'engine', op: '<=', value: 1024 });
    row('worker peak RSS (VmHWM)', 'MiB', end.worker.peakMiB, null, { on: 'engine', op: '<=', value: 1024 });
    row(`API RSS, ${label}`, 'MiB', Math.max(memoryAtN.api.rssMiB, end.api.rssMiB), null, null);
    row('API peak RSS (VmHWM)', 'MiB', end.api.peakMiB, null, null);
    details.memory = {
      openPlans,
      maxCachedWorkflows: OPT.cache,
      afterCreatingPlans: { worker: mem(memoryAtN.worker), api: mem(memoryAtN.api) },
      atEnd: { worker: mem(end.worker), api: mem(end.api) },
    };

    // ---- the workflow code's share of a start, apart from the server and the disk: one recorded start of
    // each (the plan's, the floor's) replayed in this process. Last, because replaying here installs the
    // SDK's promise hook in this process for good, which would tax every phase after it.
    if (floorWorkflowId !== null && plans.length > 0) {
      progress(`replaying a recorded start of each ${3 * OPT.replays} times (the workflow code's CPU alone, no server or disk)`);
      try {
        const historyOf = async (workflowId: string) => firstTask(await client.workflow.getHandle(workflowId).fetchHistory());
        const replayed = await replayCpu(
          {
            plan: { code: planBundle.code, history: await historyOf(planWorkflowId(plans[0]!.planId)) },
            floor: { code: noopBundle.code, history: await historyOf(floorWorkflowId) },
          },
          { rounds: 3, perRound: OPT.replays },
        );
        progress(`  CPU ms per replayed start: plan ${replayed.plan.cpuMs.toFixed(2)} (${replayed.plan.promises} promises), floor ${replayed.floor.cpuMs.toFixed(2)} (${replayed.floor.promises} promises)`);
        row('workflow CPU per start, replayed', 'ms', replayed.plan.cpuMs, replayed.floor.cpuMs, null);
        details.replayedStart = replayed;
      } catch (err) {
        // A figure for information: the run's other results stand without it.
        progress(`  the replay failed, left out: ${String(err)}`);
        details.replayedStart = { error: String(err) };
      }
    }

    // ---- the report
    const finishedAt = new Date();
    const environment = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
      loadAverage1m: { atStart: Number(loadBefore.toFixed(2)), atEnd: Number(loadavg()[0]!.toFixed(2)) },
      node: process.version,
      postgres: pgSettings,
      temporal: `CLI dev server, SQLite file (journal_mode=wal, synchronous=normal) at ${temporalDbFile}`,
      git: gitDescription(),
    };
    const out = table();
    console.log(`\n${out}\n`);
    console.log(
      `${environment.cpus} × ${environment.cpuModel}, node ${environment.node}, Postgres ${pgSettings.server_version} (fsync ${pgSettings.fsync}, ` +
        `synchronous_commit ${pgSettings.synchronous_commit}), Temporal's file ${temporalDir === dir ? 'beside it' : `in ${OPT.temporalDir}`}, git ${environment.git}; load average ${environment.loadAverage1m.atStart} at start, ` +
        `${environment.loadAverage1m.atEnd} at end; ${Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000)} s`,
    );
    const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
    await mkdir(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `engine-${startedAt.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
    await writeFile(file, `${JSON.stringify({ startedAt, finishedAt, options: OPT, environment, rows, details, table: out }, null, 2)}\n`);
    console.log(`results: ${path.relative(process.cwd(), file)}`);
  } finally {
    progress('stopping the stack');
    await cleanup.run();
  }
}

const cleanup = new Cleanup();
main(cleanup).then(
  () => process.exit(0),
  (err: unknown) => {
    if (cleanup.signalled) process.exit(130);
    console.error(err);
    process.exit(1);
  },
);
