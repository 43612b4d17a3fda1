// `./infra/test --cluster`: the engine on Temporal's own server with Postgres persistence, several workers and
// API processes. Starts an embedded Postgres (fsync on) and the Temporal cluster on it, then
//   1. runs the workflow, replay, crash, finance, HTTP-walk, projector-lease and checkpoint-schedule tests
//      against that server (the same files, pointed at it by TEMPORAL_ADDRESS and DATABASE_URL);
//   2. runs two workers and two APIs as processes and sends load through both APIs while, one at a time, a
//      worker is killed with kill -9 (the projector's lease holder among them), an API is killed, the
//      Temporal server is killed and started again, and Postgres is restarted. Each request that got no 2xx
//      is retried with its Idempotency-Key; then every 2xx must be in the log exactly once, the projections
//      must equal a rebuild and every hash chain must verify. Prints the fault table; exit 1 on any loss.
//
// node packages/testing/dist/cluster/cluster-test.js [--skip-suite] [--window-ms N]

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { APP_DB_ROLE, checkProjections, createDb, migrateToLatest, projectorLeaseHolder, projectorStatus, readStream, verifyLog, type Database } from '@iap/db';
import { REPO_ROOT, startEmbeddedPostgres, startTemporalCluster, type RunningCluster, type RunningPostgres } from '@iap/infra';
import { freePort } from '@iap/infra/testing';
import { signToken } from '@iap/runtime';
import { WORKFLOW_PRELOAD_MODULES, workflowsPath } from '@iap/worker';
import { bundleWorkflowCode } from '@temporalio/worker';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { spawnNode, type NodeChild } from '../bench/processes.js';
import { TEST_PAYLOAD_KEY } from '../payload-key.js';
import { preparerOf, SCHOOL_A, TEST_DOMAIN_CONFIG } from '../stack.js';
import { SEMESTER_NOW, TODAY } from '../workflow-driver.js';

const { values: OPT } = parseArgs({
  options: {
    'skip-suite': { type: 'boolean', default: false },
    'window-ms': { type: 'string', default: '8000' },
    clients: { type: 'string', default: '6' },
  },
});
const WINDOW_MS = Number(OPT['window-ms']);
const CLIENTS = Number(OPT.clients);

/** The test files that run unchanged against the cluster. */
const SUITE = [
  'packages/testing/src/replay.int.test.ts',
  'packages/testing/src/plan-workflow.int.test.ts',
  'packages/testing/src/crash.int.test.ts',
  'packages/testing/src/finance.int.test.ts',
  'packages/testing/src/plan-walk.e2e.test.ts',
  'packages/testing/src/projector-lease.int.test.ts',
  'packages/testing/src/checkpoint-schedule.int.test.ts',
];

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const say = (m: string) => process.stderr.write(`[cluster] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runSuite(env: NodeJS.ProcessEnv): Promise<number> {
  const pnpm = process.env.PNPM ?? path.join(REPO_ROOT, '.tools', 'pnpm', 'node_modules', '.bin', 'pnpm');
  const child = spawn(pnpm, ['exec', 'vitest', 'run', '--project', 'int', ...SUITE], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

// ---------------------------------------------------------------------------------------------------------
// The fault load.

type Kind = 'create' | 'consent';
interface Req {
  readonly kind: Kind;
  readonly key: string;
  readonly fault: string;
  planId: string | null;
  /** The first answer: an HTTP status, or 0 when the connection failed (an API killed under it). */
  first: number;
  /** The last answer after retries with the same key. */
  last: number;
  /** Event ids a 2xx named. */
  events: string[];
}

interface Api {
  readonly name: string;
  url: string;
  proc: NodeChild;
}

/** Learners the load's school registers before the load (a plan names a learner its school registered). */
const LEARNERS = Array.from({ length: 20 }, (_, i) => `L-cluster-${i}`);

const TOKEN_SECRET = `cluster-${randomUUID()}`;
const token = signToken(TOKEN_SECRET, preparerOf(SCHOOL_A));

async function send(api: Api, r: Req): Promise<void> {
  const body =
    r.kind === 'create'
      ? {
          // The same learner on every retry of this request (a retried key must carry the same body).
          learnerRef: LEARNERS[Number.parseInt(r.key.slice(0, 6), 16) % LEARNERS.length]!,
          semester: SEMESTER_NOW,
          grade: 6,
          risks: [{ riskId: 'r1', type: 'learning', factor: 'grades', note: '' }],
          measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'lessons', providerType: 'teacher', plannedMinutes: 60 }],
        }
      : { givenBy: 'parent', signedOn: TODAY, documentRef: 'consent-scan' };
  const url = r.kind === 'create' ? `${api.url}/plans` : `${api.url}/plans/${r.planId}/consent`;
  let status = 0;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': r.key },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    status = res.status;
    const json = (await res.json().catch(() => null)) as { planId?: string; events?: { eventId: string }[]; detail?: string } | null;
    if (status !== 503 && (status < 200 || status >= 300)) unexpected.set(`${status} ${r.kind}: ${json?.detail ?? ''}`, (unexpected.get(`${status} ${r.kind}: ${json?.detail ?? ''}`) ?? 0) + 1);
    if (status >= 200 && status < 300 && json) {
      r.planId = json.planId ?? r.planId;
      r.events = (json.events ?? []).map((e) => e.eventId);
    }
  } catch {
    status = 0;
  }
  if (r.first === -1) r.first = status;
  r.last = status;
}

const ok = (s: number) => s >= 200 && s < 300;
/** Answers other than 2xx and 503, by status, kind and problem detail: printed at the end. */
const unexpected = new Map<string, number>();

/** Clients that create a plan and then record its consent, over both APIs in turn, until `stop` is set. */
async function load(apis: Api[], requests: Req[], fault: () => string, stop: { done: boolean }): Promise<void> {
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      let turn = c;
      while (!stop.done) {
        const api = apis[turn++ % apis.length]!;
        const create: Req = { kind: 'create', key: randomUUID(), fault: fault(), planId: null, first: -1, last: -1, events: [] };
        requests.push(create);
        await send(api, create);
        if (!ok(create.last)) {
          await sleep(200);
          continue;
        }
        const consent: Req = { kind: 'consent', key: randomUUID(), fault: fault(), planId: create.planId, first: -1, last: -1, events: [] };
        requests.push(consent);
        await send(apis[turn++ % apis.length]!, consent);
        if (!ok(consent.last)) await sleep(200);
      }
    }),
  );
}

/** Retries what got no 2xx with its own key, over whichever API answers, for up to a minute each. */
async function settle(apis: Api[], requests: Req[]): Promise<void> {
  for (const r of requests) {
    // A consent whose plan was never created cannot be retried meaningfully; it stays unanswered.
    if (ok(r.last) || (r.kind === 'consent' && !r.planId)) continue;
    for (let i = 0; i < 60 && !ok(r.last) && (r.last === 0 || r.last === 503 || r.last === -1); i++) {
      await send(apis[i % apis.length]!, r);
      if (!ok(r.last)) await sleep(1_000);
    }
  }
}

/** pg_database_size of the application's and Temporal's databases (includes free space not yet reused). */
async function databaseSizes(db: Kysely<Database>): Promise<{ datname: string; bytes: string }[]> {
  const { rows } = await sql<{ datname: string; bytes: string }>`
    select datname, pg_database_size(datname)::text as bytes from pg_database where datname in ('iap', 'temporal', 'temporal_visibility') order by 1`.execute(db);
  return rows;
}

const EXPECTED: Record<Kind, string> = { create: 'PlanDrafted', consent: 'ConsentGranted' };

async function main(): Promise<void> {
  const dir = path.join(REPO_ROOT, '.data', 'test', `cluster-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755); // the postgres user (when run as root) must reach its data folder
  const cleanup: Array<() => Promise<void>> = [];
  const finish = async () => {
    for (const f of cleanup.reverse()) await f().catch((err: unknown) => say(`cleanup failed: ${String(err)}`));
    await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void finish().then(() => process.exit(130)));
  let failed = false;
  try {
    const pg: RunningPostgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), database: 'postgres', logger });
    cleanup.push(() => pg.stop());
    const t0 = Date.now();
    const temporal: RunningCluster = await startTemporalCluster({ adminUrl: pg.url, port: await freePort(), namespace: 'default', logger });
    cleanup.push(() => temporal.stop());
    say(`Temporal cluster on Postgres ready at ${temporal.address} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    if (!OPT['skip-suite']) {
      say(`running ${SUITE.length} test files against it`);
      const code = await runSuite({ TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: pg.url });
      if (code !== 0) {
        failed = true;
        say(`the test files failed against the cluster (exit ${code})`);
      }
    }

    // The fault load's own database and processes.
    const appUrl = new URL(pg.url);
    appUrl.pathname = '/iap';
    const { ensureDatabase } = await import('@iap/infra');
    await ensureDatabase(pg.url, 'iap');
    const adminDb: Kysely<Database> = createDb({ connectionString: appUrl.toString(), max: 2 });
    cleanup.push(() => adminDb.destroy());
    await migrateToLatest(adminDb);
    const bundle = await bundleWorkflowCode({
      workflowsPath: workflowsPath(),
      preloadModules: [...WORKFLOW_PRELOAD_MODULES],
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m) => say(m), log() {} },
    });
    const bundlePath = path.join(dir, 'workflow-bundle.js');
    await writeFile(bundlePath, bundle.code);
    const common = {
      DATABASE_URL: appUrl.toString(),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'iap-plans',
      IAP_DB_ROLE: APP_DB_ROLE,
      IAP_DATA_DIR: dir,
      IAP_PAYLOAD_KEY: TEST_PAYLOAD_KEY,
      LOG_LEVEL: 'warn',
      IAP_FAULT_KILL_AFTER_COMMIT: '',
      IAP_PROJECTOR_INTERVAL_MS: '300',
    };
    const workers: NodeChild[] = [];
    const startWorker = (i: number) => {
      const w = spawnNode(`worker-${i}`, path.join(REPO_ROOT, 'services', 'worker', 'dist', 'main.js'), { ...common, IAP_WORKFLOW_BUNDLE: bundlePath }, { flags: [] });
      workers[i] = w;
      return w;
    };
    const apis: Api[] = [];
    const startApi = async (i: number, port?: number) => {
      const p = port ?? (await freePort());
      const proc = spawnNode(`api-${i}`, path.join(REPO_ROOT, 'services', 'api', 'dist', 'server.js'), {
        ...common,
        HOST: '127.0.0.1',
        PORT: String(p),
        IAP_JWT_SECRET: TOKEN_SECRET,
        IAP_RATE_LIMIT: '100000000',
        IAP_COMMAND_TIMEOUT_MS: '5000',
        IAP_DOMAIN_CONFIG: JSON.stringify({ semesterDates: TEST_DOMAIN_CONFIG.semesterDates }),
      });
      const api = apis[i] ?? { name: `api-${i}`, url: `http://127.0.0.1:${p}`, proc };
      api.proc = proc;
      apis[i] = api;
      for (let t = 0; t < 300; t++) {
        try {
          if ((await fetch(`${api.url}/health`)).ok) return api;
        } catch {
          // not listening yet
        }
        await sleep(200);
      }
      throw new Error(`api-${i} did not become healthy:\n${proc.output()}`);
    };
    startWorker(0);
    startWorker(1);
    await startApi(0);
    await startApi(1);
    cleanup.push(async () => {
      for (const p of [...apis.map((a) => a.proc), ...workers]) await p.stop(10_000);
    });

    for (const ref of LEARNERS) {
      const res = await fetch(`${apis[0]!.url}/schools/${encodeURIComponent(SCHOOL_A.school)}/learners/${encodeURIComponent(ref)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status !== 200 && res.status !== 201) throw new Error(`registering ${ref}: ${res.status} ${await res.text()}`);
    }

    const holderIndex = async () => {
      for (let t = 0; t < 100; t++) {
        const h = await projectorLeaseHolder(adminDb);
        const i = h ? workers.findIndex((w) => h.startsWith(`${w.pid}@`)) : -1;
        if (i >= 0) return i;
        await sleep(200);
      }
      throw new Error('no worker took the projector lease');
    };
    await holderIndex();

    const sizesBefore = await databaseSizes(adminDb);
    const requests: Req[] = [];
    let current = 'warm-up';
    const windows: { fault: string; action: () => Promise<void> }[] = [
      {
        fault: 'worker kill -9 (not the projector holder)',
        action: async () => {
          const i = 1 - (await holderIndex());
          workers[i]!.child.kill('SIGKILL');
          await sleep(WINDOW_MS / 2);
          startWorker(i);
        },
      },
      {
        fault: 'worker kill -9 (the projector holder)',
        action: async () => {
          const i = await holderIndex();
          workers[i]!.child.kill('SIGKILL');
          await sleep(WINDOW_MS / 2);
          startWorker(i);
        },
      },
      {
        fault: 'API kill -9',
        action: async () => {
          const port = Number(new URL(apis[0]!.url).port);
          apis[0]!.proc.child.kill('SIGKILL');
          await sleep(WINDOW_MS / 2);
          await startApi(0, port);
        },
      },
      {
        fault: 'Temporal server kill -9 and start',
        action: async () => {
          temporal.kill();
          await sleep(2_000);
          await temporal.start();
        },
      },
      {
        fault: 'Postgres restart',
        action: async () => {
          await pg.stop();
          await sleep(2_000);
          await pg.start();
        },
      },
    ];
    for (const w of windows) {
      const stop = { done: false };
      current = w.fault;
      say(`load through both APIs; fault: ${w.fault}`);
      const loading = load(apis, requests, () => current, stop);
      await sleep(1_500);
      await w.action();
      await sleep(WINDOW_MS / 2);
      stop.done = true;
      await loading;
    }
    say(`settling ${requests.filter((r) => !ok(r.last)).length} unanswered requests with their Idempotency-Keys`);
    await settle(apis, requests);

    // Every 2xx in the log exactly once.
    const lost = new Map<string, number>();
    const dup = new Map<string, number>();
    const streams = new Map<string, string[]>();
    for (const r of requests) {
      if (!ok(r.last) || !r.planId) continue;
      if (!streams.has(r.planId)) streams.set(r.planId, (await readStream(adminDb, r.planId)).map((e) => e.type));
      const n = streams.get(r.planId)!.filter((t) => t === EXPECTED[r.kind]).length;
      if (n === 0) lost.set(r.fault, (lost.get(r.fault) ?? 0) + 1);
      if (n > 1) dup.set(r.fault, (dup.get(r.fault) ?? 0) + 1);
    }

    // The projector catches up; the projections equal a rebuild; every chain verifies.
    for (let t = 0; t < 150 && (await projectorStatus(adminDb)).behind > 0; t++) await sleep(200);
    const checks = await checkProjections(adminDb);
    const verify = await verifyLog(adminDb, { kind: 'log' });

    const rows = windows.map((w) => {
      const rs = requests.filter((r) => r.fault === w.fault);
      return {
        fault: w.fault,
        sent: rs.length,
        ok: rs.filter((r) => ok(r.first)).length,
        s503: rs.filter((r) => r.first === 503).length,
        noAnswer: rs.filter((r) => r.first === 0).length,
        other: rs.filter((r) => r.first !== 503 && r.first !== 0 && !ok(r.first)).length,
        okAfterRetry: rs.filter((r) => !ok(r.first) && ok(r.last)).length,
        lost: lost.get(w.fault) ?? 0,
        dup: dup.get(w.fault) ?? 0,
      };
    });
    const header = ['what was killed', 'requests', '2xx', '503', 'no answer', 'other', '2xx after retry', 'lost', 'duplicated'];
    const lines = [
      `| ${header.join(' | ')} |`,
      `|${header.map((_, i) => (i === 0 ? ':--' : '--:')).join('|')}|`,
      ...rows.map((r) => `| ${r.fault} | ${r.sent} | ${r.ok} | ${r.s503} | ${r.noAnswer} | ${r.other} | ${r.okAfterRetry} | ${r.lost} | ${r.dup} |`),
    ];
    process.stdout.write(`\n${lines.join('\n')}\n\n`);
    const badChecks = checks.filter((c) => !c.ok).map((c) => c.projection);
    process.stdout.write(`projections equal a rebuild: ${badChecks.length ? `no (${badChecks.join(', ')})` : 'yes'}; chains verify: ${verify.intact ? 'yes' : 'no'} (${verify.events} events in ${verify.streams} streams)\n`);
    const stillOpen = requests.filter((r) => !ok(r.last) && !(r.kind === 'consent' && !r.planId));
    // What the run left behind, for sizing (docs/deploy.md): database sizes and the processes' memory.
    const sizes = await databaseSizes(adminDb);
    const rss = (pid: number | undefined) => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? `${Math.round(Number(m[1]) / 1024)} MiB` : '?';
      } catch {
        return '?';
      }
    };
    const plans = requests.filter((r) => r.kind === 'create' && ok(r.last)).length;
    process.stdout.write(
      `database growth over the load's ${plans} plans (and their consents): ${sizes.map((r) => {
        const grown = Number(r.bytes) - Number(sizesBefore.find((b) => b.datname === r.datname)?.bytes ?? 0);
        return `${r.datname} +${(grown / 2 ** 20).toFixed(1)} MiB (${plans ? Math.round(grown / plans / 1024) : 0} KiB/plan)`;
      }).join(', ')}; ` +
        `RSS: temporal server ${rss(temporal.process.pid)}, workers ${workers.map((w) => rss(w.pid)).join(' / ')}, APIs ${apis.map((a) => rss(a.proc.pid)).join(' / ')}\n`,
    );
    for (const [what, n] of unexpected) process.stdout.write(`unexpected answer ×${n}: ${what}\n`);
    if (stillOpen.length) process.stdout.write(`requests without a 2xx after their retries: ${stillOpen.length} (${[...new Set(stillOpen.map((r) => r.last))].join(', ')})\n`);
    if (rows.some((r) => r.lost || r.dup || r.other) || badChecks.length || !verify.intact) failed = true;
  } catch (err) {
    failed = true;
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await finish();
  }
  process.exit(failed ? 1 : 0);
}

await main();
