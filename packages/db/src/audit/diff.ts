// A structural difference between two JSON values (two states of a plan), as a list of changed paths:
// what an auditor reads to see what happened to a plan between two instants.

export interface Change {
  /** JSON-pointer-like path, e.g. "/approvals/1/level"; "" for the root. */
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const escape = (k: string) => k.replaceAll('~', '~0').replaceAll('/', '~1');

export function diffJson(before: unknown, after: unknown, path = ''): Change[] {
  if (Object.is(before, after)) return [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: Change[] = [];
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}/${i}`;
      if (i >= before.length) out.push({ path: p, kind: 'added', after: after[i] });
      else if (i >= after.length) out.push({ path: p, kind: 'removed', before: before[i] });
      else out.push(...diffJson(before[i], after[i], p));
    }
    return out;
  }
  if (isObject(before) && isObject(after)) {
    const out: Change[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const k of keys) {
      const p = `${path}/${escape(k)}`;
      const has0 = Object.hasOwn(before, k) && before[k] !== undefined;
      const has1 = Object.hasOwn(after, k) && after[k] !== undefined;
      if (!has0 && has1) out.push({ path: p, kind: 'added', after: after[k] });
      else if (has0 && !has1) out.push({ path: p, kind: 'removed', before: before[k] });
      else if (has0 && has1) out.push(...diffJson(before[k], after[k], p));
    }
    return out;
  }
  return [{ path, kind: 'changed', before, after }];
}
