// The multi-stream chain verifier and the checkpoint comparison, on events built in memory.
import { describe, expect, it } from 'vitest';
import { chainHash } from '../hash-chain.js';
import type { RecordedEvent } from '../event-store.js';
import { ChainVerifier, compareWithCheckpoint } from './chain.js';

const meta = { actorId: 'u', actorRole: 'preparer', schoolId: null, requestId: null, correlationId: null, causationId: null, workflowId: null, runId: null };

function stream(streamId: string, n: number, pos0 = 0): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  let prev: string | null = null;
  for (let v = 1; v <= n; v++) {
    const base = { eventId: `${streamId}/${v}`, streamId, streamVersion: v, type: 'T', schemaVersion: 1, data: { v }, metadata: meta, occurredAt: '2026-09-01T00:00:00.000Z', recordedAt: '2026-09-01T00:00:00.000Z' };
    const hash = chainHash(prev, base);
    out.push({ ...base, globalPosition: String(pos0 + v), transactionId: '1', prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

const run = (events: RecordedEvent[], opts?: ConstructorParameters<typeof ChainVerifier>[0]) => {
  const v = new ChainVerifier(opts);
  for (const e of events) v.push(e);
  return v;
};

describe('ChainVerifier', () => {
  it('passes intact streams and records their tips', () => {
    const v = run([...stream('a', 3), ...stream('b', 2, 10)]);
    expect(v.findings).toEqual([]);
    expect(v.tips.get('a')?.version).toBe(3);
    expect(v.events).toBe(5);
  });

  it('names the first broken link of each stream only', () => {
    const a = stream('a', 4);
    a[1] = { ...a[1]!, data: { v: 99 } };
    const b = stream('b', 3);
    b.splice(1, 1);
    const v = run([...a, ...b]);
    expect(v.findings.map((f) => [f.streamId, f.streamVersion, f.reason])).toEqual([
      ['a', 2, 'hash_mismatch'],
      ['b', 3, 'version_gap'],
    ]);
    // Found: the hash the row carries; expected: what its (altered) content hashes to now.
    expect(v.findings[0]!.found).toBe(stream('a', 4)[1]!.hash);
    expect(v.findings[0]!.expected).not.toBe(v.findings[0]!.found);
  });

  it('starts a partial stream at its anchor', () => {
    const a = stream('a', 5).slice(2);
    expect(run(a).findings[0]?.reason).toBe('version_gap');
    expect(run(a, { anchors: new Map([['a', { fromVersion: 3, prevHash: a[0]!.prevHash }]]) }).findings).toEqual([]);
  });

  it('refuses a stream that comes back after another', () => {
    const a = stream('a', 2);
    expect(() => run([a[0]!, ...stream('b', 1), a[1]!])).toThrow(/out of order/);
  });
});

describe('compareWithCheckpoint', () => {
  it('finds streams that lost their newest events, or whose checkpointed event changed', () => {
    const a = stream('a', 4);
    const b = stream('b', 3);
    const heads = [
      { streamId: 'a', version: 4, hash: a[3]!.hash },
      { streamId: 'b', version: 2, hash: b[1]!.hash },
      { streamId: 'c', version: 1, hash: 'x' },
    ];
    const v = run([...a.slice(0, 2), ...b], { watch: new Map(heads.map((h) => [h.streamId, h.version])) });
    const lost = compareWithCheckpoint(heads, v.tips, v.watchedHashes);
    expect(lost.map((f) => [f.streamId, f.streamVersion, f.reason])).toEqual([
      ['a', 3, 'truncated'],
      ['c', 1, 'truncated'],
    ]);
    const changed = compareWithCheckpoint([{ streamId: 'b', version: 2, hash: 'other' }], v.tips, v.watchedHashes);
    expect(changed[0]).toMatchObject({ reason: 'checkpoint_mismatch', streamVersion: 2 });
  });
});
