// The checkpoint worker process: `node services/worker/dist/checkpoint-main.js`, on the one host that holds
// the checkpoint signing key (IAP_CHECKPOINT_KEY_FILE). Reads DATABASE_URL and TEMPORAL_ADDRESS; connects as
// the login role and acts as iap_auditor (IAP_CHECKPOINT_DB_ROLE; empty: the login role as is).

import path from 'node:path';
import { AUDITOR_DB_ROLE, createDb, loadOrCreateCheckpointKey } from '@iap/db';
import { createLogger, loadConfig, loadOrCreatePayloadKey, requireConnections, temporalDataConverter } from '@iap/runtime';
import { NativeConnection } from '@temporalio/worker';
import { createCheckpointWorker } from './checkpoint.js';
import { installRuntimeLogger } from './worker.js';

const config = loadConfig();
const logger = createLogger('checkpoint-worker', config.logLevel);

async function main(): Promise<void> {
  const { databaseUrl, temporalAddress } = requireConnections(config);
  installRuntimeLogger(logger);
  const keyFile = process.env.IAP_CHECKPOINT_KEY_FILE || path.join(config.dataDir, 'checkpoint-key.pem');
  const { key, created } = await loadOrCreateCheckpointKey(keyFile);
  if (created) logger.info({ keyFile, keyId: key.keyId }, 'created the checkpoint signing key');
  const role = process.env.IAP_CHECKPOINT_DB_ROLE ?? AUDITOR_DB_ROLE;
  const db = createDb({ connectionString: databaseUrl, applicationName: 'iap-checkpoint', role: role || null, max: 2 });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createCheckpointWorker({
    connection,
    namespace: config.temporalNamespace,
    dataConverter: temporalDataConverter(loadOrCreatePayloadKey(config.dataDir)),
    db,
    key,
    ...(process.env.IAP_WORKFLOW_BUNDLE ? { workflowBundlePath: process.env.IAP_WORKFLOW_BUNDLE } : {}),
  });
  // Ctrl-C reaches it as SIGINT, then the launcher's SIGTERM or closed channel: shut down once.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  logger.info({ keyId: key.keyId }, 'checkpoint worker started');
  await worker.run();
  await connection.close();
  await db.destroy();
  process.exit(0);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'checkpoint worker failed');
  process.exit(1);
});
