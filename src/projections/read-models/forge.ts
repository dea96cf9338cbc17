// Pure part of the read-model projection: from a batch of events and the prior aggregate states,
// the rows to write to the audit index, the aggregate table and the peerings table.
import type { EventEnvelope } from '../../events/envelope.js';

/** How a stream's events fold into its aggregate state (built from the decider registry). */
export interface StreamFolder {
  /** The aggregate kind of a stream id (`outgoing`, `incoming`, `pods`), or undefined if none. */
  kindOf(streamId: string): string | undefined;
  initialState(kind: string): unknown;
  evolve(kind: string, state: unknown, event: EventEnvelope): unknown;
  /** Optional: the same as folding `evolve` over a run of one stream's events, for large states. */
  evolveAll?(kind: string, state: unknown, events: readonly EventEnvelope[]): unknown;
  /** The status that names the aggregate's phase. */
  statusOf(state: unknown): string;
  /** The remote cluster a stream is about. */
  remoteOf(streamId: string): string;
}

export interface AuditRow {
  readonly eventId: string; readonly clusterId: string; readonly occurredAt: string; readonly type: string;
  readonly streamId: string; readonly streamVersion: number; readonly actorKind: string; readonly actorName: string;
  readonly correlationId: string; readonly causationId: string; readonly hash: string; readonly prevHash: string;
}

export interface AggregateRow { readonly streamId: string; readonly streamType: string; readonly version: number; readonly state: unknown }

export interface PeeringRow {
  /** The stream it is folded from (not a column). */
  readonly streamId: string;
  readonly clusterId: string; readonly remoteClusterId: string; readonly direction: 'outgoing' | 'incoming';
  readonly remoteClusterName: string | null; readonly phase: string; readonly streamVersion: number;
  readonly lastEventType: string; readonly steps: Readonly<Record<string, string>>; readonly updatedAt: string;
}

/** The rows of the streams a batch folded: the last state and peering row of each. */
export interface StreamRows {
  readonly aggregates: readonly AggregateRow[];
  readonly peerings: readonly PeeringRow[];
}

/** Folds a batch's events one at a time, so that each can be let go of as soon as it is added. */
export interface ReadModelForge {
  /** Folds `event` (in log order, never a duplicate) into its stream and returns its audit row. */
  add(event: EventEnvelope): AuditRow;
  /** The rows of every stream folded so far. */
  rows(): StreamRows;
}

export function forgeAuditRow(e: EventEnvelope): AuditRow {
  return {
    eventId: e.id, clusterId: e.clusterId, occurredAt: e.occurredAt, type: e.type, streamId: e.streamId,
    streamVersion: e.streamVersion, actorKind: e.actor.kind, actorName: e.actor.name, correlationId: e.correlationId,
    causationId: e.causationId, hash: e.hash, prevHash: e.prevHash,
  };
}

function clusterNameFrom(e: EventEnvelope): string | undefined {
  const d = e.data as { clusterName?: unknown; consumerClusterName?: unknown; remoteClusterName?: unknown };
  for (const v of [d.clusterName, d.consumerClusterName, d.remoteClusterName]) if (typeof v === 'string' && v) return v;
  return undefined;
}

/**
 * A forge for one batch. `prior` holds the aggregate rows already stored for streams the batch
 * continues. A peering row names its remote only when an event of the batch does; the upsert
 * keeps a name already stored.
 */
export function createReadModelForge(folder: StreamFolder, prior: ReadonlyMap<string, AggregateRow>): ReadModelForge {
  // Per stream, what its rows need once the batch is folded; the last event only by what is read of it.
  interface Folded {
    readonly kind: string; state: unknown; readonly steps: Record<string, string>; name: string | null;
    clusterId: string; version: number; type: string; occurredAt: string;
    /** Events not folded yet: with `evolveAll`, a stream's run is folded once, when its rows are asked for. */
    readonly pending: EventEnvelope[];
  }
  const folded = new Map<string, Folded>();
  return {
    add(e) {
      let f = folded.get(e.streamId);
      if (f === undefined) {
        const kind = folder.kindOf(e.streamId);
        if (kind !== undefined) {
          f = { kind, state: prior.get(e.streamId)?.state ?? folder.initialState(kind), steps: {}, name: null, clusterId: '', version: 0, type: '', occurredAt: '', pending: [] };
          folded.set(e.streamId, f);
        }
      }
      if (f !== undefined) {
        if (folder.evolveAll) f.pending.push(e);
        else f.state = folder.evolve(f.kind, f.state, e);
        f.clusterId = e.clusterId; f.version = e.streamVersion; f.type = e.type; f.occurredAt = e.occurredAt;
        if (f.kind === 'outgoing' || f.kind === 'incoming') {
          f.steps[e.type] = e.occurredAt;
          f.name = clusterNameFrom(e) ?? f.name;
        }
      }
      return forgeAuditRow(e);
    },
    rows() {
      const aggregates: AggregateRow[] = [];
      const peerings: PeeringRow[] = [];
      for (const [streamId, f] of folded) {
        if (folder.evolveAll && f.pending.length > 0) f.state = folder.evolveAll(f.kind, f.state, f.pending.splice(0));
        aggregates.push({ streamId, streamType: f.kind, version: f.version, state: f.state });
        if (f.kind !== 'outgoing' && f.kind !== 'incoming') continue;
        peerings.push({
          streamId, clusterId: f.clusterId, remoteClusterId: folder.remoteOf(streamId), direction: f.kind, remoteClusterName: f.name,
          phase: folder.statusOf(f.state), streamVersion: f.version, lastEventType: f.type, steps: f.steps, updatedAt: f.occurredAt,
        });
      }
      return { aggregates, peerings };
    },
  };
}
