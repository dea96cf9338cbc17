// The provider side of the operator. Observations become commands: a consumer's ResourceRequest in
// its tenant namespace (ReceiveResourceRequest). The process step runs on the process projection's
// view of the log: a requested peering gets an offer computed from this cluster's real free
// capacity (IssueOffer), and an offer in force follows capacity as load changes (UpdateOffer; the
// decider keeps only changes past the threshold).
import type { PeerlogConfig } from '../config.js';
import { RetryLater } from '../errors.js';
import type { KubeObject, k8s } from '../adapters/kubernetes/client.js';
import type { HandledCommand } from '../commands/handle.js';
import type { Actor, Resources } from '../events/catalogue.js';
import type { IncomingCommand } from '../commands/incoming/commands.js';
import type { IncomingState } from '../commands/incoming/state.js';
import { computeOffer, podRequests, type NodeFacts, type PodFacts } from '../resources/capacity.js';
import { REQUEST_NAME } from '../resources/objects.js';
import type { IncomingView } from '../projections/views/view.js';
import { remoteNamespaceFor } from '../resources/names.js';
import { own } from '../commands/pods/state.js';
import { DNS_LABEL_PATTERN } from '../events/constants.js';

/**
 * A consumer whose peering this provider ended (incoming Disabled) has this long to drain and
 * delete its virtual node and withdraw its request before its identity is revoked regardless.
 */
export const PROVIDER_END_GRACE_MS = 120_000;

/** Provider-side states whose offer follows this cluster's capacity. */
export const OFFERING: readonly string[] = ['resourcesRequested', 'offered'];

export interface ProviderSideDeps {
  readonly config: PeerlogConfig;
  send(remote: string, command: Omit<IncomingCommand, 'metadata'>, actor?: Actor): Promise<HandledCommand>;
  load(remote: string): Promise<IncomingState>;
  nodes(): readonly (k8s.V1Node & KubeObject)[];
  pods(): readonly (k8s.V1Pod & KubeObject)[];
  request(namespace: string, name: string): (KubeObject & { spec?: { clusterId?: string; namespaces?: string[] } }) | undefined;
  /** Whether the ResourceRequests' cache has had its first list (before it, a request missing from it is unknown, not withdrawn). */
  requestsListed(): boolean;
  /** Whether the nodes' and pods' caches have had theirs (before it, free capacity would read as none). */
  capacityListed(): boolean;
  /** Whether this cluster's ForeignCluster for that consumer says incoming: Disabled. */
  incomingDisabled(remote: string): boolean;
  /** How long a consumer whose peering this side ended has to tear its side down (default PROVIDER_END_GRACE_MS). */
  readonly endGraceMs?: number;
}

export interface ProviderSide {
  observeRequest(namespace: string, name: string): Promise<void>;
  step(remote: string, view: IncomingView | undefined): Promise<void>;
  freeCapacity(consumer: string): Resources;
}

/** The offer's name in the consumer's tenant namespace: this provider's id, as a DNS name. */
export function offerNameFor(clusterId: string): string {
  return `offer-${clusterId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 253);
}

export function createProviderSide(d: ProviderSideDeps): ProviderSide {
  function freeCapacity(consumer: string): Resources {
    const nodeFacts: NodeFacts[] = d.nodes().map((n) => ({
      name: n.metadata!.name!, labels: n.metadata?.labels ?? {}, unschedulable: n.spec?.unschedulable === true,
      ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      allocatable: (n.status?.allocatable ?? {}) as Record<string, string>,
    }));
    const podFacts: PodFacts[] = d.pods().map((p) => ({
      nodeName: p.spec?.nodeName, phase: p.status?.phase, labels: p.metadata?.labels ?? {},
      requests: podRequests((p.spec?.containers ?? []) as never, (p.spec?.initContainers ?? []) as never),
    }));
    return computeOffer(nodeFacts, podFacts, d.config.sharingPercent, consumer);
  }

  /** A requested peering gets an offer from the free capacity; an offer in force follows it. */
  async function offer(remote: string, s: IncomingState): Promise<void> {
    if ((s.status === 'resourcesRequested' || s.status === 'offered') && !d.capacityListed()) throw new RetryLater('the nodes and pods are not listed yet');
    if (s.status === 'resourcesRequested') {
      await d.send(remote, { type: 'IssueOffer', data: { offerName: offerNameFor(d.config.clusterId), resources: freeCapacity(remote) } });
    } else if (s.status === 'offered') {
      await d.send(remote, { type: 'UpdateOffer', data: { resources: freeCapacity(remote), thresholdPercent: d.config.offerThresholdPercent } });
    }
  }

  return {
    freeCapacity,
    async observeRequest(namespace, name) {
      const rr = d.request(namespace, name);
      const consumer = rr?.spec?.clusterId;
      if (!rr || !consumer || name !== REQUEST_NAME) return;
      const state = await d.load(consumer);
      // Only a consumer this cluster authenticated, in its own tenant namespace, is answered.
      if (!('identity' in state) || state.identity.tenantNamespace !== namespace) return;
      const handled = await d.send(consumer, { type: 'ReceiveResourceRequest', data: { requestName: name } }, { kind: 'remote-cluster', name: consumer });
      // The offer is decided at once, on the state the request left (its objects come from the log).
      let now: IncomingState = state;
      if (handled.events.length > 0) { await offer(consumer, await d.load(consumer)); now = await d.load(consumer); }
      // Namespaces to offload into: asked for once the offer is in force; the names are this side's.
      const asked = (rr.spec?.namespaces ?? []).filter((n) => typeof n === 'string' && DNS_LABEL_PATTERN.test(n));
      const known = now.status === 'offered' ? (now.namespaces ?? {}) : undefined;
      const fresh = known ? asked.filter((n) => !own(known, n)) : [];
      if (fresh.length > 0) {
        await d.send(consumer, { type: 'ReceiveNamespaceOffload', data: { namespaces: fresh.map((n) => ({ namespace: n, remoteNamespace: remoteNamespaceFor(n, consumer) })) } }, { kind: 'remote-cluster', name: consumer });
      }
    },
    step: async (remote, view) => {
      if (!view) return;
      const s = view.state;
      // The consumer withdrew its request (unpeering): the offer goes first, so the consumer sees
      // it go while its identity still works, then the identity's rights.
      if ((s.status === 'offered' || s.status === 'resourcesRequested') && !d.request(s.identity.tenantNamespace, REQUEST_NAME)) {
        // An empty cache before the first list says nothing: a restart must not end every peering.
        if (!d.requestsListed()) throw new RetryLater('the ResourceRequests are not listed yet');
        const consumer = { kind: 'remote-cluster' as const, name: remote };
        if (s.status === 'offered') await d.send(remote, { type: 'WithdrawOffer', data: { reason: 'ResourceRequestWithdrawn' } }, consumer);
        await d.send(remote, { type: 'RevokeIdentity', data: { reason: 'ConsumerUnpeered' } }, consumer);
        return;
      }
      // Incoming disabled for a consumer that holds an identity: this side's half of unpeering.
      // With an offer, it is withdrawn first and the consumer, told by its request's status, tears
      // its side down while its identity still works; without one there is nothing to drain.
      if (d.incomingDisabled(remote)) {
        if (s.status === 'offered') { await d.send(remote, { type: 'WithdrawOffer', data: { reason: 'IncomingDisabled' } }); return; }
        if (s.status === 'authenticated' || s.status === 'resourcesRequested') { await d.send(remote, { type: 'RevokeIdentity', data: { reason: 'IncomingDisabled' } }); return; }
      }
      if (s.status === 'offerWithdrawn') {
        if (s.reason === 'IncomingDisabled') {
          // Revoked once the consumer has withdrawn its request (its teardown is over), or at the
          // deadline: a consumer that never answers does not keep its identity.
          const withdrawn = d.requestsListed() && !d.request(s.identity.tenantNamespace, REQUEST_NAME);
          const deadline = Date.parse(view.updatedAt) + (d.endGraceMs ?? PROVIDER_END_GRACE_MS);
          if (!withdrawn && Date.now() < deadline) {
            throw new RetryLater(`waiting until ${new Date(deadline).toISOString()} for ${remote} to tear its side down and withdraw its request`);
          }
          await d.send(remote, { type: 'RevokeIdentity', data: { reason: 'IncomingDisabled' } }, withdrawn ? { kind: 'remote-cluster', name: remote } : undefined);
          return;
        }
        await d.send(remote, { type: 'RevokeIdentity', data: { reason: 'ConsumerUnpeered' } });
        return;
      }
      await offer(remote, s);
    },
  };
}
