import { describe, expect, it } from 'vitest';
import { isDomainError } from '../errors.js';
import { decideBudget, evolveBudget, initialBudgetState, type BudgetContext } from './index.js';

const ctx = (role: BudgetContext['actor']['role']): BudgetContext => ({
  now: '2025-09-01T00:00:00.000Z',
  actor: { id: 'u', role },
  partnerId: 'muni-a',
  semester: '2025/26-1',
});
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isDomainError(e) ? e.code : String(e);
  }
  return 'accepted';
};

describe('budget decider', () => {
  it('lets finance or the national coordinator allocate a budget', () => {
    const [e] = decideBudget({ type: 'SetBudget', data: { allocatedCents: 500_000 } }, initialBudgetState(), ctx('finance'));
    expect(e).toEqual({ type: 'BudgetAllocated', data: { partnerId: 'muni-a', semester: '2025/26-1', allocatedCents: 500_000, note: null, by: 'u' } });
    expect(evolveBudget(initialBudgetState(), e!, { occurredAt: 'T', version: 1 })).toMatchObject({ status: 'allocated', allocatedCents: 500_000 });
    expect(code(() => decideBudget({ type: 'SetBudget', data: { allocatedCents: 1 } }, initialBudgetState(), ctx('national_coordinator')))).toBe('accepted');
  });

  it('refuses other roles, negative or fractional amounts, and decide nothing for the amount it already has', () => {
    expect(code(() => decideBudget({ type: 'SetBudget', data: { allocatedCents: 1 } }, initialBudgetState(), ctx('preparer')))).toBe('budget.forbidden_role');
    expect(code(() => decideBudget({ type: 'SetBudget', data: { allocatedCents: -1 } }, initialBudgetState(), ctx('finance')))).toBe('budget.amount_invalid');
    expect(code(() => decideBudget({ type: 'SetBudget', data: { allocatedCents: 1.5 } }, initialBudgetState(), ctx('finance')))).toBe('budget.amount_invalid');
    const s = evolveBudget(initialBudgetState(), decideBudget({ type: 'SetBudget', data: { allocatedCents: 7 } }, initialBudgetState(), ctx('finance'))[0]!, { occurredAt: 'T', version: 1 });
    expect(decideBudget({ type: 'SetBudget', data: { allocatedCents: 7 } }, s, ctx('finance'))).toEqual([]);
  });
});
