// Ports of the read side: what the CLI (and later the operator) reads back from this cluster's
// stores, the read models, the outbox's record of a stream and the log's hash chain. They name no
// driver; the PostgreSQL adapter (src/adapters/postgres/queries.ts) implements them.
import type { EventEnvelope } from './events/envelope.js';

/** The verdict on the log's hash chain as the audit index holds it. */
export type AuditChain =
  | { readonly valid: true; readonly events: number }
  | {
      readonly valid: false;
      readonly reason: 'Fork' | 'BrokenLink';
      readonly eventId: string;
      readonly streamId: string;
      readonly streamVersion: number;
      readonly message: string;
    };

/** An offer this cluster received as a consumer, as its outgoing stream holds it. */
export interface ReceivedOffer {
  readonly remoteClusterId: string;
  /** The outgoing stream's status. */
  readonly status: string;
  readonly offerName: string;
  readonly generation: number;
  readonly resources: Readonly<Record<string, string>>;
}

/** One peering of the read model `peerings`. */
export interface PeeringRecord {
  readonly clusterId: string;
  readonly remoteClusterId: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly remoteClusterName: string | null;
  readonly phase: string;
  readonly streamVersion: number;
  readonly lastEventType: string;
  readonly steps: Readonly<Record<string, string>>;
  readonly updatedAt: Date;
}

/** One event of the audit index. */
export interface AuditRecord {
  readonly eventId: string;
  readonly clusterId: string;
  readonly occurredAt: Date;
  readonly type: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly actorKind: string;
  readonly actorName: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly hash: string;
  readonly prevHash: string;
}

export interface PeeringHistory {
  /** Ordered by remote cluster id, then direction. */
  readonly peerings: readonly PeeringRecord[];
  /** The events of those peerings, oldest first (then by stream and version). */
  readonly events: readonly AuditRecord[];
}

export interface ReadModelQueries {
  /** The offers held by this cluster's outgoing streams, by stream id. */
  listReceivedOffers(): Promise<readonly ReceivedOffer[]>;
  /** The peerings (with one remote cluster, or all) and their events from the audit index. */
  peeringHistory(remoteClusterId?: string): Promise<PeeringHistory>;
  /** The highest version of a stream's events appended so far (0 for none), from the outbox. */
  lastVersion(streamId: string): Promise<number>;
  /** A stream's events after `version`, in order, from the outbox (so before Kafka has them). */
  eventsAfter(streamId: string, version: number): Promise<readonly EventEnvelope[]>;
  /**
   * The events of the peerings with these remote clusters (their outgoing-, incoming- and pods-
   * streams) that are in the log: those the relay sealed into its hash chain, from the outbox, by
   * stream and version.
   */
  peeringEvents(remoteClusterIds: readonly string[]): Promise<readonly EventEnvelope[]>;
  /** The log's hash chain over the audit index, verified whole. */
  verifyChain(): Promise<AuditChain>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}
