// Forge functions for a virtual node: the Node, its status (capacity = allocatable = the accepted
// offer; Ready as the log says the provider answers; where its kubelet API listens) and its Lease.
// Pure: data in, objects out.
import type { ProviderHealthReason, Resources } from '../../events/catalogue.js';
import { kubeletEndpointStatus } from '../../resources/kubelet.js';
import { LABELS, MANAGED_BY, VIRTUAL_NODE_TAINT, VIRTUAL_NODE_TYPE } from '../../resources/constants.js';
import type { Obj } from '../../resources/objects.js';

/** How long a virtual node's Lease is valid; it is renewed at a quarter of that. */
export const LEASE_DURATION_SECONDS = 40;

/** The Node; `cordoned` (unpeering) makes it unschedulable, so no new pod lands on it. */
export function forgeVirtualNode(p: { nodeName: string; remoteClusterId: string; cordoned?: boolean }): Obj {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: p.nodeName,
      labels: {
        [LABELS.type]: VIRTUAL_NODE_TYPE, [LABELS.remoteClusterId]: p.remoteClusterId, [LABELS.managedBy]: MANAGED_BY,
        'kubernetes.io/hostname': p.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/instance-type': 'virtual-node',
      },
    },
    spec: { taints: [{ ...VIRTUAL_NODE_TAINT }], ...(p.cordoned ? { unschedulable: true } : {}) },
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
  | { readonly ready: false; readonly reason: ProviderHealthReason; readonly message: string };

/** Where the kubelet API of the virtual nodes listens (from the configuration). */
export interface KubeletEndpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * Node status: capacity = allocatable = the accepted offer; Ready while the provider answers the
 * current identity (`health`, Ready when absent); the kubelet API at `kubelet` as the node's only
 * address (kube-apiserver dials it for `kubectl logs`). `readySince` is when Ready last changed.
 */
export function forgeVirtualNodeStatus(p: { nodeName: string; remoteClusterName: string; resources: Resources; now: string; kubelet: KubeletEndpoint; readySince?: string; health?: ProviderHealth }): Obj {
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
      ...kubeletEndpointStatus(p.kubelet),
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
