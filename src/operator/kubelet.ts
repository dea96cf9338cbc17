// What the virtual kubelet answers `kubectl logs` with: the local pod named by the request (from
// the cache), bound to a virtual node; its twin, as the pods log of that node's provider names it;
// and the twin's `pods/log` read from the provider through the identity it issued, streamed as it
// comes. The lookups are pure; only `createPodLogs` calls out.
import type { Readable } from 'node:stream';
import type { KubeClient } from '../adapters/kubernetes/client.js';
import { KubernetesError } from '../adapters/kubernetes/client.js';
import type { ContainerLogRequest, LogsRefusal } from '../adapters/http/kubelet.js';
import type { Logger } from '../adapters/log/index.js';
import { IdentitySecretInvalidError } from '../auth/errors.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import { own, podKey, type PodsState } from '../commands/pods/state.js';
import { podLogPath } from '../resources/kubelet.js';
import type { Peered } from '../projections/virtual-kubelet/pods.js';

/** The part of a local pod the lookup reads. */
export interface LogPod {
  readonly metadata?: { readonly uid?: string };
  readonly spec?: {
    readonly nodeName?: string;
    readonly containers?: readonly { readonly name: string }[];
    readonly initContainers?: readonly { readonly name: string }[];
    readonly ephemeralContainers?: readonly { readonly name: string }[];
  };
}

const isRefusal = <T extends object>(v: T | LogsRefusal): v is LogsRefusal => 'status' in v && 'message' in v;

/**
 * The provider behind the local pod a request names, with the pod's uid. As a kubelet: a pod it
 * does not run (absent, or on a node that is not a virtual node) does not exist for it, and a
 * container the pod does not declare is not found.
 */
export function localLogTarget(req: ContainerLogRequest, local: LogPod | undefined, remoteOfNode: (nodeName: string) => string | undefined): { remote: string; uid: string } | LogsRefusal {
  const nodeName = local?.spec?.nodeName;
  const remote = nodeName ? remoteOfNode(nodeName) : undefined;
  const uid = local?.metadata?.uid;
  if (!local || !remote || !uid) return { status: 404, message: `pod ${JSON.stringify(req.pod)} does not exist` };
  const s = local.spec ?? {};
  const declared = [...(s.containers ?? []), ...(s.initContainers ?? []), ...(s.ephemeralContainers ?? [])].some((c) => c.name === req.container);
  if (!declared) return { status: 404, message: `container ${JSON.stringify(req.container)} not found in pod ${JSON.stringify(req.pod)}` };
  return { remote, uid };
}

/**
 * The twin of the local pod `uid`, as the pods log names it. A pod with no twin yet (or kept from
 * the provider) has a container waiting to start, in the kubelet's words and status.
 */
export function twinLogTarget(req: ContainerLogRequest, uid: string, pods: PodsState): { namespace: string; pod: string } | LogsRefusal {
  const tracked = own(pods.pods, podKey(req.namespace, req.pod));
  const pod = tracked && tracked.uid === uid ? tracked : undefined;
  if (!pod?.offloaded) {
    const why = pod?.failure ? `${pod.failure.reason}: ${pod.failure.message}` : 'Offloading: the pod is being created in the provider';
    return { status: 400, message: `container ${JSON.stringify(req.container)} in pod ${JSON.stringify(req.pod)} is waiting to start: ${why}` };
  }
  return { namespace: pod.remoteNamespace, pod: pod.remoteName };
}

/** What a failed read of the provider's log becomes for kube-apiserver (and so for kubectl). */
export function providerLogRefusal(e: KubernetesError): LogsRefusal {
  if (e.status === 0) return { status: 503, message: `the provider cannot be reached: ${e.message}` };
  if (e.status === 401 || e.status === 403) return { status: 502, message: `the provider refuses this cluster's identity (HTTP ${e.status}): ${e.message}` };
  if (e.status >= 500) return { status: 502, message: `the provider failed (HTTP ${e.status}): ${e.message}` };
  // The provider's own answer about its pod (a container waiting to start, a twin gone).
  return { status: e.status, message: e.message };
}

export interface PodLogsDeps {
  /** A local pod, from the cache. */
  localPod(namespace: string, name: string): LogPod | undefined;
  /** The provider behind a virtual node (undefined for any other node). */
  remoteOfNode(nodeName: string): string | undefined;
  loadPods(remote: string): Promise<PodsState>;
  loadOutgoing(remote: string): Promise<OutgoingState>;
  /** The identity client to a provider. */
  client(remote: string, state: Peered): Promise<KubeClient>;
  readonly logger: Logger;
}

/** The kubelet API's `logs`: the twin's log from the provider, or why there is none. */
export function createPodLogs(d: PodLogsDeps): (req: ContainerLogRequest, signal: AbortSignal) => Promise<Readable | LogsRefusal> {
  const log = d.logger.child({ component: 'pod-logs' });
  return async (req, signal) => {
    // 1. The local pod, on a virtual node, with that container.
    const target = localLogTarget(req, d.localPod(req.namespace, req.pod), (n) => d.remoteOfNode(n));
    if (isRefusal(target)) return target;
    // 2. Its twin, as the log names it.
    const twin = twinLogTarget(req, target.uid, await d.loadPods(target.remote));
    if (isRefusal(twin)) return twin;
    // 3. The identity the provider issued.
    const outgoing = await d.loadOutgoing(target.remote);
    if (!('identity' in outgoing) || !outgoing.identity) return { status: 503, message: `this cluster holds no identity towards provider ${target.remote}` };
    // 4. The twin's log, streamed.
    const path = podLogPath({ namespace: twin.namespace, pod: twin.pod, container: req.container, options: req });
    let client: KubeClient;
    try {
      client = await d.client(target.remote, outgoing as Peered);
    } catch (e) {
      if (!(e instanceof IdentitySecretInvalidError)) throw e;
      return { status: 503, message: `the identity towards provider ${target.remote} cannot be used: ${e.message}` };
    }
    try {
      return await client.stream(path, signal);
    } catch (e) {
      if (!(e instanceof KubernetesError)) throw e;
      log.info('the provider gave no log', { remoteClusterId: target.remote, namespace: req.namespace, pod: req.pod, status: e.status, error: e });
      return providerLogRefusal(e);
    }
  };
}
