// RFC 9457 problem details: every error the API sends is application/problem+json with a stable `type`,
// a human `detail`, and the offending field when there is one.

import { Type, type Static } from '@sinclair/typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'Stable URI naming the kind of problem, e.g. urn:iap:problem:validation' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    field: Type.Optional(Type.String({ description: 'The request field at fault (JSON pointer style path)' })),
    code: Type.Optional(Type.String({ description: 'The domain rule that refused the request' })),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true },
);
export type Problem = Static<typeof ProblemSchema>;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error a route throws on purpose; the error handler renders it as a problem. */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly slug: string,
    detail: string,
    readonly extra: { field?: string; code?: string; retryAfterSeconds?: number } = {},
  ) {
    super(detail);
  }

  toProblem(requestId?: string): Problem {
    return {
      type: `urn:iap:problem:${this.slug}`,
      title: TITLES[this.status] ?? 'Error',
      status: this.status,
      detail: this.message,
      ...(this.extra.field !== undefined ? { field: this.extra.field } : {}),
      ...(this.extra.code !== undefined ? { code: this.extra.code } : {}),
      ...(requestId ? { requestId } : {}),
    };
  }
}

/** Responses every route may give, for the OpenAPI document. */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: TITLES[s] ?? 'Error', content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } }]),
  );
