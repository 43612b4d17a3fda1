// What a report is asked for (period and place) and what the caller may see (role scope), both turned
// into one WHERE clause over the report tables' shared scope columns.

import { sql, type RawBuilder } from 'kysely';

export interface ReportFilter {
  /** "2019/20" */
  readonly schoolYear?: string;
  /** "2019/20-1" */
  readonly semester?: string;
  readonly municipality?: string;
  readonly school?: string;
  readonly partner?: string;
}

/** The part of the programme the caller may see: one school, municipality or partner, or all of it. */
export type ReportScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'school'; readonly schoolId: string }
  | { readonly kind: 'municipality'; readonly municipalityId: string }
  | { readonly kind: 'partner'; readonly partnerId: string };

export const SCOPE_ALL: ReportScope = { kind: 'all' };

/** `where …` for a report table (optionally through an alias), ANDed with any extra conditions. */
export function whereClause(f: ReportFilter, scope: ReportScope, extra: readonly RawBuilder<unknown>[] = [], alias?: string): RawBuilder<unknown> {
  const col = (c: string) => (alias ? sql.ref(`${alias}.${c}`) : sql.ref(c));
  const c: RawBuilder<unknown>[] = [...extra];
  if (f.schoolYear !== undefined) c.push(sql`${col('school_year')} = ${f.schoolYear}`);
  if (f.semester !== undefined) c.push(sql`${col('semester')} = ${f.semester}`);
  if (f.municipality !== undefined) c.push(sql`${col('municipality_id')} = ${f.municipality}`);
  if (f.school !== undefined) c.push(sql`${col('school_id')} = ${f.school}`);
  if (f.partner !== undefined) c.push(sql`${col('partner_id')} = ${f.partner}`);
  switch (scope.kind) {
    case 'all':
      break;
    case 'school':
      c.push(sql`${col('school_id')} = ${scope.schoolId}`);
      break;
    case 'municipality':
      c.push(sql`${col('municipality_id')} = ${scope.municipalityId}`);
      break;
    case 'partner':
      c.push(sql`${col('partner_id')} = ${scope.partnerId}`);
      break;
  }
  return c.length === 0 ? sql`` : sql`where ${sql.join(c, sql` and `)}`;
}
