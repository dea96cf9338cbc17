// An effect projection: a consumer group of its own that folds the log into per-stream views (kept
// with its checkpoint, in the same transaction) and, once a batch committed, makes its target match
// the views of the remote clusters the batch touched. The effect is level-triggered and idempotent:
// it reads the committed views, never the event that woke it, so a batch applied twice, a rebuild
// from offset 0 or a drift seen by a watch (`reapply`) all end in the same objects.
import type { Projection, ProjectionBatch, ProjectionTx, ViewRow, ViewStore } from '../ports.js';
import type { Logger } from '../../adapters/log/index.js';
import type { EventEnvelope } from '../../events/envelope.js';
import { createWorkQueue, type WorkQueue } from '../work.js';
import { foldViewAll, PEERING_KINDS, viewKindOf, type IncomingView, type OutgoingView, type PeeringView, type PodsView, type RemoteViews, type ViewKind } from './view.js';

export interface EffectProjectionOptions {
  readonly name: string;
  readonly store: ViewStore;
  readonly logger: Logger;
  /**
   * Makes the target match both views of one remote cluster; throws to be retried with backoff.
   * `forced` when a watch saw drift or a resync asks: what was applied before may be gone.
   */
  effect(remoteClusterId: string, views: RemoteViews, forced: boolean): Promise<void>;
  /** False while rebuilding (replay): views are folded, effects wait for an explicit `resync`. */
  readonly live?: boolean;
  readonly concurrency?: number;
  /** The stream kinds this projection folds (default: the peering streams, outgoing and incoming). */
  readonly kinds?: readonly ViewKind[];
}

export interface EffectProjection {
  readonly name: string;
  /** What the runner drives. */
  readonly projection: Projection;
  /** Applies the remote's views again (a watch saw drift, or a process step wants another look). */
  reapply(remoteClusterId: string): void;
  /** Applies the remote's views again, skipping what is unchanged since last applied (new observations, not drift). */
  wake(remoteClusterId: string): void;
  /** Applies every remote's views again; resolves once all are queued. */
  resync(): Promise<void>;
  /** Both views of a remote, as committed. */
  views(remoteClusterId: string): Promise<RemoteViews>;
  /** Resolves when no effect is queued or running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * What an applier last wrote, per object: an object forged the same again is not sent again (each
 * event of a peering would otherwise re-apply every object), unless the effect is forced. Only a
 * saving: applying it again would change nothing.
 */
export interface AppliedMemo {
  /** True when `obj` differs from what was last recorded under `key` (or `forced`). */
  changed(key: string, obj: unknown, forced: boolean): boolean;
  /** Records what was applied under `key`, once the apply succeeded. */
  record(key: string, obj: unknown): void;
}

export function createAppliedMemo(limit = 10_000): AppliedMemo {
  const last = new Map<string, string>();
  return {
    changed: (key, obj, forced) => forced || last.get(key) !== JSON.stringify(obj),
    record(key, obj) {
      if (last.size >= limit && !last.has(key)) last.clear();
      last.set(key, JSON.stringify(obj));
    },
  };
}

export function toRemoteViews(rows: readonly ViewRow<PeeringView>[]): RemoteViews {
  let outgoing: OutgoingView | undefined;
  let incoming: IncomingView | undefined;
  let pods: PodsView | undefined;
  for (const r of rows) {
    if (r.view.kind === 'outgoing') outgoing = r.view;
    else if (r.view.kind === 'incoming') incoming = r.view;
    else if (r.view.kind === 'pods') pods = r.view;
  }
  return { ...(outgoing ? { outgoing } : {}), ...(incoming ? { incoming } : {}), ...(pods ? { pods } : {}) };
}

export function createEffectProjection(o: EffectProjectionOptions): EffectProjection {
  const log = o.logger.child({ component: 'projection', projection: o.name });
  let live = o.live ?? true;
  const kinds = o.kinds ?? PEERING_KINDS;
  const views = async (remote: string) => toRemoteViews(await o.store.ofRemote<PeeringView>(o.name, remote));
  /** Remotes whose next effect must not trust what it applied before (drift, resync). */
  const forcing = new Set<string>();
  const queue: WorkQueue = createWorkQueue(async (remote) => {
    const forced = forcing.delete(remote);
    try {
      await o.effect(remote, await views(remote), forced);
    } catch (e) {
      if (forced) forcing.add(remote);
      throw e;
    }
  }, log, { concurrency: o.concurrency ?? 4 });

  const projection: Projection = {
    name: o.name,
    tables: [],
    follows: (streamId) => viewKindOf(streamId, kinds) !== undefined,
    // Versions only: a pods view may be megabytes, read again (once) by apply.
    appliedVersions: (tx: ProjectionTx, streamIds: readonly string[]) => o.store.versions(tx, o.name, streamIds),
    async apply(tx: ProjectionTx, batch: ProjectionBatch) {
      const known = batch.firstSeen.size === batch.streamIds.length
        ? new Map<string, ViewRow<PeeringView>>()
        : await o.store.load<PeeringView>(tx, o.name, batch.streamIds.filter((id) => !batch.firstSeen.has(id)));
      // Each stream's events in their order, folded as one run (streams do not depend on each other).
      const runs = new Map<string, EventEnvelope[]>();
      for (const e of batch.events) {
        if (!viewKindOf(e.streamId, kinds)) continue;
        const run = runs.get(e.streamId);
        if (run) run.push(e); else runs.set(e.streamId, [e]);
      }
      const changed = new Map<string, ViewRow<PeeringView>>();
      for (const [streamId, events] of runs) {
        const ref = viewKindOf(streamId, kinds)!;
        const view = foldViewAll(known.get(streamId)?.view, events, kinds);
        if (!view) continue;
        changed.set(streamId, { streamId, streamType: ref.kind, remoteClusterId: ref.remoteClusterId, version: events[events.length - 1]!.streamVersion, view });
      }
      await o.store.save(tx, o.name, [...changed.values()]);
    },
    afterCommit(streamIds) {
      if (!live) return;
      for (const id of streamIds) {
        const ref = viewKindOf(id, kinds);
        if (ref) queue.enqueue(ref.remoteClusterId);
      }
    },
    reset: (tx) => o.store.clear(tx, o.name),
  };

  return {
    name: o.name,
    projection,
    reapply(remote) { forcing.add(remote); queue.enqueue(remote); },
    wake(remote) { queue.enqueue(remote); },
    async resync() {
      live = true;
      for (const remote of await o.store.remotes(o.name)) { forcing.add(remote); queue.enqueue(remote); }
    },
    views,
    idle: () => queue.idle(),
    stop: () => queue.stop(),
  };
}
