// Given / when / then for deciders: given past events, when a command, then these events or this error.
// Pure and framework-free (it throws plain Errors), so any test runner can use it and the package stays
// free of test dependencies. Methods are not named `then`: an object with `then` is a thenable, and a test
// returning it would be awaited by the runner.

import { isDomainError, type DomainError } from '../errors.js';

export interface Decider<C, E, S, Ctx> {
  decide(command: C, state: S, ctx: Ctx): E[];
  evolve(state: S, event: E, meta: { readonly occurredAt: string; readonly version: number }): S;
  initialState(): S;
}

/** A past event with the instant it was recorded at, for rules that read event times. */
export interface At<E> {
  readonly event: E;
  readonly occurredAt: string;
}

export interface Outcome<E, S> {
  /** The events decided; throws what the decider threw, if it refused. */
  events(): E[];
  /** Asserts the decided events deep-equal `expected`; returns them. */
  thenEvents(expected: readonly E[]): E[];
  /** Asserts the decider refused with a DomainError of this code (and field, when given); returns it. */
  thenThrows(code: string, field?: string): DomainError;
  /** The state after the given events and the decided ones. */
  thenState(): S;
}

export interface Given<C, E, S, Ctx> {
  readonly state: S;
  when(command: C, ctx: Ctx): Outcome<E, S>;
}

export const DEFAULT_SPEC_TIME = '2025-09-01T08:00:00.000Z';

export function spec<C, E, S, Ctx>(decider: Decider<C, E, S, Ctx>, options: { readonly at?: string } = {}) {
  const defaultAt = options.at ?? DEFAULT_SPEC_TIME;
  return {
    given(history: readonly (E | At<E>)[] = []): Given<C, E, S, Ctx> {
      let state = decider.initialState();
      let version = 0;
      const apply = (event: E, occurredAt: string): void => {
        version += 1;
        state = decider.evolve(state, event, { occurredAt, version });
      };
      for (const h of history) {
        if (isAt(h)) apply(h.event, h.occurredAt);
        else apply(h, defaultAt);
      }
      const givenState = state;
      const givenVersion = version;
      return {
        state: givenState,
        when(command: C, ctx: Ctx): Outcome<E, S> {
          let decided: E[] | undefined;
          let failure: unknown;
          try {
            decided = decider.decide(command, givenState, ctx);
          } catch (e) {
            failure = e;
          }
          const events = (): E[] => {
            if (decided === undefined) throw failure;
            return decided;
          };
          return {
            events,
            thenEvents(expected) {
              const actual = events();
              if (!deepEqual(actual, expected)) {
                throw new Error(`expected events\n${show(expected)}\nbut got\n${show(actual)}`);
              }
              return actual;
            },
            thenThrows(code, field) {
              if (decided !== undefined) throw new Error(`expected error ${code} but got events\n${show(decided)}`);
              if (!isDomainError(failure)) throw failure;
              if (failure.code !== code) {
                throw new Error(`expected error ${code} but got ${failure.code}: ${failure.message}`);
              }
              if (field !== undefined && failure.field !== field) {
                throw new Error(`expected error ${code} on ${field} but it was on ${String(failure.field)}`);
              }
              return failure;
            },
            thenState() {
              const occurredAt = readNow(ctx) ?? defaultAt;
              let s = givenState;
              let v = givenVersion;
              for (const e of events()) s = decider.evolve(s, e, { occurredAt, version: ++v });
              return s;
            },
          };
        },
      };
    },
  };
}

const isAt = <E>(h: E | At<E>): h is At<E> =>
  typeof h === 'object' && h !== null && 'event' in h && 'occurredAt' in h && !('type' in h);

const readNow = (ctx: unknown): string | undefined =>
  typeof ctx === 'object' && ctx !== null && typeof (ctx as { now?: unknown }).now === 'string'
    ? (ctx as { now: string }).now
    : undefined;

const show = (v: unknown): string => JSON.stringify(v, null, 2);

/** Structural equality of JSON-like values; a key holding `undefined` counts as absent, as in JSON. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!deepEqual(ra[k], rb[k])) return false;
  return true;
}
