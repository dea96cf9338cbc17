// Commands of the consumer-side aggregate (stream outgoing-<remoteId>).
import type { AuthenticationFailureReason, OfferRefusalReason, Resources } from '../../events/catalogue.js';
import type { Command, NoData } from '../command.js';

export type RequestPeering = Command<
  'RequestPeering',
  { readonly remoteClusterId: string; readonly remoteClusterName: string; readonly authUrl: string }
>;

/** Sent once the handler has generated a key pair and a CSR; only their fingerprints enter the log. */
export type RequestIdentity = Command<
  'RequestIdentity',
  { readonly publicKeyFingerprint: string; readonly csrFingerprint: string }
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

export type RecordAuthenticationFailure = Command<
  'RecordAuthenticationFailure',
  { readonly reason: AuthenticationFailureReason; readonly httpStatus?: number }
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
  { readonly reason: AuthenticationFailureReason; readonly httpStatus?: number }
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

export type RequestUnpeering = Command<'RequestUnpeering', { readonly force?: boolean }>;

export type MarkVirtualNodeDrained = Command<'MarkVirtualNodeDrained', NoData>;

export type DeleteVirtualNode = Command<'DeleteVirtualNode', NoData>;

export type TerminatePeering = Command<'TerminatePeering', NoData>;

export type OutgoingCommand =
  | RequestPeering
  | RequestIdentity
  | RecordCertificate
  | RecordAuthenticationFailure
  | RequestIdentityRenewal
  | RecordRenewedCertificate
  | RecordRenewalFailure
  | RequestResources
  | ReceiveOffer
  | AcceptOffer
  | RefuseOffer
  | CreateVirtualNode
  | MarkVirtualNodeReady
  | RequestUnpeering
  | MarkVirtualNodeDrained
  | DeleteVirtualNode
  | TerminatePeering;
