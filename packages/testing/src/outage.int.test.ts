// Postgres and the Temporal dev server (file database) each restart in the middle of a stream of plan
// creations. Requests during an outage answer 503 with Retry-After, never 500; afterwards every accepted
// request's event is in the log exactly once, and a retry with the same Idempotency-Key finds it.
// This file runs its own servers (it restarts them), not the suite's shared ones.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '@iap/api';
import { createDb, migrateToLatest, readStream, APP_DB_ROLE, type Database } from '@iap/db';
import { startEmbeddedPostgres, startTemporalDevServer, type RunningPostgres, type RunningTemporal } from '@iap/infra';
import { createPlanWorker, installRuntimeLogger } from '@iap/worker';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@iap/infra/testing';
import { preparerOf, registerLearner, registerTestTenants, SCHOOL_A, TEST_DOMAIN_CONFIG, TEST_JWT_SECRET, testDataConverter } from './stack.js';
import { signToken } from '@iap/runtime';
import { SEMESTER_NOW } from './workflow-driver.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
let dir = '';
let pg: RunningPostgres;
let temporal: RunningTemporal;
let temporalPort = 0;
let db: Kysely<Database>;
let adminDb: Kysely<Database>;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let connection: Connection;
let app: FastifyInstance;

const token = signToken(TEST_JWT_SECRET, preparerOf(SCHOOL_A));

beforeAll(async () => {
  installRuntimeLogger(logger);
  dir = await mkdtemp(path.join(tmpdir(), 'iap-outage-'));
  const { chmod } = await import('node:fs/promises');
  await chmod(dir, 0o755); // the postgres user (when run as root) must reach its data folder
  pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), database: 'iap', logger, ephemeral: true });
  temporalPort = await freePort();
  temporal = await startTemporalDevServer({ port: temporalPort, uiPort: null, dbFile: path.join(dir, 'temporal.db'), namespace: 'default', logger });
  adminDb = createDb({ connectionString: pg.url, max: 2 });
  await migrateToLatest(adminDb);
  db = createDb({ connectionString: pg.url, max: 10, role: APP_DB_ROLE });
  nativeConnection = await NativeConnection.connect({ address: temporal.address });
  worker = await createPlanWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue: 'outage',
    db,
    logger,
    workflowBundlePath: process.env.IAP_TEST_WORKFLOW_BUNDLE!,
    dataConverter: testDataConverter(),
  });
  running = worker.run();
  connection = await Connection.connect({ address: temporal.address });
  app = await buildApp({
    db,
    temporal: new Client({ connection, namespace: 'default', dataConverter: testDataConverter() }),
    temporalConnection: connection,
    namespace: 'default',
    taskQueue: 'outage',
    jwtSecret: TEST_JWT_SECRET,
    identityKey: Buffer.alloc(32, 7),
    logger,
    rateLimitPerMinute: 100_000,
    commandTimeoutMs: 2_000,
    domainConfig: TEST_DOMAIN_CONFIG,
  });
  await app.ready();
  await registerTestTenants(app);
  await registerLearner(app, token, 'L-outage');
}, 120_000);

afterAll(async () => {
  await app?.close();
  // Calls aborted by the API's timeout while in the client's retry backoff still retry once the backoff
  // ends (the SDK's retry timer does not see the abort); closing the channel under them would make that
  // retry throw in a timer. Let them finish against the restarted server first.
  await new Promise((r) => setTimeout(r, 6_000));
  worker?.shutdown();
  await running?.catch(() => undefined);
  await nativeConnection?.close().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await db?.destroy();
  await adminDb?.destroy();
  await temporal?.stop();
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

interface Sent {
  readonly key: string;
  /** The server's id of the plan, from the create's 201. */
  planId: string | undefined;
  status: number;
  retryAfter: string | undefined;
}

const create = async (s: Sent) => {
  const res = await app.inject({
    method: 'POST',
    url: '/plans',
    headers: { authorization: `Bearer ${token}`, 'idempotency-key': s.key },
    payload: {
      learnerRef: 'L-outage',
      semester: SEMESTER_NOW,
      grade: 5,
      risks: [{ riskId: 'r1', type: 'learning', factor: 'grades', note: '' }],
      measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'lessons', providerType: 'teacher', plannedMinutes: 60 }],
    },
  });
  s.status = res.statusCode;
  if (res.statusCode === 201) s.planId = (res.json() as { planId: string }).planId;
  s.retryAfter = res.headers['retry-after'] as string | undefined;
  return res;
};

/** Creates plans from 4 concurrent clients until `stop` resolves. */
async function load(stop: Promise<void>): Promise<Sent[]> {
  const sent: Sent[] = [];
  let done = false;
  void stop.then(() => (done = true));
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!done) {
        const s: Sent = { key: randomUUID(), planId: undefined, status: 0, retryAfter: undefined };
        sent.push(s);
        await create(s);
        if (s.status >= 500) await new Promise((r) => setTimeout(r, 200));
      }
    }),
  );
  return sent;
}

async function settle(sent: Sent[]): Promise<void> {
  // Whatever got a 503 is retried with its key until it answers; nothing may be lost or doubled.
  for (const s of sent.filter((x) => x.status !== 201)) {
    for (let i = 0; i < 60 && s.status !== 201; i++) {
      await create(s);
      if (s.status !== 201) await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Plans drafted so far (all for the one learner the load uses). */
async function draftedCount(): Promise<number> {
  const r = await adminDb.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n')).where('event_type', '=', 'PlanDrafted').executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Every request answered 201 with a plan of its own, each with one event, and no plan besides them. */
async function expectExactlyOnce(sent: Sent[], draftedBefore: number): Promise<void> {
  for (const s of sent) {
    expect(s.status, s.key).toBe(201);
    const events = await readStream(adminDb, s.planId!);
    expect(events.map((e) => e.type), s.planId).toEqual(['PlanDrafted']);
  }
  expect(new Set(sent.map((s) => s.planId)).size).toBe(sent.length);
  expect(await draftedCount()).toBe(draftedBefore + sent.length);
}

describe('restarts under load', () => {
  it('survives a Postgres restart: 503s with Retry-After during it, every plan once after it', async () => {
    const before = await draftedCount();
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 800));
      await pg.stop();
      await new Promise((r) => setTimeout(r, 3_500));
      await pg.start();
      await new Promise((r) => setTimeout(r, 800));
    })();
    const sent = await load(outage);
    const statuses = new Set(sent.map((s) => s.status));
    expect([...statuses].every((c) => c === 201 || c === 503), `statuses seen: ${[...statuses].join(', ')}`).toBe(true);
    for (const s of sent.filter((x) => x.status === 503)) expect(Number(s.retryAfter)).toBeGreaterThan(0);
    // The outage was long enough to be felt: some requests could not be confirmed durable in time.
    expect(sent.filter((x) => x.status === 503).length).toBeGreaterThan(0);
    expect(sent.length).toBeGreaterThan(10);
    await settle(sent);
    await expectExactlyOnce(sent, before);
  }, 90_000);

  it('survives a Temporal dev server restart (file database): 503s with Retry-After during it, every plan once after it', async () => {
    const before = await draftedCount();
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 800));
      await temporal.stop();
      await new Promise((r) => setTimeout(r, 3_500));
      temporal = await startTemporalDevServer({ port: temporalPort, uiPort: null, dbFile: path.join(dir, 'temporal.db'), namespace: 'default', logger });
      await new Promise((r) => setTimeout(r, 800));
    })();
    const sent = await load(outage);
    const statuses = new Set(sent.map((s) => s.status));
    expect([...statuses].every((c) => c === 201 || c === 503), `statuses seen: ${[...statuses].join(', ')}`).toBe(true);
    for (const s of sent.filter((x) => x.status === 503)) expect(Number(s.retryAfter)).toBeGreaterThan(0);
    expect(sent.filter((x) => x.status === 503).length).toBeGreaterThan(0);
    await settle(sent);
    await expectExactlyOnce(sent, before);
  }, 120_000);
});
