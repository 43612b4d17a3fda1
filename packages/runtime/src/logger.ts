// Structured logs: pino, one JSON object per line, with the component's name on every line.

import { pino, type Logger } from 'pino';

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { component: name, pid: process.pid } });
}

export type { Logger };
