import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_CONFIG, isPlausibleDate, isValidSemester } from './config.js';
import { textFault } from './text.js';

const config = DEFAULT_DOMAIN_CONFIG;

describe("the programme's semesters and dates", () => {
  it('accepts the semesters of the school years the programme runs, and no other', () => {
    expect(isValidSemester('2017/18-1', config)).toBe(true);
    expect(isValidSemester('2039/40-2', config)).toBe(true);
    expect(isValidSemester('2099/00-1', config)).toBe(false); // YY follows, but out of range
    for (const bad of ['0000/01-1', '9999/00-1', '1900/01-1', '2016/17-2', '2040/41-1', '2025/27-1', '2025/26-3', '2025/26-0', ' 2025/26-1', 2025]) {
      expect(isValidSemester(bad, config), String(bad)).toBe(false);
    }
  });

  it('follows the configured years', () => {
    const later = { ...config, programmeYears: { first: 2024, last: 2029 } };
    expect(isValidSemester('2023/24-2', later)).toBe(false);
    expect(isValidSemester('2029/30-2', later)).toBe(true);
    expect(isPlausibleDate('1994-01-01', later)).toBe(true);
    expect(isPlausibleDate('1993-12-31', later)).toBe(false);
    expect(isPlausibleDate('2030-12-31', later)).toBe(true);
    expect(isPlausibleDate('2031-01-01', later)).toBe(false);
  });

  it('takes calendar dates from 30 years before the first school year to the end of the last', () => {
    expect(isPlausibleDate('1987-01-01', config)).toBe(true);
    expect(isPlausibleDate('2040-12-31', config)).toBe(true);
    for (const bad of ['0000-01-01', '9999-12-31', '1986-12-31', '2041-01-01', '2025-02-29', '2025-13-01', '2025-9-1', null]) {
      expect(isPlausibleDate(bad, config), String(bad)).toBe(false);
    }
  });
});

describe('free text', () => {
  it('refuses lone surrogates, control and bidi characters, and keeps real characters', () => {
    expect(textFault('Bērziņa 😀 日本', false)).toBeNull();
    expect(textFault('line 1\nline 2\tx\r', true)).toBeNull();
    expect(textFault('line 1\nline 2', false)).toBe('control_character');
    expect(textFault('a\ud800', true)).toBe('lone_surrogate');
    expect(textFault('\udc00b', true)).toBe('lone_surrogate');
    expect(textFault('\ud83d\ud83d', true)).toBe('lone_surrogate');
    expect(textFault('a\u0000', true)).toBe('control_character');
    expect(textFault('a\u0085', true)).toBe('control_character');
    expect(textFault('a\u007f', true)).toBe('control_character');
    for (const c of ['\u202e', '\u202a', '\u2066', '\u2069', '\u200e', '\u200f', '\u061c']) expect(textFault(`x${c}y`, true)).toBe('bidi_control');
  });
});
