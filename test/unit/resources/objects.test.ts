import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REQUEST_NAME, forgeOfferStatus, forgeRequestStatus, forgeResourceOffer, forgeResourceRequest, isOwnOffer } from '../../../src/resources/objects.js';
import { LEASE_DURATION_SECONDS, forgeLease, forgeVirtualNode, forgeVirtualNodeStatus, microTime } from '../../../src/projections/virtual-kubelet/forge.js';

const NOW = '2024-05-01T10:00:00.123Z';
const SINCE = '2024-04-30T09:00:00.000Z';
const RESOURCES = { cpu: '1500m', memory: '4Gi', pods: '55' };
const NS = 'peerlog-tenant-alpha-1a2b';

describe('names and durations', () => {
  it('fixes the request name and the lease duration', () => {
    assert.equal(REQUEST_NAME, 'peerlog-request');
    assert.equal(LEASE_DURATION_SECONDS, 40);
  });
});

describe('forgeResourceRequest', () => {
  it('forges the consumer\'s request in its tenant namespace', () => {
    assert.deepEqual(forgeResourceRequest({ consumerId: 'alpha-1a2b', consumerName: 'alpha', namespace: NS }), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
      metadata: {
        name: 'peerlog-request', namespace: NS,
        labels: { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-1a2b' },
      },
      spec: { clusterId: 'alpha-1a2b', clusterName: 'alpha' },
    });
  });
});

describe('forgeResourceRequest, with namespaces to offload', () => {
  const labels = { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-1a2b' };

  it('lists the namespaces sorted, each once', () => {
    assert.deepEqual(forgeResourceRequest({ consumerId: 'alpha-1a2b', consumerName: 'alpha', namespace: NS, namespaces: ['shop', 'blog', 'shop', 'analytics'] }), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
      metadata: { name: 'peerlog-request', namespace: NS, labels },
      spec: { clusterId: 'alpha-1a2b', clusterName: 'alpha', namespaces: ['analytics', 'blog', 'shop'] },
    });
  });

  it('leaves namespaces out while there is none', () => {
    assert.deepEqual(forgeResourceRequest({ consumerId: 'alpha-1a2b', consumerName: 'alpha', namespace: NS, namespaces: [] }), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
      metadata: { name: 'peerlog-request', namespace: NS, labels },
      spec: { clusterId: 'alpha-1a2b', clusterName: 'alpha' },
    });
  });
});

describe('forgeRequestStatus', () => {
  it('forges the offer that serves the request', () => {
    assert.deepEqual(forgeRequestStatus({ namespace: NS, requestName: 'peerlog-request', offerName: 'offer-alpha-1a2b' }), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
      metadata: { name: 'peerlog-request', namespace: NS },
      status: { phase: 'Offered', offerName: 'offer-alpha-1a2b' },
    });
  });

  it('adds the namespaces\' answers sorted by namespace, with reason and message only where there are some', () => {
    const namespaces = [
      { namespace: 'shop', remoteNamespace: 'shop-alpha-1a2b', phase: 'Refused', reason: 'NamespaceExists', message: 'namespace shop-alpha-1a2b exists and was not made by peerlog' },
      { namespace: 'blog', remoteNamespace: 'blog-alpha-1a2b', phase: 'Granted', reason: null, message: null },
      { namespace: 'analytics', remoteNamespace: 'analytics-alpha-1a2b', phase: 'Requested' },
    ] as const;
    assert.deepEqual(forgeRequestStatus({ namespace: NS, requestName: 'peerlog-request', offerName: 'offer-alpha-1a2b', namespaces }), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
      metadata: { name: 'peerlog-request', namespace: NS },
      status: {
        phase: 'Offered', offerName: 'offer-alpha-1a2b',
        namespaces: [
          { namespace: 'analytics', remoteNamespace: 'analytics-alpha-1a2b', phase: 'Requested' },
          { namespace: 'blog', remoteNamespace: 'blog-alpha-1a2b', phase: 'Granted' },
          { namespace: 'shop', remoteNamespace: 'shop-alpha-1a2b', phase: 'Refused', reason: 'NamespaceExists', message: 'namespace shop-alpha-1a2b exists and was not made by peerlog' },
        ],
      },
    });
  });
});

describe('isOwnOffer', () => {
  const offer = (clusterId: string, consumer: string) => ({ metadata: { labels: { 'peerlog.dev/remote-cluster-id': consumer } }, spec: { clusterId } });

  it('is the offer whose spec names this provider and whose label names the consumer', () => {
    assert.equal(isOwnOffer(offer('beta-7f3c', 'alpha-1a2b'), 'beta-7f3c', 'alpha-1a2b'), true);
    const forged = forgeResourceOffer({ providerId: 'beta-7f3c', providerName: 'beta', namespace: NS, offerName: 'offer-beta-7f3c', requestName: 'peerlog-request', consumerId: 'alpha-1a2b', resources: RESOURCES });
    assert.equal(isOwnOffer(forged as never, 'beta-7f3c', 'alpha-1a2b'), true, 'what forgeResourceOffer makes');
  });

  it('is not an offer of another provider, for another consumer, or unlabelled', () => {
    // The spec names the provider, not the consumer: an offer whose spec names the consumer is not this provider's.
    assert.equal(isOwnOffer(offer('alpha-1a2b', 'alpha-1a2b'), 'beta-7f3c', 'alpha-1a2b'), false);
    assert.equal(isOwnOffer(offer('beta-7f3c', 'gamma-9e9e'), 'beta-7f3c', 'alpha-1a2b'), false);
    assert.equal(isOwnOffer({ spec: { clusterId: 'beta-7f3c' } }, 'beta-7f3c', 'alpha-1a2b'), false);
  });
});

describe('forgeResourceOffer', () => {
  const params = {
    providerId: 'beta-7f3c', providerName: 'beta', namespace: NS, offerName: 'offer-alpha-1a2b',
    requestName: 'peerlog-request', consumerId: 'alpha-1a2b', resources: RESOURCES,
  };

  it('forges the provider\'s offer, labelled with the consumer', () => {
    assert.deepEqual(forgeResourceOffer(params), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceOffer',
      metadata: {
        name: 'offer-alpha-1a2b', namespace: NS,
        labels: { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-1a2b' },
      },
      spec: { clusterId: 'beta-7f3c', clusterName: 'beta', requestName: 'peerlog-request', resources: RESOURCES },
    });
  });

  it('keeps extended resources and copies them', () => {
    const resources = { ...RESOURCES, 'nvidia.com/gpu': '1' };
    const offer = forgeResourceOffer({ ...params, resources }) as unknown as { spec: { resources: Record<string, string> } };
    assert.deepEqual(offer.spec.resources, { cpu: '1500m', memory: '4Gi', pods: '55', 'nvidia.com/gpu': '1' });
    assert.notEqual(offer.spec.resources, resources);
  });
});

describe('forgeOfferStatus', () => {
  it('forges an acceptance with its virtual node', () => {
    assert.deepEqual(forgeOfferStatus({ namespace: NS, offerName: 'offer-alpha-1a2b', phase: 'Accepted', generation: 3, virtualNode: 'peerlog-beta' }), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceOffer',
      metadata: { name: 'offer-alpha-1a2b', namespace: NS },
      status: { phase: 'Accepted', acceptedGeneration: 3, virtualNode: 'peerlog-beta' },
    });
  });

  it('forges a refusal without a virtual node', () => {
    assert.deepEqual(forgeOfferStatus({ namespace: NS, offerName: 'offer-alpha-1a2b', phase: 'Refused', generation: 1 }), {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceOffer',
      metadata: { name: 'offer-alpha-1a2b', namespace: NS },
      status: { phase: 'Refused', acceptedGeneration: 1 },
    });
  });
});

describe('forgeVirtualNode', () => {
  it('forges a labelled and tainted Node', () => {
    assert.deepEqual(forgeVirtualNode({ nodeName: 'peerlog-beta', remoteClusterId: 'beta-7f3c' }), {
      apiVersion: 'v1', kind: 'Node',
      metadata: {
        name: 'peerlog-beta',
        labels: {
          'peerlog.dev/type': 'virtual-node',
          'peerlog.dev/remote-cluster-id': 'beta-7f3c',
          'app.kubernetes.io/managed-by': 'peerlog',
          'kubernetes.io/hostname': 'peerlog-beta',
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'node.kubernetes.io/instance-type': 'virtual-node',
        },
      },
      spec: { taints: [{ key: 'virtual-node.peerlog.dev/not-allowed', value: 'true', effect: 'NoExecute' }] },
    });
  });

  it('hands out a fresh taint each time', () => {
    const a = forgeVirtualNode({ nodeName: 'peerlog-beta', remoteClusterId: 'beta-7f3c' }) as unknown as { spec: { taints: Record<string, string>[] } };
    a.spec.taints[0]!.effect = 'NoSchedule';
    const b = forgeVirtualNode({ nodeName: 'peerlog-beta', remoteClusterId: 'beta-7f3c' }) as unknown as { spec: { taints: Record<string, string>[] } };
    assert.deepEqual(b.spec.taints, [{ key: 'virtual-node.peerlog.dev/not-allowed', value: 'true', effect: 'NoExecute' }]);
  });
});

describe('forgeVirtualNodeStatus', () => {
  const KUBELET = { address: '10.1.2.3', port: 24252 };
  const cond = (type: string, status: string, message: string, since: string) =>
    ({ type, status, reason: 'PeeringEstablished', message, lastHeartbeatTime: NOW, lastTransitionTime: since });
  const expected = (since: string) => ({
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'peerlog-beta' },
    status: {
      capacity: RESOURCES, allocatable: RESOURCES,
      conditions: [
        cond('Ready', 'True', 'resources offered by cluster beta', since),
        cond('MemoryPressure', 'False', 'no memory pressure reported by the provider', since),
        cond('DiskPressure', 'False', 'no disk pressure reported by the provider', since),
        cond('PIDPressure', 'False', 'no PID pressure reported by the provider', since),
        cond('NetworkUnavailable', 'False', 'pods run in the provider cluster', since),
      ],
      // Only the kubelet API's address: kube-apiserver dials it for `kubectl logs`.
      addresses: [{ type: 'InternalIP', address: '10.1.2.3' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 24252 } },
      nodeInfo: {
        architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'peerlog', kubeProxyVersion: '',
        containerRuntimeVersion: 'peerlog://virtual', kernelVersion: '', osImage: 'peerlog virtual node for beta',
        machineID: '', systemUUID: '', bootID: '',
      },
    },
  });

  it('forges capacity = allocatable = the resources, Ready since readySince', () => {
    assert.deepEqual(
      forgeVirtualNodeStatus({ nodeName: 'peerlog-beta', remoteClusterName: 'beta', resources: RESOURCES, kubelet: KUBELET, now: NOW, readySince: SINCE }),
      expected(SINCE),
    );
  });

  it('is NotReady with the reason and message of a provider that no longer answers the identity', () => {
    const health = { ready: false, reason: 'IdentityExpired', message: 'the certificate expired at 2024-05-01T09:00:00.000Z' } as const;
    const forged = forgeVirtualNodeStatus({ nodeName: 'peerlog-beta', remoteClusterName: 'beta', resources: RESOURCES, kubelet: KUBELET, now: NOW, readySince: SINCE, health });
    const want = expected(SINCE);
    want.status.conditions[0] = { type: 'Ready', status: 'False', reason: 'IdentityExpired', message: 'the certificate expired at 2024-05-01T09:00:00.000Z', lastHeartbeatTime: NOW, lastTransitionTime: SINCE };
    assert.deepEqual(forged, want);
    assert.deepEqual(forgeVirtualNodeStatus({ nodeName: 'peerlog-beta', remoteClusterName: 'beta', resources: RESOURCES, kubelet: KUBELET, now: NOW, readySince: SINCE, health: { ready: true } }), expected(SINCE));
  });

  it('uses now as the transition time without readySince', () => {
    assert.deepEqual(
      forgeVirtualNodeStatus({ nodeName: 'peerlog-beta', remoteClusterName: 'beta', resources: RESOURCES, kubelet: KUBELET, now: NOW }),
      expected(NOW),
    );
  });

  it('copies the resources into capacity and allocatable', () => {
    const resources = { ...RESOURCES, 'nvidia.com/gpu': '2' };
    const { status } = forgeVirtualNodeStatus({ nodeName: 'peerlog-beta', remoteClusterName: 'beta', resources, kubelet: KUBELET, now: NOW }) as unknown as {
      status: { capacity: Record<string, string>; allocatable: Record<string, string> };
    };
    assert.deepEqual(status.capacity, resources);
    assert.deepEqual(status.allocatable, resources);
    assert.notEqual(status.capacity, resources);
    assert.notEqual(status.capacity, status.allocatable);
  });
});

describe('microTime', () => {
  it('writes six fractional digits', () => {
    assert.equal(microTime('2024-05-01T10:00:00.123Z'), '2024-05-01T10:00:00.123000Z');
    assert.equal(microTime('2024-05-01T10:00:00.000Z'), '2024-05-01T10:00:00.000000Z');
  });

  it('turns what Date#toISOString gives into MicroTime', () => {
    for (const ms of [0, 1, 999, 1_714_557_600_123]) {
      assert.match(microTime(new Date(ms).toISOString()), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
  });
});

describe('forgeLease', () => {
  it('forges the node\'s Lease in kube-node-lease, owned by the node', () => {
    assert.deepEqual(forgeLease({ nodeName: 'peerlog-beta', nodeUid: '6f1c2a3b-0000-4000-8000-000000000001', now: NOW }), {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {
        name: 'peerlog-beta', namespace: 'kube-node-lease',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'peerlog-beta', uid: '6f1c2a3b-0000-4000-8000-000000000001' }],
      },
      spec: { holderIdentity: 'peerlog-beta', leaseDurationSeconds: 40, renewTime: '2024-05-01T10:00:00.123000Z' },
    });
  });

  it('has no owner reference without the node\'s uid', () => {
    assert.deepEqual(forgeLease({ nodeName: 'peerlog-beta', now: NOW }), {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { name: 'peerlog-beta', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'peerlog-beta', leaseDurationSeconds: 40, renewTime: '2024-05-01T10:00:00.123000Z' },
    });
  });

  it('has no owner reference with an empty uid', () => {
    const lease = forgeLease({ nodeName: 'peerlog-beta', nodeUid: '', now: NOW }) as { metadata: Record<string, unknown> };
    assert.ok(!('ownerReferences' in lease.metadata));
  });
});
