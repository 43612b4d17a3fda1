// Verifies hash chains over many streams in one pass, reading events in (stream, version) order, so the
// whole log is checked in constant memory per stream. Names the first broken link of every stream, and
// the hash each stream had at the versions a checkpoint vouched for.

import { chainHash } from '../hash-chain.js';
import type { RecordedEvent } from '../event-store.js';

export type FindingReason =
  | 'hash_mismatch'
  | 'prev_hash_mismatch'
  | 'version_gap'
  /** Newer events than the checkpoint's head are gone (or the whole stream is). */
  | 'truncated'
  /** The event at the checkpointed version hashes differently now: history was rewritten. */
  | 'checkpoint_mismatch';

/** A broken link: which event (or, for deleted events, which version), and expected against found. */
export interface AuditFinding {
  readonly streamId: string;
  readonly streamVersion: number;
  /** Null when the event is not there to name (deleted). */
  readonly eventId: string | null;
  readonly globalPosition: string | null;
  readonly reason: FindingReason;
  readonly expected: string;
  readonly found: string;
}

/** Where a stream's chain starts when a bundle holds only part of it (a period export). */
export interface ChainAnchor {
  readonly fromVersion: number;
  readonly prevHash: string | null;
}

export interface StreamTip {
  readonly version: number;
  readonly hash: string;
}

type ChainEvent = Pick<RecordedEvent, 'globalPosition' | 'prevHash' | 'hash'> & Parameters<typeof chainHash>[1];

export class ChainVerifier {
  readonly findings: AuditFinding[] = [];
  readonly tips = new Map<string, StreamTip>();
  /** Hashes seen at the watched versions (see `watch`). */
  readonly watchedHashes = new Map<string, string>();
  events = 0;
  private stream: string | null = null;
  private version = 0;
  private prev: string | null = null;
  private broken = false;

  constructor(
    private readonly opts: {
      readonly anchors?: ReadonlyMap<string, ChainAnchor>;
      /** stream → version whose hash to keep (a checkpoint's head). */
      readonly watch?: ReadonlyMap<string, number>;
    } = {},
  ) {}

  /** Feeds the next event; a stream's events must come together, by version. */
  push(e: ChainEvent): void {
    this.events++;
    if (e.streamId !== this.stream) {
      // The database's collation orders stream ids, so only a stream coming back is out of order.
      if (this.tips.has(e.streamId)) throw new Error(`events out of order: stream ${e.streamId} seen again after ${this.stream}`);
      const anchor = this.opts.anchors?.get(e.streamId);
      this.stream = e.streamId;
      this.version = anchor ? anchor.fromVersion - 1 : 0;
      this.prev = anchor ? anchor.prevHash : null;
      this.broken = false;
    }
    if (this.opts.watch?.get(e.streamId) === e.streamVersion) this.watchedHashes.set(e.streamId, e.hash);
    this.tips.set(e.streamId, { version: e.streamVersion, hash: e.hash });
    if (this.broken) return;
    const at = { streamId: e.streamId, streamVersion: e.streamVersion, eventId: e.eventId, globalPosition: e.globalPosition };
    if (e.streamVersion !== this.version + 1) {
      this.fail({ ...at, reason: 'version_gap', expected: `version ${this.version + 1}`, found: `version ${e.streamVersion}` });
    } else if (e.prevHash !== this.prev) {
      this.fail({ ...at, reason: 'prev_hash_mismatch', expected: String(this.prev), found: String(e.prevHash) });
    } else {
      const expected = chainHash(this.prev, e);
      if (expected !== e.hash) this.fail({ ...at, reason: 'hash_mismatch', expected, found: e.hash });
    }
    this.version = e.streamVersion;
    this.prev = e.hash;
  }

  private fail(f: AuditFinding): void {
    // Every later link of a broken stream fails too; only the first says where it happened.
    this.broken = true;
    this.findings.push(f);
  }
}

/**
 * Compares a checkpoint's heads with what the log holds now: a stream that is shorter than it was, or
 * whose event at the checkpointed version hashes differently, has lost or rewritten its newest events.
 */
export function compareWithCheckpoint(
  heads: readonly { readonly streamId: string; readonly version: number; readonly hash: string }[],
  tips: ReadonlyMap<string, StreamTip>,
  hashesAtCheckpoint: ReadonlyMap<string, string>,
): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (const h of heads) {
    const tip = tips.get(h.streamId);
    const expected = `version ${h.version} hash ${h.hash}`;
    if (!tip || tip.version < h.version) {
      out.push({
        streamId: h.streamId,
        streamVersion: (tip?.version ?? 0) + 1,
        eventId: null,
        globalPosition: null,
        reason: 'truncated',
        expected,
        found: tip ? `version ${tip.version} hash ${tip.hash}` : 'no events',
      });
      continue;
    }
    const now = hashesAtCheckpoint.get(h.streamId);
    if (now !== h.hash) {
      out.push({
        streamId: h.streamId,
        streamVersion: h.version,
        eventId: null,
        globalPosition: null,
        reason: 'checkpoint_mismatch',
        expected,
        found: now ? `version ${h.version} hash ${now}` : `version ${h.version} missing`,
      });
    }
  }
  return out;
}
