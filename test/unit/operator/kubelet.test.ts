// Which twin a kubelet log request names, and what the kubelet answers when there is none; the
// kubelet's words and codes (Kubernetes v1.35 pkg/kubelet/server/server.go getContainerLogs,
// kubelet_pods.go validateContainerLogStatus) are written out here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localLogTarget, providerLogRefusal, twinLogTarget } from '../../../src/operator/kubelet.js';
import { KubernetesError } from '../../../src/adapters/kubernetes/client.js';
import type { OffloadedPod, PodsState } from '../../../src/commands/pods/state.js';

const req = (pod: string, container = 'main') => ({ namespace: 'web', pod, container, follow: false, previous: false, timestamps: false });
const onNode = (nodeName: string, uid = 'uid-1') => ({
  metadata: { uid },
  spec: { nodeName, containers: [{ name: 'main' }, { name: 'sidecar' }], initContainers: [{ name: 'setup' }] },
});
const remoteOf = (nodeName: string) => (nodeName === 'peerlog-beta' ? 'beta' : undefined);

describe('localLogTarget', () => {
  it('names the provider of the virtual node the pod is bound to, and the pod\'s uid', () => {
    assert.deepEqual(localLogTarget(req('web-1'), onNode('peerlog-beta'), remoteOf), { remote: 'beta', uid: 'uid-1' });
    assert.deepEqual(localLogTarget(req('web-1', 'setup'), onNode('peerlog-beta'), remoteOf), { remote: 'beta', uid: 'uid-1' });
    assert.deepEqual(localLogTarget(req('web-1', 'sidecar'), onNode('peerlog-beta'), remoteOf), { remote: 'beta', uid: 'uid-1' });
  });

  it('a pod it does not run (absent, unbound, or on another node) does not exist, as the kubelet says', () => {
    const absent = { status: 404, message: 'pod "web-1" does not exist' };
    assert.deepEqual(localLogTarget(req('web-1'), undefined, remoteOf), absent);
    assert.deepEqual(localLogTarget(req('web-1'), onNode('alpha-worker-0'), remoteOf), absent);
    assert.deepEqual(localLogTarget(req('web-1'), { metadata: { uid: 'u' }, spec: { containers: [{ name: 'main' }] } }, remoteOf), absent);
  });

  it('a container the pod does not declare is not found', () => {
    assert.deepEqual(localLogTarget(req('web-1', 'other'), onNode('peerlog-beta'), remoteOf), { status: 404, message: 'container "other" not found in pod "web-1"' });
  });
});

const tracked = (over: Partial<OffloadedPod> = {}): OffloadedPod => ({
  namespace: 'web', name: 'web-1', uid: 'uid-1', remoteNamespace: 'web-alpha', remoteName: 'web-1', nodeName: 'peerlog-beta',
  specHash: 'h', offloaded: true, status: null, failure: null, ...over,
});
const state = (...pods: OffloadedPod[]): PodsState => ({ status: 'active', namespaces: {}, pods: Object.fromEntries(pods.map((p) => [`${p.namespace}/${p.name}`, p])) });

describe('twinLogTarget', () => {
  it('is the remote namespace and name the log recorded for that pod', () => {
    assert.deepEqual(twinLogTarget(req('web-1'), 'uid-1', state(tracked())), { namespace: 'web-alpha', pod: 'web-1' });
  });

  it('a pod with no twin yet has its container waiting to start (400)', () => {
    const waiting = { status: 400, message: 'container "main" in pod "web-1" is waiting to start: Offloading: the pod is being created in the provider' };
    assert.deepEqual(twinLogTarget(req('web-1'), 'uid-1', state()), waiting);
    // Another pod under the same name (made again) is not this one.
    assert.deepEqual(twinLogTarget(req('web-1'), 'uid-2', state(tracked())), waiting);
  });

  it('a pod kept from the provider says why', () => {
    const kept = tracked({ offloaded: false, failure: { reason: 'NamespaceRefused', message: 'the provider did not grant namespace web-alpha: quota' } });
    assert.deepEqual(twinLogTarget(req('web-1'), 'uid-1', state(kept)), {
      status: 400, message: 'container "main" in pod "web-1" is waiting to start: NamespaceRefused: the provider did not grant namespace web-alpha: quota',
    });
  });

  it('a namespace or pod called like an Object.prototype property is no pod', () => {
    assert.deepEqual(twinLogTarget({ ...req('constructor'), namespace: '__proto__' }, 'uid-1', state()),
      { status: 400, message: 'container "main" in pod "constructor" is waiting to start: Offloading: the pod is being created in the provider' });
  });
});

describe('providerLogRefusal', () => {
  it('passes the provider\'s word about its pod on; its refusals of the identity and its failures are a bad gateway', () => {
    assert.deepEqual(providerLogRefusal(new KubernetesError(400, 'BadRequest', 'container "main" in pod "web-1" is waiting to start: ContainerCreating')),
      { status: 400, message: 'container "main" in pod "web-1" is waiting to start: ContainerCreating' });
    assert.deepEqual(providerLogRefusal(new KubernetesError(404, 'NotFound', 'pods "web-1" not found')), { status: 404, message: 'pods "web-1" not found' });
    assert.deepEqual(providerLogRefusal(new KubernetesError(403, 'Forbidden', 'no')), { status: 502, message: 'the provider refuses this cluster\'s identity (HTTP 403): no' });
    assert.deepEqual(providerLogRefusal(new KubernetesError(500, '500', 'boom')), { status: 502, message: 'the provider failed (HTTP 500): boom' });
    assert.deepEqual(providerLogRefusal(new KubernetesError(0, 'Unreachable', 'ECONNREFUSED')), { status: 503, message: 'the provider cannot be reached: ECONNREFUSED' });
  });
});
