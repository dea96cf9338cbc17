// The catalogue: every event type of the log and the shape of its data at the current schema
// version. Type names are part of the product's public contract; an event's `type` equals its name.
import type {
  ACTOR_KINDS,
  AUTHENTICATION_FAILURE_REASONS,
  CERTIFICATE_SIGNERS,
  CONDITION_STATUSES,
  CONTAINER_STATES,
  DRAIN_WAIT_REASONS,
  IDENTITY_REVOCATION_REASONS,
  OFFER_REFUSAL_REASONS,
  OFFER_WITHDRAWAL_REASONS,
  PEERING_BLOCK_REASONS,
  POD_PHASES,
  PROVIDER_HEALTH_REASONS,
  POD_RECLAIM_REASONS,
  POD_OFFLOAD_FAILURE_REASONS,
  NAMESPACE_REFUSAL_REASONS,
  TOKEN_REJECTION_REASONS,
  WITHDRAWAL_OUTCOMES,
} from './constants.js';

export type ActorKind = (typeof ACTOR_KINDS)[number];
export type AuthenticationFailureReason = (typeof AUTHENTICATION_FAILURE_REASONS)[number];
export type CertificateSigner = (typeof CERTIFICATE_SIGNERS)[number];
export type TokenRejectionReason = (typeof TOKEN_REJECTION_REASONS)[number];
export type OfferRefusalReason = (typeof OFFER_REFUSAL_REASONS)[number];
export type DrainWaitReason = (typeof DRAIN_WAIT_REASONS)[number];
export type OfferWithdrawalReason = (typeof OFFER_WITHDRAWAL_REASONS)[number];
export type IdentityRevocationReason = (typeof IDENTITY_REVOCATION_REASONS)[number];
export type PeeringBlockReason = (typeof PEERING_BLOCK_REASONS)[number];
export type ProviderHealthReason = (typeof PROVIDER_HEALTH_REASONS)[number];
export type PodReclaimReason = (typeof POD_RECLAIM_REASONS)[number];
export type PodPhase = (typeof POD_PHASES)[number];
export type PodOffloadFailureReason = (typeof POD_OFFLOAD_FAILURE_REASONS)[number];
export type NamespaceRefusalReason = (typeof NAMESPACE_REFUSAL_REASONS)[number];
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];
export type ContainerState = (typeof CONTAINER_STATES)[number];
export type WithdrawalOutcome = (typeof WITHDRAWAL_OUTCOMES)[number];

/**
 * Kubernetes quantity strings by resource name. cpu, memory and pods are always present; extended
 * resources (`nvidia.com/gpu`, `ephemeral-storage`) may follow. Strings, not numbers, so the log keeps
 * exactly what Kubernetes showed; src/events/quantity.ts gives the canonical numeric form.
 */
export interface Resources {
  readonly cpu: string;
  readonly memory: string;
  readonly pods: string;
  readonly [resource: string]: string;
}

// ---- consumer: stream outgoing-<remoteId> ---------------------------------------------------------

export interface PeeringRequestedData {
  readonly remoteClusterId: string;
  readonly remoteClusterName: string;
  readonly authUrl: string;
  /**
   * What asked for this attempt (v2): the ForeignCluster's generation and its token Secret's
   * resourceVersion, `<generation>/<resourceVersion>`. A refused attempt is retried only for a new one.
   * Absent in v1 events.
   */
  readonly attempt?: string | null;
}

/** Why a peering could not start (v1): nothing was sent to the provider. */
export interface PeeringBlockedData {
  readonly reason: PeeringBlockReason;
  readonly message: string;
}

export interface IdentityRequestedData {
  /** SHA-256 of the DER SubjectPublicKeyInfo: lets the provider's "same key again" rule be audited. */
  readonly publicKeyFingerprint: string;
  readonly csrFingerprint: string;
  /**
   * SHA-256 of the authentication endpoint's certificate the request goes to (v2): pinned by the
   * user, or learned on first contact, and trusted from then on. Absent in v1 events.
   */
  readonly authFingerprint?: string | null;
}

/**
 * CertIssued exists on both sides under one name (the name is public contract), so the data says
 * which side recorded it. A discriminant inside the data, rather than two type names or a rule tied
 * to the stream id, keeps each message self-describing for any Kafka tool, and lets the schema check
 * each side's fields strictly.
 */
export interface CertReceivedData {
  readonly side: 'consumer';
  readonly certFingerprint: string;
  readonly notAfter: string;
  readonly tenantNamespace: string;
  readonly apiServerUrl: string;
}

export interface CertSignedData {
  readonly side: 'provider';
  readonly publicKeyFingerprint: string;
  readonly certFingerprint: string;
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly tenantNamespace: string;
  /**
   * The identity lifetime the certificate opened (v2): its CN, and so its Kubernetes user, is
   * `peerlog:cluster:<id>:<lifetime>`, the only user RBAC names while it is current. Absent in v1
   * events, whose certificates carry the plain `peerlog:cluster:<id>`.
   */
  readonly lifetime?: number;
  /**
   * What signed the certificate (v3): `ca-key`, the cluster's client-CA key held by the control
   * plane, or `csr-api`, the Kubernetes CSR API (signerName kubernetes.io/kube-apiserver-client),
   * with no CA key in peerlog. Absent in v1 and v2 events, which were all signed with the CA key.
   */
  readonly signer?: CertificateSigner;
}


export type CertIssuedData = CertReceivedData | CertSignedData;

/** A new key for a standing identity: only fingerprints enter the log, never the key. */
export interface IdentityRenewalRequestedData {
  readonly publicKeyFingerprint: string;
  readonly csrFingerprint: string;
}

/**
 * A standing identity's certificate replaced by one for a new key (or, when a consumer asks again
 * with its current key near expiry, for the same key), authenticated by the current identity. Like
 * CertIssued it exists on both sides under one name, told apart by `side`.
 */
export interface CertRenewedReceivedData {
  readonly side: 'consumer';
  readonly previousCertFingerprint: string;
  readonly publicKeyFingerprint: string;
  readonly certFingerprint: string;
  readonly notAfter: string;
}

export interface CertRenewedSignedData {
  readonly side: 'provider';
  readonly previousCertFingerprint: string;
  readonly publicKeyFingerprint: string;
  readonly certFingerprint: string;
  readonly serialNumber: string;
  readonly notAfter: string;
  /** The lifetime the renewed certificate opened (v2), as in CertSignedData; absent in v1 events. */
  readonly lifetime?: number;
  /** What signed it (v3), as in CertSignedData; absent in v1 and v2 events (the CA key). */
  readonly signer?: CertificateSigner;
}

export type CertRenewedData = CertRenewedReceivedData | CertRenewedSignedData;

export interface AuthenticationFailedData {
  readonly reason: AuthenticationFailureReason;
  /** null when no HTTP answer came back (unreachable endpoint). */
  readonly httpStatus: number | null;
  /** The endpoint tried (v2; absent in v1 events). */
  readonly authUrl?: string | null;
  /** The refusal's own code, e.g. ClusterIdMismatch or the provider's reason (v2). */
  readonly detail?: string | null;
  /** What the provider (or the check of its answer) said, at most 1024 characters (v2). */
  readonly message?: string | null;
}

/** A renewal attempt that failed; the current identity stays in force until its notAfter. */
export type IdentityRenewalFailedData = AuthenticationFailedData;

/** The provider's answer to this cluster's current identity changed (what the virtual node's Ready follows). */
export interface ProviderHealthChangedData {
  readonly ready: boolean;
  readonly reason: ProviderHealthReason | null;
  readonly message: string | null;
}

export interface ResourceRequestedData {
  readonly tenantNamespace: string;
}

export interface OfferData {
  readonly offerName: string;
  /** metadata.generation of the provider's ResourceOffer as replicated to the consumer. */
  readonly generation: number;
  readonly resources: Resources;
}

export type OfferReceivedData = OfferData;
export type OfferAcceptedData = OfferData;

export interface OfferRefusedData {
  readonly offerName: string;
  readonly generation: number;
  readonly reason: OfferRefusalReason;
}

export interface VirtualNodeCreatedData {
  readonly nodeName: string;
  readonly resources: Resources;
}

export interface VirtualNodeRefData {
  readonly nodeName: string;
}

export interface UnpeeringRequestedData {
  /** Force skips what needs the provider (graceful drain), for a provider that is gone. */
  readonly force: boolean;
  /**
   * Whether the virtual node's pods are evicted (v2; absent in v1, which always drained). Without
   * a drain the node is cordoned and unpeering waits for its pods to finish on their own.
   */
  readonly drain?: boolean;
}

/** Why a drain has not finished, and how many pods are still on the node (VirtualNodeDrainWaiting). */
export interface VirtualNodeDrainWaitingData {
  readonly nodeName: string;
  readonly reason: DrainWaitReason;
  /** Pods still bound to the virtual node. */
  readonly remaining: number;
  /** `<namespace>/<name>` of the pod whose eviction was refused, if one was. */
  readonly pod: string | null;
  /** The PodDisruptionBudget that refused it, if the apiserver named one. */
  readonly budget: string | null;
  readonly message: string;
}

export interface ResourceRequestWithdrawnData {
  readonly tenantNamespace: string;
  /**
   * false when the provider could not be reached (forced unpeering): the request, and whatever the
   * provider made for this cluster, are left there until a later contact finishes it.
   */
  readonly providerReached: boolean;
  /**
   * When the provider was not reached: the notice the identity's key signed before it was deleted,
   * which a later contact delivers so that the provider ends its half (absent in schema version 1).
   */
  readonly notice?: WithdrawalNoticeData | null;
}

/** A signed withdrawal notice: the certificate it ends, when it was signed, the key's signature (base64). */
export interface WithdrawalNoticeData {
  readonly certFingerprint: string;
  readonly signedAt: string;
  readonly signature: string;
}

/**
 * The provider ended the peering (its incoming direction disabled for this cluster), as its
 * answer on this cluster's ResourceRequest said: the teardown runs here as if asked, and this
 * cluster does not peer again until its intent changes.
 */
export interface ProviderEndedPeeringData {
  readonly reason: OfferWithdrawalReason;
  readonly message: string;
}

/** The provider answered a withdrawal notice (a forced unpeering's later contact). */
export interface WithdrawalDeliveredData {
  readonly outcome: WithdrawalOutcome;
  readonly message: string;
}

export interface PeeringTerminatedData {
  readonly force: boolean;
}

// ---- provider: stream incoming-<remoteId> ---------------------------------------------------------

export interface TokenValidatedData {
  readonly remoteClusterId: string;
  readonly remoteClusterName: string;
}

export interface TokenRejectedData {
  readonly reason: TokenRejectionReason;
}

export interface ResourceRequestReceivedData {
  readonly requestName: string;
  readonly tenantNamespace: string;
}

export interface OfferIssuedData {
  readonly offerName: string;
  readonly resources: Resources;
}

export type OfferUpdatedData = OfferIssuedData;

export interface OfferWithdrawnData {
  readonly offerName: string;
  readonly reason: OfferWithdrawalReason;
}

export interface IdentityRevokedData {
  readonly reason: IdentityRevocationReason;
  /** null when the token was validated but no certificate had been signed yet. */
  readonly certSerialNumber: string | null;
}

// ---- pods: stream pods-<remoteId> (one per virtual node, on the consumer) -------------------------

export interface PodRefData {
  readonly namespace: string;
  readonly name: string;
  /** The local pod's uid: a pod recreated under the same name is another pod. */
  readonly uid: string;
}

export interface PodOffloadedData extends PodRefData {
  readonly remoteNamespace: string;
  readonly remoteName: string;
  /** The virtual node the pod was bound to (v2; absent in v1). */
  readonly nodeName?: string;
  /**
   * SHA-256 of the twin's forged spec (v2; absent in v1). The spec itself stays out of the log: env
   * values and arguments may carry what a log kept forever must not, and the local pod holds it.
   */
  readonly specHash?: string;
}

/** The provider did not take the pod's twin, or the pod is not one to offload; shown on the local pod. */
export interface PodOffloadFailedData extends PodRefData {
  readonly reason: PodOffloadFailureReason;
  /** The provider's words (bounded), or why peerlog does not offload the pod. */
  readonly message: string;
}

export interface PodConditionSnapshot {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string | null;
  readonly message: string | null;
  /** v2: when the condition last changed in the provider (changes on transitions only). */
  readonly lastTransitionTime?: string | null;
}

export interface ContainerStatusSnapshot {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
  readonly state: ContainerState;
  readonly reason: string | null;
  readonly exitCode: number | null;
  /** v2: the image the provider runs, when the container started and (terminated) finished. */
  readonly image?: string | null;
  readonly imageId?: string | null;
  readonly startedAt?: string | null;
  readonly finishedAt?: string | null;
}

/**
 * The part of the remote pod's status reflected back. Timestamps that tick (lastProbeTime,
 * heartbeats) are left out on purpose: they would turn every watch event into a log entry. Those
 * that mark a change (start time, a condition's transition) are kept (v2).
 */
export interface PodStatusSnapshot {
  readonly phase: PodPhase;
  readonly podIp: string | null;
  readonly conditions: readonly PodConditionSnapshot[];
  readonly containerStatuses: readonly ContainerStatusSnapshot[];
  /** v2: when the remote pod started. */
  readonly startTime?: string | null;
  /** v2: the remote pod's own reason and message (Evicted, a deadline, ...). */
  readonly reason?: string | null;
  readonly message?: string | null;
}

export interface PodStatusReflectedData extends PodRefData {
  readonly status: PodStatusSnapshot;
}

export interface PodReclaimedData extends PodRefData {
  readonly reason: PodReclaimReason;
}

/** A local namespace and the provider namespace its offloaded pods run in (`<namespace>-<consumer id>`). */
export interface NamespaceOffloadData {
  readonly namespace: string;
  readonly remoteNamespace: string;
}

export interface NamespaceRefusedData extends NamespaceOffloadData {
  readonly reason: NamespaceRefusalReason;
  readonly message: string;
}

// ---- the audit stream -------------------------------------------------------------------------------

/**
 * A signed tree head, as Certificate Transparency signs its trees: the control plane's own key
 * (Ed25519) signs `checkpointMessage(clusterId, chainLength, head)`, so that one who rewrites the log
 * and recomputes every hash after an edit still cannot make the heads this cluster signed.
 */
export interface CheckpointSignedData {
  /** How many events of the cluster log the head covers (its 1-based chain position). */
  readonly chainLength: number;
  /** The hash of event number `chainLength` of the chain. */
  readonly head: string;
  /** SHA-256 hex of the signing key's SubjectPublicKeyInfo (DER): which published key verifies it. */
  readonly keyId: string;
  /** Ed25519 signature, base64url without padding. */
  readonly signature: string;
}

// ---- the map from type name to data -----------------------------------------------------------------

export interface EventDataMap {
  // consumer
  readonly PeeringRequested: PeeringRequestedData;
  readonly PeeringBlocked: PeeringBlockedData;
  readonly IdentityRequested: IdentityRequestedData;
  readonly CertIssued: CertIssuedData;
  readonly IdentityRenewalRequested: IdentityRenewalRequestedData;
  readonly CertRenewed: CertRenewedData;
  readonly IdentityRenewalFailed: IdentityRenewalFailedData;
  readonly AuthenticationFailed: AuthenticationFailedData;
  readonly ProviderHealthChanged: ProviderHealthChangedData;
  readonly ResourceRequested: ResourceRequestedData;
  readonly OfferReceived: OfferReceivedData;
  readonly OfferAccepted: OfferAcceptedData;
  readonly OfferRefused: OfferRefusedData;
  readonly VirtualNodeCreated: VirtualNodeCreatedData;
  readonly VirtualNodeReady: VirtualNodeRefData;
  readonly UnpeeringRequested: UnpeeringRequestedData;
  readonly VirtualNodeCordoned: VirtualNodeRefData;
  readonly VirtualNodeDrainWaiting: VirtualNodeDrainWaitingData;
  readonly VirtualNodeDrained: VirtualNodeRefData;
  readonly VirtualNodeDeleted: VirtualNodeRefData;
  readonly ResourceRequestWithdrawn: ResourceRequestWithdrawnData;
  readonly PeeringTerminated: PeeringTerminatedData;
  readonly WithdrawalDelivered: WithdrawalDeliveredData;
  readonly ProviderEndedPeering: ProviderEndedPeeringData;
  // provider
  readonly TokenValidated: TokenValidatedData;
  readonly TokenRejected: TokenRejectedData;
  readonly ResourceRequestReceived: ResourceRequestReceivedData;
  readonly OfferIssued: OfferIssuedData;
  readonly OfferUpdated: OfferUpdatedData;
  readonly OfferWithdrawn: OfferWithdrawnData;
  readonly IdentityRevoked: IdentityRevokedData;
  // pods
  readonly PodOffloaded: PodOffloadedData;
  readonly PodStatusReflected: PodStatusReflectedData;
  readonly PodReclaimed: PodReclaimedData;
  readonly OffloadingEnded: VirtualNodeRefData;
  readonly PodOffloadFailed: PodOffloadFailedData;
  readonly NamespaceOffloadRequested: NamespaceOffloadData;
  readonly NamespaceOffloadGranted: NamespaceOffloadData;
  readonly NamespaceOffloadRefused: NamespaceRefusedData;
  // provider, remote namespaces
  readonly NamespaceOffloadReceived: NamespaceOffloadData;
  readonly RemoteNamespaceCreated: NamespaceOffloadData;
  readonly RemoteNamespaceRefused: NamespaceRefusedData;
  // audit
  readonly CheckpointSigned: CheckpointSignedData;
}

export type EventType = keyof EventDataMap;

/** What a decider emits: type and data only; the handler wraps it in an envelope. */
export type DomainEvent<T extends EventType = EventType> = {
  readonly [K in T]: { readonly type: K; readonly data: EventDataMap[K] };
}[T];

/** Narrows CertIssued to one side, for the aggregates that only ever see one of them. */
export type CertIssuedOn<Side extends CertIssuedData['side']> = {
  readonly type: 'CertIssued';
  readonly data: Extract<CertIssuedData, { readonly side: Side }>;
};

/** Narrows CertRenewed to one side, as CertIssuedOn does. */
export type CertRenewedOn<Side extends CertRenewedData['side']> = {
  readonly type: 'CertRenewed';
  readonly data: Extract<CertRenewedData, { readonly side: Side }>;
};

export type OutgoingEvent =
  | DomainEvent<
      | 'PeeringRequested'
      | 'PeeringBlocked'
      | 'IdentityRequested'
      | 'IdentityRenewalRequested'
      | 'IdentityRenewalFailed'
      | 'AuthenticationFailed'
      | 'ProviderHealthChanged'
      | 'ResourceRequested'
      | 'OfferReceived'
      | 'OfferAccepted'
      | 'OfferRefused'
      | 'VirtualNodeCreated'
      | 'VirtualNodeReady'
      | 'UnpeeringRequested'
      | 'VirtualNodeCordoned'
      | 'VirtualNodeDrainWaiting'
      | 'VirtualNodeDrained'
      | 'VirtualNodeDeleted'
      | 'ResourceRequestWithdrawn'
      | 'PeeringTerminated'
      | 'WithdrawalDelivered'
      | 'ProviderEndedPeering'
    >
  | CertIssuedOn<'consumer'>
  | CertRenewedOn<'consumer'>;

export type IncomingEvent =
  | DomainEvent<
      | 'TokenValidated'
      | 'TokenRejected'
      | 'ResourceRequestReceived'
      | 'OfferIssued'
      | 'OfferUpdated'
      | 'OfferWithdrawn'
      | 'IdentityRevoked'
      | 'NamespaceOffloadReceived'
      | 'RemoteNamespaceCreated'
      | 'RemoteNamespaceRefused'
    >
  | CertIssuedOn<'provider'>
  | CertRenewedOn<'provider'>;

export type PodsEvent = DomainEvent<
  | 'PodOffloaded'
  | 'PodOffloadFailed'
  | 'PodStatusReflected'
  | 'PodReclaimed'
  | 'OffloadingEnded'
  | 'NamespaceOffloadRequested'
  | 'NamespaceOffloadGranted'
  | 'NamespaceOffloadRefused'
>;

export type AuditEvent = DomainEvent<'CheckpointSigned'>;

export interface Actor {
  readonly kind: ActorKind;
  /** A user name from kubectl, the CLI user, a remote cluster id, or a controller's name. */
  readonly name: string;
}
