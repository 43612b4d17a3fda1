// Prints the API's OpenAPI document without a database or Temporal behind it (nothing is called while the
// document is built): `node services/api/dist/openapi.js > openapi.json`. The console's types come from it.

import { createDb } from '@iap/db';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { buildApp } from './app.js';

const connection = Connection.lazy({ address: '127.0.0.1:1' });
const db = createDb({ connectionString: 'postgres://unused@127.0.0.1:1/unused', max: 1 });
const app = await buildApp({
  db,
  temporal: new Client({ connection }),
  temporalConnection: connection,
  namespace: 'default',
  taskQueue: 'unused',
  jwtSecret: 'unused',
  identityKey: Buffer.alloc(32),
  logger: pino({ level: 'silent' }),
});
await app.ready();
process.stdout.write(`${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
await db.destroy();
