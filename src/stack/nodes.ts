// The simulated worker nodes of each local cluster, registered for kwok to keep Ready.
import * as k8s from '@kubernetes/client-node';
import { clusterFiles, type ClusterName, type StackLayout } from './config.js';

function coreApi(layout: StackLayout, cluster: ClusterName): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(clusterFiles(layout, cluster).kubeconfig);
  return kc.makeApiClient(k8s.CoreV1Api);
}

export function kwokNodeNames(layout: StackLayout, cluster: ClusterName): string[] {
  return Array.from({ length: layout.clusters[cluster].nodes.count }, (_, i) => `${cluster}-worker-${i + 1}`);
}

export function forgeKwokNode(name: string, shape: { cpu: string; memory: string; pods: string }): k8s.V1Node {
  const resources = { cpu: shape.cpu, memory: shape.memory, pods: shape.pods };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', 'peerlog.dev/stack': 'worker' },
    },
    spec: {},
    status: { capacity: resources, allocatable: resources, nodeInfo: { kubeletVersion: 'fake' } as k8s.V1NodeSystemInfo },
  };
}

export async function ensureKwokNodes(layout: StackLayout, cluster: ClusterName): Promise<void> {
  const api = coreApi(layout, cluster);
  for (const name of kwokNodeNames(layout, cluster)) {
    try {
      await api.readNode({ name });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
      await api.createNode({ body: forgeKwokNode(name, layout.clusters[cluster].nodes) });
    }
  }
}

export async function kwokNodesReady(layout: StackLayout, cluster: ClusterName): Promise<boolean> {
  const api = coreApi(layout, cluster);
  const list = await api.listNode({ labelSelector: 'type=kwok' });
  const want = new Set(kwokNodeNames(layout, cluster));
  const ready = list.items.filter((n) => want.has(n.metadata?.name ?? '')
    && (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
  return ready.length === want.size;
}
