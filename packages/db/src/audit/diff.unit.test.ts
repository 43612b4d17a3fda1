// The state diff: changed, added and removed paths, through nested objects and arrays.
import { describe, expect, it } from 'vitest';
import { diffJson } from './diff.js';

describe('diffJson', () => {
  it('is empty for equal values, whatever the key order', () => {
    expect(diffJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toEqual([]);
  });

  it('names changed, added and removed paths', () => {
    const before = { status: 'draft', version: 2, approvals: [{ level: 'school' }], consent: null, gone: 1 };
    const after = { status: 'approved', version: 5, approvals: [{ level: 'school' }, { level: 'national' }], consent: { by: 'parent' } };
    expect(diffJson(before, after)).toEqual([
      { path: '/approvals/1', kind: 'added', after: { level: 'national' } },
      { path: '/consent', kind: 'changed', before: null, after: { by: 'parent' } },
      { path: '/gone', kind: 'removed', before: 1 },
      { path: '/status', kind: 'changed', before: 'draft', after: 'approved' },
      { path: '/version', kind: 'changed', before: 2, after: 5 },
    ]);
  });

  it('escapes keys that hold a slash', () => {
    expect(diffJson({ 'a/b': 1 }, { 'a/b': 2 })).toEqual([{ path: '/a~1b', kind: 'changed', before: 1, after: 2 }]);
  });
});
