// A newcomer's first hour, on the real launcher (`infra/dist/up.js`, what ./infra/up runs after its bootstrap)
// with its own embedded Postgres and Temporal dev server: /ready answers 200 only once the demo tokens are
// written and the banner printed, and every command of the banner's "Try" and of the README's First steps and
// Operator CLI blocks runs as written. The launcher runs in a folder of its own that stands for the clone
// (mode 0700, `infra` linked to this one's, `.data` its data folder); its ports are free ones, so the
// README's http://127.0.0.1:3000 is the one thing replaced.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdtemp, readlink, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@iap/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

let clone: string;
let api: string;
let env: NodeJS.ProcessEnv;
let launcher: ChildProcess;
let stdout = '';
/** What was true the first time /ready answered 200. */
let atReady: { tokensWritten: boolean; bannerPrinted: boolean; healthFirst: boolean } | null = null;

const status = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2_000) })
    .then((r) => r.status)
    .catch(() => 0);

beforeAll(async () => {
  // Mode 0700, as root's home or a `mktemp -d` folder: as root, the postgres user cannot enter it.
  clone = await mkdtemp(path.join(tmpdir(), 'iap-first-hour-'));
  await symlink(path.join(REPO_ROOT, 'infra'), path.join(clone, 'infra'));
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  env = { ...process.env, IAP_DATA_DIR: path.join(clone, '.data'), PORT: String(port), LOG_LEVEL: 'warn' };
  for (const [name, p] of [['IAP_PG_PORT', await freePort()], ['IAP_TEMPORAL_PORT', await freePort()], ['IAP_TEMPORAL_UI_PORT', await freePort()], ['IAP_OIDC_PORT', await freePort()], ['IAP_CONSOLE_PORT', await freePort()]] as const) env[name] = String(p);
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  if (process.env.IAP_TEST_WORKFLOW_BUNDLE) env.IAP_WORKFLOW_BUNDLE = process.env.IAP_TEST_WORKFLOW_BUNDLE;

  launcher = spawn(process.execPath, [path.join(REPO_ROOT, 'infra', 'dist', 'up.js')], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
  launcher.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  let stderr = '';
  launcher.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let healthFirst = false;
  const deadline = Date.now() + 100_000;
  while (Date.now() < deadline) {
    if (launcher.exitCode !== null) throw new Error(`the launcher exited (${launcher.exitCode}): ${stderr.slice(-2_000)}`);
    const [health, ready] = await Promise.all([status(`${api}/health`), status(`${api}/ready`)]);
    if (health === 200 && ready !== 200) healthFirst = true;
    if (ready === 200) {
      atReady = { tokensWritten: existsSync(path.join(clone, '.data', 'demo-tokens.json')), bannerPrinted: stdout.includes('iap-engine is up'), healthFirst };
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!atReady) throw new Error(`the stack did not become ready: ${stderr.slice(-2_000)}`);
}, 120_000);

afterAll(async () => {
  if (launcher && launcher.exitCode === null) {
    const exited = new Promise((r) => launcher.once('exit', r));
    launcher.kill('SIGINT');
    const timer = setTimeout(() => launcher.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  if (!clone) return;
  // The cluster kept out of the folder (see infra/src/postgres.ts) goes with it.
  const pgDir = path.join(clone, '.data', 'pg');
  if ((await lstat(pgDir).catch(() => null))?.isSymbolicLink()) await rm(await readlink(pgDir), { recursive: true, force: true });
  await rm(clone, { recursive: true, force: true });
}, 60_000);

/** Runs shell commands as a user would paste them, from the clone. */
function sh(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: clone, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The fenced `sh` blocks of one README section (from its heading to the next of the same level). */
function readmeBlocks(heading: string): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('the first hour', () => {
  it('starts from a folder of mode 0700 (as root, the postgres user cannot enter it)', async () => {
    expect((await stat(clone)).mode & 0o777).toBe(0o700);
    expect(await status(`${api}/ready`)).toBe(200);
  });

  it('answers /ready with 200 only once the demo tokens are written and the banner printed; /live and /health apart', async () => {
    expect(atReady).toEqual({ tokensWritten: true, bannerPrinted: true, healthFirst: expect.any(Boolean) });
    expect(await status(`${api}/live`)).toBe(200);
    expect(await status(`${api}/health`)).toBe(200);
  });

  it("runs the banner's Try commands as printed", () => {
    const lines = stdout.split('\n');
    const from = lines.findIndex((l) => l.startsWith('Try'));
    expect(from).toBeGreaterThan(0);
    const block = lines.slice(from + 1, lines.indexOf('', from));
    expect(block.join('\n')).not.toMatch(/\$[A-Z_]+_TOKEN/);
    const r = sh(block.map((l) => l.replace(/^ {2}/, '')).join('\n'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"status":"draft"');
    expect(r.stdout).toMatch(/api\s+up/);
  });

  it("runs the README's First steps as written", () => {
    const blocks = readmeBlocks('## First steps');
    expect(blocks).toHaveLength(1);
    const r = sh(blocks[0]!.replaceAll('http://127.0.0.1:3000', api));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"status":"ok"'); // /ready
    expect(r.stdout).toContain('"status":"draft"'); // the plan
  });

  it("runs the README's Operator CLI examples as written", () => {
    const blocks = readmeBlocks('## Operator CLI');
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const r = sh(block);
      expect(r.status, `${block}\n${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
    }
  });

  it("gives the README's Quick start exactly its two commands, and mentions no CLI call that does not exist", () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## First steps'));
    expect([...quick.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim())).toEqual(['./infra/up', './infra/test']);
    expect(readme).not.toContain('pnpm iap');
  });
});
