// The operator's work keys: what a watch observed that needs a command. Typed, and encoded to the
// strings the work queue coalesces on.

export type WorkKey =
  /** A ForeignCluster added or changed: the user's intent for the outgoing side. */
  | { readonly kind: 'foreignCluster'; readonly name: string }
  /** A ResourceRequest a consumer made in its tenant namespace on this (provider) cluster. */
  | { readonly kind: 'resourceRequest'; readonly namespace: string; readonly name: string }
  /** A virtual node (or its Lease) seen on the apiserver: Ready observed, or deleted behind our back. */
  | { readonly kind: 'virtualNode'; readonly remoteClusterId: string }
  /** Pods bound to a provider's virtual node changed: offload, reclaim, or record why not. */
  | { readonly kind: 'virtualNodePods'; readonly remoteClusterId: string }
  /** A provider's twins changed: reflect their status. */
  | { readonly kind: 'remotePods'; readonly remoteClusterId: string };

export function encodeKey(k: WorkKey): string {
  switch (k.kind) {
    case 'foreignCluster': return `fc/${k.name}`;
    case 'resourceRequest': return `rr/${k.namespace}/${k.name}`;
    case 'virtualNode': return `node/${k.remoteClusterId}`;
    case 'virtualNodePods': return `pods/${k.remoteClusterId}`;
    case 'remotePods': return `twins/${k.remoteClusterId}`;
  }
}

export function decodeKey(s: string): WorkKey | undefined {
  const [kind, ...rest] = s.split('/');
  if (kind === 'fc' && rest.length === 1) return { kind: 'foreignCluster', name: rest[0]! };
  if (kind === 'rr' && rest.length === 2) return { kind: 'resourceRequest', namespace: rest[0]!, name: rest[1]! };
  if (kind === 'node' && rest.length === 1) return { kind: 'virtualNode', remoteClusterId: rest[0]! };
  if (kind === 'pods' && rest.length === 1) return { kind: 'virtualNodePods', remoteClusterId: rest[0]! };
  if (kind === 'twins' && rest.length === 1) return { kind: 'remotePods', remoteClusterId: rest[0]! };
  return undefined;
}
