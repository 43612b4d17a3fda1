// What the README promises about starting and configuring the stack, checked against the code it describes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DOMAIN_CONFIG } from '@iap/domain';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './temporal-server.js';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const section = (text: string, heading: string) => {
  const start = text.indexOf(`\n${heading}\n`);
  const level = heading.split(' ')[0]!;
  const end = text.indexOf(`\n${level} `, start + heading.length + 2);
  return text.slice(start, end < 0 ? undefined : end);
};

describe('the README', () => {
  it('documents every field of IAP_DOMAIN_CONFIG with its default, and that a plan keeps the configuration it was created with', () => {
    const rules = section(read('README.md'), "### The programme's rules (`IAP_DOMAIN_CONFIG`)");
    for (const [field, value] of Object.entries(DEFAULT_DOMAIN_CONFIG)) {
      expect(rules, field).toContain(`| \`${field}\` | \`${JSON.stringify(value)}\` |`);
    }
    expect(rules).toContain('each plan keeps the\nconfiguration it was created with');
    // The example of ending a semester early is one the API accepts.
    const example = /IAP_DOMAIN_CONFIG='([^']+)' \.\/infra\/up/.exec(rules);
    expect(Object.keys(JSON.parse(example![1]!))).toEqual(['semesterEndInstants']);
  });
});

describe('the bootstrap', () => {
  it('installs for ./infra/up only what running the stack needs: schemathesis is the test command’s', () => {
    expect(read('infra/up')).toContain('bootstrap.sh');
    expect(read('infra/bootstrap.sh')).not.toMatch(/schemathesis/i);
    expect(read('infra/test')).toMatch(/pip install .*schemathesis==/);
    // CI runs exactly the README's test command.
    expect(read('.ci/run').trim().split('\n').at(-1)).toBe('./infra/test');
  });
});
