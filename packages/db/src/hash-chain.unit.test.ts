// The chain's link is a published format: an auditor recomputes it from the stored events. These values
// were computed before the event store began building the body from pre-serialised parts; they must not move.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.js';
import { chainBody, chainHash } from './hash-chain.js';

const meta = { actorId: 'u-1', actorRole: 'preparer', schoolId: 'school-a', requestId: 'req "1"', correlationId: null, causationId: null, workflowId: 'plan-x', runId: 'run-1' };
const event = {
  eventId: 'p/1',
  streamId: 'p',
  streamVersion: 1,
  type: 'ConsultationLogged',
  schemaVersion: 1,
  data: { z: [1, 2.5, null, 'Liepāja 🎓'], a: { y: true, b: -0.001 }, n: 'tab\there' },
  metadata: meta,
  occurredAt: '2026-09-01T10:00:00.000Z',
  recordedAt: '2026-09-01T10:00:00.123Z',
};

describe('hash chain links', () => {
  it('keep the recorded values', () => {
    expect(chainHash(null, event)).toBe('9f360ac4e4ec34bceb31656cdd8e1446d5193634bd94c6ccab1c9011c1dba30e');
    expect(chainHash('ab'.repeat(32), { ...event, streamVersion: 2, eventId: 'p/2' })).toBe('c687681524fb67d3aa634338fd696488ea467fe8d20ec1c89a906748fca6c29e');
  });

  it('hash the canonical JSON of every field the chain vouches for', () => {
    const { eventId, streamId, streamVersion, type, schemaVersion, data, metadata, occurredAt, recordedAt } = event;
    expect(chainBody(event)).toBe(canonicalJson({ type, streamVersion, streamId, schemaVersion, recordedAt, occurredAt, metadata, eventId, data }));
    expect(() => chainBody({ ...event, schemaVersion: 1.5 })).toThrow(TypeError);
  });
});
