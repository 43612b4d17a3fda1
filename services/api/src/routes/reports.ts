// The programme's reports (GET /reports/:report), in JSON or CSV, filtered by school year, semester,
// municipality, school or partner, and cut to what the caller's role may see. They read the async report
// tables, so each names the event-log position it reflects.

import { REPORT_NAMES, REPORTS, runReport, SCOPE_ALL, toCsv, type Database, type ReportFilter, type ReportScope } from '@iap/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { RequestActor } from '../plugins/auth.js';
import { HttpProblem, problemResponses } from '../problem.js';
import { ReportListSchema, ReportParams, ReportQuery, ReportSchema } from '../schemas/reports.js';

export interface ReportRoutesOptions {
  readonly db: Kysely<Database>;
}

/** Schools see their own figures, a coordinator the municipality's, finance its partner's; IKVD and auditors all. */
export function reportScope(actor: RequestActor): ReportScope {
  const missing = (what: string) => new HttpProblem(403, 'forbidden', `a ${actor.role} token must name its ${what} to read reports`);
  switch (actor.role) {
    case 'preparer':
    case 'school_director':
      if (!actor.schoolId) throw missing('school');
      return { kind: 'school', schoolId: actor.schoolId };
    case 'municipality_coordinator':
      if (!actor.municipalityId) throw missing('municipality');
      return { kind: 'municipality', municipalityId: actor.municipalityId };
    case 'finance':
      if (!actor.partnerId) throw missing('partner');
      return { kind: 'partner', partnerId: actor.partnerId };
    case 'national_coordinator':
    case 'auditor':
      return SCOPE_ALL;
    case 'system':
      throw new HttpProblem(403, 'forbidden', 'the system role reads no reports');
  }
}

const wantsCsv = (format: string | undefined, accept: string | undefined): boolean =>
  format === 'csv' || (format === undefined && /\btext\/csv\b/.test(accept ?? '') && !/\bapplication\/json\b/.test(accept ?? ''));

export const reportRoutes: FastifyPluginAsyncTypebox<ReportRoutesOptions> = async (app, { db }) => {
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/reports',
    {
      schema: {
        tags: ['reports'],
        summary: 'The reports there are, with their columns',
        security: [{ bearerAuth: [] }],
        response: { 200: ReportListSchema, ...problemResponses(401) },
      },
    },
    async () => ({
      reports: REPORT_NAMES.map((name) => ({
        name,
        title: REPORTS[name].title,
        description: REPORTS[name].description,
        columns: [...REPORTS[name].columns],
        href: `/reports/${name}`,
      })),
    }),
  );

  app.get(
    '/reports/:report',
    {
      schema: {
        tags: ['reports'],
        summary: 'One of the programme’s reports, in JSON or CSV (format=csv or Accept: text/csv)',
        description:
          'Filters combine (AND). The caller’s role cuts the report to its own school, municipality or partner; national ' +
          'coordinators and auditors see everything. Figures come from the async report projection: `position` names the ' +
          'event-log point they reflect (the CSV carries it in the X-Event-Log-Position header).',
        security: [{ bearerAuth: [] }],
        params: ReportParams,
        querystring: ReportQuery,
        response: {
          200: {
            description: 'the report',
            content: { 'application/json': { schema: ReportSchema }, 'text/csv': { schema: { type: 'string' } } },
          },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const scope = reportScope(request.actor);
      const { format, ...filters } = request.query;
      const filter: ReportFilter = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
      const result = await runReport(db, request.params.report, filter, scope);
      reply.header('x-event-log-position', `${result.position.transactionId}/${result.position.globalPosition}`);
      if (wantsCsv(format, request.headers.accept)) {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${result.report}.csv"`)
          .send(toCsv(result.columns, result.rows));
      }
      return reply.type('application/json; charset=utf-8').send(result);
    },
  );
};
