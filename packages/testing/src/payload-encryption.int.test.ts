// A plan's free text never reaches the Temporal server in the clear: every payload is encrypted by the
// engine's codec, so a client without the key (the Web UI, `temporal workflow show`) sees none of it, while
// the API and auditors with the key read it back.
import { planWorkflowId } from '@iap/messages';
import { decodeHistoryPayloads, EncryptionCodec, ENCRYPTED_ENCODING } from '@iap/runtime';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './audit-cli.js';
import { preparerOf, registerLearner, SCHOOL_A, startTestStack, TEST_PAYLOAD_KEY, type TestStack } from './stack.js';
import { SEMESTER_NOW } from './workflow-driver.js';

const CANARY = 'canary-7f3e-mother-in-hospital';

let stack: TestStack;
let connection: Connection;
let plain: Client;

beforeAll(async () => {
  stack = await startTestStack();
  await registerLearner(stack.app, stack.token(preparerOf(SCHOOL_A)), 'L-0001');
  connection = await Connection.connect({ address: process.env.IAP_TEST_TEMPORAL_ADDRESS! });
  plain = new Client({ connection, namespace: 'default' });
});
afterAll(async () => {
  await connection?.close();
  await stack?.close();
});

/** Every text the value holds: its strings, and its byte arrays and base64 strings read as UTF-8. */
function texts(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    out.push(value, Buffer.from(value, 'base64').toString('utf8'));
  } else if (value instanceof Uint8Array) {
    out.push(Buffer.from(value).toString('utf8'));
  } else if (Array.isArray(value)) {
    for (const v of value) texts(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) texts(v, out);
  }
  return out;
}
const mentions = (value: unknown, s: string): boolean => texts(value).some((t) => t.includes(s));

describe('payload encryption', () => {
  it('keeps a risk note out of Temporal, and readable through the API and the codec', async () => {
    const token = stack.token(preparerOf(SCHOOL_A));
    const created = await stack.app.inject({
      method: 'POST',
      url: '/plans',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        learnerRef: 'L-0001',
        semester: SEMESTER_NOW,
        grade: 7,
        risks: [{ riskId: 'r1', type: 'family', factor: 'family circumstances', note: CANARY }],
        measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'talks with the school psychologist', providerType: 'psychologist', plannedMinutes: 120 }],
      },
    });
    expect(created.statusCode).toBe(201);
    const planId = created.json().planId as string;

    // The plan reads back with its note.
    const read = await stack.app.inject({ method: 'GET', url: `/plans/${planId}`, headers: { authorization: `Bearer ${token}` } });
    expect(read.statusCode).toBe(200);
    expect(JSON.stringify(read.json())).toContain(CANARY);

    // Without the key: the raw history, the start input, memo and search attributes hold no trace of it.
    const handle = plain.workflow.getHandle(planWorkflowId(planId));
    const raw = await handle.fetchHistory();
    const started = raw.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.input?.payloads?.length).toBeGreaterThan(0);
    for (const p of started!.input!.payloads!) expect(Buffer.from(p.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    const updates = raw.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates.length).toBeGreaterThan(0);
    expect(mentions(raw, CANARY)).toBe(false);
    expect(mentions(raw, 'family circumstances')).toBe(false);
    const description = await handle.describe();
    expect(mentions(description.raw, CANARY)).toBe(false);
    expect(mentions(started?.memo ?? null, CANARY)).toBe(false);
    expect(mentions(started?.searchAttributes ?? null, CANARY)).toBe(false);
    // Search attributes stay readable: they hold no personal data.
    expect(JSON.stringify(description.searchAttributes)).toContain('school-a');

    // With the key: the same history decodes, and so does the auditors' export.
    expect(mentions(await decodeHistoryPayloads(raw, [new EncryptionCodec(TEST_PAYLOAD_KEY)]), CANARY)).toBe(true);
    const auditor = { authorization: `Bearer ${stack.token({ sub: 'auditor-1', role: 'auditor' })}` };
    const exported = await stack.app.inject({ method: 'GET', url: `/audit/plans/${planId}/workflow-history`, headers: auditor });
    expect(exported.statusCode).toBe(200);
    expect(mentions(exported.json(), CANARY)).toBe(true);
    // And the operator's `iap history --workflow` prints it decoded, with the key; `iap replay` replays it.
    const printed = await runCli(stack, ['history', planId, '--workflow']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(mentions(JSON.parse(printed.stdout), CANARY)).toBe(true);
    const replayed = await runCli(stack, ['replay', '--plan', planId, '--json', '--quiet']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ problems: [] });

    // A codec with another key cannot read it.
    await expect(decodeHistoryPayloads(raw, [new EncryptionCodec('01'.repeat(32))])).rejects.toThrow(/unknown key id/);
  });
});
