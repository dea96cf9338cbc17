// The replication projection: what one cluster writes for the other. On the consumer side, the
// ResourceRequest in the provider's tenant namespace and the acceptance on the provider's offer
// (through the identity the provider issued); on the provider side, the ResourceOffer in the
// consumer's tenant namespace, which the consumer reads. Desired state comes from the views folded
// from the log; this file only applies it.
import type { KubeClient, KubeObject } from '../../adapters/kubernetes/client.js';
import type { ViewStore } from '../ports.js';
import type { Logger } from '../../adapters/log/index.js';
import type { OutgoingState } from '../../commands/outgoing/state.js';
import { forgeOfferStatus, forgeResourceOffer, forgeResourceRequest } from '../../resources/objects.js';
import { createAppliedMemo, createEffectProjection, type EffectProjection } from '../views/effects.js';
import { nodeOf, type RemoteViews } from '../views/view.js';

export const REPLICATION = 'replication';

export type Peered = Extract<OutgoingState, { identity: unknown }>;

export interface ReplicationProjectionDeps {
  readonly kube: KubeClient;
  readonly store: ViewStore;
  readonly logger: Logger;
  readonly clusterId: string;
  readonly clusterName: string;
  /** A client to the provider's apiserver as the identity it issued (built from the identity Secret). */
  providerClient(remoteClusterId: string, state: Peered): Promise<KubeClient>;
  readonly live?: boolean;
}

/** Consumer-side states that keep a request standing at the provider. */
const REQUESTING: ReadonlySet<string> = new Set(['resourcesRequested', 'offerReceived', 'offerAccepted', 'offerRefused', 'virtualNodeCreated', 'virtualNodeReady']);

/** The objects the consumer's view wants at the provider (pure). */
export function forgeConsumerReplicas(consumer: { clusterId: string; clusterName: string }, s: OutgoingState): KubeObject[] {
  if (!REQUESTING.has(s.status) || !('identity' in s) || !s.identity) return [];
  const tenant = s.identity.tenantNamespace;
  const out: KubeObject[] = [forgeResourceRequest({ consumerId: consumer.clusterId, consumerName: consumer.clusterName, namespace: tenant }) as KubeObject];
  const accepted = s.status === 'offerAccepted' || s.status === 'virtualNodeCreated' || s.status === 'virtualNodeReady'
    ? s.offer
    : s.status === 'offerReceived' ? s.accepted?.offer : undefined;
  if (accepted) {
    const node = nodeOf(s);
    out.push(forgeOfferStatus({ namespace: tenant, offerName: accepted.offerName, phase: 'Accepted', generation: accepted.generation, ...(node ? { virtualNode: node.nodeName } : {}) }) as KubeObject);
  } else if (s.status === 'offerRefused') {
    out.push(forgeOfferStatus({ namespace: tenant, offerName: s.offer.offerName, phase: 'Refused', generation: s.offer.generation }) as KubeObject);
  }
  return out;
}

export function createReplicationProjection(d: ReplicationProjectionDeps): EffectProjection {
  const memo = createAppliedMemo();
  const keyOf = (where: string, obj: KubeObject) => `${where}/${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}/${(obj as { status?: unknown }).status ? 'status' : 'spec'}`;
  async function effect(remote: string, views: RemoteViews, forced: boolean): Promise<void> {
    const out = views.outgoing?.state;
    if (out && 'identity' in out && out.identity) {
      const where = `${remote}@${out.identity.certFingerprint}`;
      const replicas = forgeConsumerReplicas(d, out).filter((obj) => memo.changed(keyOf(where, obj), obj, forced));
      if (replicas.length > 0) {
        const client = await d.providerClient(remote, out as Peered);
        for (const obj of replicas) {
          // The request's spec, then the offer's status subresource (which the consumer may write).
          if ((obj as { status?: unknown }).status) await client.applyStatus(obj);
          else await client.apply(obj);
          memo.record(keyOf(where, obj), obj);
        }
      }
    }
    const inc = views.incoming?.state;
    if (inc?.status === 'offered') {
      const offer = forgeResourceOffer({
        providerId: d.clusterId, providerName: d.clusterName, namespace: inc.identity.tenantNamespace,
        offerName: inc.offer.offerName, requestName: inc.requestName, consumerId: remote, resources: inc.offer.resources,
      }) as KubeObject;
      if (memo.changed(keyOf('local', offer), offer, forced)) {
        await d.kube.apply(offer);
        memo.record(keyOf('local', offer), offer);
      }
    }
  }
  return createEffectProjection({ name: REPLICATION, store: d.store, logger: d.logger, effect, ...(d.live === undefined ? {} : { live: d.live }) });
}
