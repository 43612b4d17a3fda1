// Tunable rules of the programme. Where the public documents fix no number (domain.md: "assumed"), the
// default lives here so a deployment can change it without touching the decider.

import { type DateRange, type Instant, type LocalDate, addDays, isLocalDate, startOf } from './dates.js';
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
};

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
