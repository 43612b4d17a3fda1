// Verifies the log for one plan, one school or all of it: recomputes every chain, then compares the
// heads with the latest signed checkpoint, so edits, gaps and lost newest events are all named.

import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { ChainVerifier, compareWithCheckpoint, type AuditFinding } from './chain.js';
import { checkCheckpointSignature, latestCheckpoint } from './checkpoint.js';
import { countEvents, filterFor, ownerInScope, scanEvents, type AuditScope } from './scope.js';

export type VerifyScope = Exclude<AuditScope, { kind: 'period' }>;

export type ProgressFn = (done: number, total: number) => void;

export interface CheckpointReport {
  readonly id: string;
  readonly takenAt: string;
  readonly keyId: string;
  readonly signatureValid: boolean;
  readonly keyTrusted: boolean | null;
  readonly problem: string | null;
  /** Streams of the scope the checkpoint vouched for. */
  readonly streamsChecked: number;
}

export interface VerifyReport {
  readonly scope: VerifyScope;
  readonly streams: number;
  readonly events: number;
  /** Every chain intact, nothing lost since the checkpoint, and the checkpoint's signature valid. */
  readonly intact: boolean;
  /** The first finding, in stream order: what an auditor looks at first. */
  readonly firstBreak: AuditFinding | null;
  /** At most one per stream: the first broken link of each, then what the checkpoint says is missing. */
  readonly findings: readonly AuditFinding[];
  /** Null when no checkpoint was taken yet (then deleting a stream's newest events goes unseen). */
  readonly checkpoint: CheckpointReport | null;
}

export interface VerifyOptions {
  readonly onProgress?: ProgressFn;
  /** Public keys (PEM) whose checkpoints are trusted; empty: any validly signed checkpoint is reported as such. */
  readonly trustedPublicKeys?: readonly string[];
}

export async function verifyLog(db: Kysely<Database>, scope: VerifyScope, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const filter = await filterFor(db, scope);
  const [total, checkpoint] = await Promise.all([countEvents(db, filter), latestCheckpoint(db)]);
  const heads = checkpoint ? checkpoint.heads.filter((h) => ownerInScope(h, scope)) : [];
  const verifier = new ChainVerifier({ watch: new Map(heads.map((h) => [h.streamId, h.version])) });
  for await (const e of scanEvents(db, filter)) {
    verifier.push(e);
    if (opts.onProgress && verifier.events % 1_000 === 0) opts.onProgress(verifier.events, total);
  }
  opts.onProgress?.(verifier.events, total);

  const lost = compareWithCheckpoint(heads, verifier.tips, verifier.watchedHashes);
  // A stream that already shows a broken link is reported once, by its first break.
  const brokenStreams = new Set(verifier.findings.map((f) => f.streamId));
  const findings = [...verifier.findings, ...lost.filter((f) => !brokenStreams.has(f.streamId))].sort((a, b) =>
    a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.streamVersion - b.streamVersion,
  );
  const sig = checkpoint ? checkCheckpointSignature(checkpoint, opts.trustedPublicKeys ?? []) : null;
  const checkpointReport: CheckpointReport | null =
    checkpoint && sig
      ? { id: checkpoint.id, takenAt: checkpoint.takenAt, keyId: checkpoint.keyId, ...sig, streamsChecked: heads.length }
      : null;
  return {
    scope,
    streams: verifier.tips.size,
    events: verifier.events,
    intact: findings.length === 0 && (sig === null || (sig.signatureValid && sig.keyTrusted !== false)),
    firstBreak: findings[0] ?? null,
    findings,
    checkpoint: checkpointReport,
  };
}
