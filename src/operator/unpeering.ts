// Unpeering on the consumer, as process steps on the log's view of the peering: each step does one
// thing and reports it as a command, in order — the node cordoned (seen by its watch), drained
// through the Eviction API (a PodDisruptionBudget that refuses says so, with the pod and the
// budget), deleted, the request withdrawn from the provider (the replication projection), the
// identity Secret and the local tenant namespace removed, the peering terminated. The effects on
// the node come from the virtual-kubelet projection; a step only decides what comes next.
import type { KubeClient, KubeObject, k8s } from '../adapters/kubernetes/client.js';
import { KubernetesError } from '../adapters/kubernetes/client.js';
import type { Logger } from '../adapters/log/index.js';
import type { HandledCommand } from '../commands/handle.js';
import type { Actor } from '../events/catalogue.js';
import type { OutgoingCommand } from '../commands/outgoing/commands.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import type { IncomingState } from '../commands/incoming/state.js';
import type { PodsCommand } from '../commands/pods/commands.js';
import { RetryLater } from '../errors.js';
import { IDENTITY_SECRET_NAME } from '../resources/constants.js';
import { tenantNamespaceFor, virtualNodeNameFor } from '../resources/names.js';
import { disruptionBudgetOf, drainPlan } from '../resources/unpeering.js';

type Unpeering = Extract<OutgoingState, { status: 'unpeeringRequested' }>;


export interface UnpeeringDeps {
  readonly kube: KubeClient;
  readonly log: Logger;
  send(remote: string, command: Omit<OutgoingCommand, 'metadata'>, actor?: Actor): Promise<HandledCommand>;
  sendPods(remote: string, command: Omit<PodsCommand, 'metadata'>): Promise<unknown>;
  /** The local pods bound to a node (from the pods watch's cache). */
  podsOn(nodeName: string): readonly (k8s.V1Pod & KubeObject)[];
  /** The incoming direction with the same cluster: whether it still uses the shared tenant namespace. */
  incoming(remote: string): Promise<IncomingState>;
  /** Drops what this process keeps for a peering that ended (clients, watches, timers). */
  forget(remote: string): Promise<void>;
}

export interface UnpeeringSteps {
  step(remote: string, s: OutgoingState): Promise<void>;
  /** A virtual node seen unschedulable while its peering unpeers: VirtualNodeCordoned. */
  observeNode(remote: string, s: OutgoingState, node: k8s.V1Node | undefined): Promise<void>;
  /** Peerings whose drain waits: a change of their pods is worth another look. */
  isDraining(remote: string): boolean;
}

/** States in which the incoming direction no longer uses the tenant namespace. */
const INCOMING_IDLE: ReadonlySet<string> = new Set(['empty', 'tokenRejected', 'revoked']);

export function createUnpeering(d: UnpeeringDeps): UnpeeringSteps {
  const draining = new Set<string>();

  async function drain(remote: string, s: Unpeering & { virtualNode: { nodeName: string } }): Promise<void> {
    const nodeName = s.virtualNode.nodeName;
    const plan = drainPlan(d.podsOn(nodeName), nodeName);
    if (plan.remaining.length === 0) {
      draining.delete(remote);
      await d.send(remote, { type: 'MarkVirtualNodeDrained', data: {} });
      return;
    }
    draining.add(remote);
    const remaining = plan.remaining.length;
    if (!s.drain) {
      await d.send(remote, {
        type: 'RecordDrainWaiting',
        data: { reason: 'WaitingForPods', remaining, message: `${remaining} pod(s) still run on ${nodeName}; unpeering waits for them to finish (unpeering with a drain evicts them)` },
      });
      throw new RetryLater(`${remaining} pod(s) still run on ${nodeName}`);
    }
    let refusal: { reason: 'PodDisruptionBudget' | 'EvictionRefused'; pod: string; budget?: string; message: string } | undefined;
    for (const pod of plan.evict) {
      const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/eviction`;
      try {
        await d.kube.request('POST', path, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.name, namespace: pod.namespace } });
      } catch (e) {
        if (!(e instanceof KubernetesError) || e.status === 0 || e.status >= 500) throw e;
        if (e.status === 404) continue;
        if (refusal) continue;
        const budget = disruptionBudgetOf(e.causes);
        const why = e.message.replace(/^POST \S+: /, '');
        refusal = e.status === 429
          ? { reason: 'PodDisruptionBudget', pod: `${pod.namespace}/${pod.name}`, ...(budget ? { budget } : {}), message: `evicting ${pod.namespace}/${pod.name} would violate ${budget ? `PodDisruptionBudget ${pod.namespace}/${budget}` : 'its disruption budget'}: ${why}` }
          : { reason: 'EvictionRefused', pod: `${pod.namespace}/${pod.name}`, message: `evicting ${pod.namespace}/${pod.name} was refused (${e.status}): ${why}` };
      }
    }
    if (refusal) {
      const { reason, pod, budget, message } = refusal;
      await d.send(remote, { type: 'RecordDrainWaiting', data: { reason, remaining, pod, ...(budget ? { budget } : {}), message } });
    }
    throw new RetryLater(`${remaining} pod(s) still on ${nodeName}${refusal ? `: ${refusal.message}` : ''}`);
  }

  /** The identity Secret goes; the tenant namespace too, unless the other direction still uses it. */
  async function removeLocalIdentity(remote: string): Promise<void> {
    const namespace = tenantNamespaceFor(remote);
    await d.kube.delete('v1', 'Secret', IDENTITY_SECRET_NAME, namespace);
    if (INCOMING_IDLE.has((await d.incoming(remote)).status)) await d.kube.delete('v1', 'Namespace', namespace);
  }

  async function step(remote: string, s: OutgoingState): Promise<void> {
    switch (s.status) {
      case 'unpeeringRequested':
        if (s.virtualNode === null) {
          // Nothing was asked of the provider without an identity; with one, the replication
          // projection withdraws the request first.
          if (s.identity === null) await d.send(remote, { type: 'TerminatePeering', data: {} });
          return;
        }
        if (s.force) {
          await d.send(remote, { type: 'DeleteVirtualNode', data: {} });
          return;
        }
        if (!s.cordoned) {
          // Its watch records the cordon; a restart that missed the event looks at the node itself.
          const node = await d.kube.get<k8s.V1Node & KubeObject>('v1', 'Node', s.virtualNode.nodeName);
          await observeNode(remote, s, node);
          return;
        }
        return drain(remote, s as Unpeering & { virtualNode: { nodeName: string } });
      case 'virtualNodeDrained':
        await d.send(remote, { type: 'DeleteVirtualNode', data: {} });
        return;
      case 'virtualNodeDeleted':
        draining.delete(remote);
        await d.sendPods(remote, { type: 'EndOffloading', data: { nodeName: virtualNodeNameFor(remote) } });
        if (s.identity === null) await d.send(remote, { type: 'TerminatePeering', data: {} });
        return;
      case 'requestWithdrawn':
        await d.sendPods(remote, { type: 'EndOffloading', data: { nodeName: virtualNodeNameFor(remote) } });
        await removeLocalIdentity(remote);
        await d.send(remote, { type: 'TerminatePeering', data: {} });
        await d.forget(remote);
        return;
      default:
        return;
    }
  }

  async function observeNode(remote: string, s: OutgoingState, node: k8s.V1Node | undefined): Promise<void> {
    if (s.status !== 'unpeeringRequested' || s.cordoned || !node?.spec?.unschedulable) return;
    await d.send(remote, { type: 'MarkVirtualNodeCordoned', data: {} });
  }

  return { step, observeNode, isDraining: (remote) => draining.has(remote) };
}
