// A one-line progress report on stderr for long runs (whole-log verify, replays, exports): count of
// total, rate and ETA. Redrawn in place on a terminal; a plain line every few seconds otherwise (logs).

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "verify 12,000/50,000 (24.0%) 3,100/s ETA 12s" */
export function formatProgress(label: string, done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const pct = total > 0 ? ` (${((done / total) * 100).toFixed(1)}%)` : '';
  const eta = total > 0 && rate > 0 ? ` ETA ${formatDuration((total - done) / rate)}` : '';
  return `${label} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}${pct} ${Math.round(rate).toLocaleString('en-US')}/s${eta}`;
}

export interface Progress {
  (done: number, total: number): void;
  /** Prints the final line (and a newline on a terminal). */
  finish(): void;
}

export function progressLine(label: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream; now?: () => number } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? Date.now;
  const t0 = now();
  const tty = stream.isTTY === true;
  let last = 0;
  let latest: [number, number] = [0, 0];
  const draw = (force: boolean) => {
    const t = now();
    if (opts.quiet || (!force && t - last < (tty ? 200 : 5_000))) return;
    last = t;
    const line = formatProgress(label, latest[0], latest[1], t - t0);
    stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
  const p = ((done: number, total: number) => {
    latest = [done, total];
    draw(false);
  }) as Progress;
  p.finish = () => {
    draw(true);
    if (tty && !opts.quiet) stream.write('\n');
  };
  return p;
}
