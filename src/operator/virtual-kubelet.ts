// The virtual kubelet of a consumer: one Node per accepted offer, with capacity = allocatable = the
// offer, a Ready condition, and Lease heartbeats in kube-node-lease. It only makes the cluster match
// what the log says; the reconciler decides when a node should exist.
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient, KubeObject } from '../adapters/kubernetes/client.js';
import type { Resources } from '../events/catalogue.js';
import { forgeLease, forgeVirtualNode, forgeVirtualNodeStatus, LEASE_DURATION_SECONDS } from '../resources/objects.js';

export interface VirtualKubelet {
  /** Applies the node, its status and its Lease, and keeps the Lease renewed. Returns true once Ready was written. */
  ensure(p: { nodeName: string; remoteClusterId: string; remoteClusterName: string; resources: Resources }): Promise<boolean>;
  stop(): void;
}

export function createVirtualKubelet(kube: KubeClient, log: Logger, now: () => Date = () => new Date()): VirtualKubelet {
  const heartbeats = new Map<string, NodeJS.Timeout>();
  const readySince = new Map<string, string>();
  const renew = async (nodeName: string, uid: string | undefined) => {
    await kube.apply(forgeLease({ nodeName, nodeUid: uid, now: now().toISOString() }) as KubeObject);
  };
  return {
    async ensure(p) {
      const node = await kube.apply(forgeVirtualNode({ nodeName: p.nodeName, remoteClusterId: p.remoteClusterId }) as KubeObject);
      const uid = node.metadata?.uid;
      // The Lease first: a node seen Ready has its heartbeat already (the node lifecycle controller,
      // and anyone watching for Ready, may look for it at once).
      await renew(p.nodeName, uid);
      const at = now().toISOString();
      if (!readySince.has(p.nodeName)) readySince.set(p.nodeName, at);
      await kube.applyStatus(forgeVirtualNodeStatus({
        nodeName: p.nodeName, remoteClusterName: p.remoteClusterName, resources: p.resources, now: at, readySince: readySince.get(p.nodeName),
      }) as KubeObject);
      clearInterval(heartbeats.get(p.nodeName));
      // A quarter of the Lease's duration: three renewals may fail before the node looks gone.
      heartbeats.set(p.nodeName, setInterval(() => {
        renew(p.nodeName, uid).catch((e: unknown) => log.warn('lease renewal failed', { nodeName: p.nodeName, error: e }));
      }, (LEASE_DURATION_SECONDS * 1000) / 4));
      return true;
    },
    stop() {
      for (const t of heartbeats.values()) clearInterval(t);
      heartbeats.clear();
    },
  };
}
