// Chain-head checkpoints taken by Temporal itself: a Schedule starts the checkpoint workflow on its own task
// queue, whose worker alone holds the signing key and writes as iap_auditor. The checkpoint it takes
// verifies against the pinned public key (in the API too, which reports its age), and deleting the newest
// events afterwards is detected.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AUDITOR_DB_ROLE, createDb, latestCheckpoint, loadOrCreateCheckpointKey, readStream, verifyLog, type CheckpointKey, type Database } from '@iap/db';
import { buildApp } from '@iap/api';
import { ensureCheckpointSchedule, signToken } from '@iap/runtime';
import { createCheckpointWorker, installRuntimeLogger } from '@iap/worker';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, MUNI_A, TEST_JWT_SECRET, testDataConverter, type TestDatabase } from './stack.js';
import { appendStreams, syntheticPlan } from './synthetic.js';

let database: TestDatabase;
let auditorDb: Kysely<Database>;
let keyDir: string;
let key: CheckpointKey;
let connection: Connection;
let client: Client;
let native: NativeConnection;

beforeAll(async () => {
  installRuntimeLogger(pino({ level: 'silent' }));
  database = await createTestDatabase();
  auditorDb = createDb({ connectionString: database.url, max: 2, role: AUDITOR_DB_ROLE });
  keyDir = await mkdtemp(path.join(tmpdir(), 'iap-checkpoint-'));
  ({ key } = await loadOrCreateCheckpointKey(path.join(keyDir, 'checkpoint-key.pem')));
  connection = await Connection.connect({ address: process.env.IAP_TEST_TEMPORAL_ADDRESS! });
  client = new Client({ connection, namespace: 'default', dataConverter: testDataConverter() });
  native = await NativeConnection.connect({ address: process.env.IAP_TEST_TEMPORAL_ADDRESS! });
});
afterAll(async () => {
  await native?.close();
  await connection?.close();
  await auditorDb?.destroy();
  await database?.drop();
  await rm(keyDir, { recursive: true, force: true });
});

describe('checkpoint schedule', () => {
  it('fires, its checkpoint verifies against the pinned key, and truncating the newest events is then detected', async () => {
    const plans = ['a', 'b'].map((s) =>
      syntheticPlan({
        learnerRef: `L-cp-${s}`,
        schoolId: 'school-a',
        municipalityId: MUNI_A,
        partner: { type: 'municipality', id: MUNI_A },
        semester: '2025/26-1',
        riskTypes: ['learning'],
        stage: 'implementation',
      }),
    );
    for (const p of plans) await appendStreams(database.db, p);
    const events = Number((await sql<{ n: string }>`select count(*)::text as n from events`.execute(database.db)).rows[0]!.n);

    const taskQueue = `checkpoints-${randomUUID()}`;
    const scheduleId = `checkpoint-${randomUUID()}`;
    const worker = await createCheckpointWorker({ connection: native, namespace: 'default', taskQueue, db: auditorDb, key, workflowBundlePath: process.env.IAP_TEST_WORKFLOW_BUNDLE!, dataConverter: testDataConverter() });
    await ensureCheckpointSchedule(client, { every: '2 seconds', scheduleId, taskQueue });
    // Asking again finds it: a second launcher start leaves the one schedule as it is.
    await ensureCheckpointSchedule(client, { every: '2 seconds', scheduleId, taskQueue });
    try {
      const cp = await worker.runUntil(async () => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const c = await latestCheckpoint(database.db);
          if (c) return c;
          if (Date.now() > deadline) throw new Error('no checkpoint within 30 s of the schedule');
          await new Promise((r) => setTimeout(r, 200));
        }
      });
      expect(cp).toMatchObject({ eventCount: events, keyId: key.keyId });
      // Temporal started it: the schedule lists the run that took it.
      const described = await client.schedule.getHandle(scheduleId).describe();
      expect(described.info.recentActions.length).toBeGreaterThan(0);
    } finally {
      // No checkpoint after the truncation below: it would vouch for the shortened log.
      await client.schedule.getHandle(scheduleId).delete();
    }

    const clean = await verifyLog(database.db, { kind: 'log' }, { trustedPublicKeys: [key.publicKeyPem] });
    expect(clean).toMatchObject({ intact: true, checkpoint: { signatureValid: true, keyTrusted: true } });
    // The API pins the public key and says how old the checkpoint is.
    const app = await buildApp({
      db: database.appDb,
      temporal: client,
      temporalConnection: connection,
      namespace: 'default',
      taskQueue: 'unused',
      jwtSecret: TEST_JWT_SECRET,
      identityKey: Buffer.alloc(32, 7),
      logger: pino({ level: 'silent' }),
      checkpointPublicKeys: [key.publicKeyPem],
    });
    try {
      const auditor = signToken(TEST_JWT_SECRET, { sub: 'auditor-1', role: 'auditor' } as never);
      const res = await app.inject({ method: 'GET', url: '/audit/verify', headers: { authorization: `Bearer ${auditor}` } });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<{ intact: boolean; checkpoint: { keyTrusted: boolean; ageSeconds: number } }>();
      expect(body).toMatchObject({ intact: true, checkpoint: { keyTrusted: true } });
      expect(body.checkpoint.ageSeconds).toBeGreaterThanOrEqual(0);
      expect(body.checkpoint.ageSeconds).toBeLessThan(60);
    } finally {
      await app.close();
    }

    const victim = plans[0]![0]!.streamId;
    const newest = (await readStream(database.db, victim)).at(-1)!;
    await sql`alter table events disable trigger events_no_update_delete`.execute(database.db);
    try {
      await sql`delete from events where stream_id = ${victim} and stream_version = ${newest.streamVersion}`.execute(database.db);
    } finally {
      await sql`alter table events enable trigger events_no_update_delete`.execute(database.db);
    }
    const after = await verifyLog(database.db, { kind: 'log' }, { trustedPublicKeys: [key.publicKeyPem] });
    expect(after.intact).toBe(false);
    expect(after.firstBreak).toMatchObject({ streamId: victim, reason: 'truncated' });
  });
});
