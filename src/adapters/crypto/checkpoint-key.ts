// The control plane's own checkpoint key (Ed25519, node:crypto): kept as a PKCS#8 PEM file with mode
// 0600 beside the control plane's other local secrets (the stack dir for --stack, or --audit-key).
// A file rather than a Kubernetes Secret: `audit verify` and `audit key` run where the log is, with
// no cluster credentials, and a control plane must sign even while its kube-apiserver is away.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ValidationError } from '../../errors.js';

export interface CheckpointKey {
  /** SHA-256 hex of the public key's SubjectPublicKeyInfo (DER). */
  readonly keyId: string;
  /** The public key as SPKI PEM: what peers and auditors fetch. */
  readonly publicKeyPem: string;
  /** Ed25519 signature of `message`, base64url without padding. */
  sign(message: Buffer): string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

function fromPrivate(privateKey: KeyObject): CheckpointKey {
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (message) => sign(null, message, privateKey).toString('base64url'),
  };
}

/** Reads the key at `path`; makes one there first when `create` and it is missing. */
export function loadCheckpointKey(path: string, options: { create?: boolean } = {}): CheckpointKey {
  if (!existsSync(path)) {
    if (!options.create) throw new ValidationError(`setting audit-key: no checkpoint key at ${path}`, { field: 'audit-key', code: 'InvalidSetting' });
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    // 'wx': two control planes starting at once keep the first one's key.
    try { writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' }); } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }
  let key: KeyObject;
  try { key = createPrivateKey(readFileSync(path)); } catch (e) {
    throw new ValidationError(`setting audit-key: ${path} is not a PEM private key (${(e as Error).message})`, { field: 'audit-key', code: 'InvalidSetting', cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ValidationError(`setting audit-key: ${path} holds a ${String(key.asymmetricKeyType)} key, not Ed25519`, { field: 'audit-key', code: 'InvalidSetting' });
  return fromPrivate(key);
}

/** A signature check against published public keys (SPKI PEM): undefined for a key id none of them has. */
export function signatureCheck(publicKeyPems: readonly string[]): (keyId: string, message: Buffer, signature: Buffer) => boolean | undefined {
  const byId = new Map<string, KeyObject>();
  for (const pem of publicKeyPems) {
    let k: KeyObject;
    try { k = createPublicKey(pem); } catch (e) {
      throw new ValidationError(`not a PEM public key (${(e as Error).message})`, { field: 'public-key', cause: e });
    }
    if (k.asymmetricKeyType !== 'ed25519') throw new ValidationError(`the public key is ${String(k.asymmetricKeyType)}, not Ed25519`, { field: 'public-key' });
    byId.set(keyIdOf(k), k);
  }
  return (keyId, message, signature) => {
    const k = byId.get(keyId);
    if (k === undefined) return undefined;
    try { return verify(null, message, k, signature); } catch { return false; }
  };
}
