// The console process: `node services/console/dist/server.js`. Serves the built front end, signs users in
// at IAP_OIDC_ISSUER and forwards their calls to IAP_API_URL.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@iap/runtime';
import { buildConsole } from './app.js';
import { loadConsoleConfig } from './config.js';

const logger = createLogger('console', process.env.LOG_LEVEL ?? 'info');
const STATIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console-web/dist');

async function main(): Promise<void> {
  const config = loadConsoleConfig(process.env, process.env.IAP_CONSOLE_STATIC_DIR ?? STATIC_DIR);
  const app = await buildConsole({ config, logger });
  await app.listen({ host: config.host, port: config.port });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'console shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('disconnect', () => void stop('parent gone'));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'console failed to start');
  process.exit(1);
});
