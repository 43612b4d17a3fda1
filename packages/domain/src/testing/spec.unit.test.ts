import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.js';
import { deepEqual, spec } from './spec.js';

type Cmd = { type: 'Add'; n: number };
type Evt = { type: 'Added'; n: number };
const counter = {
  initialState: () => ({ total: 0, version: 0 }),
  evolve: (s: { total: number; version: number }, e: Evt, m: { version: number }) => ({ total: s.total + e.n, version: m.version }),
  decide: (c: Cmd, s: { total: number }, _ctx: { now: string }): Evt[] => {
    if (c.n <= 0) throw new DomainError('counter.not_positive', 'rule', 'positive only', 'n');
    if (s.total + c.n > 10) throw new Error('boom');
    return [{ type: 'Added', n: c.n }];
  },
};
const ctx = { now: '2025-01-01T00:00:00.000Z' };

describe('spec helper', () => {
  it('folds the given events and checks the decided ones', () => {
    const given = spec(counter).given([{ type: 'Added', n: 2 }, { event: { type: 'Added', n: 3 }, occurredAt: 'x' }]);
    expect(given.state).toEqual({ total: 5, version: 2 });
    expect(given.when({ type: 'Add', n: 1 }, ctx).thenEvents([{ type: 'Added', n: 1 }])).toHaveLength(1);
    expect(given.when({ type: 'Add', n: 1 }, ctx).thenState()).toEqual({ total: 6, version: 3 });
    expect(() => given.when({ type: 'Add', n: 1 }, ctx).thenEvents([{ type: 'Added', n: 2 }])).toThrow(/expected events/);
  });

  it('checks the refusal code and field, and rethrows errors that are not domain errors', () => {
    const given = spec(counter).given([]);
    expect(given.when({ type: 'Add', n: 0 }, ctx).thenThrows('counter.not_positive', 'n').kind).toBe('rule');
    expect(() => given.when({ type: 'Add', n: 0 }, ctx).thenThrows('counter.other')).toThrow(/expected error counter.other/);
    expect(() => given.when({ type: 'Add', n: 0 }, ctx).thenThrows('counter.not_positive', 'm')).toThrow(/on m/);
    expect(() => given.when({ type: 'Add', n: 1 }, ctx).thenThrows('x')).toThrow(/but got events/);
    expect(() => given.when({ type: 'Add', n: 11 }, ctx).thenThrows('x')).toThrow('boom');
  });

  it('compares like JSON: undefined keys are absent', () => {
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual([1, { a: [2] }], [1, { a: [2] }])).toBe(true);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
  });
});
