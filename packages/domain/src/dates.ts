// Calendar dates ("2025-09-01") and instants ("2025-09-01T08:00:00Z") as plain strings, with the little
// arithmetic the rules need. Calendar days are UTC days: the domain never reads a clock or a time zone.

/** A calendar date, "YYYY-MM-DD". */
export type LocalDate = string;
/** An ISO-8601 instant, e.g. "2025-09-01T08:00:00.000Z". */
export type Instant = string;

const DAY_MS = 86_400_000;
const dateRe = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date: "2025-02-30" is refused, not rolled over into March. */
export function isLocalDate(s: unknown): s is LocalDate {
  if (typeof s !== 'string') return false;
  const m = dateRe.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** True for a string with a date, a time and an offset that Date.parse understands. */
export function isInstant(s: unknown): s is Instant {
  return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s) && !Number.isNaN(Date.parse(s));
}

function ms(instant: Instant): number {
  const t = Date.parse(instant);
  if (Number.isNaN(t)) throw new Error(`not an instant: ${instant}`);
  return t;
}

/** The UTC calendar day an instant falls on. */
export const dateOf = (instant: Instant): LocalDate => new Date(ms(instant)).toISOString().slice(0, 10);

/** Midnight UTC at the start of a calendar day. */
export const startOf = (date: LocalDate): Instant => `${date}T00:00:00.000Z`;

export const addDays = (date: LocalDate, days: number): LocalDate =>
  new Date(ms(startOf(date)) + days * DAY_MS).toISOString().slice(0, 10);

export const addDaysToInstant = (instant: Instant, days: number): Instant =>
  new Date(ms(instant) + days * DAY_MS).toISOString();

/** Compares two instants by the moment they name, whatever their offsets. */
export const compareInstants = (a: Instant, b: Instant): number => ms(a) - ms(b);

/** Dates in "YYYY-MM-DD" compare correctly as strings. */
export const compareDates = (a: LocalDate, b: LocalDate): number => (a < b ? -1 : a > b ? 1 : 0);

export interface DateRange {
  /** First day, inclusive. */
  readonly from: LocalDate;
  /** Last day, inclusive. */
  readonly to: LocalDate;
}

export const inRange = (date: LocalDate, r: DateRange): boolean => date >= r.from && date <= r.to;
