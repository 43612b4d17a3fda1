// The progress line's arithmetic: rate, percentage and ETA.
import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgress } from './progress.js';

describe('progress line', () => {
  it('shows count of total, rate and the time left at that rate', () => {
    expect(formatProgress('verify', 12_000, 50_000, 4_000)).toBe('verify 12,000/50,000 (24.0%) 3,000/s ETA 13s');
  });

  it('has no ETA before anything is done, nor without a total', () => {
    expect(formatProgress('replay', 0, 10, 0)).toBe('replay 0/10 (0.0%) 0/s');
    expect(formatProgress('export', 5, 0, 1_000)).toBe('export 5/0 5/s');
  });

  it('writes long durations in minutes and hours', () => {
    expect(formatDuration(59.4)).toBe('59s');
    expect(formatDuration(61)).toBe('1m01s');
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe('3h05m');
  });
});
