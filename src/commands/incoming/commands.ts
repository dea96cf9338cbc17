// Commands of the provider-side aggregate (stream incoming-<remoteId>).
import type {
  CertificateSigner,
  IdentityRevocationReason,
  NamespaceOffloadData,
  NamespaceRefusalReason,
  OfferWithdrawalReason,
  Resources,
  TokenRejectionReason,
} from '../../events/catalogue.js';
import type { Command } from '../command.js';

interface ClaimedCluster {
  readonly remoteClusterId: string;
  readonly remoteClusterName: string;
}

/**
 * The outcome of the authentication endpoint's constant-time comparison. The token itself never
 * enters a command: the adapter compares, the domain only learns whether it matched and why not.
 */
export type ValidateToken = Command<
  'ValidateToken',
  | (ClaimedCluster & { readonly outcome: 'valid' })
  | (ClaimedCluster & { readonly outcome: 'invalid'; readonly reason: TokenRejectionReason })
>;

/**
 * Sent after the adapter checked the CSR policy and signed; the domain decides whether it stands.
 * `lifetime` is the one the certificate's CN names, read from the state before signing
 * (nextLifetime): one that is not the next any more lost a race and is refused. `signer` says what
 * signed it (the client-CA key, or the Kubernetes CSR API).
 */
export type IssueCertificate = Command<
  'IssueCertificate',
  {
    readonly publicKeyFingerprint: string;
    readonly certFingerprint: string;
    readonly serialNumber: string;
    readonly notAfter: string;
    readonly tenantNamespace: string;
    readonly lifetime: number;
    readonly signer: CertificateSigner;
  }
>;

/**
 * Sent after the adapter verified that the current identity signed the request (or that the
 * consumer proved possession of the current key) and signed a new certificate, which opens a new
 * lifetime (`lifetime`, as for IssueCertificate).
 */
export type RenewCertificate = Command<
  'RenewCertificate',
  {
    readonly previousCertFingerprint: string;
    readonly publicKeyFingerprint: string;
    readonly certFingerprint: string;
    readonly serialNumber: string;
    readonly notAfter: string;
    readonly lifetime: number;
    readonly signer: CertificateSigner;
  }
>;

export type ReceiveResourceRequest = Command<'ReceiveResourceRequest', { readonly requestName: string }>;

export type IssueOffer = Command<'IssueOffer', { readonly offerName: string; readonly resources: Resources }>;

/** Freshly computed capacity; it becomes an update only if it moved beyond the threshold. */
export type UpdateOffer = Command<
  'UpdateOffer',
  { readonly resources: Resources; readonly thresholdPercent?: number }
>;

export type WithdrawOffer = Command<'WithdrawOffer', { readonly reason: OfferWithdrawalReason }>;

export type RevokeIdentity = Command<'RevokeIdentity', { readonly reason: IdentityRevocationReason }>;

/** A consumer's namespace and the one made for it here (the catalogue's NamespaceOffloadData). */
export type NamespacePair = NamespaceOffloadData;

/** Namespaces the consumer's ResourceRequest asks to offload (remote names derived by this provider). */
export type ReceiveNamespaceOffload = Command<'ReceiveNamespaceOffload', { readonly namespaces: readonly NamespacePair[] }>;

/** What making a remote namespace came to: created (with its quota and RBAC), or refused. */
export type RecordRemoteNamespace = Command<
  'RecordRemoteNamespace',
  NamespacePair & ({ readonly created: true } | { readonly created: false; readonly reason: NamespaceRefusalReason; readonly message: string })
>;

export type IncomingCommand =
  | ValidateToken
  | IssueCertificate
  | RenewCertificate
  | ReceiveResourceRequest
  | IssueOffer
  | UpdateOffer
  | WithdrawOffer
  | RevokeIdentity
  | ReceiveNamespaceOffload
  | RecordRemoteNamespace;
