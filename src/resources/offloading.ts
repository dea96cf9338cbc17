// What offloading makes, as pure functions: the provider's namespaces for a consumer (with their
// PodSecurity level, quota and RBAC), a local pod's twin, the ConfigMaps and Secrets it references,
// the snapshot of a remote pod's status that goes into the log, and the local status forged back
// from it. Data in, objects out: no I/O.
import type { PodStatusSnapshot, Resources } from '../events/catalogue.js';
import { LIMITS } from '../events/constants.js';
import { canonicalJson, sha256Hex } from '../events/hash.js';
import { LABELS, MANAGED_BY, VIRTUAL_NODE_TAINT } from './constants.js';
import type { Obj } from './objects.js';
import { userSubjects } from './tenant.js';

type Json = Record<string, unknown>;

export const OFFLOAD_LABELS = {
  /** On every namespace peerlog makes for offloaded pods. */
  offloadedNamespace: 'peerlog.dev/offloaded-namespace',
  /** The local pod's uid on its twin. */
  originUid: 'peerlog.dev/origin-uid',
} as const;

export const OFFLOAD_ANNOTATIONS = {
  originNamespace: 'peerlog.dev/origin-namespace',
  originName: 'peerlog.dev/origin-name',
} as const;

/** The Role (and RoleBinding) peerlog grants a consumer's identity in each offloaded namespace. */
export const OFFLOAD_ROLE_NAME = 'peerlog-offloading';

/**
 * What offloading needs in a namespace made for the consumer, and nothing else: its pods (created
 * once, never changed: their spec is fixed at creation), their status and logs read, the ConfigMaps
 * and Secrets they reference, and Events read. No pods/exec, no RBAC, nothing cluster-scoped.
 */
export const OFFLOAD_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
  { apiGroups: [''], resources: ['pods/status', 'pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
] as const;

/** The PodSecurity level enforced on offloaded namespaces. */
export const OFFLOAD_POD_SECURITY = 'baseline';

export interface RemoteNamespaceObjects {
  readonly namespace: Obj;
  readonly quota: Obj;
  readonly limitRange: Obj;
  readonly role: Obj;
  readonly roleBinding: Obj;
}

/** Labels of everything made in the provider for one consumer. */
export function originLabels(consumerId: string): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, [LABELS.remoteClusterId]: consumerId };
}

/**
 * The provider's objects for one offloaded namespace: the namespace (PodSecurity `baseline`
 * enforced), a quota holding the consumer to its accepted offer, a LimitRange giving requests a
 * default of zero (a quota on requests refuses pods that set none, which a node would run), and
 * the Role and RoleBinding of the consumer's identity.
 */
export function forgeRemoteNamespaceObjects(p: { consumerId: string; namespace: string; remoteNamespace: string; offer: Resources; users: readonly string[] }): RemoteNamespaceObjects {
  const labels = { ...originLabels(p.consumerId), [OFFLOAD_LABELS.offloadedNamespace]: 'true' };
  const ns = p.remoteNamespace;
  const meta = (name: string) => ({ name, namespace: ns, labels });
  return {
    namespace: {
      apiVersion: 'v1', kind: 'Namespace',
      metadata: {
        name: ns,
        labels: { ...labels, 'pod-security.kubernetes.io/enforce': OFFLOAD_POD_SECURITY, 'pod-security.kubernetes.io/enforce-version': 'latest' },
        annotations: { [OFFLOAD_ANNOTATIONS.originNamespace]: p.namespace },
      },
    },
    quota: {
      apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta(OFFLOAD_ROLE_NAME),
      spec: { hard: { 'requests.cpu': p.offer.cpu, 'requests.memory': p.offer.memory, pods: p.offer.pods } },
    },
    limitRange: {
      apiVersion: 'v1', kind: 'LimitRange', metadata: meta(OFFLOAD_ROLE_NAME),
      spec: { limits: [{ type: 'Container', defaultRequest: { cpu: '0', memory: '0' } }] },
    },
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(OFFLOAD_ROLE_NAME),
      rules: OFFLOAD_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
    },
    roleBinding: forgeOffloadRoleBinding(p),
  };
}

/**
 * The RoleBinding of an offloaded namespace to `users`: the current identity lifetime's user (and,
 * while a renewal is being signed, the next one's beside it; see forgeTenantObjects).
 */
export function forgeOffloadRoleBinding(p: { consumerId: string; remoteNamespace: string; users: readonly string[] }): Obj {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
    metadata: { name: OFFLOAD_ROLE_NAME, namespace: p.remoteNamespace, labels: { ...originLabels(p.consumerId), [OFFLOAD_LABELS.offloadedNamespace]: 'true' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: OFFLOAD_ROLE_NAME },
    subjects: userSubjects(p.users),
  };
}

/**
 * Whether an existing namespace is one this provider made for that consumer's namespace: anything
 * else holding the name is never adopted.
 */
export function isOwnRemoteNamespace(ns: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } } | undefined, consumerId: string, namespace: string): boolean {
  const l = ns?.metadata?.labels ?? {};
  return l[LABELS.managedBy] === MANAGED_BY && l[LABELS.remoteClusterId] === consumerId && l[OFFLOAD_LABELS.offloadedNamespace] === 'true'
    && ns?.metadata?.annotations?.[OFFLOAD_ANNOTATIONS.originNamespace] === namespace;
}

// ---- pods -------------------------------------------------------------------------------------------

export interface LocalPod {
  readonly metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: readonly { kind?: string; controller?: boolean }[]; deletionTimestamp?: unknown; deletionGracePeriodSeconds?: number };
  readonly spec?: Json;
  readonly status?: Json;
}

/** DaemonSet pods are never offloaded: they belong on every real node, not in another cluster. */
export function isDaemonSetPod(pod: LocalPod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && o.controller === true);
}

/** Fields of a pod spec that mean something only in the cluster it was made in, dropped from the twin. */
const DROPPED_SPEC_FIELDS = [
  'nodeName', 'nodeSelector', 'schedulerName', 'priority', 'priorityClassName', 'preemptionPolicy',
  'serviceAccountName', 'serviceAccount', 'runtimeClassName', 'overhead', 'ephemeralContainers', 'readinessGates',
  'resourceClaims', 'schedulingGates',
] as const;

/** A projected volume that carries this cluster's service-account token (admission adds one per pod). */
function isServiceAccountVolume(v: Json): boolean {
  const sources = (v.projected as { sources?: Json[] } | undefined)?.sources;
  return Array.isArray(sources) && sources.some((s) => s.serviceAccountToken !== undefined);
}

function withoutMounts(containers: unknown, dropped: ReadonlySet<string>): unknown {
  if (!Array.isArray(containers)) return containers;
  return containers.map((c: Json) => {
    const mounts = c.volumeMounts;
    if (!Array.isArray(mounts)) return c;
    return { ...c, volumeMounts: mounts.filter((m: Json) => !dropped.has(String(m.name))) };
  });
}

/**
 * The twin of a local pod in the provider: the same containers and volumes; no node name, node
 * selector, node affinity or virtual-node toleration (they speak of this cluster's nodes); no
 * service-account token of this cluster (the twin runs as the remote namespace's default account,
 * with no token mounted); the origin labels and annotations added.
 */
export function forgeRemotePod(pod: LocalPod, p: { consumerId: string; remoteNamespace: string }): Obj {
  const spec: Json = { ...(pod.spec ?? {}) };
  for (const f of DROPPED_SPEC_FIELDS) delete spec[f];
  const affinity = spec.affinity as Json | undefined;
  if (affinity) {
    const { nodeAffinity: _node, ...rest } = affinity;
    if (Object.keys(rest).length > 0) spec.affinity = rest;
    else delete spec.affinity;
  }
  if (Array.isArray(spec.tolerations)) {
    const kept = (spec.tolerations as Json[]).filter((t) => t.key !== VIRTUAL_NODE_TAINT.key);
    if (kept.length > 0) spec.tolerations = kept;
    else delete spec.tolerations;
  }
  const volumes = Array.isArray(spec.volumes) ? (spec.volumes as Json[]) : [];
  const dropped = new Set(volumes.filter(isServiceAccountVolume).map((v) => String(v.name)));
  if (dropped.size > 0) {
    spec.volumes = volumes.filter((v) => !dropped.has(String(v.name)));
    for (const k of ['containers', 'initContainers']) if (spec[k] !== undefined) spec[k] = withoutMounts(spec[k], dropped);
  }
  spec.automountServiceAccountToken = false;
  const m = pod.metadata ?? {};
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: m.name!, namespace: p.remoteNamespace,
      labels: { ...(m.labels ?? {}), ...originLabels(p.consumerId), [OFFLOAD_LABELS.originUid]: m.uid ?? '' },
      annotations: { ...(m.annotations ?? {}), [OFFLOAD_ANNOTATIONS.originNamespace]: m.namespace ?? '', [OFFLOAD_ANNOTATIONS.originName]: m.name ?? '' },
    },
    spec,
  };
}

/** The hash PodOffloaded records: of the twin's labels, annotations and spec, canonically. */
export function twinHash(twin: Obj): string {
  const m = (twin.metadata ?? {}) as Json;
  return sha256Hex(canonicalJson({ labels: m.labels ?? {}, annotations: m.annotations ?? {}, spec: twin.spec ?? {} }));
}

export interface Dependencies {
  readonly configMaps: ReadonlySet<string>;
  readonly secrets: ReadonlySet<string>;
}

/** ConfigMaps that are never copied: each cluster has its own root CA bundle under this name. */
export const CLUSTER_CONFIGMAPS: ReadonlySet<string> = new Set(['kube-root-ca.crt']);

/**
 * The ConfigMaps and Secrets a pod spec references: volumes (and projected sources), env valueFrom,
 * envFrom, image pull secrets. `kube-root-ca.crt` is left out: the provider's own is in every
 * namespace, and this cluster's CA would be of no use there.
 */
export function dependenciesOf(spec: Json | undefined): Dependencies {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const s = spec ?? {};
  for (const v of (Array.isArray(s.volumes) ? s.volumes : []) as Json[]) {
    const cm = (v.configMap as Json | undefined)?.name;
    if (typeof cm === 'string') configMaps.add(cm);
    const sec = (v.secret as Json | undefined)?.secretName;
    if (typeof sec === 'string') secrets.add(sec);
    for (const src of ((v.projected as Json | undefined)?.sources ?? []) as Json[]) {
      const pcm = (src.configMap as Json | undefined)?.name;
      if (typeof pcm === 'string') configMaps.add(pcm);
      const ps = (src.secret as Json | undefined)?.name;
      if (typeof ps === 'string') secrets.add(ps);
    }
  }
  for (const key of ['containers', 'initContainers']) {
    for (const c of (Array.isArray(s[key]) ? s[key] : []) as Json[]) {
      for (const e of (Array.isArray(c.env) ? c.env : []) as Json[]) {
        const from = e.valueFrom as Json | undefined;
        const cm = (from?.configMapKeyRef as Json | undefined)?.name;
        if (typeof cm === 'string') configMaps.add(cm);
        const sec = (from?.secretKeyRef as Json | undefined)?.name;
        if (typeof sec === 'string') secrets.add(sec);
      }
      for (const e of (Array.isArray(c.envFrom) ? c.envFrom : []) as Json[]) {
        const cm = (e.configMapRef as Json | undefined)?.name;
        if (typeof cm === 'string') configMaps.add(cm);
        const sec = (e.secretRef as Json | undefined)?.name;
        if (typeof sec === 'string') secrets.add(sec);
      }
    }
  }
  for (const r of (Array.isArray(s.imagePullSecrets) ? s.imagePullSecrets : []) as Json[]) {
    if (typeof r.name === 'string') secrets.add(r.name);
  }
  for (const n of CLUSTER_CONFIGMAPS) configMaps.delete(n);
  return { configMaps, secrets };
}

/** Secret types that are this cluster's credentials, never copied as they are. */
export const UNCOPIED_SECRET_TYPES: ReadonlySet<string> = new Set(['kubernetes.io/service-account-token']);

/** The copy of a local ConfigMap or Secret in the remote namespace; undefined for one never copied. */
export function forgeRemoteDependency(obj: { kind?: string; metadata?: { name?: string }; data?: unknown; binaryData?: unknown; stringData?: unknown; type?: string; immutable?: boolean }, p: { consumerId: string; remoteNamespace: string; localNamespace: string }): Obj | undefined {
  const name = obj.metadata?.name;
  if (!name) return undefined;
  const metadata = {
    name, namespace: p.remoteNamespace,
    labels: originLabels(p.consumerId),
    annotations: { [OFFLOAD_ANNOTATIONS.originNamespace]: p.localNamespace, [OFFLOAD_ANNOTATIONS.originName]: name },
  };
  if (obj.kind === 'ConfigMap') {
    if (CLUSTER_CONFIGMAPS.has(name)) return undefined;
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: obj.data ?? {}, binaryData: obj.binaryData ?? {}, ...(obj.immutable ? { immutable: true } : {}) };
  }
  if (obj.kind === 'Secret') {
    if (obj.type && UNCOPIED_SECRET_TYPES.has(obj.type)) return undefined;
    return { apiVersion: 'v1', kind: 'Secret', metadata, type: obj.type ?? 'Opaque', data: obj.data ?? {}, ...(obj.immutable ? { immutable: true } : {}) };
  }
  return undefined;
}

// ---- status ----------------------------------------------------------------------------------------

/** At most `max` UTF-16 units, never half a surrogate pair (which a jsonb column refuses). */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}
const cut = (s: unknown, max: number): string | null => (typeof s === 'string' && s !== '' ? cutText(s, max) : null);
/** An RFC 3339 time as the log keeps it; null for none or one that does not parse. */
const time = (s: unknown): string | null => {
  if (typeof s !== 'string' || s === '') return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : new Date(t).toISOString().replace(/\.000Z$/, 'Z');
};
const PHASES = new Set(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

/** The part of a remote pod's status that is reflected (PodStatusReflected's data), bounded. */
export function snapshotOf(status: Json | undefined): PodStatusSnapshot {
  const s = status ?? {};
  const phase = PHASES.has(String(s.phase)) ? (s.phase as PodStatusSnapshot['phase']) : 'Pending';
  const conditions = ((Array.isArray(s.conditions) ? s.conditions : []) as Json[]).slice(0, LIMITS.podConditions).map((c) => ({
    type: String(c.type).slice(0, LIMITS.shortString),
    status: (c.status === 'True' || c.status === 'False' ? c.status : 'Unknown') as 'True' | 'False' | 'Unknown',
    reason: cut(c.reason, LIMITS.reason),
    message: cut(c.message, LIMITS.message),
    lastTransitionTime: time(c.lastTransitionTime),
  }));
  const containerStatuses = ((Array.isArray(s.containerStatuses) ? s.containerStatuses : []) as Json[]).slice(0, LIMITS.containerStatuses).map((c) => {
    const st = (c.state ?? {}) as { running?: Json; waiting?: Json; terminated?: Json };
    const state = st.terminated ? 'terminated' : st.running ? 'running' : 'waiting';
    const detail = st.terminated ?? st.running ?? st.waiting ?? {};
    return {
      name: String(c.name),
      ready: c.ready === true,
      restartCount: typeof c.restartCount === 'number' && c.restartCount >= 0 ? c.restartCount : 0,
      state: state as 'waiting' | 'running' | 'terminated',
      reason: cut(detail.reason, LIMITS.reason),
      exitCode: typeof detail.exitCode === 'number' ? detail.exitCode : null,
      image: cut(c.image, LIMITS.url),
      imageId: cut(c.imageID, LIMITS.url),
      startedAt: time(detail.startedAt),
      finishedAt: time(detail.finishedAt),
    };
  });
  const podIp = typeof s.podIP === 'string' && /^[0-9a-fA-F.:]+$/.test(s.podIP) && s.podIP.length <= LIMITS.ip ? s.podIP : null;
  return { phase, podIp, conditions, containerStatuses, startTime: time(s.startTime), reason: cut(s.reason, LIMITS.reason), message: cut(s.message, LIMITS.message) };
}

export interface LocalStatusInput {
  readonly nodeName: string;
  /** The remote pod's reflected status; null before the first. */
  readonly status: PodStatusSnapshot | null;
  /** Why the pod does not run in the provider, if it does not. */
  readonly failure: { readonly reason: string; readonly message: string } | null;
  /** Whether the provider answers (the virtual node's Ready); when not, the pod's Ready says so. */
  readonly health: { readonly ready: true } | { readonly ready: false; readonly reason: string; readonly message: string };
  /** When the failure or the health change was recorded (their conditions' transition time). */
  readonly at: string;
}

/** Condition type peerlog sets on a pod bound to a virtual node: whether its twin runs in the provider. */
export const OFFLOADED_CONDITION = 'peerlog.dev/Offloaded';

/** The local pod's status as the log says (applied on the status subresource). */
export function forgeLocalPodStatus(p: LocalStatusInput): Json {
  const s = p.status;
  const conditions: Json[] = (s?.conditions ?? []).filter((c) => c.type !== 'PodScheduled').map((c) => ({
    type: c.type, status: c.status, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}),
    ...(c.lastTransitionTime ? { lastTransitionTime: c.lastTransitionTime } : { lastTransitionTime: p.at }),
  }));
  if (!p.health.ready) {
    const i = conditions.findIndex((c) => c.type === 'Ready');
    const ready = { type: 'Ready', status: 'False', reason: p.health.reason, message: `the provider does not answer: ${p.health.message}`, lastTransitionTime: p.at };
    if (i >= 0) conditions[i] = ready;
    else conditions.push(ready);
  }
  conditions.push(p.failure
    ? { type: OFFLOADED_CONDITION, status: 'False', reason: p.failure.reason, message: p.failure.message, lastTransitionTime: p.at }
    : s ? { type: OFFLOADED_CONDITION, status: 'True', reason: 'RemotePodCreated', message: 'the pod runs in the provider', lastTransitionTime: s.startTime ?? p.at }
      : { type: OFFLOADED_CONDITION, status: 'Unknown', reason: 'Offloading', message: 'the pod is being created in the provider', lastTransitionTime: p.at });
  const containerStatuses = (s?.containerStatuses ?? []).map((c) => {
    const state = c.state === 'running' ? { running: { ...(c.startedAt ? { startedAt: c.startedAt } : {}) } }
      : c.state === 'terminated' ? { terminated: { exitCode: c.exitCode ?? 0, ...(c.reason ? { reason: c.reason } : {}), ...(c.startedAt ? { startedAt: c.startedAt } : {}), ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}) } }
        : { waiting: { ...(c.reason ? { reason: c.reason } : {}) } };
    return { name: c.name, ready: c.ready && p.health.ready, restartCount: c.restartCount, image: c.image ?? '', imageID: c.imageId ?? '', started: c.state === 'running', state };
  });
  const phase = p.failure && !s ? 'Pending' : (s?.phase ?? 'Pending');
  return {
    phase,
    conditions,
    ...(s?.podIp ? { podIP: s.podIp, podIPs: [{ ip: s.podIp }] } : {}),
    ...(s?.startTime ? { startTime: s.startTime } : {}),
    ...(containerStatuses.length > 0 ? { containerStatuses } : {}),
    ...(p.failure && !s ? { reason: p.failure.reason, message: p.failure.message } : s?.reason ? { reason: s.reason, ...(s.message ? { message: s.message } : {}) } : {}),
  };
}
