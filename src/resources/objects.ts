// Forge functions for the objects a peering replicates: the ResourceRequest and the ResourceOffer,
// with their status subresources. Pure: data in, objects out. (The virtual node's are in
// src/projections/virtual-kubelet/forge.ts.)
import type { Resources } from '../events/catalogue.js';
import { GROUP_VERSION, LABELS, MANAGED_BY } from './constants.js';

export type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown } };

/** One request per consumer in its tenant namespace, so the name can be fixed. */
export const REQUEST_NAME = 'peerlog-request';

/** `namespaces`: the consumer's namespaces it offloads (sorted; omitted while there is none). */
export function forgeResourceRequest(p: { consumerId: string; consumerName: string; namespace: string; namespaces?: readonly string[] }): Obj {
  const namespaces = [...new Set(p.namespaces ?? [])].sort();
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceRequest',
    metadata: { name: REQUEST_NAME, namespace: p.namespace, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.remoteClusterId]: p.consumerId } },
    spec: { clusterId: p.consumerId, clusterName: p.consumerName, ...(namespaces.length > 0 ? { namespaces } : {}) },
  };
}

export interface NamespaceAnswer {
  readonly namespace: string;
  readonly remoteNamespace: string;
  readonly phase: 'Requested' | 'Granted' | 'Refused';
  readonly reason?: string | null;
  readonly message?: string | null;
}

export function forgeResourceOffer(p: { providerId: string; providerName: string; namespace: string; offerName: string; requestName: string; consumerId: string; resources: Resources }): Obj {
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceOffer',
    metadata: { name: p.offerName, namespace: p.namespace, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.remoteClusterId]: p.consumerId } },
    spec: { clusterId: p.providerId, clusterName: p.providerName, requestName: p.requestName, resources: { ...p.resources } },
  };
}

/**
 * An offer this provider made for that consumer, as forgeResourceOffer made it: its spec names the
 * provider (its creator), its label the consumer. The one an unpeering deletes from the tenant
 * namespace, which may stay (the provider's own peering towards that consumer uses it too) (pure).
 */
export function isOwnOffer(o: { metadata?: { labels?: Record<string, string> }; spec?: { clusterId?: string } }, providerId: string, consumerId: string): boolean {
  return o.spec?.clusterId === providerId && o.metadata?.labels?.[LABELS.remoteClusterId] === consumerId;
}

/** The provider's answer to a request, on its status subresource: the offer that serves it. */
export function forgeRequestStatus(p: { namespace: string; requestName: string; offerName: string; namespaces?: readonly NamespaceAnswer[] }): Obj {
  const namespaces = [...(p.namespaces ?? [])].sort((a, b) => a.namespace.localeCompare(b.namespace)).map((n) => ({
    namespace: n.namespace, remoteNamespace: n.remoteNamespace, phase: n.phase, ...(n.reason ? { reason: n.reason } : {}), ...(n.message ? { message: n.message } : {}),
  }));
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceRequest', metadata: { name: p.requestName, namespace: p.namespace },
    status: { phase: 'Offered', offerName: p.offerName, ...(namespaces.length > 0 ? { namespaces } : {}) },
  };
}

/** The provider ended the peering: the request's status says so, and why, for the consumer to read. */
export function forgeWithdrawnRequestStatus(p: { namespace: string; requestName: string; offerName: string; reason: string; consumerId: string }): Obj {
  const message = `the provider no longer accepts incoming peerings from ${p.consumerId} (its ForeignCluster for it has incoming: Disabled)`;
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceRequest', metadata: { name: p.requestName, namespace: p.namespace },
    status: { phase: 'Withdrawn', offerName: p.offerName, reason: p.reason, message },
  };
}

/** The consumer's answer, written on the offer's status subresource in the provider's cluster. */
export function forgeOfferStatus(p: { namespace: string; offerName: string; phase: 'Accepted' | 'Refused'; generation: number; virtualNode?: string }): Obj {
  return {
    apiVersion: GROUP_VERSION, kind: 'ResourceOffer', metadata: { name: p.offerName, namespace: p.namespace },
    status: { phase: p.phase, acceptedGeneration: p.generation, ...(p.virtualNode ? { virtualNode: p.virtualNode } : {}) },
  };
}

