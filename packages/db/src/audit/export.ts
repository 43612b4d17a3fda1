// Audit exports: one plan, a school or a period written as a bundle (events as JSON lines, the
// projection snapshot, a manifest with counts, file hashes and chain heads), and the offline verifier
// that checks such a bundle with nothing but the files: file hashes, counts, every chain recomputed, and
// each plan's projected state against the same decider folded over the exported events.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { initialState, type PlanState } from '@iap/domain';
import type { Kysely } from 'kysely';
import { canonicalJson } from '../canonical.js';
import type { RecordedEvent } from '../event-store.js';
import { foldRecorded } from '../projections/plans.js';
import type { Database } from '../schema.js';
import { ChainVerifier, type AuditFinding, type ChainAnchor } from './chain.js';
import { latestCheckpoint } from './checkpoint.js';
import { countEvents, filterFor, scanEvents, type AuditScope } from './scope.js';
import type { ProgressFn } from './verify.js';

export const EXPORT_FORMAT = 'iap-audit-export/1';
export const EXPORT_FILES = { events: 'events.jsonl', plans: 'plans.jsonl', claims: 'claims.jsonl', manifest: 'manifest.json' } as const;

export interface ExportedStream {
  readonly streamId: string;
  /** 1 for a whole stream; more when a period export starts mid-stream (then anchored at `anchorPrevHash`). */
  readonly fromVersion: number;
  readonly anchorPrevHash: string | null;
  readonly toVersion: number;
  readonly headHash: string;
  readonly events: number;
}

export interface FileEntry {
  readonly sha256: string;
  readonly bytes: number;
  readonly lines: number;
}

export interface ExportManifest {
  readonly format: typeof EXPORT_FORMAT;
  readonly createdAt: string;
  readonly scope: AuditScope;
  readonly codeVersion: string;
  readonly counts: { readonly events: number; readonly streams: number; readonly plans: number; readonly claims: number };
  readonly files: Readonly<Record<string, FileEntry>>;
  /** Chain heads of every exported stream (and where each starts). */
  readonly streams: readonly ExportedStream[];
  /** The latest signed checkpoint when the bundle was made, to compare heads with later. */
  readonly checkpoint: { readonly id: string; readonly takenAt: string; readonly headsDigest: string; readonly keyId: string; readonly signature: string } | null;
}

/** Writes JSON lines while hashing exactly the bytes written. */
class JsonlWriter {
  private readonly hash = createHash('sha256');
  private readonly out: WriteStream;
  private bytes = 0;
  private lines = 0;
  constructor(file: string) {
    this.out = createWriteStream(file, { flags: 'wx' });
  }
  async write(value: unknown): Promise<void> {
    const buf = Buffer.from(`${canonicalJson(value)}\n`);
    this.hash.update(buf);
    this.bytes += buf.length;
    this.lines++;
    if (!this.out.write(buf)) await new Promise<void>((r) => this.out.once('drain', r));
  }
  async close(): Promise<FileEntry> {
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return { sha256: this.hash.digest('hex'), bytes: this.bytes, lines: this.lines };
  }
}

export interface ExportOptions {
  readonly codeVersion: string;
  readonly onProgress?: ProgressFn;
  readonly now?: () => Date;
}

/** Writes the bundle into `dir` (created; must not hold a bundle already) and returns its manifest. */
export async function writeExport(db: Kysely<Database>, scope: AuditScope, dir: string, opts: ExportOptions): Promise<ExportManifest> {
  await mkdir(dir, { recursive: true });
  const filter = await filterFor(db, scope);
  const total = await countEvents(db, filter);
  const events = new JsonlWriter(path.join(dir, EXPORT_FILES.events));
  const streams: ExportedStream[] = [];
  type Open = { -readonly [K in keyof ExportedStream]: ExportedStream[K] };
  let current = null as Open | null;
  let n = 0;
  for await (const e of scanEvents(db, filter)) {
    if (current?.streamId !== e.streamId) {
      if (current) streams.push(current);
      current = { streamId: e.streamId, fromVersion: e.streamVersion, anchorPrevHash: e.prevHash, toVersion: 0, headHash: '', events: 0 };
    }
    current.toVersion = e.streamVersion;
    current.headHash = e.hash;
    current.events++;
    await events.write(e);
    if (++n % 1_000 === 0) opts.onProgress?.(n, total);
  }
  if (current) streams.push(current);
  opts.onProgress?.(n, total);

  // The projection rows of the exported streams, as the application holds them now.
  const ids = streams.map((s) => s.streamId);
  const plans = new JsonlWriter(path.join(dir, EXPORT_FILES.plans));
  const claims = new JsonlWriter(path.join(dir, EXPORT_FILES.claims));
  for (let i = 0; i < ids.length; i += 1_000) {
    const page = ids.slice(i, i + 1_000);
    for (const r of await db.selectFrom('plans').selectAll().where('plan_id', 'in', page).orderBy('plan_id').execute()) {
      await plans.write({ ...r, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString(), last_global_position: String(r.last_global_position) });
    }
    for (const r of await db.selectFrom('claims').selectAll().where('stream_id', 'in', page).orderBy('stream_id').execute()) {
      await claims.write({ ...r, submitted_at: r.submitted_at.toISOString(), updated_at: r.updated_at.toISOString() });
    }
  }
  const files = { [EXPORT_FILES.events]: await events.close(), [EXPORT_FILES.plans]: await plans.close(), [EXPORT_FILES.claims]: await claims.close() };
  const cp = await latestCheckpoint(db);
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    createdAt: (opts.now ?? (() => new Date()))().toISOString(),
    scope,
    codeVersion: opts.codeVersion,
    counts: { events: n, streams: streams.length, plans: files[EXPORT_FILES.plans]!.lines, claims: files[EXPORT_FILES.claims]!.lines },
    files,
    streams,
    checkpoint: cp ? { id: cp.id, takenAt: cp.takenAt, headsDigest: cp.headsDigest, keyId: cp.keyId, signature: cp.signature } : null,
  };
  await writeFile(path.join(dir, EXPORT_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
  return manifest;
}

export interface ExportProblem {
  readonly kind: 'manifest' | 'file' | 'count' | 'head' | 'projection';
  readonly detail: string;
}

export interface ExportVerification {
  readonly ok: boolean;
  /** sha256 of manifest.json: keep it apart from the bundle to pin the whole bundle. */
  readonly manifestSha256: string;
  readonly events: number;
  readonly streams: number;
  readonly problems: readonly ExportProblem[];
  /** Broken links found by recomputing the chains from the exported events. */
  readonly findings: readonly AuditFinding[];
}

async function fileEntry(file: string): Promise<FileEntry | null> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
  } catch {
    return null;
  }
  return { sha256: hash.digest('hex'), bytes, lines };
}

async function* jsonLines(file: string): AsyncGenerator<unknown> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line.length) yield JSON.parse(line);
}

/** Checks a bundle offline: nothing but its files is consulted. */
export async function verifyExport(dir: string, opts: { onProgress?: ProgressFn } = {}): Promise<ExportVerification> {
  const problems: ExportProblem[] = [];
  const raw = await readFile(path.join(dir, EXPORT_FILES.manifest));
  const manifestSha256 = createHash('sha256').update(raw).digest('hex');
  const manifest = JSON.parse(raw.toString('utf8')) as ExportManifest;
  const done = (events = 0, streams = 0, findings: AuditFinding[] = []): ExportVerification => ({
    ok: problems.length === 0 && findings.length === 0,
    manifestSha256,
    events,
    streams,
    problems,
    findings,
  });
  if (manifest.format !== EXPORT_FORMAT) {
    problems.push({ kind: 'manifest', detail: `format is ${String(manifest.format)}, expected ${EXPORT_FORMAT}` });
    return done();
  }
  for (const name of [EXPORT_FILES.events, EXPORT_FILES.plans, EXPORT_FILES.claims]) {
    const want = manifest.files[name];
    const got = await fileEntry(path.join(dir, name));
    if (!want) problems.push({ kind: 'manifest', detail: `the manifest does not list ${name}` });
    else if (!got) problems.push({ kind: 'file', detail: `${name} is missing` });
    else if (got.sha256 !== want.sha256 || got.bytes !== want.bytes || got.lines !== want.lines) {
      problems.push({ kind: 'file', detail: `${name}: sha256 ${got.sha256} (${got.bytes} bytes, ${got.lines} lines), manifest says ${want.sha256} (${want.bytes} bytes, ${want.lines} lines)` });
    }
  }
  if (problems.some((p) => p.detail.endsWith('is missing'))) return done();

  // The projection rows, to compare with the decider's fold of the exported events.
  const projected = new Map<string, { version: number; state: string }>();
  for await (const r of jsonLines(path.join(dir, EXPORT_FILES.plans))) {
    const row = r as { plan_id: string; version: number; state: unknown };
    projected.set(row.plan_id, { version: row.version, state: canonicalJson(row.state) });
  }

  const expected = new Map(manifest.streams.map((s) => [s.streamId, s]));
  const anchors = new Map<string, ChainAnchor>(
    manifest.streams.filter((s) => s.fromVersion > 1).map((s) => [s.streamId, { fromVersion: s.fromVersion, prevHash: s.anchorPrevHash }]),
  );
  const verifier = new ChainVerifier({ anchors });
  const perStream = new Map<string, number>();
  // The plan stream being read, folded as it goes (`whole`: read from its first event, and foldable).
  let plan = null as { id: string; state: PlanState; whole: boolean } | null;
  const checkPlan = () => {
    const p = projected.get(plan?.id ?? '');
    if (!plan || !p || !plan.whole || p.version !== plan.state.version) return;
    if (canonicalJson(plan.state) !== p.state) {
      problems.push({ kind: 'projection', detail: `plan ${plan.id}: the projected state differs from the decider's fold of its events` });
    }
  };
  try {
    for await (const line of jsonLines(path.join(dir, EXPORT_FILES.events))) {
      const e = line as RecordedEvent;
      verifier.push(e);
      perStream.set(e.streamId, (perStream.get(e.streamId) ?? 0) + 1);
      if (e.type === 'PlanDrafted' || plan?.id === e.streamId) {
        if (plan?.id !== e.streamId) {
          checkPlan();
          plan = { id: e.streamId, state: initialState(), whole: e.streamVersion === 1 };
        }
        // A tampered event may not fold at all; the chain finding says why.
        try {
          if (plan.whole) plan.state = foldRecorded(plan.state, [e]);
        } catch {
          plan.whole = false;
        }
      }
      if (opts.onProgress && verifier.events % 1_000 === 0) opts.onProgress(verifier.events, manifest.counts.events);
    }
  } catch (err) {
    problems.push({ kind: 'file', detail: `${EXPORT_FILES.events} cannot be read: ${String(err)}` });
  }
  checkPlan();

  if (verifier.events !== manifest.counts.events) problems.push({ kind: 'count', detail: `${verifier.events} events, manifest says ${manifest.counts.events}` });
  if (verifier.tips.size !== manifest.counts.streams || expected.size !== manifest.counts.streams) {
    problems.push({ kind: 'count', detail: `${verifier.tips.size} streams, manifest says ${manifest.counts.streams} (and lists ${expected.size})` });
  }
  if (projected.size !== manifest.counts.plans) problems.push({ kind: 'count', detail: `${projected.size} plan rows, manifest says ${manifest.counts.plans}` });
  for (const [id, s] of expected) {
    const tip = verifier.tips.get(id);
    if (!tip) problems.push({ kind: 'head', detail: `stream ${id} is in the manifest but has no events` });
    else if (tip.version !== s.toVersion || tip.hash !== s.headHash || perStream.get(id) !== s.events) {
      problems.push({ kind: 'head', detail: `stream ${id}: head version ${tip.version} hash ${tip.hash} (${perStream.get(id)} events), manifest says version ${s.toVersion} hash ${s.headHash} (${s.events} events)` });
    }
  }
  for (const id of verifier.tips.keys()) if (!expected.has(id)) problems.push({ kind: 'head', detail: `stream ${id} is not in the manifest` });
  opts.onProgress?.(verifier.events, manifest.counts.events);
  return done(verifier.events, verifier.tips.size, verifier.findings);
}
