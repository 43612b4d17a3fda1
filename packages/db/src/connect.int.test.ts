// A connection the server drops while it is checked out (between two statements of a transaction) must
// fail the next statement, not crash the process with an unhandled 'error' event.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseFromTemplate, dropDatabase } from './admin.js';
import { createDb } from './connect.js';
import type { Database } from './schema.js';

const admin = process.env.IAP_TEST_PG_ADMIN_URL!;
const name = `t_conn_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let db: Kysely<Database>;
let adminDb: Kysely<Database>;

beforeAll(async () => {
  db = createDb({ connectionString: await createDatabaseFromTemplate(admin, name, process.env.IAP_TEST_PG_TEMPLATE!), max: 2 });
  adminDb = createDb({ connectionString: admin, max: 1 });
});
afterAll(async () => {
  await db.destroy();
  await adminDb.destroy();
  await dropDatabase(admin, name);
});

describe('a pooled connection dropped by the server', () => {
  it('fails the transaction it was in, and the pool goes on with a new connection', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const inTransaction = db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        // The server ends this backend while the transaction waits between statements.
        await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(adminDb);
        await new Promise((r) => setTimeout(r, 300));
        await sql`select 1`.execute(trx);
      });
      await expect(inTransaction).rejects.toThrow();
      expect(uncaught).toEqual([]);
      const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(db);
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
