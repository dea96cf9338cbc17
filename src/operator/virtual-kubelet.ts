// The virtual kubelet of a consumer: one Node per accepted offer, with capacity = allocatable = the
// offer, a Ready condition, and Lease heartbeats in kube-node-lease. It only makes the cluster match
// what the log says; the reconciler decides when a node should exist. Each heartbeat also asks the
// reconciler's check whether the provider still answers the current identity, and Ready follows it.
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient, KubeObject } from '../adapters/kubernetes/client.js';
import type { Resources } from '../events/catalogue.js';
import { forgeLease, forgeVirtualNode, forgeVirtualNodeStatus, LEASE_DURATION_SECONDS, type ProviderHealth } from '../resources/objects.js';

export interface NodeSpec {
  readonly nodeName: string;
  readonly remoteClusterId: string;
  readonly remoteClusterName: string;
  readonly resources: Resources;
  /** Whether the provider answers the current identity; asked at every heartbeat. */
  readonly check?: () => Promise<ProviderHealth>;
}

export interface VirtualKubelet {
  /** Applies the node, its status and its Lease, and keeps the Lease renewed. Returns true once the status was written. */
  ensure(p: NodeSpec): Promise<boolean>;
  stop(): void;
}

const same = (a: ProviderHealth, b: ProviderHealth) => a.ready === b.ready && (a.ready || (!b.ready && a.reason === b.reason));

export function createVirtualKubelet(kube: KubeClient, log: Logger, now: () => Date = () => new Date()): VirtualKubelet {
  const heartbeats = new Map<string, NodeJS.Timeout>();
  /** Per node: the health last written, and since when its Ready has held. */
  const readiness = new Map<string, { health: ProviderHealth; since: string }>();
  const renew = async (nodeName: string, uid: string | undefined) => {
    await kube.apply(forgeLease({ nodeName, nodeUid: uid, now: now().toISOString() }) as KubeObject);
  };
  const writeStatus = async (p: NodeSpec, r = readiness.get(p.nodeName)!) => {
    await kube.applyStatus(forgeVirtualNodeStatus({
      nodeName: p.nodeName, remoteClusterName: p.remoteClusterName, resources: p.resources, now: now().toISOString(), readySince: r.since, health: r.health,
    }) as KubeObject);
  };
  const beating = new Set<string>();
  /** Per node: the spec and node uid of the latest ensure, which the heartbeat beats for. */
  const specs = new Map<string, { p: NodeSpec; uid: string | undefined }>();
  const heartbeat = async (p: NodeSpec, uid: string | undefined) => {
    // A slow provider check must not pile heartbeats up.
    if (beating.has(p.nodeName)) return;
    beating.add(p.nodeName);
    try { await beat(p, uid); } finally { beating.delete(p.nodeName); }
  };
  const beat = async (p: NodeSpec, uid: string | undefined) => {
    await renew(p.nodeName, uid);
    if (!p.check) return;
    const health = await p.check();
    const r = readiness.get(p.nodeName);
    if (r && same(r.health, health)) return;
    const next = { health, since: now().toISOString() };
    // Kept only once written: a status write that fails is tried again at the next heartbeat.
    await writeStatus(p, next);
    readiness.set(p.nodeName, next);
    (health.ready ? log.info : log.warn)('virtual node readiness changed', {
      nodeName: p.nodeName, remoteClusterId: p.remoteClusterId, ready: health.ready, ...(health.ready ? {} : { reason: health.reason, message: health.message }),
    });
  };
  return {
    async ensure(p) {
      const node = await kube.apply(forgeVirtualNode({ nodeName: p.nodeName, remoteClusterId: p.remoteClusterId }) as KubeObject);
      const uid = node.metadata?.uid;
      // The Lease first: a node seen Ready has its heartbeat already (the node lifecycle controller,
      // and anyone watching for Ready, may look for it at once).
      await renew(p.nodeName, uid);
      if (!readiness.has(p.nodeName)) readiness.set(p.nodeName, { health: { ready: true }, since: now().toISOString() });
      await writeStatus(p);
      const beatNow = (spec: { p: NodeSpec; uid: string | undefined }) => {
        heartbeat(spec.p, spec.uid).catch((e: unknown) => log.warn('virtual node heartbeat failed', { nodeName: spec.p.nodeName, error: e }));
      };
      // The heartbeat keeps its rhythm across ensures (a reconcile retried every few seconds must
      // not keep pushing the next check away) and always beats for the latest spec.
      specs.set(p.nodeName, { p, uid });
      if (!heartbeats.has(p.nodeName)) {
        // A quarter of the Lease's duration: three renewals may fail before the node looks gone, and a
        // provider that stops answering shows as NotReady well within two Lease durations.
        heartbeats.set(p.nodeName, setInterval(() => beatNow(specs.get(p.nodeName)!), (LEASE_DURATION_SECONDS * 1000) / 4));
        // The provider is asked at once, not a heartbeat later: a control plane that starts with an
        // identity that no longer works must not leave the node Ready meanwhile.
        if (p.check) beatNow({ p, uid });
      }
      return true;
    },
    stop() {
      for (const t of heartbeats.values()) clearInterval(t);
      heartbeats.clear();
      specs.clear();
    },
  };
}
