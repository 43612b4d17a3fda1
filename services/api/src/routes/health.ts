// GET /health: each component's state. 503 while one is down, so a load balancer stops sending traffic.

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
  app.get(
    '/health',
    { schema: { tags: ['operations'], summary: 'Health of the API and the services it needs', response: { 200: Health, 503: Health } } },
    async (_request, reply) => {
      const [database, temporal] = await Promise.all([
        timed(() => pingDb(opts.db)),
        timed(() => opts.connection.withDeadline(Date.now() + 2_500, () => pingTemporal(opts.connection, opts.namespace))),
      ]);
      const ok = database.status === 'up' && temporal.status === 'up';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', components: { database, temporal } });
    },
  );
};
