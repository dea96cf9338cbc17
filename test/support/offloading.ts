// Workloads for offloading tests: what a user writes to run pods on a virtual node (select it,
// tolerate its taint), as JSON for `kubectl apply -f -`.
import { eventually } from './env.js';

/** The node selector and toleration of a pod meant for a virtual node. */
export const ON_VIRTUAL_NODE = {
  nodeSelector: { 'peerlog.dev/type': 'virtual-node' },
  tolerations: [{ key: 'virtual-node.peerlog.dev/not-allowed', operator: 'Exists', effect: 'NoExecute' }],
} as const;

/**
 * The node selector of pods meant for one provider's virtual node alone (a Deployment's `spec`
 * argument below): on the shared stack other tests' virtual nodes match the type label too.
 */
export function pinnedTo(providerId: string): { nodeSelector: Record<string, string> } {
  return { nodeSelector: { ...ON_VIRTUAL_NODE.nodeSelector, 'peerlog.dev/remote-cluster-id': providerId } };
}

/** A Deployment of `replicas` pods labelled app=<name> on the virtual node; `container` and `spec` add fields. */
export function offloadedDeployment(ns: string, name: string, replicas: number, container: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          ...ON_VIRTUAL_NODE,
          containers: [{ name: 'main', image: `registry.example/${name}:1`, resources: { requests: { cpu: '50m', memory: '32Mi' } }, ...container }],
          ...spec,
        },
      },
    },
  });
}

/**
 * Deletes namespaces and waits until they are gone: twins left running in beta would count against
 * the offers the next tests compute. Call once the control planes are stopped (none makes them again).
 */
export async function removeNamespaces(p: { kubectl(args: readonly string[]): { status: number | null } }, names: readonly string[]): Promise<void> {
  for (const n of names) p.kubectl(['delete', 'namespace', n, '--wait=false', '--ignore-not-found']);
  // Pods bound to a virtual node that is gone have no kubelet to confirm their deletion: left to
  // the pod garbage collector, a loaded machine can take minutes. Forced, as an operator would.
  for (const n of names) p.kubectl(['delete', 'pods', '--all', '-n', n, '--force', '--grace-period=0', '--wait=false', '--ignore-not-found']);
  await eventually(`namespaces ${names.join(', ')} gone`, async () => (names.every((n) => p.kubectl(['get', 'namespace', n]).status !== 0) ? true : undefined), 90_000);
}
