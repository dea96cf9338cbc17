// A consumer that unpeers by force, while its provider cannot be reached, still owes the provider
// the news. Before it deletes its key it signs a withdrawal notice with it — the identity's own
// "revocation certificate" — and keeps the notice in its log; whenever the provider answers again
// (the process step retries, and a new peering with it delivers the notice first), the notice is
// posted to the provider's authentication endpoint, which checks the signature against the
// certificate it issued and runs its half of the unpeering. Pure: the statement and the wire shape.
import { AuthRefusal } from './errors.js';
import { CLUSTER_ID_PATTERN } from '../events/constants.js';

export const WITHDRAWAL_PATH = '/withdrawal';

/** What the consumer's log keeps: nothing secret, and good only for ending that one identity. */
export interface WithdrawalNotice {
  /** The certificate the notice withdraws (SHA-256 of its DER, lowercase hex). */
  readonly certFingerprint: string;
  /** When the notice was signed (RFC 3339). */
  readonly signedAt: string;
  /** The identity key's signature over withdrawalStatement (base64). */
  readonly signature: string;
}

export interface WithdrawalRequest extends WithdrawalNotice {
  /** The consumer that withdraws. */
  readonly clusterId: string;
}

/**
 * What the identity key signs: the protocol, both cluster ids, the certificate and the time. Bound
 * to both ids and the certificate, a notice ends that identity alone; it grants nothing.
 */
export function withdrawalStatement(p: { providerClusterId: string; consumerClusterId: string; certFingerprint: string; signedAt: string }): string {
  return ['peerlog-withdrawal-v1', p.providerClusterId, p.consumerClusterId, p.certFingerprint, p.signedAt].join('\n');
}

/** The provider's answers: its half ended now, or had ended before (nothing left to do). */
export const WITHDRAWAL_ANSWERS = ['Revoked', 'AlreadyEnded'] as const;
export type WithdrawalAnswer = (typeof WITHDRAWAL_ANSWERS)[number];

function malformed(field: string, why: string): never {
  throw new AuthRefusal('MalformedRequest', field, `${field}: ${why}`);
}

/** Checks the shape of a posted notice (the signature is checked against the stored certificate). */
export function parseWithdrawalRequest(body: unknown): WithdrawalRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) malformed('body', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  const allowed = new Set(['clusterId', 'certFingerprint', 'signedAt', 'signature']);
  for (const k of Object.keys(b)) if (!allowed.has(k)) malformed(k, 'unknown field');
  if (typeof b.clusterId !== 'string' || !CLUSTER_ID_PATTERN.test(b.clusterId)) malformed('clusterId', 'must be a cluster id (letters, digits, . _ -, at most 63)');
  if (typeof b.certFingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(b.certFingerprint)) malformed('certFingerprint', 'must be a lowercase SHA-256 hex fingerprint');
  if (typeof b.signedAt !== 'string' || b.signedAt.length > 40 || Number.isNaN(Date.parse(b.signedAt))) malformed('signedAt', 'must be an RFC 3339 time');
  if (typeof b.signature !== 'string' || b.signature.length === 0 || b.signature.length > 2048 || !/^[A-Za-z0-9+/]+=*$/.test(b.signature)) {
    malformed('signature', 'must be base64, at most 2048 characters');
  }
  return { clusterId: b.clusterId, certFingerprint: b.certFingerprint, signedAt: b.signedAt, signature: b.signature };
}

export function parseWithdrawalAnswer(body: unknown): WithdrawalAnswer | undefined {
  const outcome = (body as { outcome?: unknown } | null)?.outcome;
  return (WITHDRAWAL_ANSWERS as readonly unknown[]).includes(outcome) ? outcome as WithdrawalAnswer : undefined;
}
