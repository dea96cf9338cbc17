// The ports of projections: what a projection is to the runner that feeds it from the log, and
// where effect projections keep their views. The runner (src/adapters/kafka/projection-runner.ts)
// and the stores (src/adapters/postgres) implement them; nothing here names a driver.
import type { EventEnvelope } from '../events/envelope.js';

/**
 * The transaction a batch is applied in, as the projection sees it: opaque, handed back to the
 * adapters that run statements on it (the read models' writes, the view store).
 */
export interface ProjectionTx { readonly __projectionTx: unique symbol }

export interface Projection {
  readonly name: string;
  /** Tables this projection owns: emptied on rebuild. */
  readonly tables: readonly string[];
  /**
   * Applies a batch's new events inside the batch's transaction (see ProjectionBatch). When it
   * throws an error that lies with an event (see isUnfoldable), the runner rolls the transaction
   * back and applies the batch again in a new one, handing it the same events, then one per call,
   * to dead-letter the ones that fail alone: what it does outside the transaction (the operator's
   * enqueues) must bear being done more than once.
   */
  apply(tx: ProjectionTx, batch: ProjectionBatch): Promise<void>;
  /**
   * For a projection whose own rows record every event it applied (the read models' audit index):
   * the last version applied of each of `streamIds` that has one, read from those rows. The runner
   * then dedupes by these and keeps no per-stream positions of its own for the projection.
   */
  appliedVersions?(tx: ProjectionTx, streamIds: readonly string[]): Promise<ReadonlyMap<string, number>>;
  /**
   * Whether the projection follows a stream at all; the runner passes over the events of one it
   * does not (no dedupe, no gap check: it keeps no version of it). Absent: it follows every stream.
   */
  follows?(streamId: string): boolean;
  /** Told, once a batch and its checkpoint committed, which streams it moved on (effects start there). */
  afterCommit?(streamIds: readonly string[]): void;
  /** Empties what the projection keeps beyond `tables` (its rows in a shared table), on rebuild. */
  reset?(tx: ProjectionTx): Promise<void>;
}

/**
 * What a projection is handed of a batch. Its events are decoded as they are iterated, so that a
 * projection that folds them one at a time holds no more than one decoded event at once: a batch
 * of thousands, decoded all at once and held across the batch's statements, is what the garbage
 * collector spent most of its time copying.
 */
export interface ProjectionBatch {
  /** Every stream the events may belong to (their messages' keys), known before any is decoded. */
  readonly streamIds: readonly string[];
  /** Those of `streamIds` none of whose events this projection applied before: it has no rows of theirs to read back. */
  readonly firstSeen: ReadonlySet<string>;
  /**
   * The new events, never a duplicate, in log order within each stream (an event whose stream its
   * message's key did not name comes in a second batch of the same transaction). One pass: a
   * second loop, or one after a `break`, goes on where the last stopped.
   */
  readonly events: Iterable<EventEnvelope>;
}

export interface ViewRow<V> {
  readonly streamId: string;
  readonly streamType: string;
  readonly remoteClusterId: string;
  readonly version: number;
  readonly view: V;
}

/** Where an effect projection keeps its views (see src/projections/views/effects.ts). */
export interface ViewStore {
  /** Inside the batch's transaction: the rows of `streamIds` that exist. */
  load<V>(tx: ProjectionTx, projection: string, streamIds: readonly string[]): Promise<Map<string, ViewRow<V>>>;
  /** Inside the batch's transaction: the versions of the rows of `streamIds` that exist (no view read). */
  versions(tx: ProjectionTx, projection: string, streamIds: readonly string[]): Promise<Map<string, number>>;
  save<V>(tx: ProjectionTx, projection: string, rows: readonly ViewRow<V>[]): Promise<void>;
  /** Inside a reset's transaction: the projection's rows gone. */
  clear(tx: ProjectionTx, projection: string): Promise<void>;
  /** Outside any batch: the rows of one remote cluster (its outgoing and incoming streams). */
  ofRemote<V>(projection: string, remoteClusterId: string): Promise<ViewRow<V>[]>;
  /** Outside any batch: every row of the projection (the metrics projection's, a handful per remote). */
  all<V>(projection: string): Promise<ViewRow<V>[]>;
  /** Every remote cluster the projection has a view of. */
  remotes(projection: string): Promise<string[]>;
  /** The remote clusters whose view of one stream kind is in one of `statuses`. */
  remotesIn(projection: string, streamType: 'outgoing' | 'incoming', statuses: readonly string[]): Promise<string[]>;
}

