// Forge functions for the objects a peering puts in clusters: the replicated ResourceRequest and
// ResourceOffer, the virtual Node with its status, and its Lease. Pure: data in, objects out.
import type { Resources } from '../events/catalogue.js';
import { GROUP_VERSION, LABELS, MANAGED_BY, VIRTUAL_NODE_TAINT, VIRTUAL_NODE_TYPE } from './constants.js';

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown } };

/** One request per consumer in its tenant namespace, so the name can be fixed. */
export const REQUEST_NAME = 'peerlog-request';
export const OFFER_NAME = 'peerlog-offer';
/** How long a virtual node's Lease is valid; it is renewed at a quarter of that. */
export const LEASE_DURATION_SECONDS = 40;

export function forgeResourceRequest(p: { consumerId: string; consumerName: string; namespace: string }): Obj {
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceRequest',
    metadata: { name: REQUEST_NAME, namespace: p.namespace, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.remoteClusterId]: p.consumerId } },
    spec: { clusterId: p.consumerId, clusterName: p.consumerName },
  };
}

export function forgeResourceOffer(p: { providerId: string; providerName: string; namespace: string; offerName: string; requestName: string; consumerId: string; resources: Resources }): Obj {
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceOffer',
    metadata: { name: p.offerName, namespace: p.namespace, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.remoteClusterId]: p.consumerId } },
    spec: { clusterId: p.providerId, clusterName: p.providerName, requestName: p.requestName, resources: { ...p.resources } },
  };
}

/** The provider's answer to a request, on its status subresource: the offer that serves it. */
export function forgeRequestStatus(p: { namespace: string; requestName: string; offerName: string }): Obj {
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceRequest', metadata: { name: p.requestName, namespace: p.namespace },
    status: { phase: 'Offered', offerName: p.offerName },
  };
}

/** The consumer's answer, written on the offer's status subresource in the provider's cluster. */
export function forgeOfferStatus(p: { namespace: string; offerName: string; phase: 'Accepted' | 'Refused'; generation: number; virtualNode?: string }): Obj {
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceOffer', metadata: { name: p.offerName, namespace: p.namespace },
    status: { phase: p.phase, acceptedGeneration: p.generation, ...(p.virtualNode ? { virtualNode: p.virtualNode } : {}) },
  };
}

export function forgeVirtualNode(p: { nodeName: string; remoteClusterId: string }): Obj {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: p.nodeName,
      labels: {
        [LABELS.type]: VIRTUAL_NODE_TYPE, [LABELS.remoteClusterId]: p.remoteClusterId, [LABELS.managedBy]: MANAGED_BY,
        'kubernetes.io/hostname': p.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/instance-type': 'virtual-node',
      },
    },
    spec: { taints: [{ ...VIRTUAL_NODE_TAINT }] },
  };
}

const condition = (type: string, status: 'True' | 'False', reason: string, message: string, now: string) =>
  ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });

/**
 * Whether the provider answers this cluster's current identity: what the virtual node's Ready says.
 * Reasons: ProviderUnauthorized (401/403 while the certificate is valid), IdentityExpired (past its
 * notAfter), ProviderUnreachable (no answer, or 5xx), IdentitySecretInvalid (the Secret is refused).
 */
export type ProviderHealth =
  | { readonly ready: true }
  | { readonly ready: false; readonly reason: 'ProviderUnauthorized' | 'IdentityExpired' | 'ProviderUnreachable' | 'IdentitySecretInvalid'; readonly message: string };

/**
 * Node status: capacity = allocatable = the accepted offer; Ready while the provider answers the
 * current identity (`health`, Ready when absent). `readySince` is when Ready last changed.
 */
export function forgeVirtualNodeStatus(p: { nodeName: string; remoteClusterName: string; resources: Resources; now: string; readySince?: string; health?: ProviderHealth }): Obj {
  const since = p.readySince ?? p.now;
  const c = (type: string, status: 'True' | 'False', reason: string, message: string) => ({ ...condition(type, status, reason, message, p.now), lastTransitionTime: since });
  const health = p.health ?? { ready: true };
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name: p.nodeName },
    status: {
      capacity: { ...p.resources }, allocatable: { ...p.resources },
      conditions: [
        health.ready
          ? c('Ready', 'True', 'PeeringEstablished', `resources offered by cluster ${p.remoteClusterName}`)
          : c('Ready', 'False', health.reason, health.message),
        c('MemoryPressure', 'False', 'PeeringEstablished', 'no memory pressure reported by the provider'),
        c('DiskPressure', 'False', 'PeeringEstablished', 'no disk pressure reported by the provider'),
        c('PIDPressure', 'False', 'PeeringEstablished', 'no PID pressure reported by the provider'),
        c('NetworkUnavailable', 'False', 'PeeringEstablished', 'pods run in the provider cluster'),
      ],
      addresses: [{ type: 'Hostname', address: p.nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'peerlog', kubeProxyVersion: '', containerRuntimeVersion: 'peerlog://virtual',
        kernelVersion: '', osImage: `peerlog virtual node for ${p.remoteClusterName}`, machineID: '', systemUUID: '', bootID: '',
      },
    },
  };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(iso: string): string {
  return new Date(iso).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function forgeLease(p: { nodeName: string; nodeUid?: string; now: string }): Obj {
  return {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: {
      name: p.nodeName, namespace: 'kube-node-lease',
      ...(p.nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: p.nodeName, uid: p.nodeUid }] } : {}),
    },
    spec: { holderIdentity: p.nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(p.now) },
  };
}
