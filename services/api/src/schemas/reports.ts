// Schemas of the report routes: the filters a report takes, and the report itself (a flat table, the
// same in JSON and CSV) with the parameters it answered and the event-log position it reflects.

import { REPORT_NAMES } from '@iap/db';
import { Type, type Static } from '@sinclair/typebox';
import { Literals, Ref, SchoolYear, Semester } from './common.js';

export const ReportParams = Type.Object({ report: Literals(REPORT_NAMES, 'which report') });

export const ReportQuery = Type.Object(
  {
    schoolYear: Type.Optional(SchoolYear()),
    semester: Type.Optional(Semester('e.g. "2019/20-1"')),
    municipality: Type.Optional(Ref('municipality id')),
    school: Type.Optional(Ref('school id')),
    partner: Type.Optional(Ref('partner id (a municipality or a state vocational school)')),
    format: Type.Optional(Literals(['json', 'csv'] as const, 'csv, or send Accept: text/csv; JSON otherwise')),
  },
  { additionalProperties: false },
);
export type ReportQuery = Static<typeof ReportQuery>;

const Cell = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);

export const ReportSchema = Type.Object(
  {
    report: Type.String(),
    title: Type.String(),
    description: Type.String(),
    parameters: Type.Object(
      {
        schoolYear: Type.Optional(Type.String()),
        semester: Type.Optional(Type.String()),
        municipality: Type.Optional(Type.String()),
        school: Type.Optional(Type.String()),
        partner: Type.Optional(Type.String()),
      },
      { description: 'the filters the report answered' },
    ),
    scope: Type.Object(
      {
        kind: Type.String({ description: 'all, school, municipality or partner: what the caller’s role sees' }),
        schoolId: Type.Optional(Type.String()),
        municipalityId: Type.Optional(Type.String()),
        partnerId: Type.Optional(Type.String()),
      },
    ),
    position: Type.Object(
      {
        transactionId: Type.String(),
        globalPosition: Type.String(),
        eventsApplied: Type.Integer(),
        projectedAt: Type.String({ format: 'date-time' }),
      },
      { description: 'the event-log point the figures reflect: every event up to it in commit order' },
    ),
    generatedAt: Type.String({ format: 'date-time' }),
    columns: Type.Array(Type.String()),
    rows: Type.Array(Type.Record(Type.String(), Cell), { description: 'one object per row; a key column of "all" holds totals' }),
  },
  { $id: 'Report' },
);

export const ReportListSchema = Type.Object({
  reports: Type.Array(
    Type.Object({ name: Type.String(), title: Type.String(), description: Type.String(), columns: Type.Array(Type.String()), href: Type.String() }),
  ),
});
