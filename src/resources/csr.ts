// Forging of the CertificateSigningRequest (certificates.k8s.io/v1) through which a provider with no
// CA key has a consumer's identity signed, and of its approval: pure, so a crash and a retry make
// the same object under the same name (the adapter re-finds it instead of leaving one behind).
import { createHash } from 'node:crypto';
import { CSR_APPROVAL_REASON, IDENTITY_CSR_TYPE, KUBE_APISERVER_CLIENT_SIGNER, LABELS, MANAGED_BY } from './constants.js';
import { ValidationError } from '../errors.js';

/** kube-controller-manager's signer refuses less (certificates.k8s.io: expirationSeconds >= 600). */
export const MIN_CSR_EXPIRATION_SECONDS = 600;

export interface IdentityCsrInput {
  /** This (the provider's) cluster id. */
  readonly clusterId: string;
  /** The consumer the identity is for. */
  readonly remoteClusterId: string;
  /** The consumer's PEM CSR, sent as it came: the signer copies its subject, so the policy checked it. */
  readonly csrPem: string;
  /** The certificate's lifetime the policy granted. */
  readonly validitySeconds: number;
  /** The identity lifetime the certificate opens (its CN names it). */
  readonly lifetime: number;
  /** Default kubernetes.io/kube-apiserver-client. */
  readonly signerName?: string;
}

/** SHA-256 (hex) of the CSR's DER, from its PEM: what names the object. */
export function csrFingerprint(csrPem: string): string {
  const body = /-----BEGIN CERTIFICATE REQUEST-----([\s\S]*?)-----END CERTIFICATE REQUEST-----/.exec(csrPem)?.[1];
  if (body === undefined) throw new ValidationError('not a PEM CERTIFICATE REQUEST', { field: 'csr' });
  return createHash('sha256').update(Buffer.from(body.replace(/\s+/g, ''), 'base64')).digest('hex');
}

/**
 * `peerlog-<cluster id>-<40 hex of the CSR's SHA-256>`: one name per request and signing cluster,
 * the same after a restart. A cluster id is a DNS label (at most 63), so the name fits the
 * 253 characters of a DNS subdomain.
 */
export function identityCsrName(clusterId: string, csrPem: string): string {
  return `peerlog-${clusterId}-${csrFingerprint(csrPem).slice(0, 40)}`;
}

/** The CertificateSigningRequest for one identity: client auth only, expiring with the policy's validity. */
export function forgeIdentityCsr(p: IdentityCsrInput): Record<string, unknown> {
  if (!Number.isInteger(p.validitySeconds) || p.validitySeconds < MIN_CSR_EXPIRATION_SECONDS) {
    throw new ValidationError(`expirationSeconds must be a whole number of at least ${MIN_CSR_EXPIRATION_SECONDS}, not ${p.validitySeconds}`, { field: 'validitySeconds' });
  }
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: {
      name: identityCsrName(p.clusterId, p.csrPem),
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.type]: IDENTITY_CSR_TYPE,
        [LABELS.clusterId]: p.clusterId,
        [LABELS.remoteClusterId]: p.remoteClusterId,
      },
    },
    spec: {
      request: Buffer.from(p.csrPem, 'utf8').toString('base64'),
      signerName: p.signerName ?? KUBE_APISERVER_CLIENT_SIGNER,
      expirationSeconds: p.validitySeconds,
      // Digital signature is what a TLS client key does in the handshake (ECDSA, Ed25519, RSA-PSS);
      // key encipherment is never needed by a client on TLS 1.2+ with ECDHE, nor allowed for EC keys.
      usages: ['digital signature', 'client auth'],
    },
  };
}

/** The Approved condition peerlog sets once its own policy allowed the request. */
export function forgeApprovalCondition(p: { readonly clusterId: string; readonly remoteClusterId: string; readonly lifetime: number; readonly now: Date }): Record<string, unknown> {
  return {
    type: 'Approved',
    status: 'True',
    reason: CSR_APPROVAL_REASON,
    message: `peerlog on cluster ${p.clusterId} approved the identity of the peering with ${p.remoteClusterId} (lifetime ${p.lifetime}): token or renewal proof and CSR policy checked`,
    lastUpdateTime: p.now.toISOString(),
  };
}

/** The label selector of the CertificateSigningRequests one control plane makes. */
export function identityCsrSelector(clusterId: string): string {
  return `${LABELS.type}=${IDENTITY_CSR_TYPE},${LABELS.clusterId}=${clusterId}`;
}
