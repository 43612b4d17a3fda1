// Temporal's own server as a cluster on Postgres (`./infra/up --cluster`, `./infra/test --cluster`): the
// binaries that infra/cluster/build-server builds into .tools/, the project's config template
// (infra/cluster/temporal.yaml), its two databases set up with Temporal's schema tool, the namespace and the
// plan search attributes registered. Unlike the dev server it keeps nothing in memory that a restart loses.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Connection } from '@temporalio/client';
import { connectTemporal, ensureSearchAttributes, pingTemporal } from '@iap/runtime';
import type { Logger } from 'pino';
import { ensureDatabase } from './postgres.js';
import { REPO_ROOT, type RunningTemporal } from './temporal-server.js';
import { freePort, freePortIn } from './ports.js';

const run = promisify(execFile);

export interface ClusterTools {
  readonly version: string;
  readonly server: string;
  readonly sqlTool: string;
  /** Temporal's schema/postgresql/v12 folder (copied from the Go module at build time). */
  readonly schemaDir: string;
}

/** The pinned build in .tools/temporal-server/<version>/; infra/cluster/build-server makes it. */
export function clusterTools(): ClusterTools {
  const version = readFileSync(path.join(REPO_ROOT, 'infra', 'cluster', 'VERSION'), 'utf8').trim();
  const dir = path.join(REPO_ROOT, '.tools', 'temporal-server', version);
  const tools = {
    version,
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
  for (const p of [tools.server, tools.sqlTool, tools.schemaDir]) {
    if (!existsSync(p)) throw new Error(`${p} is missing: run infra/cluster/build-server (builds Temporal ${version} once)`);
  }
  return tools;
}

export interface TemporalClusterOptions {
  /** A Postgres role that may create databases, e.g. the embedded server's postgres user. */
  readonly adminUrl: string;
  /** The frontend's gRPC port (what clients connect to). */
  readonly port: number;
  readonly namespace: string;
  readonly logger: Logger;
  readonly shards?: number;
  /** Database names; `<db>_visibility` holds visibility. */
  readonly database?: string;
  /** How long the namespace keeps closed workflows' histories. */
  readonly retentionDays?: number;
}

export interface RunningCluster extends RunningTemporal {
  /** Starts the server again after stop() (the fault tests restart it under load). */
  start(): Promise<void>;
  /** SIGKILL, no waiting. */
  kill(): void;
}

/** Creates the two databases when missing and brings both schemas to the version the build ships. */
export async function setupTemporalDatabases(tools: ClusterTools, adminUrl: string, database: string, logger: Logger): Promise<void> {
  const u = new URL(adminUrl);
  const env = {
    ...process.env,
    SQL_HOST: u.hostname,
    SQL_PORT: u.port || '5432',
    SQL_USER: decodeURIComponent(u.username),
    SQL_PASSWORD: decodeURIComponent(u.password),
    SQL_PLUGIN: 'postgres12',
  };
  for (const [db, schema] of [
    [database, 'temporal'],
    [`${database}_visibility`, 'visibility'],
  ] as const) {
    await ensureDatabase(adminUrl, db);
    const dbUrl = new URL(adminUrl);
    dbUrl.pathname = `/${db}`;
    const client = new pg.Client({ connectionString: dbUrl.toString() });
    await client.connect();
    const { rowCount } = await client.query(`select 1 from information_schema.tables where table_name = 'schema_version'`).finally(() => client.end());
    const base = ['--plugin', 'postgres12', '--db', db];
    if (!rowCount) await run(tools.sqlTool, [...base, 'setup-schema', '-v', '0.0'], { env });
    // Applies only the versions the database does not have yet.
    await run(tools.sqlTool, [...base, 'update-schema', '-d', path.join(tools.schemaDir, schema, 'versioned')], { env });
    logger.debug({ db }, 'temporal schema up to date');
  }
}

type Retention = NonNullable<Parameters<Connection['workflowService']['registerNamespace']>[0]['workflowExecutionRetentionPeriod']>;

/** Registers the namespace when missing (retries while the frontend is still joining its cluster). */
async function ensureNamespace(address: string, namespace: string, retentionDays: number): Promise<void> {
  const conn = await connectTemporal(address, 60_000);
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (await pingTemporal(conn, namespace)) break;
      try {
        await conn.workflowService.registerNamespace({
          namespace,
          // The generated type names protobufjs's Long; its writer takes a plain number for int64 as well.
          workflowExecutionRetentionPeriod: { seconds: retentionDays * 86_400 } as unknown as Retention,
        });
      } catch (err) {
        // ALREADY_EXISTS (6): another start registered it; anything else: the cluster is not ready yet.
        if ((err as { code?: number }).code !== 6 && Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} did not become available`);
      await new Promise((r) => setTimeout(r, 500));
    }
    // The operator service reads namespaces from a cache that learns of a new one within seconds.
    for (;;) {
      try {
        await ensureSearchAttributes(conn, namespace);
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 5 || Date.now() > deadline + 30_000) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await conn.close();
  }
}

export async function startTemporalCluster(opts: TemporalClusterOptions): Promise<RunningCluster> {
  const tools = clusterTools();
  const database = opts.database ?? 'temporal';
  const log = opts.logger.child({ component: 'temporal' });
  await setupTemporalDatabases(tools, opts.adminUrl, database, log);

  const u = new URL(opts.adminUrl);
  const ports: Record<string, number> = { IAP_TC_FRONTEND_PORT: opts.port };
  for (const name of ['HTTP', 'METRICS', 'HISTORY', 'MATCHING', 'WORKER']) ports[`IAP_TC_${name}_PORT`] = await freePort();
  // The cluster's membership table keeps these ports in a smallint: below 32768 (under the kernel's
  // ephemeral range, where freePort's come from).
  for (const name of ['FRONTEND', 'HISTORY', 'MATCHING', 'WORKER']) ports[`IAP_TC_${name}_MEMBERSHIP_PORT`] = await freePortIn(20_000, 32_000);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    IAP_TC_SHARDS: String(opts.shards ?? 8),
    IAP_TC_DB: database,
    IAP_TC_VISIBILITY_DB: `${database}_visibility`,
    IAP_TC_PG_ADDRESS: `${u.hostname}:${u.port || '5432'}`,
    IAP_TC_PG_USER: decodeURIComponent(u.username),
    IAP_TC_PG_PASSWORD: decodeURIComponent(u.password),
    IAP_TC_DYNAMIC_CONFIG: path.join(REPO_ROOT, 'infra', 'cluster', 'dynamicconfig.yaml'),
  };
  const address = `127.0.0.1:${opts.port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);

  const start = async () => {
    const c = spawn(tools.server, ['--config-file', path.join(REPO_ROOT, 'infra', 'cluster', 'temporal.yaml'), '--allow-no-auth', 'start'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let output = '';
    const collect = (b: Buffer) => {
      output = (output + b.toString()).slice(-4000);
    };
    c.stdout?.on('data', collect);
    c.stderr?.on('data', collect);
    exited = new Promise((resolve) => c.once('close', (code) => resolve(code)));
    const ready = ensureNamespace(address, opts.namespace, opts.retentionDays ?? 7);
    const first = await Promise.race([ready.then(() => 'ready' as const), exited.then((code) => ({ code }))]).catch((err: unknown) => {
      c.kill('SIGKILL');
      throw err;
    });
    if (first !== 'ready') {
      ready.catch(() => undefined);
      throw new Error(`temporal server exited (code ${first.code}) before it was ready. Output:\n${output}`);
    }
    log.info({ address, version: tools.version, pid: c.pid }, 'temporal cluster ready');
  };
  await start();

  return {
    address,
    uiUrl: null,
    get process() {
      return child!;
    },
    start,
    kill: () => child?.kill('SIGKILL'),
    stop: async () => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
