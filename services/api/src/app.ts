// Builds the Fastify app as a plugin tree; server.ts only listens and shuts down. Tests build it the same
// way and talk to it through inject() or a real port.

import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '@iap/db';
import type { DomainConfig } from '@iap/domain';
import type { Client, Connection } from '@temporalio/client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { PlanGateway } from './plan-gateway.js';
import { authPlugin } from './plugins/auth.js';
import { errorsPlugin } from './plugins/errors.js';
import { ProblemSchema } from './problem.js';
import { healthRoutes } from './routes/health.js';
import { financeRoutes } from './routes/finance.js';
import { planCommandRoutes } from './routes/plan-commands.js';
import { planRoutes } from './routes/plans.js';

export interface AppDeps {
  readonly db: Kysely<Database>;
  readonly temporal: Client;
  readonly temporalConnection: Connection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly jwtSecret: string;
  readonly logger: Logger;
  /** Rules new plans start with; the domain's defaults when absent (IAP_DOMAIN_CONFIG in server.ts). */
  readonly domainConfig?: DomainConfig;
  readonly continueAsNewAfterEvents?: number;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One log line per request (onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), actor: request.actor?.id },
      'request',
    );
  });

  app.addSchema(ProblemSchema);
  await app.register(errorsPlugin);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'iap-engine API',
        description: 'Individual support plans (IAP): schools, coordinators, finance staff and auditors.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(authPlugin, { secret: deps.jwtSecret });

  const plans = new PlanGateway({
    client: deps.temporal,
    taskQueue: deps.taskQueue,
    ...(deps.domainConfig ? { domainConfig: deps.domainConfig } : {}),
    ...(deps.continueAsNewAfterEvents ? { continueAsNewAfterEvents: deps.continueAsNewAfterEvents } : {}),
  });
  await app.register(healthRoutes, { db: deps.db, connection: deps.temporalConnection, namespace: deps.namespace });
  await app.register(planRoutes, { db: deps.db, plans });
  await app.register(planCommandRoutes, { db: deps.db, plans });
  await app.register(financeRoutes, { db: deps.db, plans });
  return app as unknown as FastifyInstance;
}
