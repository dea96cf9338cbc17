// The wire format of the authentication endpoint (DESIGN §6), shared by the server and the client.
import { CLUSTER_ID_PATTERN, DNS_LABEL_PATTERN } from '../events/constants.js';
import { ValidationError } from '../errors.js';
import { AuthRefusal } from './errors.js';

export const IDS_PATH = '/ids';
export const IDENTITY_PATH = '/identity';
/** The public key that verifies this control plane's signed checkpoints. */
export const AUDIT_KEY_PATH = '/audit/key';
/** Bodies beyond this are refused with 413 before they are read to the end. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ClusterIds {
  readonly clusterId: string;
  readonly clusterName: string;
}

export interface IdentityRequest extends ClusterIds {
  readonly token: string;
  /** PEM PKCS#10 certificate request. */
  readonly csr: string;
  /** Asked validity; the provider's policy bounds it. */
  readonly validitySeconds?: number;
  /** A renewal: the current certificate and its key's signature over renewalStatement (base64). */
  readonly renewal?: RenewalProof;
}

export interface RenewalProof {
  readonly certFingerprint: string;
  readonly signature: string;
}

export interface IdentityResponse {
  /** The provider's own ids, so the consumer can check whom it reached. */
  readonly clusterId: string;
  readonly clusterName: string;
  /** PEM client certificate signed by the provider's client CA. */
  readonly certificate: string;
  /** PEM CA bundle to verify the provider's kube-apiserver. */
  readonly caBundle: string;
  readonly apiServerUrl: string;
  readonly tenantNamespace: string;
  readonly notAfter: string;
}

function malformed(field: string, why: string): never {
  throw new AuthRefusal('MalformedRequest', field, `${field}: ${why}`);
}

/**
 * Checks the shape of an identity request. The token is only checked to be present here; whether it
 * is right is the token check's business, which records the attempt.
 */
export function parseIdentityRequest(body: unknown): IdentityRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) malformed('body', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  const allowed = new Set(['clusterId', 'clusterName', 'token', 'csr', 'validitySeconds', 'renewal']);
  for (const k of Object.keys(b)) if (!allowed.has(k)) malformed(k, 'unknown field');
  // The rules the event log holds these to (src/events/schemas.ts): checked here, before the token,
  // so that a name the log would refuse costs no token check and records nothing.
  if (typeof b.clusterId !== 'string' || !CLUSTER_ID_PATTERN.test(b.clusterId)) malformed('clusterId', 'must be a cluster id (letters, digits, . _ -, at most 63)');
  if (b.clusterName !== undefined && (typeof b.clusterName !== 'string' || !DNS_LABEL_PATTERN.test(b.clusterName))) {
    malformed('clusterName', 'must be a DNS label (lowercase letters, digits and \'-\', at most 63)');
  }
  if (b.clusterName === undefined && !DNS_LABEL_PATTERN.test(b.clusterId)) {
    malformed('clusterName', 'missing, and the cluster id is not a DNS label that could stand for it');
  }
  if (b.token !== undefined && typeof b.token !== 'string') malformed('token', 'must be a string');
  if (typeof b.csr !== 'string' || !b.csr.includes('-----BEGIN CERTIFICATE REQUEST-----')) malformed('csr', 'must be a PEM certificate request');
  if (b.validitySeconds !== undefined && (typeof b.validitySeconds !== 'number' || !Number.isInteger(b.validitySeconds) || b.validitySeconds <= 0)) {
    malformed('validitySeconds', 'must be a positive integer');
  }
  let renewal: RenewalProof | undefined;
  if (b.renewal !== undefined) {
    const r = b.renewal as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || Array.isArray(r) || Object.keys(r).some((k) => k !== 'certFingerprint' && k !== 'signature')) {
      malformed('renewal', 'must be an object with certFingerprint and signature');
    }
    if (typeof r.certFingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(r.certFingerprint)) malformed('renewal.certFingerprint', 'must be a lowercase SHA-256 hex fingerprint');
    if (typeof r.signature !== 'string' || r.signature.length === 0 || r.signature.length > 2048 || !/^[A-Za-z0-9+/]+=*$/.test(r.signature)) {
      malformed('renewal.signature', 'must be base64, at most 2048 characters');
    }
    renewal = { certFingerprint: r.certFingerprint, signature: r.signature };
  }
  return {
    ...(renewal ? { renewal } : {}),
    clusterId: b.clusterId,
    clusterName: (b.clusterName as string | undefined) ?? b.clusterId,
    token: (b.token as string | undefined) ?? '',
    csr: b.csr,
    ...(b.validitySeconds !== undefined ? { validitySeconds: b.validitySeconds as number } : {}),
  };
}

export function parseIdentityResponse(body: unknown): IdentityResponse {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  for (const k of ['clusterId', 'clusterName', 'certificate', 'caBundle', 'apiServerUrl', 'tenantNamespace', 'notAfter'] as const) {
    if (typeof b[k] !== 'string' || b[k] === '') throw new ValidationError(`the provider's answer lacks ${k}`, { code: 'InvalidResponse', field: k });
  }
  return b as unknown as IdentityResponse;
}

/** What GET /audit/key answers. */
export interface AuditKeyAnswer {
  readonly clusterId: string;
  readonly algorithm: 'Ed25519';
  readonly keyId: string;
  readonly publicKey: string;
}

/** An /audit/key answer checked field by field; anything else is refused with what is wrong. */
export function parseAuditKeyAnswer(body: unknown): AuditKeyAnswer {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const text = (field: string): string => {
    const v = b[field];
    if (typeof v !== 'string' || v === '') throw new ValidationError(`${field}: expected a non-empty string`, { field });
    return v;
  };
  const clusterId = text('clusterId');
  const algorithm = text('algorithm');
  if (algorithm !== 'Ed25519') throw new ValidationError(`algorithm: expected Ed25519, got ${JSON.stringify(algorithm).slice(0, 40)}`, { field: 'algorithm' });
  const keyId = text('keyId');
  const publicKey = text('publicKey');
  if (!/^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/.test(publicKey)) {
    throw new ValidationError('publicKey: expected one PEM "PUBLIC KEY" block', { field: 'publicKey' });
  }
  return { clusterId, algorithm, keyId, publicKey };
}
