// What the CLI's commands share: the installation's settings (as main.ts reads them) and a progress line.

import { loadConfig } from '@iap/runtime';
import { REPO_ROOT } from '@iap/infra';

export const config = loadConfig(process.env, REPO_ROOT);

/** The embedded dev database when DATABASE_URL is not set (the launcher's default). */
export function databaseUrl(): string {
  return config.databaseUrl ?? `postgres://postgres:iap-dev@127.0.0.1:${config.embeddedPgPort}/iap`;
}

/**
 * A progress bar on one stderr line (redrawn at most every 100 ms), with a rate: "[#####-----] 50% 1,000/2,000
 * events 812/s". Nothing is drawn when stderr is not a terminal, except the final line.
 */
export function progressLine(label: string, unit: string) {
  const t0 = Date.now();
  let last = 0;
  const tty = process.stderr.isTTY;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const render = (done: number, total: number, extra = '') => {
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const bar = '#'.repeat(Math.round(share * 24)).padEnd(24, '-');
    const secs = Math.max(0.001, (Date.now() - t0) / 1000);
    return `${label} [${bar}] ${String(Math.round(share * 100)).padStart(3)}% ${fmt(done)}/${fmt(total)} ${unit} ${fmt(Math.round(done / secs))} ${unit}/s${extra ? ` ${extra}` : ''}`;
  };
  return {
    update(done: number, total: number, extra?: string) {
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      process.stderr.write(`\r${render(done, total, extra)}\x1b[K`);
    },
    done(done: number, total: number, extra?: string) {
      process.stderr.write(`${tty ? '\r' : ''}${render(done, total, extra)}\x1b[K\n`);
    },
  };
}
