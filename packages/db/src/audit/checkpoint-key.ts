// The Ed25519 key that signs chain checkpoints. Its private half lives in a file outside the database and
// outside the application's configuration (IAP_CHECKPOINT_KEY_FILE), so neither a compromised API nor a
// database superuser can forge a checkpoint that the pinned public key accepts.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface CheckpointKey {
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyId: string;
}

/** A short, stable name of a public key: the start of the sha256 of its DER encoding. */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 32);
}

/** Where the public half is written next to the private key file, for verifiers to pin. */
export const publicKeyFileOf = (privateKeyFile: string): string => privateKeyFile.replace(/(\.pem)?$/, '.pub.pem');

export function checkpointKeyFromPem(privatePem: string): CheckpointKey {
  const privateKey = createPrivateKey(privatePem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the checkpoint key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKeyPem, keyId: keyIdOf(publicKeyPem) };
}

/** Reads the key file, or creates it (mode 0600) with its public half beside it on first use. */
export async function loadOrCreateCheckpointKey(file: string): Promise<{ key: CheckpointKey; created: boolean }> {
  if (existsSync(file)) return { key: checkpointKeyFromPem(await readFile(file, 'utf8')), created: false };
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await mkdir(path.dirname(file), { recursive: true });
  // 'wx': two first runs at once must not overwrite each other's key.
  await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  const key = checkpointKeyFromPem(pem);
  await writeFile(publicKeyFileOf(file), key.publicKeyPem, { mode: 0o644 });
  return { key, created: true };
}

export const signPayload = (key: CheckpointKey, payload: string): string => sign(null, Buffer.from(payload), key.privateKey).toString('base64');

export function verifyPayload(publicKeyPem: string, payload: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(payload), createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
