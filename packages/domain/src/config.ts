// Tunable rules of the programme. Where the public documents fix no number (domain.md: "assumed"), the
// default lives here so a deployment can change it without touching the decider.

import { type DateRange, type Instant, type LocalDate, addDays, dateOf, isInstant, isLocalDate, startOf } from './dates.js';
import { type Semester, parseSemester } from './semester.js';

/** A day of the year, "MM-DD". */
export type MonthDay = string;

export interface DomainConfig {
  /** Days after a consent request until the reminder goes out (assumed 7). */
  readonly consentReminderDays: number;
  /** Days after a consent request until it expires unanswered (assumed 14). */
  readonly consentExpiryDays: number;
  /** Days after semester end until the evaluation is overdue (assumed 14). */
  readonly evaluationDueDays: number;
  /** Days after a consultation's date within which the learner must confirm it (1: that day or the next). */
  readonly consultationConfirmationDays: number;
  /** Paid preparation and monitoring hours per plan and semester (assumed 10). */
  readonly preparationHoursPerPlan: number;
  /** Age from which a learner consents for themselves. */
  readonly adultAge: number;
  /** Term 1 runs in the school year's first calendar year, term 2 in the second. */
  readonly semesterDates: { readonly term1: MonthDayRange; readonly term2: MonthDayRange };
  /** Exact dates for particular semesters, when a school year differs from the usual calendar. */
  readonly semesterOverrides: Readonly<Record<Semester, DateRange>>;
  /**
   * The exact instant a semester ends, when it is not midnight after its last day: a national decision
   * to close a semester early, or a test that cannot wait for December.
   */
  readonly semesterEndInstants: Readonly<Record<Semester, Instant>>;
  /** Whether claims on a compensation measure may add up to more than its planned amount. */
  readonly claimsMayExceedPlanned: boolean;
  /**
   * The school years the programme runs, by the calendar year each starts in (2017: "2017/18"). A semester
   * outside them is refused, and so is a date too far before or after them (see isPlausibleDate).
   */
  readonly programmeYears: { readonly first: number; readonly last: number };
}

export interface MonthDayRange {
  readonly from: MonthDay;
  readonly to: MonthDay;
}

export const DEFAULT_DOMAIN_CONFIG: DomainConfig = {
  consentReminderDays: 7,
  consentExpiryDays: 14,
  evaluationDueDays: 14,
  consultationConfirmationDays: 1,
  preparationHoursPerPlan: 10,
  adultAge: 18,
  semesterDates: {
    term1: { from: '09-01', to: '12-31' },
    term2: { from: '01-01', to: '05-31' },
  },
  semesterOverrides: {},
  semesterEndInstants: {},
  claimsMayExceedPlanned: false,
  programmeYears: { first: 2017, last: 2039 },
};

/**
 * How many years before the programme's first school year a date may lie: a birth date (a learner in a
 * vocational course may be an adult) or an old document. Later than the year after its last school year,
 * no date belongs to the programme.
 */
export const YEARS_BEFORE_PROGRAMME = 30;

/** A semester "YYYY/YY-N" whose two years follow each other, of a school year the programme runs. */
export function isValidSemester(s: unknown, config: DomainConfig): s is Semester {
  if (typeof s !== 'string') return false;
  const p = parseSemester(s);
  return p !== null && p.startYear >= config.programmeYears.first && p.startYear <= config.programmeYears.last;
}

/**
 * A real calendar date "YYYY-MM-DD" that can belong to the programme: from 1 January, YEARS_BEFORE_PROGRAMME
 * years before its first school year (birth dates), to 31 December of the calendar year its last school
 * year ends in. Rules about a particular date (within the semester, not in the future) come on top.
 */
export function isPlausibleDate(d: unknown, config: DomainConfig): d is LocalDate {
  if (!isLocalDate(d)) return false;
  const year = Number(d.slice(0, 4));
  return year >= config.programmeYears.first - YEARS_BEFORE_PROGRAMME && year <= config.programmeYears.last + 1;
}

/** First and last day of a semester under the given config. */
export function semesterRange(semester: Semester, config: DomainConfig): DateRange {
  const override = config.semesterOverrides[semester];
  if (override) return override;
  const p = parseSemester(semester);
  if (!p) throw new Error(`not a semester: ${semester}`);
  const year = p.term === 1 ? p.startYear : p.startYear + 1;
  const md = p.term === 1 ? config.semesterDates.term1 : config.semesterDates.term2;
  const range = { from: `${year}-${md.from}`, to: `${year}-${md.to}` };
  if (!isLocalDate(range.from) || !isLocalDate(range.to)) throw new Error(`bad semester dates in config: ${md.from}–${md.to}`);
  return range;
}

/** The day after a semester's last day: when the workflow's semester-end timer fires. */
export function semesterEndDate(semester: Semester, config: DomainConfig): LocalDate {
  return addDays(semesterRange(semester, config).to, 1);
}

/** The instant a semester ends: the override if there is one, else midnight (UTC) after its last day. */
export function semesterEndsAt(semester: Semester, config: DomainConfig): Instant {
  return config.semesterEndInstants[semester] ?? startOf(semesterEndDate(semester, config));
}

/** An RFC 3339 instant ("2026-10-01T12:00:00Z") whose UTC day is a plausible date (isPlausibleDate). */
export function isPlausibleInstant(s: unknown, config: DomainConfig): s is Instant {
  if (!isInstant(s) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(s)) return false;
  return isPlausibleDate(dateOf(s), config) && isPlausibleDate(s.slice(0, 10), config);
}
