// The kubernetes projection: ForeignCluster status on this cluster, and on the provider side the
// status of the ResourceRequest a consumer made in its tenant namespace (which offer answers it).
// Desired state comes from the views folded from the log; this file only applies it.
import type { KubeClient, KubeObject } from '../../adapters/kubernetes/client.js';
import type { ViewStore } from '../ports.js';
import type { Logger } from '../../adapters/log/index.js';
import { GROUP_VERSION, LABELS } from '../../resources/constants.js';
import { tenantNamespaceFor } from '../../resources/names.js';
import { forgeRequestStatus } from '../../resources/objects.js';
import { createAppliedMemo, createEffectProjection, type EffectProjection } from '../views/effects.js';
import type { RemoteViews } from '../views/view.js';
import { forgeForeignClusterStatus } from './forge.js';

export const KUBERNETES = 'kubernetes';

export interface ForeignClusterObject extends KubeObject {
  spec: {
    clusterId: string; clusterName?: string; authUrl?: string; authFingerprint?: string;
    outgoing?: 'Enabled' | 'Disabled'; incoming?: 'Enabled' | 'Disabled';
    tokenSecretRef?: { name: string; namespace?: string; key?: string };
    unpeering?: { drain?: boolean; force?: boolean };
  };
  status?: { conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime: string }[] };
}

export interface KubernetesProjectionDeps {
  readonly kube: KubeClient;
  readonly store: ViewStore;
  readonly logger: Logger;
  /** The ForeignCluster of a remote cluster as the watch's cache holds it. */
  foreignClusterOf(remoteClusterId: string): ForeignClusterObject | undefined;
  readonly live?: boolean;
}

export function createKubernetesProjection(d: KubernetesProjectionDeps): EffectProjection {
  const memo = createAppliedMemo();
  const applyStatus = async (key: string, obj: KubeObject, forced: boolean) => {
    if (!memo.changed(key, obj, forced)) return;
    await d.kube.applyStatus(obj);
    memo.record(key, obj);
  };
  async function effect(remote: string, views: RemoteViews, forced: boolean): Promise<void> {
    let fc = d.foreignClusterOf(remote);
    const inc = views.incoming?.state;
    // Only a consumer granted an identity gets a ForeignCluster here: failed attempts by strangers
    // stay in the log (TokenRejected) without creating objects in the cluster.
    if (!fc && !(inc && 'identity' in inc)) return;
    if (!fc) fc = await createIncomingOnly(remote, inc && 'remote' in inc ? inc.remote.clusterName : remote);
    if (!fc) return;
    const status = forgeForeignClusterStatus(views, { outgoingDisabled: fc.spec.outgoing === 'Disabled', deleting: Boolean(fc.metadata?.deletionTimestamp) });
    if (status.conditions.length > 0 || status.incoming || status.outgoing) {
      // A ForeignCluster recreated under the same name is another object: its uid is part of the key.
      await applyStatus(`fc/${fc.metadata!.name!}/${fc.metadata?.uid ?? ''}`, { apiVersion: GROUP_VERSION, kind: 'ForeignCluster', metadata: { name: fc.metadata!.name! }, status } as KubeObject, forced);
    }
    if (inc?.status === 'offered') {
      // The request's status flows back from this side: which offer answers it.
      // With the answer for each namespace the consumer asked to offload.
      const namespaces = Object.values(inc.namespaces ?? {}).map((n) => ({
        namespace: n.namespace, remoteNamespace: n.remoteNamespace,
        phase: n.phase === 'Created' ? 'Granted' as const : n.phase === 'Refused' ? 'Refused' as const : 'Requested' as const,
        reason: n.reason, message: n.message,
      }));
      await applyStatus(`rr/${inc.identity.tenantNamespace}/${inc.requestName}`, forgeRequestStatus({ namespace: inc.identity.tenantNamespace, requestName: inc.requestName, offerName: inc.offer.offerName, namespaces }) as KubeObject, forced);
    }
    // A request withdrawn by this side (incoming Disabled) says so from the replication projection's
    // teardown, which must write it before it deletes the offer the consumer watches.
  }

  /**
   * A consumer that peered with this cluster appears here too, incoming only. Created, never
   * applied: a ForeignCluster of that name made meanwhile by a user (or by `peerlog peer`) is
   * theirs, and this must not overwrite its spec.
   */
  async function createIncomingOnly(remote: string, clusterName: string): Promise<ForeignClusterObject | undefined> {
    const name = tenantNamespaceFor(remote).slice('peerlog-tenant-'.length);
    try {
      return await d.kube.create({
        apiVersion: GROUP_VERSION, kind: 'ForeignCluster', metadata: { name, labels: { [LABELS.remoteClusterId]: remote } },
        spec: { clusterId: remote, clusterName, outgoing: 'Disabled', incoming: 'Enabled' },
      } as KubeObject) as ForeignClusterObject;
    } catch (e) {
      if ((e as { status?: number }).status !== 409) throw e;
      const fc = await d.kube.get<ForeignClusterObject>(GROUP_VERSION, 'ForeignCluster', name);
      return fc?.spec?.clusterId === remote ? fc : undefined;
    }
  }

  return createEffectProjection({ name: KUBERNETES, store: d.store, logger: d.logger, effect, ...(d.live === undefined ? {} : { live: d.live }) });
}
