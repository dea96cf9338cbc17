// What `peerlog status` prints for one peering, folded from the events of its streams: the same
// views the kubernetes projection folds (state and conditions stamped with the events' times), the
// ForeignCluster status forged from them, and the pods the virtual node runs as the pods stream
// has them. `status` folds every event there is; `history --as-of T` the events up to T, so each
// gives what the other would have said at that instant. Pure.
import type { EventEnvelope } from '../../events/envelope.js';
import { forgeForeignClusterStatus } from '../kubernetes/forge.js';
import { foldViewAll, nodeOf, type Condition, type PeeringView, type RemoteViews } from '../views/view.js';
import type { PodsState } from '../../commands/pods/state.js';
import type { OutgoingState } from '../../commands/outgoing/state.js';

export interface OffloadedPodCounts {
  readonly total: number;
  readonly running: number;
  readonly pending: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Bound to the virtual node but kept from the provider, with a reason (a DaemonSet pod, a refused namespace). */
  readonly keptBack: number;
}

export interface PeeringStatus {
  /** The ForeignCluster's name. */
  readonly name: string;
  readonly clusterId: string;
  readonly clusterName: string;
  readonly outgoing: {
    /** Enabled from the request of a peering (PeeringRequested) until its unpeering was asked. */
    readonly enabled: 'Enabled' | 'Disabled';
    readonly phase?: string; readonly tenantNamespace?: string; readonly virtualNode?: string; readonly authFingerprint?: string;
    readonly offloadedPods?: OffloadedPodCounts;
  };
  readonly incoming: { readonly phase?: string; readonly tenantNamespace?: string };
  readonly conditions: readonly Condition[];
}

/** The views of one remote's streams, each folded from its events in version order. */
export function foldRemoteViews(events: readonly EventEnvelope[]): RemoteViews {
  const byStream = new Map<string, EventEnvelope[]>();
  for (const e of events) {
    const run = byStream.get(e.streamId);
    if (run) run.push(e); else byStream.set(e.streamId, [e]);
  }
  const views: { outgoing?: RemoteViews['outgoing']; incoming?: RemoteViews['incoming']; pods?: RemoteViews['pods'] } = {};
  for (const run of byStream.values()) {
    run.sort((a, b) => a.streamVersion - b.streamVersion);
    const v: PeeringView | undefined = foldViewAll(undefined, run, ['outgoing', 'incoming', 'pods']);
    if (v?.kind === 'outgoing') views.outgoing = v;
    else if (v?.kind === 'incoming') views.incoming = v;
    else if (v?.kind === 'pods') views.pods = v;
  }
  return views;
}

const DISABLED: ReadonlySet<OutgoingState['status']> = new Set(['empty', 'unpeeringRequested', 'virtualNodeDrained', 'virtualNodeDeleted', 'requestWithdrawn', 'terminated']);

/** The pods bound to `node` by phase, as the pods stream last reflected them. */
export function countPods(pods: PodsState | undefined, node: string): OffloadedPodCounts {
  const list = Object.values(pods?.pods ?? {}).filter((p) => p.nodeName === null || p.nodeName === node);
  const count = (phase: string) => list.filter((p) => p.failure === null && (p.status?.phase ?? 'Pending') === phase).length;
  return {
    total: list.length, running: count('Running'), pending: count('Pending'), succeeded: count('Succeeded'), failed: count('Failed'),
    keptBack: list.filter((p) => p.failure !== null).length,
  };
}

/** The status of the peering with `clusterId` (ForeignCluster `name`) after `events` (those of its outgoing-, incoming- and pods- streams). */
export function peeringStatus(name: string, clusterId: string, events: readonly EventEnvelope[]): PeeringStatus {
  const views = foldRemoteViews(events);
  const out = views.outgoing?.state;
  const fc = forgeForeignClusterStatus(views, { outgoingDisabled: !out || DISABLED.has(out.status), deleting: false });
  const inc = views.incoming?.state;
  const clusterName = (out && 'remote' in out && out.remote ? out.remote.clusterName : undefined)
    ?? (inc && 'remote' in inc ? inc.remote.clusterName : undefined) ?? clusterId;
  const node = out ? nodeOf(out) : null;
  return {
    name, clusterId, clusterName,
    outgoing: {
      enabled: !out || DISABLED.has(out.status) ? 'Disabled' : 'Enabled',
      ...(fc.outgoing ?? {}),
      ...(fc.outgoing?.virtualNode && node ? { offloadedPods: countPods(views.pods?.state, node.nodeName) } : {}),
    },
    incoming: { ...(fc.incoming ?? {}) },
    conditions: fc.conditions,
  };
}
