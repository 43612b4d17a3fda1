import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { EncryptionCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, loadOrCreatePayloadKey } from './payload-codec.js';

const KEY_A = 'aa'.repeat(32);
const KEY_B = 'bb'.repeat(32);
const note = defaultPayloadConverter.toPayload({ note: 'the learner lives with grandparents' });
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

describe('EncryptionCodec', () => {
  it('encrypts with a fresh IV each time and decrypts back to the same payload', async () => {
    const codec = new EncryptionCodec(KEY_A);
    const [a] = await codec.encode([note]);
    const [b] = await codec.encode([note]);
    expect(str(a!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(str(a!.metadata![KEY_ID_METADATA])).toBe(codec.keyId);
    expect(str(a!.data)).not.toContain('grandparents');
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
    const [back] = await codec.decode([a!]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual({ note: 'the learner lives with grandparents' });
  });

  it('passes through payloads that are not encrypted (recorded histories)', async () => {
    const [back] = await new EncryptionCodec(KEY_A).decode([note]);
    expect(back).toBe(note);
  });

  it('decrypts with an old key after rotation and encrypts with the current one', async () => {
    const [old] = await new EncryptionCodec(KEY_A).encode([note]);
    const rotated = new EncryptionCodec({ current: KEY_B, old: [KEY_A] });
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!)).toEqual({ note: 'the learner lives with grandparents' });
    const [fresh] = await rotated.encode([note]);
    expect(str(fresh!.metadata![KEY_ID_METADATA])).toBe(new EncryptionCodec(KEY_B).keyId);
    await expect(new EncryptionCodec(KEY_A).decode([fresh!])).rejects.toThrow(/unknown key id/);
  });

  it('refuses a tampered payload and a malformed key', async () => {
    const codec = new EncryptionCodec(KEY_A);
    const [sealed] = await codec.encode([note]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow();
    expect(() => new EncryptionCodec('abc')).toThrow(/IAP_PAYLOAD_KEY/);
  });
});

describe('loadOrCreatePayloadKey', () => {
  it('takes IAP_PAYLOAD_KEY and IAP_PAYLOAD_KEYS_OLD from the environment', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pk-'));
    expect(loadOrCreatePayloadKey(dir, { IAP_PAYLOAD_KEY: KEY_B, IAP_PAYLOAD_KEYS_OLD: ` ${KEY_A} ,` })).toEqual({ current: KEY_B, old: [KEY_A] });
    expect(() => loadOrCreatePayloadKey(dir, { IAP_PAYLOAD_KEY: 'short' })).toThrow(/64 hexadecimal/);
  });

  it('otherwise generates one once into the data folder, readable by its owner only', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pk-'));
    const first = loadOrCreatePayloadKey(dir, {});
    expect(first.current).toMatch(/^[0-9a-f]{64}$/);
    expect(loadOrCreatePayloadKey(dir, {}).current).toBe(first.current);
    expect(readFileSync(path.join(dir, 'payload-key'), 'utf8').trim()).toBe(first.current);
    expect(statSync(path.join(dir, 'payload-key')).mode & 0o777).toBe(0o600);
  });
});
