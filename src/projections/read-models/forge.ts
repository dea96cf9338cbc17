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
  const aggregates = new Map<string, AggregateRow>();
  const peerings = new Map<string, { row: PeeringRow; steps: Record<string, string> }>();
  for (const e of events) {
    const kind = folder.kindOf(e.streamId);
    if (kind === undefined) continue;
    const before = aggregates.get(e.streamId) ?? prior.get(e.streamId);
    const state = folder.evolve(kind, before?.state ?? folder.initialState(kind), e);
    aggregates.set(e.streamId, { streamId: e.streamId, streamType: kind, version: e.streamVersion, state });
    if (kind !== 'outgoing' && kind !== 'incoming') continue;
    const prev = peerings.get(e.streamId);
    const steps = { ...(prev?.steps ?? {}), [e.type]: e.occurredAt };
    const name = clusterNameFrom(e) ?? prev?.row.remoteClusterName ?? priorNames.get(e.streamId) ?? null;
    peerings.set(e.streamId, {
      steps,
      row: {
        clusterId: e.clusterId, remoteClusterId: folder.remoteOf(e.streamId), direction: kind, remoteClusterName: name,
        phase: folder.statusOf(state), streamVersion: e.streamVersion, lastEventType: e.type, steps, updatedAt: e.occurredAt,
      },
    });
  }
  return {
    audit: events.map(forgeAuditRow),
    aggregates: [...aggregates.values()],
    peerings: [...peerings.values()].map((p) => p.row),
  };
}
