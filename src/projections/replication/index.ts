// The replication projection: what one cluster writes for the other. On the consumer side, the
// ResourceRequest in the provider's tenant namespace and the acceptance on the provider's offer
// (through the identity the provider issued); on the provider side, the ResourceOffer in the
// consumer's tenant namespace, which the consumer reads. Desired state comes from the views folded
// from the log; this file only applies it. The provider side also makes the namespaces a consumer
// asked to offload into (`<namespace>-<consumer id>`, with PodSecurity, quota and RBAC) and reports
// what came of each as a command, and keeps every RoleBinding of a consumer naming the user of its
// current identity lifetime alone (none once revoked), so a replaced certificate gets 403.
import type { KubeClient, KubeObject } from '../../adapters/kubernetes/client.js';
import type { IncomingState } from '../../commands/incoming/state.js';
import type { RecordRemoteNamespace } from '../../commands/incoming/commands.js';
import { forgeRemoteNamespaceObjects, isOwnRemoteNamespace, OFFLOAD_ANNOTATIONS, OFFLOAD_LABELS, originLabels } from '../../resources/offloading.js';
import { forgeTenantObjects } from '../../resources/tenant.js';
import { identityUserFor, tenantNamespaceFor } from '../../resources/names.js';
import { GROUP_VERSION, LABELS } from '../../resources/constants.js';
import { IdentitySecretInvalidError } from '../../auth/errors.js';
import type { ViewStore } from '../ports.js';
import type { Logger } from '../../adapters/log/index.js';
import type { OutgoingState } from '../../commands/outgoing/state.js';
import type { WithdrawalNoticeData } from '../../events/catalogue.js';
import { forgeOfferStatus, forgeResourceOffer, forgeResourceRequest, forgeWithdrawnRequestStatus, isOwnOffer, REQUEST_NAME } from '../../resources/objects.js';
import { createAppliedMemo, createEffectProjection, type EffectProjection } from '../views/effects.js';
import { nodeOf, type RemoteViews } from '../views/view.js';

export const REPLICATION = 'replication';

export type Peered = Extract<OutgoingState, { identity: unknown }>;

interface RoleBinding {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly resourceVersion: string };
  readonly subjects?: readonly { readonly apiGroup?: string; readonly kind?: string; readonly name?: string; readonly namespace?: string }[];
}

/** Whether a RoleBinding's subjects are the one user `user` and nothing else (as the apiserver returns them, in any key order). */
export function namesOnly(subjects: RoleBinding['subjects'], user: string): boolean {
  return subjects?.length === 1 && subjects[0]!.kind === 'User' && subjects[0]!.name === user && subjects[0]!.namespace === undefined
    && (subjects[0]!.apiGroup === undefined || subjects[0]!.apiGroup === 'rbac.authorization.k8s.io');
}

export interface ReplicationProjectionDeps {
  readonly kube: KubeClient;
  readonly store: ViewStore;
  readonly logger: Logger;
  readonly clusterId: string;
  readonly clusterName: string;
  /** A client to the provider's apiserver as the identity it issued (built from the identity Secret). */
  providerClient(remoteClusterId: string, state: Peered): Promise<KubeClient>;
  /** Reports what making a remote namespace came to (RecordRemoteNamespace; the decider dedupes). */
  recordNamespace(remoteClusterId: string, outcome: RecordRemoteNamespace['data']): Promise<void>;
  /**
   * Reports that the request is gone from the provider (WithdrawResourceRequest), or was left there
   * when forced, with the notice that a later contact delivers.
   */
  recordWithdrawal(remoteClusterId: string, providerReached: boolean, notice?: WithdrawalNoticeData, overdue?: boolean): Promise<void>;
  /** How long the request's withdrawal is tried before the provider counts as not reached (default WITHDRAW_DEADLINE_MS). */
  readonly withdrawDeadlineMs?: number;
  /** Signs a withdrawal notice with the identity's key (undefined when the Secret no longer holds that certificate). */
  signWithdrawal?(remoteClusterId: string, certFingerprint: string): Promise<WithdrawalNoticeData | undefined>;
  readonly live?: boolean;
}

/** Consumer-side states that keep a request standing at the provider. */
const REQUESTING: ReadonlySet<string> = new Set(['resourcesRequested', 'offerReceived', 'offerAccepted', 'offerRefused', 'virtualNodeCreated', 'virtualNodeReady']);

/** The objects the consumer's view wants at the provider (pure). */
export function forgeConsumerReplicas(consumer: { clusterId: string; clusterName: string }, s: OutgoingState, namespaces: readonly string[] = []): KubeObject[] {
  if (!REQUESTING.has(s.status) || !('identity' in s) || !s.identity) return [];
  const tenant = s.identity.tenantNamespace;
  const out: KubeObject[] = [forgeResourceRequest({ consumerId: consumer.clusterId, consumerName: consumer.clusterName, namespace: tenant, namespaces }) as KubeObject];
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

/**
 * An unpeering whose provider does not answer for this long after its virtual node was deleted
 * goes on as if forced: the local side is cleaned up and the signed notice waits for the provider.
 */
export const WITHDRAW_DEADLINE_MS = 5 * 60_000;

/** Consumer-side states whose request must be gone from the provider: unpeering, once the node is gone. */
export function withdrawsRequest(s: OutgoingState): boolean {
  if (!('identity' in s) || !s.identity) return false;
  return s.status === 'virtualNodeDeleted' || (s.status === 'unpeeringRequested' && s.virtualNode === null);
}

/** Provider-side: what is left to remove for a consumer whose peering ends (pure). */
export function providerTeardownOf(s: IncomingState | undefined): 'offer' | 'all' | undefined {
  if (s?.status === 'offerWithdrawn') return 'offer';
  if (s?.status === 'revoked') return 'all';
  return undefined;
}

/** Outgoing states that keep the shared tenant namespace in use (this cluster holds an identity towards that remote there). */
function usesTenantNamespace(s: OutgoingState | undefined): boolean {
  return !!s && s.status !== 'empty' && s.status !== 'terminated' && s.status !== 'blocked';
}

function gone(e: unknown): boolean {
  const status = (e as { status?: number }).status;
  return status === 0 || status === 401 || status === 403 || (status !== undefined && status >= 500);
}

/**
 * The Kubernetes user a provider grants a consumer: the one of its current identity lifetime, or
 * none when it holds no identity (pure).
 */
export function grantedUserOf(consumerId: string, s: IncomingState): string | undefined {
  return 'identity' in s ? identityUserFor(consumerId, s.identity.lifetime) : undefined;
}

/**
 * The tenant objects the provider's view wants for a consumer holding an identity, bound to the
 * current lifetime's user alone: applied once a renewal is in the log, this unbinds the user of the
 * replaced certificate, which the renewal had bound beside the new one (pure).
 */
export function forgeProviderTenant(consumerId: string, s: IncomingState): KubeObject[] {
  const user = grantedUserOf(consumerId, s);
  if (user === undefined) return [];
  const t = forgeTenantObjects(consumerId, [user]);
  return [t.namespace, t.quota, t.role, t.roleBinding] as KubeObject[];
}

export function createReplicationProjection(d: ReplicationProjectionDeps): EffectProjection {
  const memo = createAppliedMemo();
  const keyOf = (where: string, obj: KubeObject) => `${where}/${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}/${(obj as { status?: unknown }).status ? 'status' : 'spec'}`;
  async function effect(remote: string, views: RemoteViews, forced: boolean): Promise<void> {
    const out = views.outgoing?.state;
    if (out && withdrawsRequest(out)) await withdraw(remote, out as Peered, forced, views.outgoing!.updatedAt);
    else if (out && 'identity' in out && out.identity) {
      const where = `${remote}@${out.identity.certFingerprint}`;
      const namespaces = Object.keys(views.pods?.state.namespaces ?? {});
      const replicas = forgeConsumerReplicas(d, out, namespaces).filter((obj) => memo.changed(keyOf(where, obj), obj, forced));
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
    if (inc) await grants(remote, inc, forced);
    if (inc?.status === 'offered') {
      const offer = forgeResourceOffer({
        providerId: d.clusterId, providerName: d.clusterName, namespace: inc.identity.tenantNamespace,
        offerName: inc.offer.offerName, requestName: inc.requestName, consumerId: remote, resources: inc.offer.resources,
      }) as KubeObject;
      // Keyed by the identity's lifetime too: after an unpeering removed it, a re-peer that forges
      // the very same offer must still apply it.
      const where = `local@${inc.identity.certFingerprint}`;
      if (memo.changed(keyOf(where, offer), offer, forced)) {
        await d.kube.apply(offer);
        memo.record(keyOf(where, offer), offer);
      }
      await remoteNamespaces(remote, inc, forced);
    }
    const teardown = providerTeardownOf(inc);
    if (teardown) await tearDown(remote, views, teardown, forced);
  }

  /**
   * The consumer's half of unpeering at the provider: its request deleted there (which is what
   * the provider answers by withdrawing its offer). A forced unpeering whose provider does not
   * answer records that the request was left there.
   */
  async function withdraw(remote: string, out: Peered, forced: boolean, since: string): Promise<void> {
    const key = `withdraw/${remote}@${out.identity!.certFingerprint}`;
    if (!memo.changed(key, out.status, forced)) return;
    let reached = true;
    let overdue = false;
    try {
      const client = await d.providerClient(remote, out);
      await client.delete(GROUP_VERSION, 'ResourceRequest', REQUEST_NAME, out.identity!.tenantNamespace);
    } catch (e) {
      // Forced, or past the step's deadline (the node and its pods are gone already: only what the
      // provider holds is left, which the signed notice ends at a later contact).
      overdue = !(out as { force?: boolean }).force && Date.now() - Date.parse(since) > (d.withdrawDeadlineMs ?? WITHDRAW_DEADLINE_MS);
      if (!(((out as { force?: boolean }).force || overdue) && (gone(e) || e instanceof IdentitySecretInvalidError))) throw e;
      d.logger.warn('the provider could not be reached: its half of the peering is left to a later contact', { remoteClusterId: remote, overdue, error: e });
      reached = false;
    }
    // The key is about to be deleted: what it signs now is how the provider learns of it later.
    const notice = reached ? undefined : await d.signWithdrawal?.(remote, out.identity!.certFingerprint);
    await d.recordWithdrawal(remote, reached, notice, overdue);
    memo.record(key, out.status);
  }

  /**
   * The provider's half: the offer goes once the request is withdrawn; once the identity is
   * revoked, everything made for the consumer goes (its offloaded namespaces with their pods, the
   * tenant RBAC, the request), and the tenant namespace too unless this cluster's own outgoing
   * peering towards that cluster keeps its identity there.
   */
  async function tearDown(consumer: string, views: RemoteViews, what: 'offer' | 'all', forced: boolean): Promise<void> {
    const key = `teardown/${consumer}`;
    const tenantNeeded = usesTenantNamespace(views.outgoing?.state);
    const marker = { what, tenantNeeded, version: views.incoming?.version };
    if (!memo.changed(key, marker, forced)) return;
    const tenant = tenantNamespaceFor(consumer);
    const inc = views.incoming?.state;
    if (inc?.status === 'offerWithdrawn' && inc.reason === 'IncomingDisabled') {
      // The consumer reads why its offer went on its request: said here, the one place that writes
      // it, before the offer goes (the consumer looks at its request when it sees the offer deleted).
      await d.kube.applyStatus(forgeWithdrawnRequestStatus({
        namespace: inc.identity.tenantNamespace, requestName: inc.requestName, offerName: inc.offer.offerName, reason: inc.reason, consumerId: consumer,
      }) as KubeObject).catch((e: unknown) => { if ((e as { status?: number }).status !== 404) throw e; });
    }
    const offers = await d.kube.request<{ items?: KubeObject[] }>('GET', `/apis/${GROUP_VERSION}/namespaces/${tenant}/resourceoffers`).catch((e: unknown) => {
      if ((e as { status?: number }).status === 404) return { items: [] };
      throw e;
    });
    for (const o of offers.items ?? []) {
      if (isOwnOffer(o as never, d.clusterId, consumer) && o.metadata?.name) await d.kube.delete(GROUP_VERSION, 'ResourceOffer', o.metadata.name, tenant);
    }
    const selector = encodeURIComponent(`${LABELS.remoteClusterId}=${consumer},${OFFLOAD_LABELS.offloadedNamespace}=true`);
    const namespaces = await d.kube.request<{ items?: KubeObject[] }>('GET', `/api/v1/namespaces?labelSelector=${selector}`);
    for (const ns of namespaces.items ?? []) {
      const origin = ns.metadata?.annotations?.[OFFLOAD_ANNOTATIONS.originNamespace];
      // Only what this cluster made for that consumer: a namespace merely labelled alike stays.
      if (origin && isOwnRemoteNamespace(ns as never, consumer, origin)) await d.kube.delete('v1', 'Namespace', ns.metadata!.name!);
    }
    if (what === 'all') {
      if (tenantNeeded) {
        const t = forgeTenantObjects(consumer, []);
        for (const obj of [t.roleBinding, t.role, t.quota] as KubeObject[]) await d.kube.delete(obj.apiVersion!, obj.kind!, obj.metadata!.name!, tenant);
        await d.kube.delete(GROUP_VERSION, 'ResourceRequest', REQUEST_NAME, tenant);
      } else {
        await d.kube.delete('v1', 'Namespace', tenant);
      }
    }
    memo.record(key, marker);
  }

  /**
   * RBAC of a consumer's identity: the tenant bound to the current lifetime's user. With no identity
   * after one was granted (revoked, or peering again after that), every RoleBinding made for that
   * consumer is deleted (the tenant's and those of its offloaded namespaces), so no certificate of
   * an earlier lifetime is granted anything; only a binding to the next lifetime's user alone, which
   * the endpoint applies right before it signs that certificate, is left in place.
   */
  async function grants(consumer: string, inc: IncomingState, forced: boolean): Promise<void> {
    const tenant = forgeProviderTenant(consumer, inc);
    if (tenant.length > 0) {
      const key = `tenant/${consumer}`;
      if (!memo.changed(key, tenant, forced)) return;
      // The quota before the binding, as when the identity was first granted.
      for (const obj of tenant) await d.kube.apply(obj);
      memo.record(key, tenant);
      return;
    }
    if (inc.status !== 'revoked' && !(inc.status === 'tokenValidated' && inc.lastLifetime !== undefined)) return;
    const lastLifetime = inc.lastLifetime ?? 0;
    const key = `unbound/${consumer}`;
    const done = { status: inc.status, lastLifetime };
    if (!memo.changed(key, done, forced)) return;
    const next = identityUserFor(consumer, lastLifetime + 1);
    const selector = Object.entries(originLabels(consumer)).map(([k, v]) => `${k}=${v}`).join(',');
    const list = await d.kube.request<{ items: RoleBinding[] }>('GET', `/apis/rbac.authorization.k8s.io/v1/rolebindings?labelSelector=${encodeURIComponent(selector)}`);
    let removed = 0;
    for (const b of list.items) {
      if (namesOnly(b.subjects, next)) continue;
      // Only the binding as listed: one the endpoint re-applied meanwhile (for the next lifetime) stays.
      const path = `/apis/rbac.authorization.k8s.io/v1/namespaces/${encodeURIComponent(b.metadata.namespace)}/rolebindings/${encodeURIComponent(b.metadata.name)}`;
      try {
        await d.kube.request('DELETE', path, { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: b.metadata.resourceVersion } });
        removed += 1;
      } catch (e) {
        const code = (e as { status?: number }).status;
        if (code !== 404 && code !== 409) throw e;
      }
    }
    if (removed > 0) d.logger.info('RoleBindings of a consumer without an identity removed', { remoteClusterId: consumer, lastLifetime, removed });
    memo.record(key, done);
  }

  /**
   * The namespaces a consumer asked for: made (or kept as made) with their quota and RBAC, or
   * refused when something else holds the name. Each outcome is reported as a command.
   */
  async function remoteNamespaces(consumer: string, inc: Extract<IncomingState, { status: 'offered' }>, forced: boolean): Promise<void> {
    for (const n of Object.values(inc.namespaces ?? {})) {
      if (n.phase === 'Refused') continue;
      const objects = forgeRemoteNamespaceObjects({
        consumerId: consumer, namespace: n.namespace, remoteNamespace: n.remoteNamespace, offer: inc.offer.resources, users: [grantedUserOf(consumer, inc)!],
      });
      const all = [objects.namespace, objects.quota, objects.limitRange, objects.role, objects.roleBinding] as KubeObject[];
      const key = `ns/${consumer}@${inc.identity.certFingerprint}/${n.namespace}/${n.phase}`;
      if (!memo.changed(key, all, forced)) continue;
      if (n.phase === 'Received') {
        // Made here, or found made here before (a replay, a crash before the report); never adopted otherwise.
        let existing = await d.kube.get<KubeObject>('v1', 'Namespace', n.remoteNamespace);
        if (!existing) {
          try {
            await d.kube.create(objects.namespace as KubeObject);
          } catch (e) {
            if ((e as { status?: number }).status !== 409) throw e;
            existing = await d.kube.get<KubeObject>('v1', 'Namespace', n.remoteNamespace);
          }
        }
        if (existing && !isOwnRemoteNamespace(existing as never, consumer, n.namespace)) {
          d.logger.warn('a namespace that peerlog did not make holds the name asked for; not adopting it', { consumer, namespace: n.namespace, remoteNamespace: n.remoteNamespace });
          await d.recordNamespace(consumer, {
            namespace: n.namespace, remoteNamespace: n.remoteNamespace, created: false, reason: 'NamespaceExists',
            message: `namespace ${n.remoteNamespace} exists in the provider and was not made by peerlog for this cluster's namespace ${n.namespace}; it is never adopted`,
          });
          continue;
        }
      }
      for (const obj of all) await d.kube.apply(obj);
      if (n.phase === 'Received') await d.recordNamespace(consumer, { namespace: n.namespace, remoteNamespace: n.remoteNamespace, created: true });
      memo.record(key, all);
    }
  }
  return createEffectProjection({ name: REPLICATION, store: d.store, logger: d.logger, effect, kinds: ['outgoing', 'incoming', 'pods'], ...(d.live === undefined ? {} : { live: d.live }) });
}
