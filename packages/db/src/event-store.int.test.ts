// The event log against a real Postgres: idempotent and optimistic appends, the hash chain, append-only.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseFromTemplate, dropDatabase } from './admin.js';
import { APP_DB_ROLE, createDb } from './connect.js';
import { appendToStream, ConcurrencyError, readStream, verifyChain, type NewEvent } from './event-store.js';
import type { Database } from './schema.js';

const admin = process.env.IAP_TEST_PG_ADMIN_URL!;
const name = `t_es_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let db: Kysely<Database>;

beforeAll(async () => {
  db = createDb({ connectionString: await createDatabaseFromTemplate(admin, name, process.env.IAP_TEST_PG_TEMPLATE!) });
});
afterAll(async () => {
  await db.destroy();
  await dropDatabase(admin, name);
});

const meta = {
  actorId: 'u1',
  actorRole: 'preparer',
  schoolId: 's1',
  requestId: 'r1',
  correlationId: 'r1',
  causationId: null,
  workflowId: 'wf',
  runId: 'run',
};
const ev = (type: string, data: unknown = { n: 1 }): NewEvent => ({
  eventId: randomUUID(),
  type,
  schemaVersion: 1,
  data,
  metadata: meta,
  occurredAt: '2026-09-01T10:00:00.000Z',
});

describe('appendToStream', () => {
  it('appends in order with versions 1..n and a transaction id', async () => {
    const stream = randomUUID();
    const r = await appendToStream(db, stream, 0, [ev('A'), ev('B')]);
    expect(r.alreadyRecorded).toBe(false);
    expect(r.events.map((e) => [e.type, e.streamVersion])).toEqual([
      ['A', 1],
      ['B', 2],
    ]);
    expect(r.events[0]!.transactionId).toMatch(/^\d+$/);
    expect(r.events[1]!.prevHash).toBe(r.events[0]!.hash);
  });

  it('is a no-op when the same events are appended again (a retried activity)', async () => {
    const stream = randomUUID();
    const batch = [ev('A'), ev('B')];
    const first = await appendToStream(db, stream, 0, batch);
    const again = await appendToStream(db, stream, 0, batch);
    expect(again.alreadyRecorded).toBe(true);
    expect(again.events.map((e) => e.globalPosition)).toEqual(first.events.map((e) => e.globalPosition));
    expect(await readStream(db, stream)).toHaveLength(2);
  });

  it('links appends after the first in the database exactly as an auditor recomputes them', async () => {
    const stream = randomUUID();
    await appendToStream(db, stream, 0, [ev('A', { note: 'Rīga, Liepāja — 100 €' })]);
    const one = await appendToStream(db, stream, 1, [ev('B', { nested: { z: 1, a: [1, 'ž', null] } })]);
    const batch = [ev('C'), ev('D', { text: 'emoji 🎓 and "quotes"' }), ev('E')];
    const three = await appendToStream(db, stream, 2, batch);
    expect(three.events.map((e) => [e.type, e.streamVersion])).toEqual([['C', 3], ['D', 4], ['E', 5]]);
    expect(three.events[0]!.prevHash).toBe(one.events[0]!.hash);
    const all = await readStream(db, stream);
    expect(all.map((e) => e.type)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(verifyChain(all)).toBeNull();
    // A retry of the batch after the first append writes nothing and answers with what was recorded.
    const again = await appendToStream(db, stream, 2, batch);
    expect(again).toMatchObject({ alreadyRecorded: true });
    expect(again.events.map((e) => e.hash)).toEqual(three.events.map((e) => e.hash));
  });

  it('takes the same command of the same run decided again later as a retry, and keeps what the log holds', async () => {
    const stream = randomUUID();
    await appendToStream(db, stream, 0, [ev('A')]);
    const first = { ...ev('B', { dueAt: '2026-09-08T10:00:00.000Z' }), metadata: { ...meta, requestId: 'req-b' } };
    await appendToStream(db, stream, 1, [first]);
    // A retried workflow task runs the command again, later: same ids, same request and run, another deadline.
    const again = await appendToStream(db, stream, 1, [{ ...first, data: { dueAt: '2026-09-08T10:00:05.000Z' } }]);
    expect(again.alreadyRecorded).toBe(true);
    expect(again.events[0]!.data).toEqual({ dueAt: '2026-09-08T10:00:00.000Z' });
    // Another command under the same ids is not a retry.
    await expect(appendToStream(db, stream, 1, [{ ...first, data: { dueAt: 'x' }, metadata: { ...meta, requestId: 'req-c' } }])).rejects.toMatchObject({ name: 'AppendIntegrityError' });
    await expect(appendToStream(db, stream, 1, [{ ...first, data: { dueAt: 'x' }, metadata: { ...meta, requestId: 'req-b', runId: 'another-run' } }])).rejects.toMatchObject({ name: 'AppendIntegrityError' });
    expect(await readStream(db, stream)).toHaveLength(2);
  });

  it('writes nothing of a batch with a new event before a recorded one, even outside a transaction', async () => {
    const stream = randomUUID();
    const a = ev('A');
    await appendToStream(db, stream, 0, [a]);
    // A new event, then one whose id is recorded already: the first must not stay behind on its own.
    await expect(appendToStream(db, stream, 1, [ev('C'), a])).rejects.toMatchObject({ name: 'AppendIntegrityError' });
    const log = await readStream(db, stream);
    expect(log.map((e) => e.type)).toEqual(['A']);
    expect(verifyChain(log)).toBeNull();
  });

  it('refuses an expected version the stream has not reached', async () => {
    const stream = randomUUID();
    await appendToStream(db, stream, 0, [ev('A')]);
    await expect(appendToStream(db, stream, 3, [ev('B')])).rejects.toMatchObject({ name: 'ConcurrencyError', expectedVersion: 3, actualVersion: 1 });
    expect(await readStream(db, stream)).toHaveLength(1);
  });

  it('refuses a stale expected version', async () => {
    const stream = randomUUID();
    await appendToStream(db, stream, 0, [ev('A')]);
    await expect(appendToStream(db, stream, 0, [ev('B')])).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await readStream(db, stream)).toHaveLength(1);
  });

  it('lets exactly one of two concurrent appends at the same version win', async () => {
    const stream = randomUUID();
    await appendToStream(db, stream, 0, [ev('A')]);
    // Both transactions read version 1 before either commits; the unique (stream, version) decides.
    const results = await Promise.allSettled(
      [ev('B1'), ev('B2'), ev('B3'), ev('B4')].map((e) =>
        db.transaction().execute(async (trx) => {
          const r = await appendToStream(trx, stream, 1, [e]);
          await sql`select pg_sleep(0.05)`.execute(trx);
          return r;
        }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(3);
    for (const l of lost) expect((l as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    const events = await readStream(db, stream);
    expect(events.map((e) => e.streamVersion)).toEqual([1, 2]);
  });
});

describe('hash chain', () => {
  it('verifies an untouched stream and names the event whose data was altered', async () => {
    const stream = randomUUID();
    await appendToStream(db, stream, 0, [ev('A', { amount: 100 }), ev('B', { amount: 200 }), ev('C', { amount: 300 })]);
    expect(verifyChain(await readStream(db, stream))).toBeNull();

    // The table refuses UPDATE even to its owner ...
    await expect(sql`update events set data = '{"amount":1}' where stream_id = ${stream}`.execute(db)).rejects.toThrow(/append-only/);
    // ... so an attacker with superuser rights has to switch the guard off first.
    await sql`alter table events disable trigger events_no_update_delete`.execute(db);
    await sql`update events set data = '{"amount":999}' where stream_id = ${stream} and stream_version = 2`.execute(db);
    await sql`alter table events enable trigger events_no_update_delete`.execute(db);

    const broken = verifyChain(await readStream(db, stream));
    expect(broken).toMatchObject({ streamId: stream, streamVersion: 2, reason: 'hash_mismatch' });
  });

  it('detects a deleted middle event', async () => {
    const stream = randomUUID();
    await appendToStream(db, stream, 0, [ev('A'), ev('B'), ev('C')]);
    await sql`alter table events disable trigger events_no_update_delete`.execute(db);
    await sql`delete from events where stream_id = ${stream} and stream_version = 2`.execute(db);
    await sql`alter table events enable trigger events_no_update_delete`.execute(db);
    expect(verifyChain(await readStream(db, stream))).toMatchObject({ streamVersion: 3, reason: 'version_gap' });
  });
});

describe('the application role', () => {
  it('may append and read events but not update, delete or truncate them (privileges, not the trigger)', async () => {
    const url = new URL(admin);
    url.pathname = `/${name}`;
    const app = createDb({ connectionString: url.toString(), role: APP_DB_ROLE, max: 1 });
    try {
      const stream = randomUUID();
      await appendToStream(app, stream, 0, [ev('A')]);
      expect(await readStream(app, stream)).toHaveLength(1);
      // With the trigger switched off, only the missing privilege stands in the way.
      await sql`alter table events disable trigger events_no_update_delete`.execute(db);
      await sql`alter table events disable trigger events_no_truncate`.execute(db);
      try {
        await expect(sql`update events set data = '{}' where stream_id = ${stream}`.execute(app)).rejects.toThrow(/permission denied/);
        await expect(sql`delete from events where stream_id = ${stream}`.execute(app)).rejects.toThrow(/permission denied/);
        await expect(sql`truncate events`.execute(app)).rejects.toThrow(/permission denied/);
      } finally {
        await sql`alter table events enable trigger events_no_update_delete`.execute(db);
        await sql`alter table events enable trigger events_no_truncate`.execute(db);
      }
      expect(await readStream(db, stream)).toHaveLength(1);
    } finally {
      await app.destroy();
    }
  });
});
