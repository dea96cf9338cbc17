// The pod half of the virtual kubelet: makes the provider run what the log says is offloaded. For
// one provider, from the pods view (folded from the log) and what the caches show of both clusters:
// the ConfigMaps and Secrets the offloaded pods reference are copied into their remote namespaces
// (and removed once no pod uses them); each offloaded pod that is not terminal has its twin; a twin
// whose pod was reclaimed is deleted with the pod's grace period; a local pod whose twin is gone is
// let go; the local pods' status is the reflected one (with Ready false while the provider does not
// answer); the twins' Events are mirrored onto the local pods. Refusals come back as commands.
import type { KubeClient, KubeObject } from '../../adapters/kubernetes/client.js';
import type { Logger } from '../../adapters/log/index.js';
import type { RecordPodOffloadFailure } from '../../commands/pods/commands.js';
import { isTerminalPhase, podKey, type OffloadedPod, type PodsState } from '../../commands/pods/state.js';
import type { OutgoingState } from '../../commands/outgoing/state.js';
import { sha256Hex } from '../../events/hash.js';
import { LABELS } from '../../resources/constants.js';
import {
  cutText, dependenciesOf, forgeLocalPodStatus, forgeRemoteDependency, forgeRemotePod, OFFLOAD_LABELS, type LocalPod,
} from '../../resources/offloading.js';
import type { AppliedMemo } from '../views/effects.js';
import type { ProviderHealth } from './forge.js';

export type Peered = Extract<OutgoingState, { identity: unknown }>;

/** What the provider looks like to this cluster, through the identity it issued. */
export interface ProviderPods {
  readonly client: KubeClient;
  /** Whether the caches of this remote namespace listed at least once (nothing is created before). */
  synced(remoteNamespace: string): boolean;
  /** The twins in a remote namespace (labelled as this cluster's), from a watch. */
  pods(remoteNamespace: string): readonly KubeObject[];
  /** Pod Events in a remote namespace, from a watch. */
  events(remoteNamespace: string): readonly KubeObject[];
}

export interface OffloadPorts {
  readonly clusterId: string;
  /** A local pod, from the cache. */
  localPod(namespace: string, name: string): (LocalPod & KubeObject) | undefined;
  /** Local pods bound to a node, from the cache. */
  localPodsOn(nodeName: string): readonly (LocalPod & KubeObject)[];
  /** Whether the ConfigMaps and Secrets of a local namespace are known (watched and listed). */
  dependenciesKnown(namespace: string): boolean;
  /** A local ConfigMap or Secret, from the cache of its namespace (undefined while unknown or absent). */
  localDependency(kind: 'ConfigMap' | 'Secret', namespace: string, name: string): KubeObject | undefined;
  /** The provider's side for the current identity, with the remote namespaces watched from now on. */
  provider(remoteClusterId: string, state: Peered, remoteNamespaces: readonly string[]): Promise<ProviderPods>;
  /** A twin the provider refused (the decider dedupes the same refusal). */
  reportFailure(remoteClusterId: string, failure: RecordPodOffloadFailure['data']): Promise<void>;
}

/** Concurrent API calls of one effect: the apiservers, not this client, should bound throughput. */
const POOL = 32;

async function pool<T>(items: readonly T[], work: (item: T) => Promise<void>, log: Logger, what: string): Promise<number> {
  let next = 0;
  let failed = 0;
  let firstError: unknown;
  const run = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try { await work(item); } catch (e) { failed++; firstError ??= e; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(POOL, items.length) }, run));
  if (failed > 0) {
    log.warn(`${what}: ${failed} of ${items.length} failed; retrying`, { error: firstError });
    throw firstError;
  }
  return items.length;
}

const status = (e: unknown): number => (e as { status?: number }).status ?? 0;
const deleteBody = (gracePeriodSeconds: number | undefined, uid?: string) => ({
  apiVersion: 'v1', kind: 'DeleteOptions',
  ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
  ...(uid ? { preconditions: { uid } } : {}),
});

async function remove(client: KubeClient, path: string, body: unknown): Promise<void> {
  try {
    await client.request('DELETE', path, body);
  } catch (e) {
    if (status(e) !== 404 && status(e) !== 409) throw e;
  }
}

const podPath = (namespace: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;

export interface PodEffectInput {
  readonly remoteClusterId: string;
  readonly nodeName: string;
  readonly outgoing: Peered;
  readonly pods: PodsState;
  readonly health: ProviderHealth;
  /** When the health last changed (the pods' Ready transition time while it is false). */
  readonly healthSince: string;
  /** The pods view's time (transition time of conditions that have none of their own). */
  readonly at: string;
  readonly forced: boolean;
}

/** One pass of the pod half for one provider; throws (to be retried) when a call failed. */
export async function offloadPods(ports: OffloadPorts, kube: KubeClient, memo: AppliedMemo, log: Logger, p: PodEffectInput): Promise<void> {
  // Each step on its own: one that fails (the provider away) does not keep the others from running
  // (the local pods' status says the provider is away); the first failure is thrown at the end.
  const failures: unknown[] = [];
  const attempt = async (f: () => Promise<unknown>): Promise<boolean> => {
    try { await f(); return true; } catch (e) { failures.push(e); return false; }
  };
  const granted = Object.values(p.pods.namespaces).filter((n) => n.phase === 'Granted');
  const remoteOf = new Map(granted.map((n) => [n.namespace, n.remoteNamespace]));
  const localOf = new Map(granted.map((n) => [n.remoteNamespace, n.namespace]));
  const tracked = Object.values(p.pods.pods);
  // Indexes, once per pass: a thousand pods must not cost a million lookups.
  const trackedAt = new Map(tracked.map((pod) => [podKey(pod.namespace, pod.name), pod]));
  const ownerAt = new Map(tracked.filter((pod) => pod.offloaded).map((pod) => [podKey(pod.remoteNamespace, pod.remoteName), pod]));
  const live = (pod: OffloadedPod) => {
    const local = ports.localPod(pod.namespace, pod.name);
    return local && local.metadata?.uid === pod.uid ? local : undefined;
  };
  // Local status, as the log has it; Ready false while the provider does not answer. It needs
  // nothing from the provider, so it is written beside the provider's work, not after it (and says
  // so when the provider is away): a thousand statuses do not hold back the twins of new pods.
  const writeStatuses = async (): Promise<void> => {
    const statuses: { obj: KubeObject; uid: string }[] = [];
    for (const pod of tracked) {
      const local = live(pod);
      if (!local || local.metadata?.deletionTimestamp) continue;
      const health = p.health.ready ? p.health : { ready: false as const, reason: p.health.reason, message: p.health.message };
      const at = !p.health.ready ? p.healthSince : p.at;
      const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace }, status: forgeLocalPodStatus({ nodeName: p.nodeName, status: pod.status, failure: pod.failure, health, at }) } as KubeObject;
      if (memo.changed(`status/${pod.uid}`, obj, p.forced)) statuses.push({ obj, uid: pod.uid });
    }
    await attempt(() => pool(statuses, async ({ obj, uid }) => {
      try {
        await kube.applyStatus(obj);
      } catch (e) {
        if (status(e) === 404) return; // deleted meanwhile
        throw e;
      }
      memo.record(`status/${uid}`, obj);
    }, log, 'writing offloaded pods\' status'));
  };
  const statusesWritten = writeStatuses();
  let side: ProviderPods;
  try {
    side = await ports.provider(p.remoteClusterId, p.outgoing, granted.map((n) => n.remoteNamespace));
  } catch (e) {
    await statusesWritten;
    throw failures[0] ?? e;
  }
  /** The twins of each remote namespace, by name. */
  const twinsIn = new Map<string, Map<string, KubeObject>>();
  const twins = (remoteNs: string) => {
    let m = twinsIn.get(remoteNs);
    if (!m) twinsIn.set(remoteNs, m = new Map(side.pods(remoteNs).map((t) => [t.metadata?.name ?? '', t])));
    return m;
  };
  const twinOf = (pod: OffloadedPod) => twins(pod.remoteNamespace).get(pod.remoteName);

  // 1. Dependencies: what the offloaded pods that still run reference, copied before their twins.
  const needed = new Map<string, { localNamespace: string; configMaps: Set<string>; secrets: Set<string> }>();
  for (const pod of tracked) {
    const remoteNs = remoteOf.get(pod.namespace);
    const local = live(pod);
    if (!pod.offloaded || !remoteNs || !local || isTerminalPhase(pod.status?.phase)) continue;
    const deps = dependenciesOf(local.spec);
    const entry = needed.get(remoteNs) ?? { localNamespace: pod.namespace, configMaps: new Set<string>(), secrets: new Set<string>() };
    for (const c of deps.configMaps) entry.configMaps.add(c);
    for (const s of deps.secrets) entry.secrets.add(s);
    needed.set(remoteNs, entry);
  }
  const copies: KubeObject[] = [];
  for (const [remoteNs, n] of needed) {
    for (const [kind, names] of [['ConfigMap', n.configMaps], ['Secret', n.secrets]] as const) {
      for (const name of names) {
        const local = ports.localDependency(kind, n.localNamespace, name);
        if (!local) continue;
        // Items of a list carry no kind: it is the one asked for.
        const copy = forgeRemoteDependency({ ...(local as object), kind } as never, { consumerId: ports.clusterId, remoteNamespace: remoteNs, localNamespace: n.localNamespace });
        if (copy && memo.changed(`dep/${p.remoteClusterId}/${remoteNs}/${kind}/${name}`, copy, p.forced)) copies.push(copy as KubeObject);
      }
    }
  }
  const copied = await attempt(() => pool(copies, async (copy) => {
    await side.client.apply(copy);
    memo.record(`dep/${p.remoteClusterId}/${copy.metadata!.namespace}/${copy.kind}/${copy.metadata!.name}`, copy);
  }, log, 'copying ConfigMaps and Secrets to the provider'));

  // 2. Twins: each offloaded, running pod has one; never again once terminal.
  const toCreate = tracked.filter((pod) => {
    if (!pod.offloaded || remoteOf.get(pod.namespace) !== pod.remoteNamespace || !side.synced(pod.remoteNamespace) || isTerminalPhase(pod.status?.phase)) return false;
    const local = live(pod);
    // Its ConfigMaps and Secrets first: a twin is made only once they are known (and so copied above).
    return local !== undefined && !local.metadata?.deletionTimestamp && !twinOf(pod) && ports.dependenciesKnown(pod.namespace);
  });
  if (copied) await attempt(() => pool(toCreate, async (pod) => {
    const local = live(pod);
    if (!local) return; // gone meanwhile
    const twin = forgeRemotePod(local, { consumerId: ports.clusterId, remoteNamespace: pod.remoteNamespace });
    try {
      await side.client.create(twin as KubeObject);
    } catch (e) {
      const code = status(e);
      if (code === 409) return; // made meanwhile (a watch not yet caught up): one twin per pod.
      if (code === 400 || code === 403 || code === 422) {
        const message = cutText((e as Error).message ?? String(e), 1024);
        await ports.reportFailure(p.remoteClusterId, { namespace: pod.namespace, name: pod.name, uid: pod.uid, reason: 'ProviderRefused', message });
        return;
      }
      throw e;
    }
  }, log, 'creating pods in the provider'));

  // 3. Twins of reclaimed pods go, with the local pod's grace period.
  const reclaim: { ns: string; name: string; grace: number | undefined; uid: string | undefined }[] = [];
  for (const remoteNs of remoteOf.values()) {
    for (const twin of twins(remoteNs).values()) {
      if (twin.metadata?.deletionTimestamp) continue;
      const originUid = twin.metadata?.labels?.[OFFLOAD_LABELS.originUid];
      if (twin.metadata?.labels?.[LABELS.remoteClusterId] !== ports.clusterId) continue;
      if (ownerAt.get(podKey(remoteNs, twin.metadata?.name ?? ''))?.uid === originUid) continue;
      const localNs = localOf.get(remoteNs);
      const local = localNs ? ports.localPod(localNs, twin.metadata!.name!) : undefined;
      const grace = local && local.metadata?.uid === originUid ? local.metadata?.deletionGracePeriodSeconds : undefined;
      reclaim.push({ ns: remoteNs, name: twin.metadata!.name!, grace, uid: twin.metadata?.uid });
    }
  }
  await attempt(() => pool(reclaim, (r) => remove(side.client, podPath(r.ns, r.name), deleteBody(r.grace, r.uid)), log, 'deleting reclaimed pods in the provider'));

  // 4. A local pod being deleted whose twin is gone (or never was) is let go, as a kubelet does.
  const release = ports.localPodsOn(p.nodeName).filter((local) => {
    if (!local.metadata?.deletionTimestamp) return false;
    const pod = trackedAt.get(podKey(local.metadata!.namespace!, local.metadata!.name!));
    if (pod?.offloaded && pod.uid === local.metadata?.uid) return false; // still offloaded: reclaim first
    const remoteNs = remoteOf.get(local.metadata!.namespace!);
    return !remoteNs || (side.synced(remoteNs) && !twins(remoteNs).has(local.metadata!.name!));
  });
  await attempt(() => pool(release, (local) => remove(kube, podPath(local.metadata!.namespace!, local.metadata!.name!), deleteBody(0, local.metadata!.uid)), log, 'releasing deleted pods'));

  // 5. Dependencies no pod uses any more go.
  await attempt(async () => {
    for (const remoteNs of remoteOf.values()) {
      if (!side.synced(remoteNs)) continue;
      const keep = needed.get(remoteNs);
      for (const kind of ['configmaps', 'secrets'] as const) {
        const list = await side.client.request<{ items?: KubeObject[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(remoteNs)}/${kind}?labelSelector=${encodeURIComponent(`${LABELS.remoteClusterId}=${ports.clusterId}`)}`);
        const stale = (list.items ?? []).filter((o) => !(kind === 'configmaps' ? keep?.configMaps : keep?.secrets)?.has(o.metadata?.name ?? ''));
        await attempt(() => pool(stale, async (o) => {
          await remove(side.client, `/api/v1/namespaces/${encodeURIComponent(remoteNs)}/${kind}/${encodeURIComponent(o.metadata!.name!)}`, deleteBody(undefined));
          memo.record(`dep/${p.remoteClusterId}/${remoteNs}/${kind === 'configmaps' ? 'ConfigMap' : 'Secret'}/${o.metadata!.name!}`, null);
        }, log, 'deleting unused ConfigMaps and Secrets in the provider'));
      }
    }
  });

  // 6. (The local status is written beside all this, above.)

  // 7. The twins' Events, mirrored onto the local pods (what `kubectl describe pod` shows).
  /** The pod Events of each remote namespace, by the pod they are about. */
  const eventsIn = new Map<string, Map<string, KubeObject[]>>();
  const eventsOf = (pod: OffloadedPod) => {
    let m = eventsIn.get(pod.remoteNamespace);
    if (!m) {
      eventsIn.set(pod.remoteNamespace, m = new Map());
      for (const ev of side.events(pod.remoteNamespace)) {
        const name = (ev.involvedObject as { name?: string } | undefined)?.name;
        if (name === undefined) continue;
        const list = m.get(name);
        if (list) list.push(ev); else m.set(name, [ev]);
      }
    }
    return m.get(pod.remoteName) ?? [];
  };
  const mirrored: KubeObject[] = [];
  for (const pod of tracked) {
    if (!pod.offloaded) continue;
    const local = live(pod);
    if (!local) continue;
    const twin = twinOf(pod);
    for (const ev of eventsOf(pod)) {
      const involved = ev.involvedObject as { name?: string; uid?: string } | undefined;
      if (twin?.metadata?.uid && involved?.uid && involved.uid !== twin.metadata.uid && !isTerminalPhase(pod.status?.phase)) continue;
      const obj = mirrorEvent(ev, pod, p.remoteClusterId);
      if (memo.changed(`event/${obj.metadata!.name}`, obj, false)) mirrored.push(obj);
    }
  }
  await attempt(() => pool(mirrored, async (obj) => {
    try {
      await kube.apply(obj);
    } catch (e) {
      if (status(e) === 404 || status(e) === 422) return; // the pod's namespace is going, or the event is refused
      throw e;
    }
    memo.record(`event/${obj.metadata!.name}`, obj);
  }, log, 'mirroring the provider\'s events'));
  await statusesWritten;
  if (failures.length > 0) throw failures[0];
}

/** A local Event for one of the twin's Events, on the local pod. */
export function mirrorEvent(ev: KubeObject, pod: OffloadedPod, provider: string): KubeObject {
  const e = ev as KubeObject & { reason?: string; message?: string; type?: string; count?: number; firstTimestamp?: string; lastTimestamp?: string; eventTime?: string; source?: { component?: string } };
  const name = `${pod.name}.${sha256Hex(`${ev.metadata?.uid ?? ev.metadata?.name}`).slice(0, 16)}`.slice(0, 253);
  const first = e.firstTimestamp ?? e.eventTime ?? e.lastTimestamp;
  return {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name, namespace: pod.namespace, labels: { [LABELS.remoteClusterId]: provider } },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
    reason: e.reason ?? 'Unknown',
    message: cutText(`${e.message ?? ''} (in the provider ${provider})`, 1024),
    type: e.type === 'Warning' ? 'Warning' : 'Normal',
    count: e.count ?? 1,
    ...(first ? { firstTimestamp: new Date(first).toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
    ...(e.lastTimestamp ?? first ? { lastTimestamp: new Date((e.lastTimestamp ?? first)!).toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
    source: { component: `peerlog/${e.source?.component ?? 'provider'}` },
    reportingComponent: 'peerlog.dev/virtual-kubelet',
    reportingInstance: provider.slice(0, 128),
  } as KubeObject;
}
