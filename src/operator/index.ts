// The operator of one control plane, wired: watches observe (ForeignClusters and their token
// Secrets, ResourceRequests, nodes and pods, the provider's offers) and send commands; projections
// of the log make every effect (kubernetes: statuses; replication: the objects each side writes for
// the other; virtual-kubelet: nodes and Leases) and run the process steps that call out (process).
// Nothing here decides what a cluster should look like: that is folded from the log.
import { randomUUID } from 'node:crypto';
import type { PeerlogConfig } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient, KubeObject, k8s } from '../adapters/kubernetes/client.js';
import type { ViewStore } from '../projections/ports.js';
import type { Actor } from '../events/catalogue.js';
import type { OutgoingCommand } from '../commands/outgoing/commands.js';
import type { IncomingCommand } from '../commands/incoming/commands.js';
import type { PodsCommand } from '../commands/pods/commands.js';
import { isTerminalPhase } from '../commands/pods/state.js';
import { createOffloading } from './offloading.js';
import { createPodLogs } from './kubelet.js';
import type { ContainerLogRequest, LogsRefusal } from '../adapters/http/kubelet.js';
import type { Readable } from 'node:stream';
import { virtualNodeNameFor } from '../resources/names.js';
import { signWithdrawalNotice, type ConsumerPorts } from '../auth/consumer.js';
import { GROUP_VERSION, LABELS } from '../resources/constants.js';
import { isVirtualNode } from '../resources/capacity.js';
import { REQUEST_NAME } from '../resources/objects.js';
import { createEffectProjection, type EffectProjection } from '../projections/views/effects.js';
import { createKubernetesProjection, type ForeignClusterObject } from '../projections/kubernetes/index.js';
import { createReplicationProjection } from '../projections/replication/index.js';
import { createVirtualKubeletProjection } from '../projections/virtual-kubelet/index.js';
import { createWorkQueue, type WorkQueue } from '../projections/work.js';
import { createIdentityKeeper } from './identity.js';
import { createWatches } from './watches.js';
import { observedOf } from './observed.js';
import { decodeKey, encodeKey, type WorkKey } from './keys.js';
import { createConsumerSide } from './consumer.js';
import { createUnpeering } from './unpeering.js';
import { createProviderSide, OFFERING } from './provider.js';

export const PROCESS = 'process';

const FC_PATH = `/apis/${GROUP_VERSION}/foreignclusters`;
const RR_PATH = `/apis/${GROUP_VERSION}/resourcerequests`;
const CONTROLLER: Actor = { kind: 'controller', name: 'peerlog-operator' };

export interface Operator {
  /** Whether this cluster accepts incoming peerings from `clusterId` (a ForeignCluster may disable it). */
  incomingAllowed(clusterId: string): boolean;
  /** The projections of the log that make the effects; each runs as a consumer group of its own. */
  readonly projections: readonly EffectProjection[];
  /** The log of an offloaded pod's container, read from its twin in the provider (the kubelet API's `logs`). */
  podLogs(req: ContainerLogRequest, signal: AbortSignal): Promise<Readable | LogsRefusal>;
  /** Everything looked at again: every ForeignCluster observed, every projection's views applied. */
  resync(): Promise<void>;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface OperatorDeps {
  readonly config: PeerlogConfig;
  readonly rt: Runtime;
  readonly kube: KubeClient;
  readonly views: ViewStore;
  readonly consumer: ConsumerPorts;
  readonly logger: Logger;
}

export async function startOperator(d: OperatorDeps): Promise<Operator> {
  const { config, rt, kube } = d;
  const log = d.logger.child({ component: 'operator' });
  const watches = createWatches(log);
  const meta = (actor: Actor = CONTROLLER) => ({ now: new Date().toISOString(), actor, correlationId: randomUUID(), commandId: randomUUID() });
  const sendOutgoing = (remote: string, c: Omit<OutgoingCommand, 'metadata'>, actor?: Actor) => rt.bus.outgoing(remote, { ...c, metadata: meta(actor) } as OutgoingCommand);
  const sendIncoming = (remote: string, c: Omit<IncomingCommand, 'metadata'>, actor?: Actor) => rt.bus.incoming(remote, { ...c, metadata: meta(actor) } as IncomingCommand);
  const sendPods = (remote: string, c: Omit<PodsCommand, 'metadata'>) => rt.bus.pods(remote, { ...c, metadata: meta() } as PodsCommand);

  // ---- watches: the caches observations are read from ---------------------------------------------
  const fcs = kube.informer<ForeignClusterObject>(FC_PATH, config.foreignClusterSelector || undefined);
  // Only the one request name the protocol uses: whatever else a tenant creates is neither cached nor answered.
  const rrs = kube.informer<KubeObject & { spec?: { clusterId?: string } }>(RR_PATH, { fieldSelector: `metadata.name=${REQUEST_NAME}` });
  const nodes = kube.informer<k8s.V1Node & KubeObject>('/api/v1/nodes');
  const pods = kube.informer<k8s.V1Pod & KubeObject>('/api/v1/pods');
  // Token Secrets live in the operator's namespace: a change there may unblock a peering.
  const secrets = kube.informer<KubeObject>(`/api/v1/namespaces/${encodeURIComponent(config.systemNamespace)}/secrets`);
  const fcFor = (clusterId: string) => fcs.list().find((f) => f.spec?.clusterId === clusterId);

  // ---- the projections that make effects ---------------------------------------------------------------
  const identities = createIdentityKeeper({ kube, clusterId: config.clusterId });
  const kubernetes = createKubernetesProjection({ kube, store: d.views, logger: d.logger, foreignClusterOf: fcFor });
  const replication = createReplicationProjection({
    kube, store: d.views, logger: d.logger, clusterId: config.clusterId, clusterName: config.clusterName,
    providerClient: (remote, state) => identities.client(remote, state),
    recordNamespace: async (remote, outcome) => { await sendIncoming(remote, { type: 'RecordRemoteNamespace', data: outcome }); },
    recordWithdrawal: async (remote, providerReached, notice, overdue) => {
      await sendOutgoing(remote, { type: 'WithdrawResourceRequest', data: { providerReached, ...(notice ? { notice } : {}), ...(overdue ? { overdue } : {}) } });
    },
    signWithdrawal: (remote, certFingerprint) => signWithdrawalNotice(d.consumer, remote, certFingerprint),
  });
  const offloading = createOffloading({
    clusterId: config.clusterId, kube, watches, log, pods,
    send: sendPods, load: (remote) => rt.bus.loadPods(remote),
    client: (remote, state) => identities.client(remote, state),
    reapply: (remote) => virtualKubelet.reapply(remote),
    wake: (remote) => virtualKubelet.wake(remote),
    observe: (remote) => enqueue({ kind: 'virtualNodePods', remoteClusterId: remote }),
    reflect: (remote) => enqueue({ kind: 'remotePods', remoteClusterId: remote }),
  });
  const virtualKubelet = createVirtualKubeletProjection({
    kube, store: d.views, logger: d.logger, offload: offloading.ports, kubelet: { address: config.kubeletAddress, port: config.kubeletPort },
    check: async (remote) => identities.health(remote, await rt.bus.loadOutgoing(remote)),
    report: async (remote, h) => {
      await sendOutgoing(remote, { type: 'RecordProviderHealth', data: h.ready ? { ready: true } : { ready: false, reason: h.reason, message: h.message } });
    },
  });
  const unpeering = createUnpeering({
    kube, log, send: sendOutgoing, sendPods,
    podsOn: (nodeName) => pods.list().filter((p) => p.spec?.nodeName === nodeName),
    incoming: (remote) => rt.bus.loadIncoming(remote),
    forget: async (remote) => { identities.forget(remote); await consumerSide.forget(remote); },
  });
  const consumerSide = createConsumerSide({
    config, kube, consumer: d.consumer, identities, watches, log, unpeering,
    send: sendOutgoing, load: (remote) => rt.bus.loadOutgoing(remote),
    foreignClusterOf: fcFor, foreignClusterNamed: (name) => fcs.get(name),
    statusViews: (remote) => kubernetes.views(remote),
    wakeProcess: (remote) => processes.reapply(remote), wakeStatus: (remote) => kubernetes.reapply(remote),
  });
  const providerSide = createProviderSide({
    config, send: sendIncoming, load: (remote) => rt.bus.loadIncoming(remote),
    nodes: () => nodes.list(), pods: () => pods.list(), request: (namespace, name) => rrs.get(name, namespace),
    requestsListed: () => rrs.listed(),
    capacityListed: () => nodes.listed() && pods.listed(),
    incomingDisabled: (remote) => fcFor(remote)?.spec.incoming === 'Disabled',
  });
  const processes: EffectProjection = createEffectProjection({
    name: PROCESS, store: d.views, logger: d.logger,
    async effect(remote, views) {
      // Both halves, even when one fails: the other direction does not wait for it.
      const results = await Promise.allSettled([consumerSide.step(remote, views.outgoing), providerSide.step(remote, views.incoming)]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  });
  const projections = [kubernetes, replication, virtualKubelet, processes] as const;

  // ---- observations become commands (or a re-apply, for drift) ----------------------------------------
  const queue: WorkQueue = createWorkQueue(async (encoded) => {
    const key = decodeKey(encoded);
    if (!key) return;
    switch (key.kind) {
      case 'foreignCluster': return consumerSide.observeForeignCluster(key.name);
      case 'resourceRequest': return providerSide.observeRequest(key.namespace, key.name);
      case 'virtualNode': return consumerSide.observeVirtualNode(key.remoteClusterId, nodes.list().find((n) => n.metadata?.labels?.[LABELS.remoteClusterId] === key.remoteClusterId && isVirtualNode({ labels: n.metadata.labels })));
      case 'virtualNodePods': {
        // A node that only looks like one of this cluster's (another control plane's on a shared
        // cluster, or labels anyone may set): with no peering in the log, its pods are not this one's.
        if ((await rt.bus.loadOutgoing(key.remoteClusterId)).status === 'empty') return;
        return offloading.observePods(key.remoteClusterId, virtualNodeNameFor(key.remoteClusterId));
      }
      case 'remotePods': return offloading.reflectStatus(key.remoteClusterId);
    }
  }, log);
  const enqueue = (k: WorkKey) => queue.enqueue(encodeKey(k));

  /**
   * What an observation reads of each ForeignCluster, by name. An update that changes none of it
   * (the status this cluster writes at every step of a peering) has nothing new to observe: without
   * this, each status written would load the aggregate and wake both the status and the process again.
   */
  const observedFcs = new Map<string, string>();
  watches.watch('foreignclusters', fcs, (fc, verb) => {
    const name = fc.metadata?.name;
    if (name && verb === 'delete') observedFcs.delete(name);
    else if (name) {
      const mark = observedOf(fc);
      if (verb === 'update' && observedFcs.get(name) === mark) return;
      observedFcs.set(name, mark);
    }
    if (fc.metadata?.name) enqueue({ kind: 'foreignCluster', name: fc.metadata.name });
    // Its incoming direction may have been disabled: the provider's half looks again.
    if (fc.spec?.clusterId) processes.wake(fc.spec.clusterId);
  });
  watches.watch('resourcerequests', rrs, (rr, verb) => {
    if (rr.metadata?.name !== REQUEST_NAME || !rr.metadata.namespace) return;
    // A request withdrawn (unpeering): the process step sees it gone from the cache and withdraws the offer.
    if (verb === 'delete') { if (rr.spec?.clusterId) processes.wake(rr.spec.clusterId); return; }
    enqueue({ kind: 'resourceRequest', namespace: rr.metadata.namespace, name: rr.metadata.name });
  });
  watches.watch('secrets', secrets, (s) => {
    for (const fc of fcs.list()) if (fc.spec?.tokenSecretRef?.name === s.metadata?.name && fc.metadata?.name) enqueue({ kind: 'foreignCluster', name: fc.metadata.name });
  });
  let capacityTimer: NodeJS.Timeout | undefined;
  const capacityChanged = () => {
    // Pods come and go in bursts: one recomputation per quarter second is enough.
    if (capacityTimer) return;
    capacityTimer = setTimeout(() => {
      capacityTimer = undefined;
      // Only the peerings whose offer follows capacity: others have nothing to recompute.
      d.views.remotesIn(PROCESS, 'incoming', OFFERING).then((ids) => ids.forEach((id) => processes.reapply(id)), (e: unknown) => log.warn('listing incoming peerings failed', { error: e }));
    }, 250);
  };
  watches.watch('nodes', nodes, (n, verb) => {
    if (isVirtualNode({ labels: n.metadata?.labels ?? {} })) {
      const remote = n.metadata?.labels?.[LABELS.remoteClusterId];
      if (!remote) return;
      // Deleted behind our back: the projection makes it again if the log says it exists.
      if (verb === 'delete') virtualKubelet.reapply(remote);
      else enqueue({ kind: 'virtualNode', remoteClusterId: remote });
      return;
    }
    capacityChanged();
  });
  /** The provider behind a virtual node, by the node's name (undefined for a real node). */
  const remoteOfNode = (nodeName: string | undefined): string | undefined => {
    if (!nodeName) return undefined;
    const n = nodes.get(nodeName);
    return n && isVirtualNode({ labels: n.metadata?.labels ?? {} }) ? n.metadata?.labels?.[LABELS.remoteClusterId] : undefined;
  };
  const podLogs = createPodLogs({
    localPod: (namespace, name) => pods.get(name, namespace), remoteOfNode,
    loadPods: (remote) => rt.bus.loadPods(remote), loadOutgoing: (remote) => rt.bus.loadOutgoing(remote),
    client: (remote, state) => identities.client(remote, state), logger: d.logger,
  });
  /**
   * What an observation reads of each pod bound to a virtual node, by namespace/name. An update that
   * changes none of it (most often a status this cluster wrote itself, a thousand at a time) has
   * nothing new to observe: without this, each would look at every pod on the node again.
   */
  const observed = new Map<string, string>();
  watches.watch('pods', pods, (p, verb) => {
    const remote = remoteOfNode(p.spec?.nodeName);
    if (!remote) { capacityChanged(); return; }
    // A pod bound to a virtual node: offloaded, reclaimed or refused, as a command.
    // A drain waits for the node's pods to go: each one gone is worth another look.
    if (unpeering.isDraining(remote)) processes.wake(remote);
    const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
    if (verb === 'delete') {
      observed.delete(key);
    } else {
      const mark = `${p.metadata?.uid}|${p.spec?.nodeName}|${p.metadata?.deletionTimestamp ? 'deleting' : ''}|${isTerminalPhase(p.status?.phase) ? 'terminal' : ''}`;
      if (observed.get(key) === mark) return;
      observed.set(key, mark);
    }
    enqueue({ kind: 'virtualNodePods', remoteClusterId: remote });
  });

  await Promise.all([fcs, rrs, nodes, pods, secrets].map((i, n) => watches.start(['foreignclusters', 'resourcerequests', 'nodes', 'pods', 'secrets'][n]!, i as unknown as k8s.Informer<KubeObject>)));

  async function resync(): Promise<void> {
    for (const fc of fcs.list()) if (fc.metadata?.name) enqueue({ kind: 'foreignCluster', name: fc.metadata.name });
    for (const n of nodes.list()) {
      const remote = remoteOfNode(n.metadata?.name);
      if (remote) { enqueue({ kind: 'virtualNodePods', remoteClusterId: remote }); enqueue({ kind: 'remotePods', remoteClusterId: remote }); }
    }
    for (const p of projections) await p.resync().catch((e: unknown) => log.warn('resync failed', { projection: p.name, error: e }));
  }
  // Everything again, now and then: an observation whose command failed is tried afresh.
  const resyncTimer = setInterval(() => { void resync(); }, Math.min(config.resyncSeconds * 1000, 2 ** 31 - 1));

  return {
    incomingAllowed: (clusterId) => fcFor(clusterId)?.spec.incoming !== 'Disabled',
    projections,
    podLogs,
    resync,
    async idle() {
      await queue.idle();
      for (const p of projections) await p.idle();
    },
    async stop() {
      clearInterval(resyncTimer);
      clearTimeout(capacityTimer);
      await queue.stop();
      for (const p of projections) await p.stop();
      await consumerSide.stop();
      await offloading.stop();
      await watches.stop();
    },
  };
}
