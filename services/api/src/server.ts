// The API process: `node services/api/dist/server.js`. Listens, and on SIGINT/SIGTERM stops taking
// requests, finishes the ones in flight, and closes its connections.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, loadConfig, loadDomainConfig, loadOrCreateIdentityKey, loadOidcConfig, loadOrCreateJwtSecret, loadOrCreatePayloadKey, requireConnections, temporalDataConverter } from '@iap/runtime';
import { createDb, parseKek } from '@iap/db';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from './app.js';

const config = loadConfig();
const logger = createLogger('api', config.logLevel);

/**
 * The checkpoint public key the API pins: IAP_CHECKPOINT_PUBLIC_KEY_FILE, else the checkpoint worker's
 * .pub.pem in the data folder when this host has it (the local stack). Never the private key.
 */
function pinnedCheckpointKeys(): string[] {
  const file = process.env.IAP_CHECKPOINT_PUBLIC_KEY_FILE || path.join(config.dataDir, 'checkpoint-key.pub.pem');
  if (!existsSync(file)) {
    if (process.env.IAP_CHECKPOINT_PUBLIC_KEY_FILE) throw new Error(`IAP_CHECKPOINT_PUBLIC_KEY_FILE: ${file} does not exist`);
    return [];
  }
  return [readFileSync(file, 'utf8')];
}

async function main(): Promise<void> {
  const { databaseUrl, temporalAddress } = requireConnections(config);
  const db = createDb({ connectionString: databaseUrl, applicationName: 'iap-api', role: config.dbRole });
  // Lazy: the API starts (and /health says what is down) even while Temporal is unreachable.
  const connection = Connection.lazy({ address: temporalAddress });
  const temporal = new Client({
    connection,
    namespace: config.temporalNamespace,
    dataConverter: temporalDataConverter(loadOrCreatePayloadKey(config.dataDir)),
  });
  // Started by the launcher (infra/up), the API is ready once the launcher says so: it writes the demo tokens
  // and prints its banner first, so whoever waits for /ready finds them.
  let ready = !(process.env.IAP_READY_FROM_LAUNCHER === '1' && process.send);
  process.on('message', (m: unknown) => {
    if ((m as { type?: string } | null)?.type === 'ready') ready = true;
  });
  const app = await buildApp({
    isReady: () => ready,
    db,
    temporal,
    temporalConnection: connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    jwtSecret: loadOrCreateJwtSecret(config.dataDir),
    identityKey: parseKek(loadOrCreateIdentityKey(config.dataDir)),
    logger,
    domainConfig: loadDomainConfig(),
    oidc: loadOidcConfig(),
    ...(process.env.IAP_RATE_LIMIT ? { rateLimitPerMinute: Number(process.env.IAP_RATE_LIMIT) } : {}),
    ...(process.env.IAP_COMMAND_TIMEOUT_MS ? { commandTimeoutMs: Number(process.env.IAP_COMMAND_TIMEOUT_MS) } : {}),
    checkpointPublicKeys: pinnedCheckpointKeys(),
  });
  await app.listen({ host: config.host, port: config.port });

  let closing = false;
  const stop = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'api shutting down');
    await app.close();
    await connection.close();
    await db.destroy();
    logger.info('api stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('disconnect', () => void stop('parent gone'));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'api failed to start');
  process.exit(1);
});
