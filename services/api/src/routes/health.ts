// Operations probes. GET /health: each component's state, 503 while one is down, so a load balancer stops
// sending traffic. GET /live (liveness): 200 while the process serves requests, whatever its dependencies.
// GET /ready (readiness): 503 until the process is ready to be used — started by the launcher, once the
// launcher has written the demo tokens and printed its banner — and then as /health.

import { pingDb, type Database } from '@iap/db';
import { pingTemporal } from '@iap/runtime';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';

export interface HealthOptions {
  readonly db: Kysely<Database>;
  readonly connection: Connection;
  readonly namespace: string;
  /** Whether whoever started the API has declared it ready (by default it is as soon as it serves). */
  readonly isReady?: () => boolean;
}

const Component = Type.Object({ status: Type.Union([Type.Literal('up'), Type.Literal('down')]), latencyMs: Type.Number() });
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  components: Type.Object({ database: Component, temporal: Component }),
});

async function timed(check: () => Promise<boolean>): Promise<{ status: 'up' | 'down'; latencyMs: number }> {
  const t0 = performance.now();
  const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 3_000).unref());
  const ok = await Promise.race([check().catch(() => false), timeout]);
  return { status: ok ? 'up' : 'down', latencyMs: Math.round(performance.now() - t0) };
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthOptions> = async (app, opts) => {
  const components = async () => {
    const [database, temporal] = await Promise.all([
      timed(() => pingDb(opts.db)),
      timed(() => opts.connection.withDeadline(Date.now() + 2_500, () => pingTemporal(opts.connection, opts.namespace))),
    ]);
    return { ok: database.status === 'up' && temporal.status === 'up', components: { database, temporal } };
  };

  app.get(
    '/live',
    { schema: { tags: ['operations'], summary: 'Liveness: the API process serves requests', response: { 200: Type.Object({ status: Type.Literal('live') }) } } },
    async () => ({ status: 'live' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: 200 once the stack is ready to use (its demo tokens written) and its services are up; 503 before',
        response: { 200: Health, 503: Type.Union([Health, Type.Object({ status: Type.Literal('starting') })]) },
      },
    },
    async (_request, reply) => {
      if (opts.isReady && !opts.isReady()) return reply.code(503).send({ status: 'starting' as const });
      const { ok, components: c } = await components();
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', components: c });
    },
  );

  app.get(
    '/health',
    { schema: { tags: ['operations'], summary: 'Health of the API and the services it needs', response: { 200: Health, 503: Health } } },
    async (_request, reply) => {
      const { ok, components: c } = await components();
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', components: c });
    },
  );
};
