// A plan lasts one semester. Semesters are named "2025/26-1" (school year 2025/26, first semester).

export type Semester = string;

export const SEMESTER_PATTERN = '^(\\d{4})/(\\d{2})-([12])$';
const semesterRe = new RegExp(SEMESTER_PATTERN);

export interface SemesterParts {
  readonly startYear: number;
  readonly term: 1 | 2;
}

/** Parses "2025/26-1"; returns null when the string is not a semester or its two years do not follow. */
export function parseSemester(s: string): SemesterParts | null {
  const m = semesterRe.exec(s);
  if (!m) return null;
  const startYear = Number(m[1]);
  const endYY = Number(m[2]);
  if ((startYear + 1) % 100 !== endYY) return null;
  return { startYear, term: m[3] === '1' ? 1 : 2 };
}

export const isSemester = (s: string): boolean => parseSemester(s) !== null;

/** The school year a semester belongs to, e.g. "2025/26". */
export function schoolYearOf(s: Semester): string {
  return s.slice(0, 7);
}

/** The next semester: "2025/26-1" → "2025/26-2" → "2026/27-1". */
export function nextSemester(s: Semester): Semester {
  const p = parseSemester(s);
  if (!p) throw new Error(`not a semester: ${s}`);
  if (p.term === 1) return `${s.slice(0, 7)}-2`;
  const y = p.startYear + 1;
  return `${y}/${String((y + 1) % 100).padStart(2, '0')}-1`;
}

/**
 * The semester an instant falls in under the usual calendar: September–December is term 1 of the school
 * year starting that autumn; January–August belongs to term 2 of the year that started the autumn before.
 */
export function semesterOf(instant: string): Semester {
  const year = Number(instant.slice(0, 4));
  const month = Number(instant.slice(5, 7));
  const start = month >= 9 ? year : year - 1;
  return `${start}/${String((start + 1) % 100).padStart(2, '0')}-${month >= 9 ? 1 : 2}`;
}
