// Commands of the consumer-side aggregate (stream outgoing-<remoteId>).
import type { AuthenticationFailureReason, DrainWaitReason, OfferRefusalReason, PeeringBlockReason, ProviderHealthReason, Resources, OfferWithdrawalReason, WithdrawalNoticeData, WithdrawalOutcome } from '../../events/catalogue.js';
import type { Command, NoData } from '../command.js';

export type RequestPeering = Command<
  'RequestPeering',
  {
    readonly remoteClusterId: string;
    readonly remoteClusterName: string;
    readonly authUrl: string;
    /** `<ForeignCluster generation>/<token Secret resourceVersion>`: a refused attempt is retried only for a new one. */
    readonly attempt?: string;
  }
>;

/** What stops a peering before anything is sent (a missing token, a Secret not allowed, no auth URL). */
export type BlockPeering = Command<'BlockPeering', { readonly reason: PeeringBlockReason; readonly message: string }>;

/** Sent once the handler has generated a key pair and a CSR; only their fingerprints enter the log. */
export type RequestIdentity = Command<
  'RequestIdentity',
  {
    readonly publicKeyFingerprint: string;
    readonly csrFingerprint: string;
    /** The endpoint certificate the request goes to (pinned, or seen on first contact). */
    readonly authFingerprint?: string;
  }
>;

/** The provider's answer, after the handler stored the certificate where the kubeconfig needs it. */
export type RecordCertificate = Command<
  'RecordCertificate',
  {
    readonly certFingerprint: string;
    readonly notAfter: string;
    readonly tenantNamespace: string;
    readonly apiServerUrl: string;
  }
>;

/** A failure's words: the endpoint tried, the refusal's own code, the message (cut to 1024 characters). */
export interface FailureWords {
  readonly authUrl?: string;
  readonly detail?: string;
  readonly message?: string;
}

export type RecordAuthenticationFailure = Command<
  'RecordAuthenticationFailure',
  { readonly reason: AuthenticationFailureReason; readonly httpStatus?: number } & FailureWords
>;

/**
 * Renewal of a standing identity: the handler made a new key (stored before use) and a CSR for it;
 * the request will be signed with the current key, which is what lets the provider accept it.
 */
export type RequestIdentityRenewal = Command<
  'RequestIdentityRenewal',
  { readonly publicKeyFingerprint: string; readonly csrFingerprint: string }
>;

/** The renewed certificate, stored in the identity Secret before this is sent. */
export type RecordRenewedCertificate = Command<
  'RecordRenewedCertificate',
  {
    readonly publicKeyFingerprint: string;
    readonly certFingerprint: string;
    readonly notAfter: string;
    readonly tenantNamespace: string;
    readonly apiServerUrl: string;
  }
>;

export type RecordRenewalFailure = Command<
  'RecordRenewalFailure',
  { readonly reason: AuthenticationFailureReason; readonly httpStatus?: number } & FailureWords
>;

/** What a heartbeat saw: whether the provider answers the current identity, and why not. */
export type RecordProviderHealth = Command<
  'RecordProviderHealth',
  { readonly ready: boolean; readonly reason?: ProviderHealthReason; readonly message?: string }
>;

export type RequestResources = Command<'RequestResources', NoData>;

/** What the replication projection observed on the provider's ResourceOffer. */
export type ReceiveOffer = Command<
  'ReceiveOffer',
  { readonly offerName: string; readonly generation: number; readonly resources: Resources }
>;

/** Names the offer it accepts, so that an accept racing a newer offer cannot accept the wrong one. */
export type AcceptOffer = Command<'AcceptOffer', { readonly offerName: string; readonly generation: number }>;

export type RefuseOffer = Command<
  'RefuseOffer',
  { readonly offerName: string; readonly generation: number; readonly reason: OfferRefusalReason }
>;

/** Capacity is not a parameter: it is the accepted offer, by design (DESIGN §5). */
export type CreateVirtualNode = Command<'CreateVirtualNode', { readonly nodeName: string }>;

export type MarkVirtualNodeReady = Command<'MarkVirtualNodeReady', NoData>;

/**
 * Unpeering, from `peerlog unpeer`, `kubectl delete` or `outgoing: Disabled`. `drain: false`
 * cordons the node and waits for its pods to finish; `force` skips what needs the provider.
 */
export type RequestUnpeering = Command<'RequestUnpeering', { readonly force?: boolean; readonly drain?: boolean }>;

/** The virtual node was seen unschedulable. */
export type MarkVirtualNodeCordoned = Command<'MarkVirtualNodeCordoned', NoData>;

/** Why the drain is not over (the decider keeps only a change). */
export type RecordDrainWaiting = Command<
  'RecordDrainWaiting',
  { readonly reason: DrainWaitReason; readonly remaining: number; readonly pod?: string; readonly budget?: string; readonly message: string }
>;

export type MarkVirtualNodeDrained = Command<'MarkVirtualNodeDrained', NoData>;

/** The ResourceRequest is gone from the provider, or (forced) the provider could not be reached. */
export type WithdrawResourceRequest = Command<
  'WithdrawResourceRequest',
  {
    readonly providerReached: boolean;
    /** Forced and not reached: the notice the identity's key signed, for a later contact to deliver. */
    readonly notice?: WithdrawalNoticeData;
    /** Not forced, but the provider did not answer within the step's deadline. */
    readonly overdue?: boolean;
  }
>;

/** The provider's answer on this cluster's request says it ended the peering. */
export type RecordProviderEnded = Command<'RecordProviderEnded', { readonly reason: OfferWithdrawalReason; readonly message: string }>;

/** The provider answered the withdrawal notice of a forced unpeering (or refused it). */
export type RecordWithdrawalDelivered = Command<'RecordWithdrawalDelivered', { readonly outcome: WithdrawalOutcome; readonly message: string }>;

export type DeleteVirtualNode = Command<'DeleteVirtualNode', NoData>;

export type TerminatePeering = Command<'TerminatePeering', NoData>;

export type OutgoingCommand =
  | RequestPeering
  | BlockPeering
  | RequestIdentity
  | RecordCertificate
  | RecordAuthenticationFailure
  | RequestIdentityRenewal
  | RecordRenewedCertificate
  | RecordRenewalFailure
  | RecordProviderHealth
  | RequestResources
  | ReceiveOffer
  | AcceptOffer
  | RefuseOffer
  | CreateVirtualNode
  | MarkVirtualNodeReady
  | RequestUnpeering
  | MarkVirtualNodeCordoned
  | RecordDrainWaiting
  | MarkVirtualNodeDrained
  | DeleteVirtualNode
  | WithdrawResourceRequest
  | TerminatePeering
  | RecordWithdrawalDelivered
  | RecordProviderEnded;
