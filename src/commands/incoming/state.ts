// State of the provider-side aggregate: what was granted to one consumer.
import type { NamespaceRefusalReason, OfferWithdrawalReason, Resources, TokenRejectionReason } from '../../events/catalogue.js';

export interface RemotePeer {
  readonly clusterId: string;
  readonly clusterName: string;
}

export interface IssuedIdentity {
  readonly publicKeyFingerprint: string;
  readonly certFingerprint: string;
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly tenantNamespace: string;
  /**
   * The identity lifetime the current certificate opened: its Kubernetes user is
   * `peerlog:cluster:<id>:<lifetime>` (identityUserFor), the one user RBAC names. Absent for a
   * certificate recorded by a v1 event, whose user is the plain `peerlog:cluster:<id>`.
   */
  readonly lifetime?: number;
}

/**
 * The last identity lifetime opened on the stream, kept across revocation and a peering again: the
 * next certificate opens the one after it, so a certificate of an earlier lifetime never names a
 * user that RBAC binds again. Absent while none was opened (or only v1 ones).
 */
interface Lifetimes {
  readonly lastLifetime?: number;
}

export interface IssuedOffer {
  readonly offerName: string;
  readonly resources: Resources;
}

/** A namespace made in this cluster for the consumer's offloaded pods (`<namespace>-<consumer id>`). */
export interface RemoteNamespace {
  /** The consumer's namespace. */
  readonly namespace: string;
  readonly remoteNamespace: string;
  readonly phase: 'Received' | 'Created' | 'Refused';
  readonly reason: NamespaceRefusalReason | null;
  readonly message: string | null;
}

interface Granted {
  readonly remote: RemotePeer;
  readonly identity: IssuedIdentity;
  /** By the consumer's namespace name; absent until the first is asked for. */
  readonly namespaces?: Readonly<Record<string, RemoteNamespace>>;
}

export type IncomingState =
  | { readonly status: 'empty' }
  | {
      readonly status: 'tokenRejected';
      readonly reason: TokenRejectionReason;
      /** Consecutive failures since the last success: what a rate limiter answers 429 on. */
      readonly failedAttempts: number;
    }
  | ({ readonly status: 'tokenValidated'; readonly remote: RemotePeer } & Lifetimes)
  | ({ readonly status: 'authenticated' } & Granted)
  | ({ readonly status: 'resourcesRequested'; readonly requestName: string } & Granted)
  | ({ readonly status: 'offered'; readonly requestName: string; readonly offer: IssuedOffer } & Granted)
  | ({
      readonly status: 'offerWithdrawn';
      readonly requestName: string;
      readonly offer: IssuedOffer;
      readonly reason: OfferWithdrawalReason;
    } & Granted)
  | ({ readonly status: 'revoked'; readonly remote: RemotePeer } & Lifetimes);

export type IncomingStatus = IncomingState['status'];

export const initialState: IncomingState = { status: 'empty' };
