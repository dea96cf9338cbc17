// Pure part of the read-model projection: from a batch of events and the prior aggregate states,
// the rows to write to the audit index, the aggregate table and the peerings table.
import type { EventEnvelope } from '../../events/envelope.js';

/** How a stream's events fold into its aggregate state (built from the decider registry). */
export interface StreamFolder {
  /** The aggregate kind of a stream id (`outgoing`, `incoming`, `pods`), or undefined if none. */
  kindOf(streamId: string): string | undefined;
  initialState(kind: string): unknown;
  evolve(kind: string, state: unknown, event: EventEnvelope): unknown;
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
  readonly clusterId: string; readonly remoteClusterId: string; readonly direction: 'outgoing' | 'incoming';
  readonly remoteClusterName: string | null; readonly phase: string; readonly streamVersion: number;
  readonly lastEventType: string; readonly steps: Readonly<Record<string, string>>; readonly updatedAt: string;
}

export interface ReadModelRows {
  readonly audit: readonly AuditRow[];
  readonly aggregates: readonly AggregateRow[];
  readonly peerings: readonly PeeringRow[];
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
 * Folds the batch into rows. `prior` holds the aggregate rows already stored for the streams the
 * batch touches; `priorNames` the remote names already known for those peerings.
 */
export function forgeReadModelRows(
  folder: StreamFolder,
  events: readonly EventEnvelope[],
  prior: ReadonlyMap<string, AggregateRow>,
  priorNames: ReadonlyMap<string, string | null>,
): ReadModelRows {
  // Per stream, what the rows need once the whole batch is folded: its rows are forged at the end.
  const folded = new Map<string, { kind: string; state: unknown; last: EventEnvelope; steps: Record<string, string>; name: string | null }>();
  for (const e of events) {
    let f = folded.get(e.streamId);
    if (f === undefined) {
      const kind = folder.kindOf(e.streamId);
      if (kind === undefined) continue;
      f = { kind, state: prior.get(e.streamId)?.state ?? folder.initialState(kind), last: e, steps: {}, name: priorNames.get(e.streamId) ?? null };
      folded.set(e.streamId, f);
    }
    f.state = folder.evolve(f.kind, f.state, e);
    f.last = e;
    if (f.kind !== 'outgoing' && f.kind !== 'incoming') continue;
    f.steps[e.type] = e.occurredAt;
    f.name = clusterNameFrom(e) ?? f.name;
  }
  const aggregates: AggregateRow[] = [];
  const peerings: PeeringRow[] = [];
  for (const [streamId, f] of folded) {
    aggregates.push({ streamId, streamType: f.kind, version: f.last.streamVersion, state: f.state });
    if (f.kind !== 'outgoing' && f.kind !== 'incoming') continue;
    peerings.push({
      clusterId: f.last.clusterId, remoteClusterId: folder.remoteOf(streamId), direction: f.kind, remoteClusterName: f.name,
      phase: folder.statusOf(f.state), streamVersion: f.last.streamVersion, lastEventType: f.last.type, steps: f.steps, updatedAt: f.last.occurredAt,
    });
  }
  return { audit: events.map(forgeAuditRow), aggregates, peerings };
}
