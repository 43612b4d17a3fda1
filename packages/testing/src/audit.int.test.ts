// Auditing on the real stack: a plan's history and its state as of any instant (equal to what the API
// answered then), chain verification that names the event someone altered or deleted, signed
// checkpoints that catch deleted newest events, the app role kept off the checkpoints, and an export
// that round-trips through the offline verifier (and fails it once altered).
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AUDITOR_DB_ROLE,
  checkCheckpointSignature,
  createDb,
  EXPORT_FILES,
  latestCheckpoint,
  keyIdOf,
  loadOrCreateCheckpointKey,
  publicKeyFileOf,
  readStream,
  scanEvents,
  takeCheckpoint,
  verifyExport,
  verifyLog,
  writeExport,
  type CheckpointKey,
  type Database,
} from '@iap/db';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './audit-cli.js';
import { MUNI_A, startTestStack, type TestStack } from './stack.js';
import { DIRECTOR, FINANCE, fastConfig, PlanDriver, PREPARER, SEMESTER_NOW, setBudget, TODAY } from './workflow-driver.js';

let stack: TestStack;
let auditorDb: Kysely<Database>;
let workDir: string;
let key: CheckpointKey;
/** Plan A walks the whole lifecycle; B, C and D are tampered with later. */
let planA: PlanDriver;
const snapshots: Array<{ at: string; step: string; body: { version: number; status: string; state: Record<string, unknown> } }> = [];

const auditor = () => ({ authorization: `Bearer ${stack.token({ sub: 'auditor-1', role: 'auditor' })}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What GET /plans/:id answers now, and the instant right after it answered. */
async function snapshot(step: string): Promise<void> {
  const res = await stack.app.inject({ method: 'GET', url: `/plans/${planA.planId}`, headers: auditor() });
  expect(res.statusCode).toBe(200);
  snapshots.push({ at: new Date().toISOString(), step, body: res.json() });
  // The next command's decision time is then strictly later than this instant.
  await sleep(3);
}

/** Switches the append-only guard off around `fn`, as an attacker with superuser rights would. */
async function asAttacker(fn: (db: Kysely<Database>) => Promise<unknown>): Promise<void> {
  await sql`alter table events disable trigger events_no_update_delete`.execute(stack.db);
  try {
    await fn(stack.db);
  } finally {
    await sql`alter table events enable trigger events_no_update_delete`.execute(stack.db);
  }
}

async function shortPlan(): Promise<PlanDriver> {
  const p = await PlanDriver.start(stack);
  await p.consentAndSubmit(); // versions 1..4: drafted, consent requested, granted, submitted
  return p;
}

beforeAll(async () => {
  stack = await startTestStack();
  auditorDb = createDb({ connectionString: stack.database.url, role: AUDITOR_DB_ROLE, max: 2 });
  workDir = await mkdtemp(path.join(tmpdir(), 'iap-audit-'));
  key = (await loadOrCreateCheckpointKey(path.join(workDir, 'checkpoint-key.pem'))).key;

  // The whole lifecycle, with what the API said after every step.
  await setBudget(stack, MUNI_A, SEMESTER_NOW, 1_000_000);
  planA = await PlanDriver.start(stack, { config: fastConfig({ semesterEndsInMs: 12_000 }) });
  await snapshot('drafted');
  await planA.send(PREPARER, { type: 'RequestConsent', data: {} });
  await planA.send(PREPARER, { type: 'GrantConsent', data: { givenBy: 'parent', signedOn: TODAY, documentRef: 'consent-scan-1' } });
  await snapshot('consented');
  await planA.send(PREPARER, { type: 'SubmitForApproval', data: {} });
  await planA.approveAll();
  await snapshot('approved');
  await planA.send(PREPARER, {
    type: 'LogConsultation',
    data: { consultationId: 'c1', measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person' },
  });
  await planA.send(PREPARER, {
    type: 'ClaimCompensation',
    data: { claimId: 'k1', measureId: 'm2', compensationType: 'public_transport', periodFrom: TODAY, periodTo: TODAY, amountCents: 2500, documentRefs: ['ticket-1'] },
  });
  await snapshot('claimed');
  await planA.claim('k1', FINANCE, { type: 'VerifyDocuments', data: {} });
  await planA.claim('k1', FINANCE, { type: 'ApproveClaim', data: { approvedCents: 2500 } });
  await planA.claim('k1', FINANCE, { type: 'PayClaim', data: { paidOn: TODAY, paymentRef: 'PAY-1' } });
  await planA.waitFor((s) => s.status !== 'none' && s.claims.some((c) => c.status === 'paid'));
  await snapshot('paid');
  await planA.waitFor((s) => s.status === 'awaiting_evaluation', 40_000);
  await snapshot('semester ended');
  await planA.send(PREPARER, {
    type: 'EvaluatePlan',
    data: { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }, { riskId: 'r2', change: 'unchanged' }], outcome: 'continues', narrative: 'Better grades.' },
  });
  await planA.send(PREPARER, { type: 'ClosePlan', data: {} });
  await snapshot('closed');
}, 90_000);

afterAll(async () => {
  await auditorDb?.destroy();
  await stack?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("a plan's history", () => {
  it('lists every event in order with actor, role, time, request id and hash, and its claim stream', async () => {
    const res = await stack.app.inject({ method: 'GET', url: `/audit/plans/${planA.planId}/events`, headers: auditor() });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const log = await readStream(stack.db, planA.planId);
    expect(body.events.map((e: { type: string }) => e.type)).toEqual(log.map((e) => e.type));
    expect(body.events.map((e: { version: number }) => e.version)).toEqual(log.map((_, i) => i + 1));
    expect(body.events[0]).toMatchObject({ type: 'PlanDrafted', actorRole: 'preparer', actorId: PREPARER.id, hash: log[0]!.hash, prevHash: null });
    expect(body.events[0].requestId).toMatch(/^test-/);
    expect(body.events.find((e: { type: string }) => e.type === 'ApprovalGranted')).toMatchObject({ actorRole: 'school_director', actorId: DIRECTOR.id });
    expect(body.events.find((e: { type: string }) => e.type === 'SemesterEnded')).toMatchObject({ actorRole: 'system' });
    expect(body.events.at(-1)).toMatchObject({ type: 'PlanClosed' });
    expect(body.claims).toHaveLength(1);
    expect(body.claims[0].events.map((e: { type: string }) => e.type)).toEqual(['ClaimSubmitted', 'DocumentsVerified', 'ClaimApproved', 'ClaimPaid']);
  });

  it("as of each instant equals what GET /plans/:id answered then (the decider over the log's prefix)", async () => {
    expect(snapshots.map((s) => s.body.status)).toEqual(['draft', 'draft', 'approved', 'in_implementation', 'in_implementation', 'awaiting_evaluation', 'closed']);
    for (const snap of snapshots) {
      const res = await stack.app.inject({ method: 'GET', url: `/audit/plans/${planA.planId}/state?at=${encodeURIComponent(snap.at)}`, headers: auditor() });
      expect(res.statusCode, snap.step).toBe(200);
      expect(res.json().version, snap.step).toBe(snap.body.version);
      expect(res.json().state, snap.step).toEqual(snap.body.state);
    }
    const before = await stack.app.inject({ method: 'GET', url: `/audit/plans/${planA.planId}/state?at=2000-01-01T00:00:00Z`, headers: auditor() });
    expect(before.json()).toMatchObject({ version: 0, state: { status: 'none' }, lastEvent: null });
  });

  it('shows what changed between two instants', async () => {
    const [consented, approved] = [snapshots[1]!, snapshots[2]!];
    const res = await stack.app.inject({
      method: 'GET',
      url: `/audit/plans/${planA.planId}/diff?from=${encodeURIComponent(consented.at)}&to=${encodeURIComponent(approved.at)}`,
      headers: auditor(),
    });
    expect(res.statusCode).toBe(200);
    const d = res.json();
    expect(d.from).toMatchObject({ version: consented.body.version, status: 'draft' });
    expect(d.to).toMatchObject({ version: approved.body.version, status: 'approved' });
    expect(d.events.map((e: { type: string }) => e.type)).toEqual(['PlanSubmittedForApproval', 'ApprovalGranted', 'ApprovalGranted', 'ApprovalGranted', 'PlanApproved']);
    expect(d.changes).toContainEqual({ path: '/status', kind: 'changed', before: 'draft', after: 'approved' });
  });

  it('exports the Temporal workflow history as JSON', async () => {
    const res = await stack.app.inject({ method: 'GET', url: `/audit/plans/${planA.planId}/workflow-history`, headers: auditor() });
    expect(res.statusCode).toBe(200);
    expect(res.json().history.events[0]).toMatchObject({ eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED' });
  });

  it('is for auditors only, and names a malformed instant', async () => {
    const preparer = { authorization: `Bearer ${stack.token({ sub: 'p', role: 'preparer', school: 'school-a', municipality: MUNI_A, partner: MUNI_A, partnerType: 'municipality' })}` };
    const denied = await stack.app.inject({ method: 'GET', url: `/audit/plans/${planA.planId}/events`, headers: preparer });
    expect(denied.statusCode).toBe(403);
    expect(denied.headers['content-type']).toMatch(/application\/problem\+json/);
    const bad = await stack.app.inject({ method: 'GET', url: `/audit/plans/${planA.planId}/state?at=yesterday`, headers: auditor() });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'querystring.at' });
    const missing = await stack.app.inject({ method: 'GET', url: `/audit/plans/00000000-0000-4000-8000-000000000000/events`, headers: auditor() });
    expect(missing.statusCode).toBe(404);
  });
});

describe('an export', () => {
  it('round-trips through the offline verifier, and fails it once altered', async () => {
    const dir = path.join(workDir, 'export-a');
    const manifest = await writeExport(stack.db, { kind: 'plan', planId: planA.planId }, dir, { codeVersion: 'test' });
    expect(manifest.counts).toMatchObject({ streams: 2, plans: 1, claims: 1 });
    expect(manifest.streams.find((s) => s.streamId === planA.planId)?.headHash).toBe((await readStream(stack.db, planA.planId)).at(-1)!.hash);
    expect(await verifyExport(dir)).toMatchObject({ ok: true, problems: [], findings: [], events: manifest.counts.events });

    // One amount changed in one event line: the file hash fails, and so does that event's link.
    const file = path.join(dir, EXPORT_FILES.events);
    const original = await readFile(file, 'utf8');
    const lines = original.split('\n');
    const i = lines.findIndex((l) => l.includes('"type":"CompensationClaimed"'));
    lines[i] = lines[i]!.replace('"amountCents":2500', '"amountCents":9500');
    await writeFile(file, lines.join('\n'));
    const altered = await verifyExport(dir);
    expect(altered.ok).toBe(false);
    expect(altered.problems.map((p) => p.kind)).toContain('file');
    const eventId = JSON.parse(lines[i]!).eventId;
    expect(altered.findings).toEqual([expect.objectContaining({ eventId, reason: 'hash_mismatch' })]);

    // Even with the manifest's file hash made to match, the recomputed chain names the event.
    const m = JSON.parse(await readFile(path.join(dir, EXPORT_FILES.manifest), 'utf8'));
    const { createHash } = await import('node:crypto');
    m.files[EXPORT_FILES.events].sha256 = createHash('sha256').update(lines.join('\n')).digest('hex');
    await writeFile(path.join(dir, EXPORT_FILES.manifest), JSON.stringify(m));
    const forged = await verifyExport(dir);
    expect(forged.ok).toBe(false);
    expect(forged.findings[0]).toMatchObject({ eventId, reason: 'hash_mismatch' });
  });

  it('holds a period as partial streams, anchored where the period starts', async () => {
    const [from, to] = [snapshots[2]!.at, snapshots[4]!.at];
    const dir = path.join(workDir, 'export-period');
    const manifest = await writeExport(stack.db, { kind: 'period', from, to }, dir, { codeVersion: 'test' });
    const a = manifest.streams.find((s) => s.streamId === planA.planId)!;
    expect(a.fromVersion).toBe(snapshots[2]!.body.version + 1);
    expect(a.anchorPrevHash).toBe((await readStream(stack.db, planA.planId))[a.fromVersion - 2]!.hash);
    expect(await verifyExport(dir)).toMatchObject({ ok: true, findings: [], problems: [] });
  });

  it('round-trips through the CLI (export, verify-export)', async () => {
    const dir = path.join(workDir, 'export-cli');
    const out = await runCli(stack, ['export', '--plan', planA.planId, '--out', dir, '--quiet']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/exported plan .*: \d+ events in 2 streams, 1 plans, 1 claims/);
    const manifest = JSON.parse(await readFile(path.join(dir, EXPORT_FILES.manifest), 'utf8'));
    expect(manifest.codeVersion).not.toBe('');
    expect((await runCli(stack, ['verify-export', dir, '--quiet'])).code).toBe(0);
    await writeFile(path.join(dir, EXPORT_FILES.plans), '');
    const failed = await runCli(stack, ['verify-export', dir, '--quiet']);
    expect(failed.code).toBe(2);
    expect(failed.stdout).toMatch(/FAILED/);
  });
});

describe('verification', () => {
  let b: PlanDriver, c: PlanDriver, d: PlanDriver;

  beforeAll(async () => {
    [b, c, d] = await Promise.all([shortPlan(), shortPlan(), shortPlan()]);
  });

  it('passes an untouched log, then names the altered event, the deleted middle event and the deleted newest events', async () => {
    const cp = await takeCheckpoint(auditorDb, key);
    const streams = (await sql<{ n: string }>`select count(distinct stream_id) as n from events`.execute(stack.db)).rows[0]!.n;
    expect(cp.streamCount).toBe(Number(streams)); // plan A, its claim, the partner's budget, B, C, D
    const clean = await verifyLog(stack.db, { kind: 'log' }, { trustedPublicKeys: [key.publicKeyPem] });
    expect(clean).toMatchObject({ intact: true, findings: [], streams: cp.streamCount, checkpoint: { id: cp.id, signatureValid: true, keyTrusted: true } });
    expect(await verifyLog(stack.db, { kind: 'school', schoolId: 'school-a' })).toMatchObject({ intact: true, streams: 5 });

    const bEvents = await readStream(stack.db, b.planId);
    const dEvents = await readStream(stack.db, d.planId);
    await asAttacker(async (db) => {
      await sql`update events set data = jsonb_set(data, '{documentRef}', '"forged"') where stream_id = ${b.planId} and stream_version = 3`.execute(db);
      await sql`delete from events where stream_id = ${c.planId} and stream_version = 2`.execute(db);
      await sql`delete from events where stream_id = ${d.planId} and stream_version >= 3`.execute(db);
    });

    const onB = await verifyLog(stack.db, { kind: 'plan', planId: b.planId });
    expect(onB.intact).toBe(false);
    expect(onB.firstBreak).toMatchObject({ streamId: b.planId, streamVersion: 3, eventId: bEvents[2]!.eventId, reason: 'hash_mismatch', found: bEvents[2]!.hash });
    expect(onB.firstBreak!.expected).not.toBe(bEvents[2]!.hash);

    const onC = await verifyLog(stack.db, { kind: 'plan', planId: c.planId });
    expect(onC.firstBreak).toMatchObject({ streamId: c.planId, streamVersion: 3, reason: 'version_gap', expected: 'version 2', found: 'version 3' });

    // D's chain is still intact: only the checkpoint knows it had four events.
    const onD = await verifyLog(stack.db, { kind: 'plan', planId: d.planId });
    expect(onD.firstBreak).toMatchObject({
      streamId: d.planId,
      streamVersion: 3,
      reason: 'truncated',
      expected: `version 4 hash ${dEvents[3]!.hash}`,
      found: `version 2 hash ${dEvents[1]!.hash}`,
    });

    const school = await verifyLog(stack.db, { kind: 'school', schoolId: 'school-a' });
    expect(school.findings.map((f) => [f.streamId, f.reason]).sort()).toEqual(
      [
        [b.planId, 'hash_mismatch'],
        [c.planId, 'version_gap'],
        [d.planId, 'truncated'],
      ].sort(),
    );
    const whole = await verifyLog(stack.db, { kind: 'log' });
    expect(whole.findings).toHaveLength(3);
    expect(whole.intact).toBe(false);
    // Whole-log reads go page by page; small pages give the same sequence as one read.
    const paged: string[] = [];
    for await (const e of scanEvents(stack.db, { streams: null }, 3)) paged.push(e.eventId);
    const all = await stack.db.selectFrom('events').select('event_id').orderBy('stream_id').orderBy('stream_version').execute();
    expect(paged).toEqual(all.map((r) => r.event_id));
    const intactA = await verifyLog(stack.db, { kind: 'plan', planId: planA.planId });
    expect(intactA).toMatchObject({ intact: true, streams: 2 });

    // The same over HTTP, and from the CLI (exit code 2, the broken link named).
    const http = await stack.app.inject({ method: 'GET', url: `/audit/verify?planId=${d.planId}`, headers: auditor() });
    expect(http.statusCode).toBe(200);
    expect(http.json()).toMatchObject({ intact: false, firstBreak: { reason: 'truncated', streamVersion: 3 } });
    const cli = await runCli(stack, ['verify', '--quiet'], { IAP_CHECKPOINT_KEY_FILE: path.join(workDir, 'checkpoint-key.pem') });
    expect(cli.code).toBe(2);
    expect(cli.stdout).toContain('pinned key');
    expect(cli.stdout).toMatch(new RegExp(`first broken link: stream ${[b, c, d].map((p) => p.planId).sort()[0]} version 3`));
  });

  it('keeps the application role from writing checkpoints (privileges), and only a pinned key makes one evidence', async () => {
    const app = stack.database.appDb;
    await expect(takeCheckpoint(app, key)).rejects.toThrow(/written as iap_auditor/);
    const row = sql`insert into chain_checkpoints (taken_at, global_position, stream_count, event_count, heads, heads_digest, key_id, public_key, signature)
      values (now(), 0, 0, 0, '[]', '', '', '', '')`;
    await expect(row.execute(app)).rejects.toThrow(/permission denied/);
    await expect(sql`update chain_checkpoints set signature = ''`.execute(app)).rejects.toThrow(/permission denied/);
    await expect(sql`delete from chain_checkpoints`.execute(app)).rejects.toThrow(/permission denied/);
    expect((await sql<{ n: string }>`select count(*) as n from chain_checkpoints`.execute(app)).rows[0]!.n).not.toBe('0');
    // Even the auditor's role cannot rewrite a checkpoint once written.
    await expect(sql`update chain_checkpoints set signature = ''`.execute(auditorDb)).rejects.toThrow(/permission denied/);

    const cp = (await latestCheckpoint(stack.db))!;
    expect(checkCheckpointSignature(cp, [key.publicKeyPem])).toMatchObject({ signatureValid: true, keyTrusted: true });
    const other = (await loadOrCreateCheckpointKey(path.join(workDir, 'other-key.pem'))).key;
    expect(checkCheckpointSignature(cp, [other.publicKeyPem])).toMatchObject({ signatureValid: true, keyTrusted: false });
    expect(checkCheckpointSignature({ ...cp, heads: cp.heads.slice(1) })).toMatchObject({ signatureValid: false });
    expect(checkCheckpointSignature({ ...cp, eventCount: cp.eventCount + 1 })).toMatchObject({ signatureValid: false });
  });

  it("from the CLI: prints a plan's history and state as of an instant, and takes a signed checkpoint with a key it creates", async () => {
    const history = await runCli(stack, ['history', planA.planId]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout.split('\n')[0]).toMatch(new RegExp(`${planA.planId}@1 +PlanDrafted +preparer:${PREPARER.id} +req=test-`));
    const asOf = await runCli(stack, ['history', planA.planId, '--at', snapshots[2]!.at]);
    expect(JSON.parse(asOf.stdout).state).toEqual(snapshots[2]!.body.state);

    const keyFile = path.join(workDir, 'cli', 'checkpoint-key.pem');
    const cp = await runCli(stack, ['checkpoint', '--json'], { IAP_CHECKPOINT_KEY_FILE: keyFile });
    expect(cp.code, cp.stderr).toBe(0);
    expect(cp.stderr).toMatch(/created the checkpoint signing key/);
    const summary = JSON.parse(cp.stdout);
    expect(summary.keyId).toBe(keyIdOf(await readFile(publicKeyFileOf(keyFile), 'utf8')));
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await latestCheckpoint(stack.db))!.id).toBe(summary.id);
  });
});
