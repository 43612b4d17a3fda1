// Structured logs: pino, one JSON object per line, with the component's name on every line. Logs carry ids,
// types and codes, never a plan's free text (it can be health and family data): errors are logged through
// a serializer that keeps their kind and code and drops what may quote the data (a database error's
// detail, where, parameters and message; see logSafeError).

import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** A database error from node-postgres: a SQLSTATE code and a severity. */
function isDatabaseError(e: Record<string, unknown>): boolean {
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string';
}

/**
 * An error as a log may hold it: name, message, code and stack, and its cause the same way. A database
 * error's message and stack can quote the value it refused ("invalid input syntax for type date: ..."), its
 * detail, where and the query's parameters do: only its SQLSTATE and the names of the constraint, table and
 * column it concerns are kept.
 */
export function logSafeError(err: unknown, depth = 0): unknown {
  // A string is a message the code made itself (e.g. a refusal's, String(err) in workflow logs): kept.
  if (err === null || typeof err !== 'object') return err;
  const e = err as Record<string, unknown>;
  if (depth > 5) return { type: String(e.name ?? 'Error') };
  const out: Record<string, unknown> = { type: typeof e.name === 'string' ? e.name : (e.constructor as { name?: string } | undefined)?.name ?? 'Error' };
  if (isDatabaseError(e)) {
    out.message = `database error ${String(e.code)}`;
    for (const k of ['code', 'constraint', 'table', 'column', 'schema', 'routine'] as const) if (typeof e[k] === 'string') out[k] = e[k];
  } else {
    if (typeof e.message === 'string') out.message = e.message;
    if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
    if (typeof e.type === 'string') out.failureType = e.type;
    if (typeof e.nonRetryable === 'boolean') out.nonRetryable = e.nonRetryable;
    if (typeof e.stack === 'string') out.stack = e.stack;
  }
  if (e.cause !== undefined && e.cause !== err) out.cause = logSafeError(e.cause, depth + 1);
  return out;
}

/** Options every logger of the engine is made with: the error serializers and the redactions. */
export const LOG_OPTIONS: Pick<LoggerOptions, 'serializers' | 'redact'> = {
  serializers: { err: logSafeError, error: logSafeError, cause: logSafeError, failure: logSafeError },
  // What a database error or a query carries if it is logged other than as an error.
  redact: { paths: ['detail', 'where', 'parameters', '*.detail', '*.where', '*.parameters', '*.params'], remove: true },
};

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = { name, level, base: { component: name, pid: process.pid }, ...LOG_OPTIONS };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
