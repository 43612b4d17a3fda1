// Builds the Fastify app as a plugin tree; server.ts only listens and shuts down. Tests build it the same
// way and talk to it through inject() or a real port.

import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { createHash } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '@iap/db';
import { DEFAULT_DOMAIN_CONFIG, type DomainConfig } from '@iap/domain';
import type { Client, Connection } from '@temporalio/client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { domainFormats, findBadString } from './formats.js';
import { Idempotency } from './idempotency.js';
import { PlanGateway } from './plan-gateway.js';
import { authPlugin } from './plugins/auth.js';
import { providerTokens } from './plugins/oidc-tokens.js';
import type { OidcConfig } from '@iap/runtime';
import { errorsPlugin } from './plugins/errors.js';
import { HttpProblem, ProblemSchema } from './problem.js';
import { healthRoutes } from './routes/health.js';
import { auditRoutes } from './routes/audit.js';
import { financeRoutes } from './routes/finance.js';
import { learnerRoutes } from './routes/learners.js';
import { organisationRoutes } from './routes/organisations.js';
import { OrganisationDirectory } from './organisations.js';
import { planCommandRoutes } from './routes/plan-commands.js';
import { planRoutes } from './routes/plans.js';
import { reportRoutes } from './routes/reports.js';

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
  /** Key-encryption key of the learner identity store (32 bytes). */
  readonly identityKey: Buffer;
  /** How long a write waits to become durable before answering 503 (IAP_COMMAND_TIMEOUT_MS). */
  readonly commandTimeoutMs?: number;
  /** Requests a caller (one bearer token, else one address) may make per minute (IAP_RATE_LIMIT). */
  readonly rateLimitPerMinute?: number;
  /** How long an Idempotency-Key stands for its request (default 24 h). */
  readonly idempotencyKeyTtlMs?: number;
  /** Readiness (GET /ready) beyond the services being up: the launcher's word (server.ts). */
  readonly isReady?: () => boolean;
  /** How long a register entry read for a token check is reused (ms, default 2,000); a write here clears them. */
  readonly registerCacheMs?: number;
  /** The OpenID provider whose access tokens are accepted beside the HS256 ones (IAP_OIDC_ISSUER). */
  readonly oidc?: OidcConfig | null;
  /** Pinned checkpoint public keys (PEM) that GET /audit/verify trusts (IAP_CHECKPOINT_PUBLIC_KEY_FILE). */
  readonly checkpointPublicKeys?: readonly string[];
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
    // Errors the router raises before any route or hook runs (a malformed URL, an over-long id) are
    // problems like every other.
    frameworkErrors: (error, request, reply) => {
      const status = typeof error.statusCode === 'number' ? error.statusCode : 400;
      const slug = (error.code ?? 'bad_request').toLowerCase().replace(/^fst_err_/, '');
      const r = reply as unknown as { code(n: number): { type(t: string): { send(b: unknown): unknown } } };
      void r.code(status).type('application/problem+json').send(new HttpProblem(status, slug, error.message).toProblem(request.id));
    },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, discriminator: true },
      // Text, dates and semesters by the domain's rules, under this deployment's config (schemas/common.ts).
      plugins: [domainFormats(deps.domainConfig ?? DEFAULT_DOMAIN_CONFIG)],
    },
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

  // Every string a route takes, also those no schema builder made (ids, headers, record keys), is text: a
  // lone surrogate, control or bidi character is refused before validation, naming where it was.
  app.addHook('preValidation', async (request) => {
    const headerNames = Object.keys((request.routeOptions.schema?.headers as { properties?: object } | undefined)?.properties ?? {});
    const headers = Object.fromEntries(headerNames.map((h) => [h, request.headers[h]]));
    for (const [context, value] of [['params', request.params], ['querystring', request.query], ['headers', headers], ['body', request.body]] as const) {
      const bad = findBadString(value, context);
      if (bad) throw new HttpProblem(400, 'validation', `${bad.field} ${bad.message}`, { field: bad.field });
    }
  });

  app.addSchema(ProblemSchema);
  await app.register(errorsPlugin);
  // Per caller: a misbehaving client (or a leaked token) cannot starve the others. Keyed by a hash of
  // the token so the key store never holds a usable credential.
  await app.register(rateLimit, {
    global: true,
    max: deps.rateLimitPerMinute ?? 1_200,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const auth = req.headers.authorization;
      return typeof auth === 'string' && auth.length > 0 ? `t:${createHash('sha256').update(auth).digest('base64url').slice(0, 22)}` : `ip:${req.ip}`;
    },
    allowList: (req) => req.url === '/health' || req.url === '/live' || req.url === '/ready',
    errorResponseBuilder: (_req, ctx) =>
      new HttpProblem(429, 'rate_limited', `too many requests: at most ${ctx.max} a minute; retry in ${Math.ceil(ctx.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(ctx.ttl / 1000),
      }),
  });
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
  const organisations = new OrganisationDirectory(deps.db, deps.registerCacheMs);
  await app.register(authPlugin, { secret: deps.jwtSecret, organisations, providerTokens: deps.oidc ? providerTokens(deps.oidc) : null });

  const plans = new PlanGateway({
    client: deps.temporal,
    taskQueue: deps.taskQueue,
    ...(deps.domainConfig ? { domainConfig: deps.domainConfig } : {}),
    ...(deps.continueAsNewAfterEvents ? { continueAsNewAfterEvents: deps.continueAsNewAfterEvents } : {}),
    ...(deps.commandTimeoutMs ? { commandTimeoutMs: deps.commandTimeoutMs } : {}),
  });
  const idempotency = new Idempotency(deps.db, deps.idempotencyKeyTtlMs ? { ttlMs: deps.idempotencyKeyTtlMs } : {});
  idempotency.purgeWhileRunning(app as unknown as FastifyInstance);
  await app.register(healthRoutes, { db: deps.db, connection: deps.temporalConnection, namespace: deps.namespace, ...(deps.isReady ? { isReady: deps.isReady } : {}) });
  await app.register(planRoutes, { db: deps.db, plans, idempotency });
  await app.register(planCommandRoutes, { db: deps.db, plans, idempotency });
  await app.register(auditRoutes, { db: deps.db, temporal: deps.temporal, checkpointPublicKeys: deps.checkpointPublicKeys ?? [] });
  await app.register(financeRoutes, { db: deps.db, plans, idempotency });
  await app.register(learnerRoutes, { db: deps.db, identityKey: deps.identityKey, organisations });
  await app.register(reportRoutes, { db: deps.db });
  await app.register(organisationRoutes, { db: deps.db, plans, organisations, idempotency });
  return app as unknown as FastifyInstance;
}
