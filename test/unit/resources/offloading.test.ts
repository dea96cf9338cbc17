// The pure part of offloading: the provider's namespaces for a consumer, a local pod's twin, the
// ConfigMaps and Secrets it takes along, the snapshot of a remote status and the local status forged
// back. Inputs are shaped as the apiserver returns them; every expected object is written out.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { PodStatusSnapshot } from '../../../src/events/catalogue.js';
import { validateEventData } from '../../../src/events/schemas.js';
import {
  dependenciesOf, forgeLocalPodStatus, forgeRemoteDependency, forgeOffloadRoleBinding, forgeRemoteNamespaceObjects, forgeRemotePod, isDaemonSetPod,
  isOwnRemoteNamespace, snapshotOf, twinHash, type LocalPod,
} from '../../../src/resources/offloading.js';

const CONSUMER = 'alpha-01';
const REMOTE_NS = 'shop-alpha-01';

/**
 * A Deployment's pod as the consumer's apiserver returns it once admitted (ServiceAccount admission
 * added the kube-api-access volume and its mounts, DefaultTolerationSeconds the two tolerations)
 * and bound by the scheduler to the virtual node.
 */
const LOCAL_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-7d4b9c8f6d-x2klm',
    generateName: 'web-7d4b9c8f6d-',
    namespace: 'shop',
    uid: '3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a5b',
    resourceVersion: '48213',
    creationTimestamp: '2025-03-01T11:58:00Z',
    labels: { app: 'web', 'pod-template-hash': '7d4b9c8f6d' },
    annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-03-01T11:57:59Z' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c8f6d', uid: '0b6a1e2f-3c4d-4e5f-8a7b-9c0d1e2f3a4b', controller: true, blockOwnerDeletion: true }],
    managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2025-03-01T11:58:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }],
  },
  spec: {
    volumes: [
      { name: 'nginx-conf', configMap: { name: 'nginx-conf', defaultMode: 420 } },
      { name: 'tls', secret: { secretName: 'tls-web', defaultMode: 420 } },
      {
        name: 'bundle',
        projected: {
          sources: [
            { configMap: { name: 'bundle-a', items: [{ key: 'a.json', path: 'a.json' }] } },
            { secret: { name: 'bundle-b' } },
            { downwardAPI: { items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }] } },
          ],
          defaultMode: 420,
        },
      },
      { name: 'cache', emptyDir: {} },
      {
        name: 'kube-api-access-x2klm',
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
          defaultMode: 420,
        },
      },
    ],
    initContainers: [
      {
        name: 'migrate',
        image: 'registry.example/shop/migrate:7',
        env: [{ name: 'DB_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-admin', key: 'password' } } }],
        envFrom: [{ configMapRef: { name: 'migrate-env' } }],
        resources: {},
        volumeMounts: [{ name: 'kube-api-access-x2klm', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      },
    ],
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        env: [
          { name: 'SHOP_MODE', value: 'production' },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } },
          { name: 'FEATURE_FLAGS', valueFrom: { configMapKeyRef: { name: 'feature-flags', key: 'flags', optional: true } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
          { name: 'MEMORY_LIMIT', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '0' } } },
        ],
        envFrom: [{ configMapRef: { name: 'web-env' } }, { prefix: 'S_', secretRef: { name: 'web-secrets' } }],
        resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
        volumeMounts: [
          { name: 'nginx-conf', mountPath: '/etc/nginx/conf.d' },
          { name: 'tls', readOnly: true, mountPath: '/etc/tls' },
          { name: 'bundle', mountPath: '/srv/bundle' },
          { name: 'cache', mountPath: '/var/cache/nginx' },
          { name: 'kube-api-access-x2klm', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
        ],
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    serviceAccountName: 'default',
    serviceAccount: 'default',
    nodeName: 'peerlog-beta-7f3c',
    securityContext: {},
    imagePullSecrets: [{ name: 'registry-pull' }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'peerlog.dev/type', operator: 'In', values: ['virtual-node'] }] }],
        },
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' } },
        ],
      },
    },
    schedulerName: 'default-scheduler',
    tolerations: [
      { key: 'virtual-node.peerlog.dev/not-allowed', operator: 'Equal', value: 'true', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ],
    priorityClassName: 'shop-high',
    priority: 1000,
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
  },
  status: {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T11:58:00Z' }],
    qosClass: 'Burstable',
  },
};

/** What the twin keeps of LOCAL_POD's spec, written out. */
const TWIN_SPEC = {
  volumes: [
    { name: 'nginx-conf', configMap: { name: 'nginx-conf', defaultMode: 420 } },
    { name: 'tls', secret: { secretName: 'tls-web', defaultMode: 420 } },
    {
      name: 'bundle',
      projected: {
        sources: [
          { configMap: { name: 'bundle-a', items: [{ key: 'a.json', path: 'a.json' }] } },
          { secret: { name: 'bundle-b' } },
          { downwardAPI: { items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }] } },
        ],
        defaultMode: 420,
      },
    },
    { name: 'cache', emptyDir: {} },
  ],
  initContainers: [
    {
      name: 'migrate',
      image: 'registry.example/shop/migrate:7',
      env: [{ name: 'DB_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-admin', key: 'password' } } }],
      envFrom: [{ configMapRef: { name: 'migrate-env' } }],
      resources: {},
      volumeMounts: [],
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    },
  ],
  containers: [
    {
      name: 'web',
      image: 'nginx:1.27',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      env: [
        { name: 'SHOP_MODE', value: 'production' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } },
        { name: 'FEATURE_FLAGS', valueFrom: { configMapKeyRef: { name: 'feature-flags', key: 'flags', optional: true } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
        { name: 'MEMORY_LIMIT', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '0' } } },
      ],
      envFrom: [{ configMapRef: { name: 'web-env' } }, { prefix: 'S_', secretRef: { name: 'web-secrets' } }],
      resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
      volumeMounts: [
        { name: 'nginx-conf', mountPath: '/etc/nginx/conf.d' },
        { name: 'tls', readOnly: true, mountPath: '/etc/tls' },
        { name: 'bundle', mountPath: '/srv/bundle' },
        { name: 'cache', mountPath: '/var/cache/nginx' },
      ],
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    },
  ],
  restartPolicy: 'Always',
  terminationGracePeriodSeconds: 30,
  dnsPolicy: 'ClusterFirst',
  securityContext: {},
  imagePullSecrets: [{ name: 'registry-pull' }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' } },
      ],
    },
  },
  tolerations: [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ],
  enableServiceLinks: true,
  automountServiceAccountToken: false,
};

const TWIN_METADATA = {
  name: 'web-7d4b9c8f6d-x2klm',
  namespace: 'shop-alpha-01',
  labels: {
    app: 'web',
    'pod-template-hash': '7d4b9c8f6d',
    'app.kubernetes.io/managed-by': 'peerlog',
    'peerlog.dev/remote-cluster-id': 'alpha-01',
    'peerlog.dev/origin-uid': '3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a5b',
  },
  annotations: {
    'kubectl.kubernetes.io/restartedAt': '2025-03-01T11:57:59Z',
    'peerlog.dev/origin-namespace': 'shop',
    'peerlog.dev/origin-name': 'web-7d4b9c8f6d-x2klm',
  },
};

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** The same value with every object's keys in reverse order. */
function reversed<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reversed) as T;
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) as T;
}
const twinOf = (pod: unknown) => forgeRemotePod(pod as LocalPod, { consumerId: CONSUMER, remoteNamespace: REMOTE_NS });

describe('forgeRemotePod', () => {
  it('forges the twin of an admitted Deployment pod: what speaks of this cluster goes, origin labels and annotations come', () => {
    assert.deepEqual(twinOf(LOCAL_POD), { apiVersion: 'v1', kind: 'Pod', metadata: TWIN_METADATA, spec: TWIN_SPEC });
  });

  it('drops nodeName, nodeSelector, node affinity, the virtual-node toleration, the service account, the priority class and the token volume', () => {
    const spec = twinOf(LOCAL_POD).spec as Record<string, unknown>;
    for (const gone of ['nodeName', 'nodeSelector', 'serviceAccountName', 'serviceAccount', 'priorityClassName', 'priority', 'preemptionPolicy', 'schedulerName']) {
      assert.equal(spec[gone], undefined, gone);
    }
    assert.deepEqual(Object.keys(spec['affinity'] as object), ['podAntiAffinity']);
    assert.deepEqual((spec['tolerations'] as { key: string }[]).map((t) => t.key), ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    assert.deepEqual((spec['volumes'] as { name: string }[]).map((v) => v.name), ['nginx-conf', 'tls', 'bundle', 'cache']);
    assert.equal(spec['automountServiceAccountToken'], false);
  });

  it('leaves the local pod as it was', () => {
    const before = clone(LOCAL_POD);
    twinOf(LOCAL_POD);
    assert.deepEqual(LOCAL_POD, before);
  });

  it('drops affinity and tolerations altogether when only node affinity and the virtual-node toleration were there', () => {
    const pod = clone(LOCAL_POD);
    pod.spec.affinity = { nodeAffinity: LOCAL_POD.spec.affinity.nodeAffinity } as unknown as typeof pod.spec.affinity;
    pod.spec.tolerations = [LOCAL_POD.spec.tolerations[0]!];
    const spec = twinOf(pod).spec as Record<string, unknown>;
    assert.equal('affinity' in spec, false);
    assert.equal('tolerations' in spec, false);
  });

  it('keeps a pod affinity, and a toleration of another key with the same effect', () => {
    const pod = clone(LOCAL_POD);
    const podAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] };
    pod.spec.affinity = { nodeAffinity: LOCAL_POD.spec.affinity.nodeAffinity, podAffinity } as unknown as typeof pod.spec.affinity;
    pod.spec.tolerations = [LOCAL_POD.spec.tolerations[0]!, { key: 'gpu', operator: 'Exists', effect: 'NoExecute' } as never];
    const spec = twinOf(pod).spec as Record<string, unknown>;
    assert.deepEqual(spec['affinity'], { podAffinity });
    assert.deepEqual(spec['tolerations'], [{ key: 'gpu', operator: 'Exists', effect: 'NoExecute' }]);
  });

  it('a pod with no token volume (automount off) keeps its volumes and mounts as they were', () => {
    const pod = clone(LOCAL_POD);
    pod.spec.volumes = pod.spec.volumes.slice(0, 4);
    pod.spec.containers[0]!.volumeMounts = pod.spec.containers[0]!.volumeMounts.slice(0, 4);
    pod.spec.initContainers[0]!.volumeMounts = [];
    (pod.spec as Record<string, unknown>)['automountServiceAccountToken'] = false;
    assert.deepEqual(twinOf(pod).spec, TWIN_SPEC);
  });

  it('a local label that would pose as peerlog\'s is overwritten by the origin labels', () => {
    const pod = clone(LOCAL_POD);
    pod.metadata.labels = { ...pod.metadata.labels, 'app.kubernetes.io/managed-by': 'helm', 'peerlog.dev/origin-uid': 'forged' } as typeof pod.metadata.labels;
    assert.deepEqual((twinOf(pod).metadata as { labels: unknown }).labels, TWIN_METADATA.labels);
  });
});

describe('twinHash', () => {
  it('is the SHA-256 of the canonical JSON of labels, annotations and spec', () => {
    const twin = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop-alpha-01', labels: { b: '2', a: '1' }, annotations: { n: 'x' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } };
    const text = '{"annotations":{"n":"x"},"labels":{"a":"1","b":"2"},"spec":{"containers":[{"image":"i","name":"c"}],"restartPolicy":"Never"}}';
    assert.equal(twinHash(twin), createHash('sha256').update(text).digest('hex'));
  });

  it('does not depend on the name, the namespace or key order; does on the spec', () => {
    const a = twinOf(LOCAL_POD);
    const elsewhere = { ...a, metadata: { ...(a.metadata as object), name: 'other', namespace: 'other-ns' } };
    assert.equal(twinHash(elsewhere), twinHash(a));
    assert.equal(twinHash(reversed(a)), twinHash(a));
    const changed = clone(LOCAL_POD);
    changed.spec.containers[0]!.image = 'nginx:1.28';
    assert.notEqual(twinHash(twinOf(changed)), twinHash(a));
    assert.match(twinHash(a), /^[0-9a-f]{64}$/);
  });
});

describe('isDaemonSetPod', () => {
  it('is true only for a pod a DaemonSet controls', () => {
    assert.equal(isDaemonSetPod(LOCAL_POD as LocalPod), false);
    assert.equal(isDaemonSetPod({ metadata: { ownerReferences: [{ kind: 'DaemonSet', controller: true }] } }), true);
    assert.equal(isDaemonSetPod({ metadata: { ownerReferences: [{ kind: 'DaemonSet', controller: false }] } }), false);
    assert.equal(isDaemonSetPod({}), false);
  });
});

describe('dependenciesOf', () => {
  it('collects env valueFrom, envFrom, volumes, projected sources and image pull secrets of all containers; kube-root-ca.crt stays out', () => {
    const deps = dependenciesOf(LOCAL_POD.spec);
    assert.deepEqual([...deps.configMaps].sort(), ['bundle-a', 'feature-flags', 'migrate-env', 'nginx-conf', 'web-env']);
    assert.deepEqual([...deps.secrets].sort(), ['bundle-b', 'db-admin', 'db-credentials', 'registry-pull', 'tls-web', 'web-secrets']);
  });

  it('the twin references the same ones (its token volume, the only source of kube-root-ca.crt, is gone)', () => {
    const deps = dependenciesOf(twinOf(LOCAL_POD).spec as Record<string, unknown>);
    assert.deepEqual([...deps.configMaps].sort(), ['bundle-a', 'feature-flags', 'migrate-env', 'nginx-conf', 'web-env']);
    assert.deepEqual([...deps.secrets].sort(), ['bundle-b', 'db-admin', 'db-credentials', 'registry-pull', 'tls-web', 'web-secrets']);
  });

  it('leaves out kube-root-ca.crt whatever references it', () => {
    const spec = {
      volumes: [{ name: 'ca', configMap: { name: 'kube-root-ca.crt' } }],
      containers: [{ name: 'c', env: [{ name: 'CA', valueFrom: { configMapKeyRef: { name: 'kube-root-ca.crt', key: 'ca.crt' } } }], envFrom: [{ configMapRef: { name: 'kube-root-ca.crt' } }] }],
    };
    assert.deepEqual(dependenciesOf(spec), { configMaps: new Set(), secrets: new Set() });
  });

  it('finds nothing in an empty or absent spec, or one of plain values only', () => {
    assert.deepEqual(dependenciesOf(undefined), { configMaps: new Set(), secrets: new Set() });
    assert.deepEqual(dependenciesOf({}), { configMaps: new Set(), secrets: new Set() });
    assert.deepEqual(dependenciesOf({ containers: [{ name: 'c', env: [{ name: 'A', value: 'b' }] }], volumes: [{ name: 'tmp', emptyDir: {} }] }), { configMaps: new Set(), secrets: new Set() });
  });
});

describe('forgeRemoteDependency', () => {
  const P = { consumerId: CONSUMER, remoteNamespace: REMOTE_NS, localNamespace: 'shop' };
  const meta = (name: string) => ({
    name, namespace: 'shop-alpha-01',
    labels: { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-01' },
    annotations: { 'peerlog.dev/origin-namespace': 'shop', 'peerlog.dev/origin-name': name },
  });
  const apiMeta = (name: string) => ({
    name, namespace: 'shop', uid: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', resourceVersion: '1200', creationTimestamp: '2025-03-01T11:00:00Z',
    labels: { app: 'web' }, managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
  });

  it('copies a ConfigMap\'s data and binary data, under the origin labels, without the local metadata', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: apiMeta('nginx-conf'), data: { 'default.conf': 'server { listen 80; }' }, binaryData: { 'logo.png': 'iVBORw0KGgo=' } };
    assert.deepEqual(forgeRemoteDependency(cm, P), {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('nginx-conf'),
      data: { 'default.conf': 'server { listen 80; }' }, binaryData: { 'logo.png': 'iVBORw0KGgo=' },
    });
  });

  it('keeps immutable, and gives empty data to a ConfigMap that has none', () => {
    assert.deepEqual(forgeRemoteDependency({ kind: 'ConfigMap', metadata: { name: 'flags' }, immutable: true }, P), {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('flags'), data: {}, binaryData: {}, immutable: true,
    });
  });

  it('copies an Opaque Secret and an image pull Secret with their type', () => {
    const opaque = { apiVersion: 'v1', kind: 'Secret', metadata: apiMeta('db-credentials'), type: 'Opaque', data: { password: 'czNjcjN0' } };
    assert.deepEqual(forgeRemoteDependency(opaque, P), { apiVersion: 'v1', kind: 'Secret', metadata: meta('db-credentials'), type: 'Opaque', data: { password: 'czNjcjN0' } });
    const pull = { apiVersion: 'v1', kind: 'Secret', metadata: apiMeta('registry-pull'), type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': 'e30=' } };
    assert.deepEqual(forgeRemoteDependency(pull, P), {
      apiVersion: 'v1', kind: 'Secret', metadata: meta('registry-pull'), type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': 'e30=' },
    });
    assert.deepEqual(forgeRemoteDependency({ kind: 'Secret', metadata: { name: 'untyped' } }, P), { apiVersion: 'v1', kind: 'Secret', metadata: meta('untyped'), type: 'Opaque', data: {} });
  });

  it('never copies a service-account token Secret: it is this cluster\'s credential', () => {
    const token = {
      apiVersion: 'v1', kind: 'Secret',
      metadata: { ...apiMeta('default-token-7xk2p'), annotations: { 'kubernetes.io/service-account.name': 'default' } },
      type: 'kubernetes.io/service-account-token', data: { token: 'ZXlKaGJHY2lPaUpTVXpJMU5pSjk=', 'ca.crt': 'LS0t', namespace: 'c2hvcA==' },
    };
    assert.equal(forgeRemoteDependency(token, P), undefined);
  });

  it('never copies kube-root-ca.crt: the provider has its own', () => {
    const ca = { apiVersion: 'v1', kind: 'ConfigMap', metadata: apiMeta('kube-root-ca.crt'), data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' } };
    assert.equal(forgeRemoteDependency(ca, P), undefined);
  });

  it('copies nothing of another kind, or without a name', () => {
    assert.equal(forgeRemoteDependency({ kind: 'Service', metadata: { name: 'web' } }, P), undefined);
    assert.equal(forgeRemoteDependency({ kind: 'ConfigMap', metadata: {} }, P), undefined);
    assert.equal(forgeRemoteDependency({ kind: 'Secret' }, P), undefined);
  });
});

// ---- status -------------------------------------------------------------------------------------------

/** The twin's status as the provider's apiserver returns it: one container running, one crash-looping, one done. */
const REMOTE_STATUS = {
  phase: 'Running',
  conditions: [
    { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T12:00:02Z' },
    { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T12:00:03Z' },
    { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: '2025-03-01T12:00:09Z', reason: 'ContainersNotReady', message: 'containers with unready status: [sidecar]' },
    { type: 'ContainersReady', status: 'False', lastProbeTime: null, lastTransitionTime: '2025-03-01T12:00:09Z', reason: 'ContainersNotReady', message: 'containers with unready status: [sidecar]' },
    { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T12:00:00Z' },
  ],
  hostIP: '192.168.0.12',
  hostIPs: [{ ip: '192.168.0.12' }],
  podIP: '10.244.1.7',
  podIPs: [{ ip: '10.244.1.7' }],
  startTime: '2025-03-01T12:00:00Z',
  initContainerStatuses: [
    { name: 'migrate', state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2025-03-01T12:00:01Z', finishedAt: '2025-03-01T12:00:02Z' } }, ready: true, restartCount: 0, image: 'registry.example/shop/migrate:7', imageID: '', started: false },
  ],
  containerStatuses: [
    {
      name: 'web', state: { running: { startedAt: '2025-03-01T12:00:04Z' } }, lastState: {}, ready: true, restartCount: 0,
      image: 'docker.io/library/nginx:1.27', imageID: 'docker.io/library/nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31',
      containerID: 'containerd://5d3b4f0c1a2e', started: true,
    },
    {
      name: 'sidecar',
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=sidecar pod=web-7d4b9c8f6d-x2klm_shop-alpha-01' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: '2025-03-01T12:00:30Z', finishedAt: '2025-03-01T12:00:31Z', containerID: 'containerd://77aa' } },
      ready: false, restartCount: 3, image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c',
      containerID: 'containerd://77aa', started: false,
    },
    {
      name: 'warmup', state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2025-03-01T12:00:04Z', finishedAt: '2025-03-01T12:00:06Z', containerID: 'containerd://99bb' } },
      lastState: {}, ready: false, restartCount: 0, image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c',
      containerID: 'containerd://99bb', started: false,
    },
  ],
  qosClass: 'Burstable',
};

const SNAPSHOT: PodStatusSnapshot = {
  phase: 'Running',
  podIp: '10.244.1.7',
  conditions: [
    { type: 'PodReadyToStartContainers', status: 'True', reason: null, message: null, lastTransitionTime: '2025-03-01T12:00:02Z' },
    { type: 'Initialized', status: 'True', reason: null, message: null, lastTransitionTime: '2025-03-01T12:00:03Z' },
    { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [sidecar]', lastTransitionTime: '2025-03-01T12:00:09Z' },
    { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [sidecar]', lastTransitionTime: '2025-03-01T12:00:09Z' },
    { type: 'PodScheduled', status: 'True', reason: null, message: null, lastTransitionTime: '2025-03-01T12:00:00Z' },
  ],
  containerStatuses: [
    {
      name: 'web', ready: true, restartCount: 0, state: 'running', reason: null, exitCode: null,
      image: 'docker.io/library/nginx:1.27', imageId: 'docker.io/library/nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31',
      startedAt: '2025-03-01T12:00:04Z', finishedAt: null,
    },
    {
      name: 'sidecar', ready: false, restartCount: 3, state: 'waiting', reason: 'CrashLoopBackOff', exitCode: null,
      image: 'docker.io/library/busybox:1.36', imageId: 'docker.io/library/busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c',
      startedAt: null, finishedAt: null,
    },
    {
      name: 'warmup', ready: false, restartCount: 0, state: 'terminated', reason: 'Completed', exitCode: 0,
      image: 'docker.io/library/busybox:1.36', imageId: 'docker.io/library/busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c',
      startedAt: '2025-03-01T12:00:04Z', finishedAt: '2025-03-01T12:00:06Z',
    },
  ],
  startTime: '2025-03-01T12:00:00Z',
  reason: null,
  message: null,
};

describe('snapshotOf', () => {
  it('keeps phase, IP, conditions with their transition times, and running, waiting and terminated containers', () => {
    assert.deepEqual(snapshotOf(REMOTE_STATUS), SNAPSHOT);
  });

  it('gives data the v2 PodStatusReflected schema takes', () => {
    const data = { namespace: 'shop', name: 'web-7d4b9c8f6d-x2klm', uid: '3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a5b', status: snapshotOf(REMOTE_STATUS) };
    assert.deepEqual(validateEventData('PodStatusReflected', data), data);
  });

  it('an absent status is Pending with nothing else', () => {
    const empty = { phase: 'Pending', podIp: null, conditions: [], containerStatuses: [], startTime: null, reason: null, message: null };
    assert.deepEqual(snapshotOf(undefined), empty);
    assert.deepEqual(snapshotOf({}), empty);
  });

  it('drops an IP that is not one (a CIDR, a zone, a name)', () => {
    for (const podIP of ['10.244.1.7/24', 'fe80::1%eth0', 'web.shop.svc', '', 42]) {
      assert.equal(snapshotOf({ phase: 'Running', podIP }).podIp, null, String(podIP));
    }
    assert.equal(snapshotOf({ phase: 'Running', podIP: 'fd00:10:244::7' }).podIp, 'fd00:10:244::7');
  });

  it('cuts long messages at 1024 characters and long reasons at 128, ending with an ellipsis', () => {
    const long = 'x'.repeat(2000);
    const snap = snapshotOf({
      phase: 'Failed', reason: 'R'.repeat(200), message: long,
      conditions: [{ type: 'Ready', status: 'False', reason: 'PodFailed', message: long }],
    });
    assert.equal(snap.message, `${'x'.repeat(1023)}…`);
    assert.equal(snap.message?.length, 1024);
    assert.equal(snap.reason, `${'R'.repeat(127)}…`);
    assert.equal(snap.conditions[0]?.message, `${'x'.repeat(1023)}…`);
    const exact = 'y'.repeat(1024);
    assert.equal(snapshotOf({ phase: 'Failed', message: exact }).message, exact);
  });

  // A lone surrogate passes the event schema, but PostgreSQL refuses it in the jsonb columns the
  // aggregate state and the outbox are written to, so the append would fail at every retry.
  it('cuts between characters, never inside a surrogate pair', () => {
    const snap = snapshotOf({ phase: 'Failed', message: `${'x'.repeat(1022)}😀😀` });
    assert.doesNotMatch(snap.message ?? '', /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it('an unparsable time is left out rather than thrown on', () => {
    assert.equal(snapshotOf({ phase: 'Running', startTime: 'yesterday' }).startTime, null);
  });

  it('an unknown phase reads as Pending, an unknown condition status as Unknown, empty strings as null', () => {
    const snap = snapshotOf({ phase: 'Exploded', conditions: [{ type: 'Ready', status: 'Maybe', reason: '', message: '' }] });
    assert.equal(snap.phase, 'Pending');
    assert.deepEqual(snap.conditions, [{ type: 'Ready', status: 'Unknown', reason: null, message: null, lastTransitionTime: null }]);
  });

  it('keeps at most 32 conditions', () => {
    const conditions = Array.from({ length: 40 }, (_, i) => ({ type: `example.com/Gate${i}`, status: 'True' }));
    assert.equal(snapshotOf({ phase: 'Running', conditions }).conditions.length, 32);
  });
});

describe('forgeLocalPodStatus', () => {
  const AT = '2025-03-01T12:05:00.000Z';
  const healthy = { ready: true } as const;
  const QUOTA = 'pods "web-7d4b9c8f6d-x2klm" is forbidden: exceeded quota: peerlog-offloading, requested: requests.cpu=100m, used: requests.cpu=4, limited: requests.cpu=4';

  const CONTAINERS = [
    {
      name: 'web', ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2025-03-01T12:00:04Z' } },
      image: 'docker.io/library/nginx:1.27', imageID: 'docker.io/library/nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31',
    },
    {
      name: 'sidecar', ready: false, restartCount: 3, started: false, state: { waiting: { reason: 'CrashLoopBackOff' } },
      image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c',
    },
    {
      name: 'warmup', ready: false, restartCount: 0, started: false,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2025-03-01T12:00:04Z', finishedAt: '2025-03-01T12:00:06Z' } },
      image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c',
    },
  ];
  const OFFLOADED = { type: 'peerlog.dev/Offloaded', status: 'True', reason: 'RemotePodCreated', message: 'the pod runs in the provider', lastTransitionTime: '2025-03-01T12:00:00Z' };

  it('is the remote status, without PodScheduled (the scheduler of this cluster owns it), plus the Offloaded condition', () => {
    assert.deepEqual(forgeLocalPodStatus({ nodeName: 'peerlog-beta-7f3c', status: SNAPSHOT, failure: null, health: healthy, at: AT }), {
      phase: 'Running',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: '2025-03-01T12:00:02Z' },
        { type: 'Initialized', status: 'True', lastTransitionTime: '2025-03-01T12:00:03Z' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [sidecar]', lastTransitionTime: '2025-03-01T12:00:09Z' },
        { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [sidecar]', lastTransitionTime: '2025-03-01T12:00:09Z' },
        OFFLOADED,
      ],
      podIP: '10.244.1.7',
      podIPs: [{ ip: '10.244.1.7' }],
      startTime: '2025-03-01T12:00:00Z',
      containerStatuses: CONTAINERS,
    });
  });

  it('when the provider does not answer: Ready False with the health reason since then, no container ready', () => {
    const health = { ready: false, reason: 'ProviderUnreachable', message: 'connect ECONNREFUSED 127.0.0.1:6443' } as const;
    const ready = { ...SNAPSHOT, conditions: SNAPSHOT.conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'True' as const, reason: null, message: null } : c)) };
    const forged = forgeLocalPodStatus({ nodeName: 'peerlog-beta-7f3c', status: ready, failure: null, health, at: AT });
    assert.deepEqual(forged['conditions'], [
      { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: '2025-03-01T12:00:02Z' },
      { type: 'Initialized', status: 'True', lastTransitionTime: '2025-03-01T12:00:03Z' },
      { type: 'Ready', status: 'False', reason: 'ProviderUnreachable', message: 'the provider does not answer: connect ECONNREFUSED 127.0.0.1:6443', lastTransitionTime: AT },
      { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [sidecar]', lastTransitionTime: '2025-03-01T12:00:09Z' },
      OFFLOADED,
    ]);
    assert.deepEqual((forged['containerStatuses'] as { ready: boolean }[]).map((c) => c.ready), [false, false, false]);
    assert.equal(forged['phase'], 'Running');
  });

  it('when the provider does not answer before any status: Ready False is added', () => {
    const health = { ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403 to the current identity' } as const;
    assert.deepEqual(forgeLocalPodStatus({ nodeName: 'peerlog-beta-7f3c', status: null, failure: null, health, at: AT }), {
      phase: 'Pending',
      conditions: [
        { type: 'Ready', status: 'False', reason: 'ProviderUnauthorized', message: 'the provider does not answer: the provider answered 403 to the current identity', lastTransitionTime: AT },
        { type: 'peerlog.dev/Offloaded', status: 'Unknown', reason: 'Offloading', message: 'the pod is being created in the provider', lastTransitionTime: AT },
      ],
    });
  });

  it('a refused twin: Pending, the failure\'s reason and message on the pod, Offloaded False', () => {
    assert.deepEqual(forgeLocalPodStatus({ nodeName: 'peerlog-beta-7f3c', status: null, failure: { reason: 'ProviderRefused', message: QUOTA }, health: healthy, at: AT }), {
      phase: 'Pending',
      conditions: [{ type: 'peerlog.dev/Offloaded', status: 'False', reason: 'ProviderRefused', message: QUOTA, lastTransitionTime: AT }],
      reason: 'ProviderRefused',
      message: QUOTA,
    });
  });

  it('a pod not offloaded yet: Pending, Offloaded Unknown', () => {
    assert.deepEqual(forgeLocalPodStatus({ nodeName: 'peerlog-beta-7f3c', status: null, failure: null, health: healthy, at: AT }), {
      phase: 'Pending',
      conditions: [{ type: 'peerlog.dev/Offloaded', status: 'Unknown', reason: 'Offloading', message: 'the pod is being created in the provider', lastTransitionTime: AT }],
    });
  });

  it('an evicted remote pod: its phase, reason and message; a v1 snapshot\'s conditions take the given time', () => {
    const evicted: PodStatusSnapshot = {
      phase: 'Failed', podIp: null,
      conditions: [{ type: 'Ready', status: 'False', reason: 'PodFailed', message: null }],
      containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: 'terminated', reason: 'ContainerStatusUnknown', exitCode: 137 }],
      reason: 'Evicted', message: 'The node was low on resource: memory.',
    };
    assert.deepEqual(forgeLocalPodStatus({ nodeName: 'peerlog-beta-7f3c', status: evicted, failure: null, health: healthy, at: AT }), {
      phase: 'Failed',
      conditions: [
        { type: 'Ready', status: 'False', reason: 'PodFailed', lastTransitionTime: AT },
        { type: 'peerlog.dev/Offloaded', status: 'True', reason: 'RemotePodCreated', message: 'the pod runs in the provider', lastTransitionTime: AT },
      ],
      containerStatuses: [{ name: 'web', ready: false, restartCount: 0, image: '', imageID: '', started: false, state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown' } } }],
      reason: 'Evicted',
      message: 'The node was low on resource: memory.',
    });
  });
});

// ---- remote namespaces ---------------------------------------------------------------------------------

describe('forgeRemoteNamespaceObjects', () => {
  const labels = { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-01', 'peerlog.dev/offloaded-namespace': 'true' };
  const meta = { name: 'peerlog-offloading', namespace: 'shop-alpha-01', labels };

  it('forges the namespace (PodSecurity baseline), the quota of the offer, a zero default request and the identity\'s Role and RoleBinding', () => {
    const objs = forgeRemoteNamespaceObjects({ consumerId: CONSUMER, namespace: 'shop', remoteNamespace: REMOTE_NS, offer: { cpu: '2', memory: '4Gi', pods: '55' }, users: ['peerlog:cluster:alpha-01:2'] });
    assert.deepEqual(objs, {
      namespace: {
        apiVersion: 'v1', kind: 'Namespace',
        metadata: {
          name: 'shop-alpha-01',
          labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'latest' },
          annotations: { 'peerlog.dev/origin-namespace': 'shop' },
        },
      },
      quota: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta, spec: { hard: { 'requests.cpu': '2', 'requests.memory': '4Gi', pods: '55' } } },
      limitRange: { apiVersion: 'v1', kind: 'LimitRange', metadata: meta, spec: { limits: [{ type: 'Container', defaultRequest: { cpu: '0', memory: '0' } }] } },
      role: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta,
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
          { apiGroups: [''], resources: ['pods/status', 'pods/log'], verbs: ['get'] },
          { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'] },
          { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
        ],
      },
      roleBinding: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'peerlog-offloading' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'peerlog:cluster:alpha-01:2' }],
      },
    });
  });

  it('binds the users it is given: both lifetimes while a renewal is signed, the same binding otherwise', () => {
    const binding = forgeOffloadRoleBinding({ consumerId: CONSUMER, remoteNamespace: REMOTE_NS, users: ['peerlog:cluster:alpha-01:2', 'peerlog:cluster:alpha-01:3'] });
    assert.deepEqual(binding, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'peerlog-offloading' },
      subjects: [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'peerlog:cluster:alpha-01:2' },
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'peerlog:cluster:alpha-01:3' },
      ],
    });
  });

  it('grants no exec, attach, RBAC or cluster-scoped right', () => {
    const { role } = forgeRemoteNamespaceObjects({ consumerId: CONSUMER, namespace: 'shop', remoteNamespace: REMOTE_NS, offer: { cpu: '2', memory: '4Gi', pods: '55' }, users: ['peerlog:cluster:alpha-01:1'] });
    const resources = (role['rules'] as { resources: string[]; verbs: string[] }[]).flatMap((r) => r.resources);
    for (const forbidden of ['pods/exec', 'pods/attach', 'pods/portforward', 'roles', 'rolebindings', 'namespaces', '*']) assert.ok(!resources.includes(forbidden), forbidden);
    assert.ok(!(role['rules'] as { verbs: string[] }[]).some((r) => r.verbs.includes('*') || r.verbs.includes('escalate') || r.verbs.includes('impersonate')));
  });
});

describe('isOwnRemoteNamespace', () => {
  const own = {
    metadata: {
      labels: { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-01', 'peerlog.dev/offloaded-namespace': 'true', 'kubernetes.io/metadata.name': 'shop-alpha-01' },
      annotations: { 'peerlog.dev/origin-namespace': 'shop' },
    },
  };

  it('is true for the namespace this provider made for that consumer\'s namespace', () => {
    assert.equal(isOwnRemoteNamespace(own, 'alpha-01', 'shop'), true);
  });

  it('is false for a namespace of another consumer, of another local namespace, not peerlog\'s, or absent', () => {
    assert.equal(isOwnRemoteNamespace(own, 'gamma', 'shop'), false);
    assert.equal(isOwnRemoteNamespace(own, 'alpha-01', 'blog'), false);
    assert.equal(isOwnRemoteNamespace({ metadata: { labels: { 'kubernetes.io/metadata.name': 'shop-alpha-01' } } }, 'alpha-01', 'shop'), false);
    const tenant = { metadata: { labels: { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-01' }, annotations: { 'peerlog.dev/origin-namespace': 'shop' } } };
    assert.equal(isOwnRemoteNamespace(tenant, 'alpha-01', 'shop'), false);
    assert.equal(isOwnRemoteNamespace(undefined, 'alpha-01', 'shop'), false);
  });
});
