// State of the consumer-side aggregate, one status per step of the peering's life.
import type { ProviderEndedPeeringData, WithdrawalDeliveredData, WithdrawalNoticeData, AuthenticationFailedData, VirtualNodeDrainWaitingData, AuthenticationFailureReason, OfferData, OfferRefusalReason, PeeringBlockReason, ProviderHealthReason } from '../../events/catalogue.js';

export interface RemoteCluster {
  readonly clusterId: string;
  readonly clusterName: string;
  readonly authUrl: string;
  /** What asked for the current attempt (`<FC generation>/<token Secret resourceVersion>`), if known. */
  readonly attempt?: string | null;
  /** The endpoint certificate trusted for authUrl: pinned, or learned on first contact. */
  readonly authFingerprint?: string | null;
  /**
   * A forced unpeering's signed notice that the provider has not received yet: delivered at the
   * next contact (the terminated peering keeps trying; a new peering delivers it before anything).
   */
  readonly pendingWithdrawal?: WithdrawalNoticeData;
  /** The provider ended this peering (its answer on the request said so): why, in its words. */
  readonly endedByProvider?: ProviderEndedPeeringData;
}

/** A failure as the log tells it: the recorded reason, the HTTP status, the address and the words. */
export type Failure = AuthenticationFailedData;

/** Whether the provider answers the current identity; absent until the first change is seen. */
export interface ProviderHealth {
  readonly ready: boolean;
  readonly reason: ProviderHealthReason | null;
  readonly message: string | null;
}

export interface ReceivedIdentity {
  readonly publicKeyFingerprint: string;
  readonly certFingerprint: string;
  readonly notAfter: string;
  readonly tenantNamespace: string;
  readonly apiServerUrl: string;
  /** A renewal under way (absent when none is): its new key, and the last failure if any. */
  readonly renewal?: PendingRenewal;
  /** The provider's last changed answer to this identity (absent: none seen, taken as healthy). */
  readonly health?: ProviderHealth;
}

export interface PendingRenewal {
  readonly publicKeyFingerprint: string;
  readonly csrFingerprint: string;
  readonly failure: Failure | null;
}

export type Offer = OfferData;

export type DrainWaiting = Omit<VirtualNodeDrainWaitingData, 'nodeName'>;

/** Capacity is not stored here: it is always the accepted offer's resources. */
export interface VirtualNode {
  readonly nodeName: string;
  readonly ready: boolean;
}

/** What is in force while a newer offer waits for a decision. */
export interface AcceptedOffer {
  readonly offer: Offer;
  readonly virtualNode: VirtualNode | null;
}

interface Peered {
  readonly remote: RemoteCluster;
  readonly identity: ReceivedIdentity;
}

export type OutgoingState =
  | { readonly status: 'empty' }
  | {
      /** Stopped before anything was sent: the ForeignCluster or its token Secret lacks something. */
      readonly status: 'blocked';
      readonly reason: PeeringBlockReason;
      readonly message: string;
      /** The coordinates of an attempt under way when it was blocked, if any. */
      readonly remote: RemoteCluster | null;
    }
  | { readonly status: 'peeringRequested'; readonly remote: RemoteCluster }
  | {
      readonly status: 'identityRequested';
      readonly remote: RemoteCluster;
      readonly publicKeyFingerprint: string;
      readonly csrFingerprint: string;
    }
  | {
      readonly status: 'authenticationFailed';
      readonly remote: RemoteCluster;
      readonly reason: AuthenticationFailureReason;
      readonly httpStatus: number | null;
      readonly authUrl?: string | null;
      readonly detail?: string | null;
      readonly message?: string | null;
    }
  | ({ readonly status: 'authenticated' } & Peered)
  | ({ readonly status: 'resourcesRequested' } & Peered)
  | ({
      readonly status: 'offerReceived';
      /** The offer waiting for AcceptOffer or RefuseOffer. */
      readonly offer: Offer;
      /** The earlier acceptance still in force (and its node), when this offer is an update. */
      readonly accepted: AcceptedOffer | null;
    } & Peered)
  | ({ readonly status: 'offerAccepted'; readonly offer: Offer } & Peered)
  | ({ readonly status: 'offerRefused'; readonly offer: Offer; readonly reason: OfferRefusalReason } & Peered)
  | ({ readonly status: 'virtualNodeCreated'; readonly offer: Offer; readonly virtualNode: VirtualNode } & Peered)
  | ({ readonly status: 'virtualNodeReady'; readonly offer: Offer; readonly virtualNode: VirtualNode } & Peered)
  | {
      readonly status: 'unpeeringRequested';
      readonly remote: RemoteCluster;
      readonly identity: ReceivedIdentity | null;
      readonly virtualNode: VirtualNode | null;
      readonly force: boolean;
      /** Whether the node's pods are evicted, or left to finish on their own. */
      readonly drain: boolean;
      /** Whether the log has seen the node unschedulable. */
      readonly cordoned: boolean;
      /** Why the drain has not finished yet, as last recorded. */
      readonly waiting: DrainWaiting | null;
    }
  | {
      readonly status: 'virtualNodeDrained';
      readonly remote: RemoteCluster;
      readonly identity: ReceivedIdentity | null;
      readonly virtualNode: VirtualNode;
      readonly force: boolean;
    }
  | {
      readonly status: 'virtualNodeDeleted';
      readonly remote: RemoteCluster;
      readonly identity: ReceivedIdentity | null;
      readonly force: boolean;
    }
  | {
      /** The request is gone from the provider (or could not be reached, when forced); the local identity remains to be removed. */
      readonly status: 'requestWithdrawn';
      readonly remote: RemoteCluster;
      readonly identity: ReceivedIdentity;
      readonly force: boolean;
      readonly providerReached: boolean;
      /** Not reached: the notice signed before the key goes. */
      readonly notice: WithdrawalNoticeData | null;
    }
  | {
      readonly status: 'terminated';
      readonly remote: RemoteCluster;
      /**
       * false after a forced unpeering that could not reach the provider: its half is left to a
       * later contact (remote.pendingWithdrawal), true once that contact is made.
       */
      readonly providerReached?: boolean;
      /** What the provider answered the later contact. */
      readonly delivered?: WithdrawalDeliveredData;
    };

export type OutgoingStatus = OutgoingState['status'];

export const initialState: OutgoingState = { status: 'empty' };
