// The virtual-kubelet projection: one Node per peering whose log holds a virtual node, with
// capacity = allocatable = the offer in force, Ready as the log says the provider answers, and a
// Lease kept renewed. The heartbeat also asks whether the provider still answers the current
// identity and reports a change as a command (RecordProviderHealth): the node's Ready then follows
// the log, never the heartbeat directly.
import type { KubeClient, KubeObject } from '../../adapters/kubernetes/client.js';
import type { ViewStore } from '../ports.js';
import type { Logger } from '../../adapters/log/index.js';
import type { Resources } from '../../events/catalogue.js';
import type { OutgoingState } from '../../commands/outgoing/state.js';
import { virtualNodeNameFor } from '../../resources/names.js';
import { createAppliedMemo, createEffectProjection, type EffectProjection } from '../views/effects.js';
import { offloadPods, type OffloadPorts, type Peered } from './pods.js';
import { nodeOf, type OutgoingView, type RemoteViews } from '../views/view.js';
import { forgeLease, forgeVirtualNode, forgeVirtualNodeStatus, LEASE_DURATION_SECONDS, type KubeletEndpoint, type ProviderHealth } from './forge.js';

export const VIRTUAL_KUBELET = 'virtual-kubelet';

export interface DesiredNode {
  readonly nodeName: string;
  readonly remoteClusterId: string;
  readonly remoteClusterName: string;
  readonly resources: Resources;
  readonly health: ProviderHealth;
  /** When Ready last changed in the log. */
  readonly readySince: string;
}

/** The node a view wants (pure): none before VirtualNodeCreated; the accepted offer's capacity. */
export function desiredNode(view: OutgoingView | undefined): DesiredNode | undefined {
  if (!view) return undefined;
  const s: OutgoingState = view.state;
  const node = nodeOf(s);
  if (!node || !('identity' in s) || !s.identity) return undefined;
  const offer = s.status === 'offerReceived' ? s.accepted?.offer : 'offer' in s ? s.offer : undefined;
  if (!offer) return undefined;
  const h = s.identity.health;
  const health: ProviderHealth = !h || h.ready ? { ready: true } : { ready: false, reason: h.reason ?? 'ProviderUnreachable', message: h.message ?? 'the provider does not answer' };
  return { nodeName: node.nodeName, remoteClusterId: view.remoteClusterId, remoteClusterName: s.remote.clusterName, resources: offer.resources, health, readySince: view.readySince ?? view.updatedAt };
}

/**
 * What unpeering wants of the node (pure): kept but cordoned while it drains, gone once the log
 * says it was deleted. undefined outside unpeering.
 */
export function teardownOf(s: OutgoingState): { readonly nodeName: string; readonly phase: 'cordon' | 'delete' } | undefined {
  switch (s.status) {
    case 'unpeeringRequested':
      return s.virtualNode ? { nodeName: s.virtualNode.nodeName, phase: s.force ? 'delete' : 'cordon' } : undefined;
    case 'virtualNodeDrained':
      return { nodeName: s.virtualNode.nodeName, phase: 'cordon' };
    default:
      return undefined;
  }
}

/** States after the node's deletion, whose node (named after the remote) must not exist. */
const NODE_GONE: ReadonlySet<string> = new Set(['virtualNodeDeleted', 'requestWithdrawn', 'terminated']);

export interface VirtualKubeletDeps {
  readonly kube: KubeClient;
  readonly store: ViewStore;
  readonly logger: Logger;
  /** Where the virtual nodes' kubelet API listens (configuration, the same for every node). */
  readonly kubelet: KubeletEndpoint;
  /** Whether the provider answers the current identity (an authenticated read in the tenant namespace). */
  check(remoteClusterId: string): Promise<ProviderHealth>;
  /** Reports an answer that differs from what the log says (a command; the decider dedupes). */
  report(remoteClusterId: string, health: ProviderHealth): Promise<void>;
  readonly now?: () => Date;
  readonly live?: boolean;
  /** No heartbeats (replay applies the objects once and stops). */
  readonly heartbeat?: boolean;
  /** The pod half (offloading); without it the projection makes only nodes and Leases. */
  readonly offload?: OffloadPorts;
}

export interface VirtualKubeletProjection extends EffectProjection {
  /** Stops the heartbeats (and the projection's effects). */
  stop(): Promise<void>;
}

const same = (a: ProviderHealth, b: ProviderHealth) => a.ready === b.ready && (a.ready || (!b.ready && a.reason === b.reason && a.message === b.message));

export function createVirtualKubeletProjection(d: VirtualKubeletDeps): VirtualKubeletProjection {
  const log = d.logger.child({ component: 'virtual-kubelet' });
  const now = d.now ?? (() => new Date());
  /** Per node: what the latest effect wants, the node's uid, and its heartbeat. */
  const nodes = new Map<string, { want: DesiredNode; uid: string | undefined; timer: NodeJS.Timeout; beating: boolean }>();

  const renew = (nodeName: string, uid: string | undefined) => d.kube.apply(forgeLease({ nodeName, nodeUid: uid, now: now().toISOString() }) as KubeObject);

  async function beat(nodeName: string): Promise<void> {
    const n = nodes.get(nodeName);
    if (!n || n.beating) return;
    n.beating = true;
    try {
      await renew(nodeName, n.uid);
      const health = await d.check(n.want.remoteClusterId);
      if (!same(health, n.want.health)) {
        log.info('provider answer changed; reporting it', { nodeName, remoteClusterId: n.want.remoteClusterId, ready: health.ready, ...(health.ready ? {} : { reason: health.reason }) });
        await d.report(n.want.remoteClusterId, health);
      }
    } finally {
      n.beating = false;
    }
  }

  /** Per node: the desired node last made (an unchanged one is not sent again unless forced). */
  const made = new Map<string, string>();
  const podMemo = createAppliedMemo(100_000);
  /** The node last made or cordoned per remote (a deletion may find the log no longer naming it). */
  const lastNode = new Map<string, string>();
  async function effect(remote: string, views: RemoteViews, forced: boolean): Promise<void> {
    const out = views.outgoing?.state;
    const teardown = out ? teardownOf(out) : undefined;
    if (teardown?.phase === 'cordon') return cordon(remote, teardown.nodeName, views, forced);
    if (teardown?.phase === 'delete' || (out && NODE_GONE.has(out.status))) return remove(teardown?.nodeName ?? lastNode.get(remote) ?? virtualNodeNameFor(remote), forced);
    const want = desiredNode(views.outgoing);
    if (!want) return;
    await node(remote, want, forced);
    await podHalf(remote, want.nodeName, views, want.health, want.readySince, forced);
  }

  /** The pods bound to the node, made to match the pods view (nothing before the first is offloaded). */
  async function podHalf(remote: string, nodeName: string, views: RemoteViews, health: ProviderHealth, healthSince: string, forced: boolean): Promise<void> {
    const pods = views.pods?.state;
    const out = views.outgoing!.state;
    if (!d.offload || !pods || pods.status !== 'active' || !('identity' in out) || !out.identity) return;
    await offloadPods(d.offload, d.kube, podMemo, log, {
      remoteClusterId: remote, nodeName, outgoing: out as Peered, pods, health, healthSince, at: views.pods!.updatedAt, forced,
    });
  }

  /**
   * Unpeering: the node stays (heartbeat and all, its pods still running) but takes no new pod;
   * the pod half goes on, so that evicted pods' twins are deleted and the pods released.
   */
  async function cordon(remote: string, nodeName: string, views: RemoteViews, forced: boolean): Promise<void> {
    const key = `cordon/${nodeName}`;
    const obj = forgeVirtualNode({ nodeName, remoteClusterId: remote, cordoned: true }) as KubeObject;
    if (podMemo.changed(key, obj, forced)) {
      await d.kube.apply(obj);
      podMemo.record(key, obj);
    }
    lastNode.set(remote, nodeName);
    const known = nodes.get(nodeName)?.want;
    await podHalf(remote, nodeName, views, known?.health ?? { ready: true }, known?.readySince ?? views.outgoing!.updatedAt, forced);
  }

  /** The node and its Lease deleted (the heartbeat stopped first, so it does not make the Lease again). */
  async function remove(nodeName: string, forced: boolean): Promise<void> {
    const key = `removed/${nodeName}`;
    if (!podMemo.changed(key, true, forced)) return;
    const n = nodes.get(nodeName);
    if (n) { clearInterval(n.timer); nodes.delete(nodeName); }
    made.delete(nodeName);
    await d.kube.delete('v1', 'Node', nodeName);
    await d.kube.delete('coordination.k8s.io/v1', 'Lease', nodeName, 'kube-node-lease');
    podMemo.record(key, true);
    podMemo.record(`cordon/${nodeName}`, null);
  }

  async function node(remote: string, want: DesiredNode, forced: boolean): Promise<void> {
    lastNode.set(remote, want.nodeName);
    podMemo.record(`removed/${want.nodeName}`, false);
    if (!forced && made.get(want.nodeName) === JSON.stringify(want)) return;
    const node = await d.kube.apply(forgeVirtualNode({ nodeName: want.nodeName, remoteClusterId: remote }) as KubeObject);
    const uid = node.metadata?.uid;
    // The Lease first: a node seen Ready has its heartbeat already (the node lifecycle controller,
    // and the watch that records VirtualNodeReady, look for it).
    await renew(want.nodeName, uid);
    await d.kube.applyStatus(forgeVirtualNodeStatus({
      nodeName: want.nodeName, remoteClusterName: want.remoteClusterName, resources: want.resources, now: now().toISOString(), kubelet: d.kubelet, readySince: want.readySince, health: want.health,
    }) as KubeObject);
    made.set(want.nodeName, JSON.stringify(want));
    if (d.heartbeat === false) return;
    const known = nodes.get(want.nodeName);
    if (known) { known.want = want; known.uid = uid; return; }
    const timer = setInterval(() => {
      beat(want.nodeName).catch((e: unknown) => log.warn('virtual node heartbeat failed', { nodeName: want.nodeName, error: e }));
    }, (LEASE_DURATION_SECONDS * 1000) / 4);
    nodes.set(want.nodeName, { want, uid, timer, beating: false });
    // The provider is asked at once, not a heartbeat later: a control plane that starts with an
    // identity that no longer works must not leave the node Ready meanwhile.
    beat(want.nodeName).catch((e: unknown) => log.warn('virtual node heartbeat failed', { nodeName: want.nodeName, error: e }));
  }

  const base = createEffectProjection({ name: VIRTUAL_KUBELET, store: d.store, logger: d.logger, effect, kinds: ['outgoing', 'pods'], ...(d.live === undefined ? {} : { live: d.live }) });
  return {
    ...base,
    async stop() {
      for (const n of nodes.values()) clearInterval(n.timer);
      nodes.clear();
      await base.stop();
    },
  };
}
