// A test's own slice of the real stack: a fresh database copied from the migrated template, a worker on
// its own task queue (on the suite's real Temporal server), and the API app wired exactly as in
// production. Nothing is mocked.

import { randomUUID } from 'node:crypto';
import { buildApp, type AppDeps } from '@iap/api';
import { APP_DB_ROLE, createDatabaseFromTemplate, createDb, dropDatabase, type Database } from '@iap/db';
import { DEFAULT_DOMAIN_CONFIG, type DomainConfig } from '@iap/domain';
import { createLogger, registerScopes, signToken, type Scope, type TokenSubject } from '@iap/runtime';
import { createPlanWorker, installRuntimeLogger, type PlanWorkerOptions } from '@iap/worker';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { testDataConverter } from './payload-key.js';

export const TEST_JWT_SECRET = 'test-secret-not-for-production';
export { TEST_PAYLOAD_KEY, testDataConverter } from './payload-key.js';

/**
 * The programme's rules with term 2 running to 31 August, so that "today" falls inside a semester whatever
 * month the suite runs in (the real calendar has no semester in June–August, and plans for an ended
 * semester are refused). Every stack uses it unless a test passes its own rules.
 */
export const TEST_DOMAIN_CONFIG: DomainConfig = {
  ...DEFAULT_DOMAIN_CONFIG,
  semesterDates: { term1: { from: '09-01', to: '12-31' }, term2: { from: '01-01', to: '08-31' } },
};

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run integration tests through vitest's int project (global setup)`);
  return v;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Connected as the server's superuser: tests use it to tamper with rows, as an attacker would. */
  readonly db: Kysely<Database>;
  /** Connected as the application's role, as the API and worker are. */
  readonly appDb: Kysely<Database>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = required('IAP_TEST_PG_ADMIN_URL');
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const url = await createDatabaseFromTemplate(admin, name, required('IAP_TEST_PG_TEMPLATE'));
  const db = createDb({ connectionString: url, max: 4 });
  const appDb = createDb({ connectionString: url, max: 10, role: APP_DB_ROLE });
  return {
    url,
    name,
    db,
    appDb,
    drop: async () => {
      await db.destroy();
      await appDb.destroy();
      await dropDatabase(admin, name);
    },
  };
}

export interface TestStack {
  readonly database: TestDatabase;
  readonly db: Kysely<Database>;
  readonly client: Client;
  readonly app: FastifyInstance;
  readonly taskQueue: string;
  readonly worker: Worker;
  readonly logger: Logger;
  /** Another API app on the same database, worker and Temporal, with some settings changed. */
  buildApp(over: Partial<AppDeps>): Promise<FastifyInstance>;
  /** A bearer token for the given identity, signed with the test secret. */
  token(subject: TokenSubject): string;
  /** Stops the worker (e.g. to simulate a crash), resolving when it has stopped. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface TestStackOptions {
  readonly afterCommit?: PlanWorkerOptions['afterCommit'];
  readonly domainConfig?: DomainConfig;
  readonly continueAsNewAfterEvents?: number;
  readonly rateLimitPerMinute?: number;
  /** The worker's database handle, from the app's (e.g. with a QueryFaults plugin). */
  readonly workerDb?: (db: Kysely<Database>) => Kysely<Database>;
  /** The API's and the worker's logger (the first stack of a process also gets the SDK's logs); silent by default. */
  readonly logger?: Logger;
}

export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const logger = opts.logger ?? createLogger('test', process.env.LOG_LEVEL ?? 'silent');
  installRuntimeLogger(logger);
  const database = await createTestDatabase();
  const address = required('IAP_TEST_TEMPORAL_ADDRESS');
  const taskQueue = `test-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await createPlanWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    db: opts.workerDb ? opts.workerDb(database.appDb) : database.appDb,
    logger,
    workflowBundlePath: required('IAP_TEST_WORKFLOW_BUNDLE'),
    afterCommit: opts.afterCommit,
    dataConverter: testDataConverter(),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default', dataConverter: testDataConverter() });
  const deps: AppDeps = {
    db: database.appDb,
    temporal: client,
    temporalConnection: connection,
    namespace: 'default',
    taskQueue,
    jwtSecret: TEST_JWT_SECRET,
    identityKey: Buffer.alloc(32, 7),
    logger,
    rateLimitPerMinute: opts.rateLimitPerMinute ?? 100_000,
    domainConfig: opts.domainConfig ?? TEST_DOMAIN_CONFIG,
    ...(opts.continueAsNewAfterEvents ? { continueAsNewAfterEvents: opts.continueAsNewAfterEvents } : {}),
  };
  const app = await buildApp(deps);
  await app.ready();
  await registerTestTenants(app);
  const extraApps: FastifyInstance[] = [];

  let workerStopped = false;
  const stopWorker = async () => {
    if (workerStopped) return;
    workerStopped = true;
    worker.shutdown();
    await running;
  };

  return {
    database,
    db: database.db,
    client,
    app,
    taskQueue,
    worker,
    logger,
    buildApp: async (over) => {
      const a = await buildApp({ ...deps, ...over });
      extraApps.push(a);
      await a.ready();
      return a;
    },
    token: (s) => signToken(TEST_JWT_SECRET, s),
    stopWorker,
    close: async () => {
      await app.close();
      for (const a of extraApps) await a.close();
      await stopWorker();
      await nativeConnection.close();
      await connection.close();
      await database.drop();
    },
  };
}

/**
 * Partner and municipality ids unique to this test file: budgets are entity workflows keyed by partner and
 * semester, and test files run at the same time on one Temporal server, so shared ids would collide.
 */
const RUN = randomUUID().slice(0, 8);
export const MUNI_A = `muni-a-${RUN}`;
export const MUNI_B = `muni-b-${RUN}`;

/** Identities of one municipal partner's school, and of another school elsewhere, for scope tests. */
export const SCHOOL_A = { school: 'school-a', municipality: MUNI_A, partner: MUNI_A, partnerType: 'municipality' } as const;
export const SCHOOL_B = { school: 'school-b', municipality: MUNI_B, partner: MUNI_B, partnerType: 'municipality' } as const;
/** The school a token names (its `school` claim), as the API reads it. */
export function schoolOfToken(token: string): string {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { school?: string };
  if (!claims.school) throw new Error('the token names no school');
  return claims.school;
}

/**
 * Registers a learner at the token's school through the API (a plan can only name a learner its school
 * registered) and answers the learner's id; registering one already registered answers it again.
 */
export async function registerLearner(app: FastifyInstance, token: string, learnerRef: string): Promise<string> {
  const school = schoolOfToken(token);
  const res = await app.inject({
    method: 'PUT',
    url: `/schools/${encodeURIComponent(school)}/learners/${encodeURIComponent(learnerRef)}`,
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`registering ${learnerRef} at ${school} → ${res.statusCode} ${res.body}`);
  return (res.json() as { learnerId: string }).learnerId;
}
/** A state vocational school in MUNI_A's territory: its own partner, no municipal approval level. */
export const SCHOOL_V = { school: 'school-v', municipality: MUNI_A, partner: 'voc-v', partnerType: 'state_vocational' } as const;

/** The organisations every test stack's register holds: the schools above, their municipalities and partners. */
export const TEST_TENANTS: readonly Scope[] = [SCHOOL_A, SCHOOL_B, SCHOOL_V];

/**
 * Registers the test tenants (or others) through the app's register routes, as national staff do, so that the
 * tokens tests mint for them pass the API's check against the register. startTestStack does it for its app.
 */
export async function registerTestTenants(app: FastifyInstance, tenants: readonly Scope[] = TEST_TENANTS): Promise<void> {
  const national = signToken(TEST_JWT_SECRET, { sub: 'test-register-keeper', role: 'national_coordinator' });
  await registerScopes(
    async (method, url, payload, headers) => {
      const res = await app.inject({ method, url, payload: payload as object, headers });
      return { status: res.statusCode, body: res.body };
    },
    national,
    tenants,
  );
}

export const preparerOf = (s: Scope & { readonly school: string }, sub = `preparer-${s.school}`): TokenSubject => ({ sub, role: 'preparer', ...s });
