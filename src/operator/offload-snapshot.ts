// The pod half's ports for `peerlog replay`: both clusters listed, never watched. The control plane
// is stopped, so nothing may keep running after the replay (no informer, no timer) and nothing is
// recorded: a refusal the provider answers is left for the next `serve` to observe and record.
import type { KubeClient, KubeObject } from '../adapters/kubernetes/client.js';
import { LABELS } from '../resources/constants.js';
import type { LocalPod } from '../resources/offloading.js';
import type { OffloadPorts, Peered, ProviderPods } from '../projections/virtual-kubelet/pods.js';

export interface OffloadSnapshot {
  readonly ports: OffloadPorts;
  /**
   * Lists this cluster's pods and the ConfigMaps and Secrets of `namespaces` (those the log says
   * have offloaded pods). Called once, before the effects run: their ports answer synchronously.
   */
  load(namespaces: readonly string[]): Promise<void>;
}

const status = (e: unknown): number => (e as { status?: number }).status ?? 0;

async function items(kube: KubeClient, path: string): Promise<KubeObject[]> {
  return (await kube.request<{ items?: KubeObject[] }>('GET', path)).items ?? [];
}

export function createOffloadSnapshot(d: { kube: KubeClient; clusterId: string; client(remote: string, state: Peered): Promise<KubeClient> }): OffloadSnapshot {
  let pods: (LocalPod & KubeObject)[] = [];
  const byKey = new Map<string, LocalPod & KubeObject>();
  /** Per namespace listed: its ConfigMaps and Secrets by name. */
  const locals = new Map<string, { configMaps: Map<string, KubeObject>; secrets: Map<string, KubeObject> }>();

  const ports: OffloadPorts = {
    clusterId: d.clusterId,
    localPod: (namespace, name) => byKey.get(`${namespace}/${name}`),
    localPodsOn: (nodeName) => pods.filter((p) => p.spec?.nodeName === nodeName),
    dependenciesKnown: (namespace) => locals.has(namespace),
    localDependency: (kind, namespace, name) => (kind === 'ConfigMap' ? locals.get(namespace)?.configMaps : locals.get(namespace)?.secrets)?.get(name),
    async provider(remote, state, remoteNamespaces): Promise<ProviderPods> {
      // Listed again at each pass: a retried pass sees the twins the previous one made.
      const client = await d.client(remote, state);
      const twins = new Map<string, KubeObject[]>();
      const events = new Map<string, KubeObject[]>();
      for (const ns of remoteNamespaces) {
        const base = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
        twins.set(ns, await items(client, `${base}/pods?labelSelector=${encodeURIComponent(`${LABELS.remoteClusterId}=${d.clusterId}`)}`));
        events.set(ns, await items(client, `${base}/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Pod')}`));
      }
      return {
        client,
        synced: (ns) => twins.has(ns),
        pods: (ns) => twins.get(ns) ?? [],
        events: (ns) => events.get(ns) ?? [],
      };
    },
    reportFailure: async () => undefined,
  };

  return {
    ports,
    async load(namespaces) {
      pods = await items(d.kube, '/api/v1/pods') as (LocalPod & KubeObject)[];
      byKey.clear();
      for (const p of pods) byKey.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
      for (const ns of namespaces) {
        const base = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
        const list = async (kind: 'configmaps' | 'secrets') => {
          try {
            return new Map((await items(d.kube, `${base}/${kind}`)).map((o) => [o.metadata?.name ?? '', o]));
          } catch (e) {
            if (status(e) === 404) return new Map<string, KubeObject>(); // the namespace is gone: nothing to copy
            throw e;
          }
        };
        locals.set(ns, { configMaps: await list('configmaps'), secrets: await list('secrets') });
      }
    },
  };
}
