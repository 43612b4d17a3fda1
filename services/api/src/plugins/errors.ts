// Turns every error into application/problem+json. What the caller got wrong is a 4xx naming the field;
// only our own faults are 5xx (and logged as errors), and an unreachable dependency is a 503 with Retry-After.

import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { FORMAT_MESSAGES } from '../formats.js';
import { HttpProblem } from '../problem.js';

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; format?: string; tag?: string };
}

function fieldOf(context: string | undefined, e: AjvError | undefined): string | undefined {
  if (!e) return context;
  const parts = (e.instancePath ?? '').split('/').filter(Boolean);
  if (e.params?.missingProperty) parts.push(e.params.missingProperty);
  if (e.params?.additionalProperty) parts.push(e.params.additionalProperty);
  // A union's discriminator that is missing or names no branch: the fault is that property.
  if (e.keyword === 'discriminator' && e.params?.tag) parts.push(e.params.tag);
  return [context, ...parts].filter(Boolean).join('.');
}

function describe(e: AjvError | undefined, field: string | undefined): string {
  if (!e) return 'the request is not valid';
  if (e.keyword === 'additionalProperties') return `${field} is not a known field`;
  if (e.keyword === 'required') return `${field} is required`;
  const format = e.keyword === 'format' && e.params?.format ? FORMAT_MESSAGES[e.params.format] : undefined;
  if (format) return `${field ?? 'request'} ${format}`;
  return `${field ?? 'request'} ${e.message ?? 'is not valid'}`;
}

/** Postgres down, restarting or refusing connections: the caller should retry, it did nothing wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300'].includes(code) || code.startsWith('08')) return true;
  return typeof e.message === 'string' && /Connection terminated|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i.test(e.message);
}

export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError & { validationContext?: string }, request, reply) => {
    let problem: HttpProblem;
    if (error instanceof HttpProblem) {
      problem = error;
    } else if (error.validation) {
      const first = error.validation[0] as AjvError | undefined;
      const field = fieldOf(error.validationContext, first);
      problem = new HttpProblem(400, 'validation', describe(first, field), field ? { field } : {});
    } else if (isDatabaseUnavailable(error)) {
      problem = new HttpProblem(503, 'unavailable', 'the database is not reachable; retry shortly', { retryAfterSeconds: 5 });
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      const slug = error.code?.startsWith('FST_') ? error.code.toLowerCase().replace(/^fst_err_/, '') : 'bad_request';
      problem = new HttpProblem(error.statusCode, slug, error.message);
    } else {
      request.log.error({ err: error }, 'unhandled error');
      problem = new HttpProblem(500, 'internal', 'an internal error occurred; it has been logged with the request id');
    }
    if (problem.extra.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.extra.retryAfterSeconds));
    if (problem.status >= 500 && problem.status !== 500) request.log.warn({ err: error }, problem.message);
    return reply.code(problem.status).type('application/problem+json').send(problem.toProblem(request.id));
  });

  app.setNotFoundHandler((request, reply) => {
    const route = request.url.split('?')[0]!;
    // A semester (2026/27-1) holds a slash: written as is, it splits the path into one segment too many.
    const semester = /\/(\d{4})\/(\d{2}-[12])(?=\/|$)/.exec(route);
    const hint = semester
      ? `; a semester in a URL has its slash encoded (${semester[1]}%2F${semester[2]}): ${request.method} ${route.replace(semester[0], `/${semester[1]}%2F${semester[2]}`)}`
      : '';
    const p = new HttpProblem(404, 'not_found', `no route ${request.method} ${route}${hint}`, semester ? { field: 'semester' } : {});
    return reply.code(404).type('application/problem+json').send(p.toProblem(request.id));
  });
});
