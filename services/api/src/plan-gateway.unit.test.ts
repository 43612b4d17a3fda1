// How Temporal's errors become HTTP answers: a namespace the server cannot find while its database is down is
// an outage (503, retry), not "no such plan"; a workflow that is not there is still 404.
import { describe, expect, it } from 'vitest';
import { toProblem } from './plan-gateway.js';
import { HttpProblem } from './problem.js';

/**
 * A failed call as Temporal's client rethrows it (seen on the real server with its Postgres down): the status
 * message as the error's message, the encoded failure (here NamespaceNotFoundFailure) in `details`.
 */
const grpcError = (code: number, message: string, details: string) => Object.assign(new Error(message), { code, details, metadata: {} });

describe('toProblem', () => {
  it('answers 503 with Retry-After when the Temporal server says its namespace is not found (its database is down)', () => {
    const p = toProblem(grpcError(5, 'Namespace default is not found.', '\n\u0007default'));
    expect(p).toBeInstanceOf(HttpProblem);
    expect(p).toMatchObject({ status: 503, extra: { retryAfterSeconds: 5 } });
  });

  it('still answers 404 for a workflow that is not found', () => {
    const p = toProblem(grpcError(5, 'workflow not found for ID: plan-x', ''));
    expect(p).toMatchObject({ status: 404 });
  });
});
