// The consumer's offloading, wired: watches observe and send commands to the pods aggregate (pods
// bound to a virtual node → RequestNamespaceOffload, OffloadPods, ReclaimPods, RecordPodOffloadFailure;
// the provider's answer on the ResourceRequest → RecordNamespaceAnswer; twins' status →
// ReflectPodStatus), and the caches the virtual-kubelet projection's pod half reads (local pods,
// ConfigMaps and Secrets; twins and their Events at the provider). Nothing here makes an object.
import type { KubeClient, KubeObject, k8s } from '../adapters/kubernetes/client.js';
import type { Logger } from '../adapters/log/index.js';
import type { HandledCommand } from '../commands/handle.js';
import type { PodsCommand, PodToOffload } from '../commands/pods/commands.js';
import type { PodsState } from '../commands/pods/state.js';
import { isTerminalPhase, own, podKey } from '../commands/pods/state.js';
import type { NamespaceRefusalReason } from '../events/catalogue.js';
import { NAMESPACE_REFUSAL_REASONS } from '../events/constants.js';
import { GROUP_VERSION, LABELS } from '../resources/constants.js';
import { REQUEST_NAME } from '../resources/objects.js';
import { remoteNamespaceFor } from '../resources/names.js';
import { cutText, forgeRemotePod, isDaemonSetPod, OFFLOAD_LABELS, snapshotOf, twinHash, type LocalPod } from '../resources/offloading.js';
import { canonicalJson } from '../events/hash.js';
import type { OffloadPorts, Peered, ProviderPods } from '../projections/virtual-kubelet/pods.js';
import type { Watches } from './watches.js';

type Pod = k8s.V1Pod & KubeObject;
type Informer<T extends KubeObject> = k8s.Informer<T> & k8s.ObjectCache<T>;

export interface OffloadingDeps {
  readonly clusterId: string;
  readonly kube: KubeClient;
  readonly watches: Watches;
  readonly log: Logger;
  /** The local pods informer (all namespaces). */
  readonly pods: Informer<Pod>;
  send(remote: string, command: Omit<PodsCommand, 'metadata'>): Promise<HandledCommand>;
  load(remote: string): Promise<PodsState>;
  /** The identity client to a provider. */
  client(remote: string, state: Peered): Promise<KubeClient>;
  /** Has the virtual-kubelet projection apply a provider's views again, trusting nothing applied before (a twin went). */
  reapply(remote: string): void;
  /** Has it look again, skipping what is unchanged since applied (a dependency or an Event changed). */
  wake(remote: string): void;
  /** Queues an observation of the pods bound to a provider's virtual node. */
  observe(remote: string): void;
  /** Queues a reflection of a provider's twins' status. */
  reflect(remote: string): void;
}

export interface Offloading {
  readonly ports: OffloadPorts;
  /** The pods bound to the virtual node of `remote`, observed: commands for what the log does not have yet. */
  observePods(remote: string, nodeName: string): Promise<void>;
  /** The twins' status, reflected where it changed. */
  reflectStatus(remote: string): Promise<void>;
  /** A watched remote namespace for `remote`'s virtual node (called by a watch on ResourceRequest status too). */
  stop(): Promise<void>;
}

interface RemoteWatch {
  readonly fingerprint: string;
  readonly client: KubeClient;
  readonly request: Informer<KubeObject>;
  readonly namespaces: Map<string, { pods: Informer<Pod>; events: Informer<KubeObject>; synced: boolean }>;
}

const REFUSALS: ReadonlySet<string> = new Set(NAMESPACE_REFUSAL_REASONS);

export function createOffloading(d: OffloadingDeps): Offloading {
  const log = d.log.child({ component: 'offloading' });
  let stopped = false;
  const remotes = new Map<string, RemoteWatch>();
  const timers = new Set<NodeJS.Timeout>();
  /** Local ConfigMaps and Secrets, per namespace with offloaded pods. */
  const locals = new Map<string, { configMaps: Informer<KubeObject>; secrets: Informer<KubeObject>; synced: number }>();

  const stopInformer = (i: { stop(): Promise<void> | void }) => { void Promise.resolve(i.stop()).catch(() => undefined); };

  /**
   * Starts an informer and calls `synced` once its first list succeeded (before it, an empty cache
   * says nothing); a start that fails is tried again with backoff while wanted.
   */
  function startSynced(what: string, informer: { start(): Promise<void>; stop(): Promise<void> | void }, wanted: () => boolean, synced: () => void, fields: Record<string, unknown>, delay = 500): void {
    informer.start().then(async () => {
      if (!wanted()) { await informer.stop(); return; }
      synced();
    }, (e: unknown) => {
      if (!wanted()) return;
      log.warn(`${what} watch cannot start yet; retrying`, { ...fields, retryInMs: delay, error: e });
      const t = setTimeout(() => { timers.delete(t); if (wanted()) startSynced(what, informer, wanted, synced, fields, Math.min(delay * 2, 10_000)); }, delay);
      timers.add(t);
    });
  }

  function watchLocalNamespace(namespace: string): void {
    if (locals.has(namespace) || stopped) return;
    const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
    const configMaps = d.kube.informer<KubeObject>(`${base}/configmaps`);
    const secrets = d.kube.informer<KubeObject>(`${base}/secrets`);
    const entry = { configMaps, secrets, synced: 0 };
    locals.set(namespace, entry);
    const wanted = () => !stopped && locals.get(namespace) === entry;
    // A change of a ConfigMap or Secret an offloaded pod uses is copied again by the projection.
    const changed = () => { for (const remote of remotes.keys()) d.wake(remote); };
    d.watches.watch('configmaps', configMaps, changed, wanted, { namespace });
    d.watches.watch('secrets', secrets, changed, wanted, { namespace });
    for (const i of [configMaps, secrets]) startSynced('local dependencies', i, wanted, () => { entry.synced++; changed(); }, { namespace });
  }

  async function remoteWatch(remote: string, state: Peered): Promise<RemoteWatch> {
    const identity = state.identity!;
    const fingerprint = identity.certFingerprint;
    const known = remotes.get(remote);
    if (known && known.fingerprint === fingerprint) return known;
    // A new identity means a new client: the old watches would keep the old certificate.
    if (known) {
      stopInformer(known.request);
      for (const n of known.namespaces.values()) { stopInformer(n.pods); stopInformer(n.events); }
    }
    const client = await d.client(remote, state);
    const tenant = identity.tenantNamespace;
    const request = client.informer<KubeObject>(`/apis/${GROUP_VERSION}/namespaces/${encodeURIComponent(tenant)}/resourcerequests`, { fieldSelector: `metadata.name=${REQUEST_NAME}` });
    const watch: RemoteWatch = { fingerprint, client, request, namespaces: new Map() };
    remotes.set(remote, watch);
    const wanted = () => !stopped && remotes.get(remote) === watch;
    // The provider's answer for each namespace, on the request's status: an observation → a command.
    d.watches.watch('remote resourcerequests', request, (rr, verb) => {
      if (verb !== 'delete') recordAnswers(remote, rr).catch((e: unknown) => log.warn('recording the provider\'s namespace answers failed; the resync tries again', { remoteClusterId: remote, error: e }));
    }, wanted, { remoteClusterId: remote });
    void d.watches.start('remote resourcerequests', request, wanted);
    return watch;
  }

  function watchRemoteNamespace(remote: string, watch: RemoteWatch, remoteNamespace: string): void {
    if (watch.namespaces.has(remoteNamespace) || stopped) return;
    const base = `/api/v1/namespaces/${encodeURIComponent(remoteNamespace)}`;
    const pods = watch.client.informer<Pod>(`${base}/pods`, { labelSelector: `${LABELS.remoteClusterId}=${d.clusterId}` });
    const events = watch.client.informer<KubeObject>(`${base}/events`, { fieldSelector: 'involvedObject.kind=Pod' });
    const entry = { pods, events, synced: false };
    watch.namespaces.set(remoteNamespace, entry);
    const wanted = () => !stopped && remotes.get(remote) === watch && watch.namespaces.get(remoteNamespace) === entry;
    d.watches.watch('remote pods', pods, (_p, verb) => {
      d.reflect(remote);
      // A twin deleted behind this cluster's back is made again (unless terminal) by the projection.
      if (verb === 'delete') d.reapply(remote);
    }, wanted, { remoteClusterId: remote, namespace: remoteNamespace });
    d.watches.watch('remote events', events, () => d.wake(remote), wanted, { remoteClusterId: remote, namespace: remoteNamespace });
    startSynced('remote pods', pods, wanted, () => { entry.synced = true; d.wake(remote); d.reflect(remote); }, { remoteClusterId: remote, namespace: remoteNamespace });
    void d.watches.start('remote events', events, wanted);
  }

  async function recordAnswers(remote: string, rr: KubeObject): Promise<void> {
    const answers = ((rr as { status?: { namespaces?: { namespace?: string; remoteNamespace?: string; phase?: string; reason?: string; message?: string }[] } }).status?.namespaces ?? []);
    const state = await d.load(remote);
    for (const a of answers) {
      if (!a.namespace || !a.remoteNamespace) continue;
      const known = own(state.namespaces, a.namespace);
      if (!known || known.remoteNamespace !== a.remoteNamespace) continue;
      if (a.phase === 'Granted' && known.phase !== 'Granted') {
        await d.send(remote, { type: 'RecordNamespaceAnswer', data: { namespace: a.namespace, remoteNamespace: a.remoteNamespace, granted: true } });
      } else if (a.phase === 'Refused') {
        const reason = (REFUSALS.has(a.reason ?? '') ? a.reason : 'CreationFailed') as NamespaceRefusalReason;
        await d.send(remote, { type: 'RecordNamespaceAnswer', data: { namespace: a.namespace, remoteNamespace: a.remoteNamespace, granted: false, reason, message: cutText(a.message ?? '', 1024) } });
      }
    }
    // A grant lets the pods waiting in that namespace go.
    d.observe(remote);
  }

  const ports: OffloadPorts = {
    clusterId: d.clusterId,
    localPod: (namespace, name) => d.pods.get(name, namespace) as (LocalPod & KubeObject) | undefined,
    localPodsOn: (nodeName) => d.pods.list().filter((p) => p.spec?.nodeName === nodeName) as (LocalPod & KubeObject)[],
    dependenciesKnown(namespace) {
      watchLocalNamespace(namespace);
      return locals.get(namespace)?.synced === 2;
    },
    localDependency(kind, namespace, name) {
      watchLocalNamespace(namespace);
      const l = locals.get(namespace);
      return (kind === 'ConfigMap' ? l?.configMaps : l?.secrets)?.get(name, namespace);
    },
    async provider(remote, state, remoteNamespaces): Promise<ProviderPods> {
      const watch = await remoteWatch(remote, state);
      for (const ns of remoteNamespaces) watchRemoteNamespace(remote, watch, ns);
      return {
        client: watch.client,
        synced: (ns) => watch.namespaces.get(ns)?.synced === true,
        pods: (ns) => watch.namespaces.get(ns)?.pods.list() ?? [],
        events: (ns) => watch.namespaces.get(ns)?.events.list() ?? [],
      };
    },
    async reportFailure(remote, failure) {
      await d.send(remote, { type: 'RecordPodOffloadFailure', data: failure });
    },
  };

  async function observePods(remote: string, nodeName: string): Promise<void> {
    const state = await d.load(remote);
    const bound = d.pods.list().filter((p) => p.spec?.nodeName === nodeName);
    const present = new Set(bound.map((p) => `${podKey(p.metadata!.namespace!, p.metadata!.name!)}@${p.metadata!.uid}`));
    const ask = new Map<string, string>();
    const offload: PodToOffload[] = [];
    const reclaim: { namespace: string; name: string; uid: string; reason: 'Deleted' }[] = [];
    const failures: Extract<PodsCommand, { type: 'RecordPodOffloadFailure' }>['data'][] = [];
    for (const p of bound) {
      const m = p.metadata!;
      const ns = m.namespace!;
      const tracked = state.pods[podKey(ns, m.name!)];
      // A pod made again under a tracked name (a StatefulSet's, force-deleted): the old one goes first.
      if (tracked && tracked.uid !== m.uid) reclaim.push({ namespace: ns, name: m.name!, uid: tracked.uid, reason: 'Deleted' });
      const known = tracked && tracked.uid === m.uid ? tracked : undefined;
      if (m.deletionTimestamp) {
        if (known) reclaim.push({ namespace: ns, name: m.name!, uid: m.uid!, reason: 'Deleted' });
        continue;
      }
      if (known?.offloaded) continue;
      if (isTerminalPhase(p.status?.phase)) continue;
      if (isDaemonSetPod(p as LocalPod)) {
        if (!known) failures.push({ namespace: ns, name: m.name!, uid: m.uid!, reason: 'DaemonSetPod', message: 'DaemonSet pods are not offloaded: they belong on this cluster\'s own nodes' });
        continue;
      }
      watchLocalNamespace(ns);
      const grant = own(state.namespaces, ns);
      if (!grant) { ask.set(ns, remoteNamespaceFor(ns, d.clusterId)); continue; }
      if (grant.phase === 'Refused') {
        if (known?.failure?.reason !== 'NamespaceRefused') {
          failures.push({ namespace: ns, name: m.name!, uid: m.uid!, reason: 'NamespaceRefused', message: cutText(`the provider did not grant namespace ${grant.remoteNamespace}: ${grant.message ?? grant.reason ?? ''}`, 1024) });
        }
        continue;
      }
      if (grant.phase !== 'Granted') continue;
      const twin = forgeRemotePod(p as LocalPod, { consumerId: d.clusterId, remoteNamespace: grant.remoteNamespace });
      offload.push({ namespace: ns, name: m.name!, uid: m.uid!, remoteNamespace: grant.remoteNamespace, remoteName: m.name!, nodeName, specHash: twinHash(twin) });
    }
    // Tracked pods (offloaded, or kept back with a reason) that are gone from this cluster.
    for (const t of Object.values(state.pods)) {
      if (!present.has(`${podKey(t.namespace, t.name)}@${t.uid}`) && !reclaim.some((r) => r.namespace === t.namespace && r.name === t.name && r.uid === t.uid)) {
        reclaim.push({ namespace: t.namespace, name: t.name, uid: t.uid, reason: 'Deleted' });
      }
    }
    // Reclaims first: a pod made again under a reclaimed name is then a new pod, not a conflict.
    for (let i = 0; i < reclaim.length; i += 200) await d.send(remote, { type: 'ReclaimPods', data: { pods: reclaim.slice(i, i + 200) } });
    for (const f of failures) await d.send(remote, { type: 'RecordPodOffloadFailure', data: f });
    if (ask.size > 0) await d.send(remote, { type: 'RequestNamespaceOffload', data: { namespaces: [...ask].map(([namespace, remoteNamespace]) => ({ namespace, remoteNamespace })) } });
    for (let i = 0; i < offload.length; i += 200) await d.send(remote, { type: 'OffloadPods', data: { pods: offload.slice(i, i + 200) } });
  }

  // A pass compares every twin with its pod's status in the log, and most are unchanged: each
  // object's snapshot and canonical text are made once (a watch replaces an object that changed;
  // the log's state keeps a pod's status object while it does not change).
  const twinSnapshots = new WeakMap<object, { status: ReturnType<typeof snapshotOf>; text: string }>();
  const canonicalTexts = new WeakMap<object, string>();
  const snapshotOfTwin = (twin: Pod) => {
    let s = twinSnapshots.get(twin);
    if (!s) {
      const status = snapshotOf(twin.status as Record<string, unknown> | undefined);
      twinSnapshots.set(twin, s = { status, text: canonicalJson(status) });
    }
    return s;
  };
  const canonicalOf = (status: object) => {
    let text = canonicalTexts.get(status);
    if (text === undefined) canonicalTexts.set(status, text = canonicalJson(status));
    return text;
  };

  async function reflectStatus(remote: string): Promise<void> {
    const watch = remotes.get(remote);
    if (!watch) return;
    const state = await d.load(remote);
    const changed: { namespace: string; name: string; uid: string; status: ReturnType<typeof snapshotOf> }[] = [];
    for (const t of Object.values(state.pods)) {
      if (!t.offloaded || isTerminalPhase(t.status?.phase)) continue;
      const twin = watch.namespaces.get(t.remoteNamespace)?.pods.get(t.remoteName, t.remoteNamespace);
      if (!twin || twin.metadata?.labels?.[OFFLOAD_LABELS.originUid] !== t.uid) continue;
      const snap = snapshotOfTwin(twin);
      if (t.status && canonicalOf(t.status) === snap.text) continue;
      changed.push({ namespace: t.namespace, name: t.name, uid: t.uid, status: snap.status });
    }
    for (let i = 0; i < changed.length; i += 200) await d.send(remote, { type: 'ReflectPodStatus', data: { pods: changed.slice(i, i + 200) } });
  }

  return {
    ports,
    observePods,
    reflectStatus,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const w of remotes.values()) {
        stopInformer(w.request);
        for (const n of w.namespaces.values()) { stopInformer(n.pods); stopInformer(n.events); }
      }
      for (const l of locals.values()) { stopInformer(l.configMaps); stopInformer(l.secrets); }
      remotes.clear();
      locals.clear();
    },
  };
}
