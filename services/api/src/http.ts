// Helpers for request headers and list paging that every route group shares.

import { sql, type RawBuilder } from 'kysely';
import { HttpProblem } from './problem.js';

/** If-Match: "7" (or 7) → 7; `*` or absent → no version check. The header schema has already checked the form. */
export function expectedVersionOf(ifMatch: string | undefined): number | null {
  if (ifMatch === undefined || ifMatch === '*') return null;
  const n = Number(ifMatch.replaceAll('"', ''));
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new HttpProblem(400, 'validation', 'If-Match must be a version as its ETag, e.g. "7"', { field: 'headers.if-match' });
  }
  return n;
}

export interface Cursor {
  /** created_at to the microsecond, UTC. */
  readonly t: string;
  readonly id: string;
}

const CURSOR_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const CURSOR_ID_RE = /^[A-Za-z0-9._:-]{1,160}$/;

export const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify([c.t, c.id])).toString('base64url');

export function decodeCursor(s: string): Cursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    // A tampered cursor must be a 400, not a Postgres error: the time must be a real one, the id plain.
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      const [t, id] = v as [string, string];
      const real = CURSOR_TIME_RE.test(t) && !Number.isNaN(Date.parse(t)) && new Date(Date.parse(t)).toISOString().slice(0, 19) === t.slice(0, 19);
      if (real && CURSOR_ID_RE.test(id)) return { t, id };
    }
  } catch {
    // fall through
  }
  throw new HttpProblem(400, 'validation', 'cursor is not one this API gave out', { field: 'querystring.cursor' });
}

export function pageSize(limit: string | undefined): number {
  if (limit === undefined) return 50;
  const n = Number(limit);
  if (n < 1 || n > 200) throw new HttpProblem(400, 'validation', 'limit must be between 1 and 200', { field: 'querystring.limit' });
  return n;
}

/**
 * A timestamp column as exact text, to the microsecond, for a keyset cursor: a JS Date would drop the
 * microseconds and the next page would skip or repeat rows.
 */
export const exactTime = (column: string): RawBuilder<string> =>
  sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Splits `limit + 1` rows read into the page to send and the cursor after it (null on the last page). */
export function splitPage<R>(rows: readonly R[], limit: number, cursorOf: (r: R) => Cursor): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null };
}
