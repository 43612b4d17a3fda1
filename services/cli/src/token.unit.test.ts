// `iap token` as an operator runs it (the compiled CLI: run `tsc -b` first): each token names its own
// subject unless told, so two tokens never share what the API scopes to a caller (Idempotency-Keys).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@iap/infra';
import { describe, expect, it } from 'vitest';

const token = (args: readonly string[]) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'services', 'cli', 'dist', 'main.js'), 'token', ...args],
      { env: { ...process.env, IAP_JWT_SECRET: 'token-test-secret' } },
      (err, stdout) => {
        if (err) return reject(err);
        resolve(JSON.parse(Buffer.from(stdout.trim().split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>);
      },
    );
  });

describe('iap token', () => {
  it('gives every token its own subject unless --sub is given', { timeout: 60_000 }, async () => {
    const school = ['--role', 'preparer', '--school', 's1', '--municipality', 'm1', '--partner', 'm1', '--partner-type', 'municipality'];
    const [a, b, named] = await Promise.all([token(school), token(school), token([...school, '--sub', 'anna'])]);
    expect(a.sub).toMatch(/^local-preparer-[0-9a-f]{12}$/);
    expect(b.sub).not.toBe(a.sub);
    expect(named.sub).toBe('anna');
    expect(a).toMatchObject({ role: 'preparer', school: 's1', municipality: 'm1', partner: 'm1', partnerType: 'municipality' });
  });
});
