import { describe, expect, it } from 'vitest';
import { isSemester, nextSemester, parseSemester, schoolYearOf, semesterOf } from './semester.js';

describe('semester', () => {
  it('parses "2025/26-1" and refuses years that do not follow', () => {
    expect(parseSemester('2025/26-1')).toEqual({ startYear: 2025, term: 1 });
    expect(parseSemester('2099/00-2')).toEqual({ startYear: 2099, term: 2 });
    expect(isSemester('2025/27-1')).toBe(false);
    expect(isSemester('2025/26-3')).toBe(false);
    expect(isSemester('2025-26-1')).toBe(false);
  });

  it('steps to the next semester across school years', () => {
    expect(nextSemester('2025/26-1')).toBe('2025/26-2');
    expect(nextSemester('2025/26-2')).toBe('2026/27-1');
    expect(schoolYearOf('2025/26-2')).toBe('2025/26');
  });

  it('names the semester an instant falls in', () => {
    expect(semesterOf('2026-11-23T10:00:00.000Z')).toBe('2026/27-1');
    expect(semesterOf('2027-02-01T10:00:00.000Z')).toBe('2026/27-2');
    expect(semesterOf('2099-09-01T00:00:00.000Z')).toBe('2099/00-1');
  });
});
