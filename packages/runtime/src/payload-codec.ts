// Encrypts every Temporal payload (workflow inputs, Update arguments and results, activity inputs and
// results, memos) so that the Temporal server, its database and its Web UI never hold a plan's free text
// in the clear. Every Temporal Client and Worker of the engine uses `temporalDataConverter`.
//
// An encrypted payload is AES-256-GCM over the protobuf form of the original payload, with a random 12-byte
// IV; its metadata holds the encoding `binary/encrypted` and the id of the key (derived from the key, so a
// key needs no separate name). Decoding passes through payloads that are not encrypted (older histories).
// Search attributes are not payloads a codec sees: they stay plain and hold no personal data.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { loadOrCreateSecret } from './tokens.js';

type Payload = proto.temporal.api.common.v1.IPayload;
// A CommonJS module: its namespace is its default export under Node's ESM loader.
const PayloadMessage = proto.temporal.api.common.v1.Payload;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEX_KEY = /^[0-9a-f]{64}$/i;

/** The key payloads are encrypted with, and the older keys that still decrypt (rotation). */
export interface PayloadKeyring {
  readonly current: string;
  readonly old?: readonly string[];
}

interface Key {
  readonly id: string;
  readonly bytes: Buffer;
}

function parseKey(hex: string, what: string): Key {
  if (!HEX_KEY.test(hex)) throw new Error(`${what} must be 64 hexadecimal characters (a 256-bit key)`);
  const bytes = Buffer.from(hex, 'hex');
  return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 16), bytes };
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const fromUtf8 = (b: Uint8Array | null | undefined): string | undefined => (b ? new TextDecoder().decode(b) : undefined);

export class EncryptionCodec implements PayloadCodec {
  private readonly current: Key;
  private readonly byId: ReadonlyMap<string, Key>;

  constructor(keys: PayloadKeyring | string) {
    const ring = typeof keys === 'string' ? { current: keys } : keys;
    this.current = parseKey(ring.current, 'IAP_PAYLOAD_KEY');
    const old = (ring.old ?? []).map((k) => parseKey(k, 'each of IAP_PAYLOAD_KEYS_OLD'));
    this.byId = new Map([...old, this.current].map((k) => [k.id, k]));
  }

  get keyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  private encrypt(payload: Payload): Payload {
    const { id, bytes } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', bytes, iv);
    cipher.setAAD(Buffer.from(id));
    const plain = PayloadMessage.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id) }, data: sealed };
  }

  private decrypt(payload: Payload): Payload {
    if (fromUtf8(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const id = fromUtf8(payload.metadata?.[KEY_ID_METADATA]);
    const key = id === undefined ? undefined : this.byId.get(id);
    if (!key) throw new Error(`payload encrypted with unknown key id ${id ?? '(none)'}: set IAP_PAYLOAD_KEY or IAP_PAYLOAD_KEYS_OLD`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(key.id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    return PayloadMessage.decode(plain);
  }
}

/** The data converter of every Temporal Client and Worker of the engine. */
export function temporalDataConverter(keys: PayloadKeyring | string): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keys)] };
}

/**
 * The payload key (IAP_PAYLOAD_KEY: 64 hex characters), else one generated once into the data folder; the
 * older keys that still decrypt come from IAP_PAYLOAD_KEYS_OLD (comma-separated).
 */
export function loadOrCreatePayloadKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): PayloadKeyring {
  const current = loadOrCreateSecret(dataDir, 'payload-key', 'IAP_PAYLOAD_KEY', env);
  const old = (env.IAP_PAYLOAD_KEYS_OLD ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  parseKey(current, 'IAP_PAYLOAD_KEY');
  old.forEach((k) => parseKey(k, 'each of IAP_PAYLOAD_KEYS_OLD'));
  return { current, old };
}

const isEncryptedPayload = (v: Record<string, unknown>): boolean => {
  const meta = v.metadata as Record<string, unknown> | null | undefined;
  const enc = meta?.encoding;
  return enc instanceof Uint8Array && fromUtf8(enc) === ENCRYPTED_ENCODING;
};

/**
 * A fetched workflow history with every encrypted payload in it decrypted (histories from the server
 * hold them as the codec wrote them), for auditors and `iap history --workflow`.
 */
export async function decodeHistoryPayloads<T>(history: T, codecs: readonly PayloadCodec[]): Promise<T> {
  const decode = async (p: Payload): Promise<Payload> => {
    let out = [p];
    for (const codec of [...codecs].reverse()) out = await codec.decode(out);
    return out[0]!;
  };
  const walk = async (v: unknown): Promise<unknown> => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (Array.isArray(v)) return Promise.all(v.map(walk));
    const obj = v as Record<string, unknown>;
    if (isEncryptedPayload(obj)) return decode(obj as Payload);
    const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(obj) as object | null) as Record<string, unknown>;
    for (const [k, val] of Object.entries(obj)) out[k] = await walk(val);
    return out;
  };
  return (await walk(history)) as T;
}
