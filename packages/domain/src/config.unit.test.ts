import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_CONFIG, semesterEndDate, semesterRange } from './config.js';
import { addDays, dateOf, isInstant, isLocalDate } from './dates.js';

describe('semester dates', () => {
  it('runs term 1 Sep–Dec of the first year and term 2 Jan–May of the second', () => {
    expect(semesterRange('2025/26-1', DEFAULT_DOMAIN_CONFIG)).toEqual({ from: '2025-09-01', to: '2025-12-31' });
    expect(semesterRange('2025/26-2', DEFAULT_DOMAIN_CONFIG)).toEqual({ from: '2026-01-01', to: '2026-05-31' });
    expect(semesterEndDate('2025/26-2', DEFAULT_DOMAIN_CONFIG)).toBe('2026-06-01');
  });

  it('takes configured dates and per-semester overrides', () => {
    const config = {
      ...DEFAULT_DOMAIN_CONFIG,
      semesterDates: { term1: { from: '09-01', to: '12-20' }, term2: { from: '01-05', to: '06-15' } },
      semesterOverrides: { '2026/27-1': { from: '2026-08-31', to: '2026-12-18' } },
    };
    expect(semesterRange('2025/26-2', config)).toEqual({ from: '2026-01-05', to: '2026-06-15' });
    expect(semesterRange('2026/27-1', config)).toEqual({ from: '2026-08-31', to: '2026-12-18' });
  });
});

describe('dates', () => {
  it('accepts real dates and instants only', () => {
    expect(isLocalDate('2024-02-29')).toBe(true);
    expect(isLocalDate('2025-02-29')).toBe(false);
    expect(isLocalDate('2025-9-1')).toBe(false);
    expect(isInstant('2025-09-01T08:00:00+03:00')).toBe(true);
    expect(isInstant('2025-09-01')).toBe(false);
  });

  it('adds days across months and reads the UTC day of an instant', () => {
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(dateOf('2025-09-01T01:00:00+03:00')).toBe('2025-08-31');
  });
});
