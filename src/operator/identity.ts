// The consumer's identities towards its providers, for the operator: the client to each provider
// (built from the identity Secret's values and the log, never from a kubeconfig), renewal once a
// certificate is due, and whether the provider still answers the current identity (what the
// virtual node's Ready follows).
import { randomUUID } from 'node:crypto';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../adapters/log/index.js';
import { KubernetesError, type KubeClient } from '../adapters/kubernetes/client.js';
import type { Actor } from '../events/catalogue.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import { renewIdentityIfDue, type ConsumerPorts } from '../auth/consumer.js';
import { IdentitySecretInvalidError } from '../auth/errors.js';
import { identityClient } from '../auth/wire.js';
import { GROUP_VERSION } from '../resources/constants.js';
import { REQUEST_NAME, type ProviderHealth } from '../resources/objects.js';
import type { OutgoingDetail } from '../resources/status.js';

type Peered = Extract<OutgoingState, { identity: unknown }>;

export interface IdentityKeeperDeps {
  readonly kube: KubeClient;
  readonly rt: Runtime;
  readonly consumer: ConsumerPorts;
  /** This cluster's id: the user its identities are issued to. */
  readonly clusterId: string;
  readonly log: Logger;
  /** The ForeignCluster's detail (a condition reason and message the log does not hold). */
  readonly detail: { set(remote: string, detail: OutgoingDetail): void; clear(remote: string, reason: string): void };
  status(remote: string): void;
  /** Wakes the remote's reconciler (a renewal came due). */
  wake(remote: string): void;
  /** The provider endpoint's pinned certificate fingerprint, if known. */
  pinOf(remote: string): string | undefined;
}

export interface IdentityKeeper {
  client(remote: string, state: Peered): Promise<KubeClient>;
  /** Renews the identity once it is due; a failed renewal leaves the current one in force and is retried. */
  ensureRenewed(remote: string, state: Peered): Promise<OutgoingState>;
  /** Whether the provider answers the current identity; a change also refreshes the ForeignCluster's status. */
  health(remote: string): Promise<ProviderHealth>;
  stop(): void;
}

const CONTROLLER: Actor = { kind: 'controller', name: 'peerlog-operator' };
const RENEWAL_RETRY_MS = 10_000;
/** Timers hold at most ~24 days; a later due date is looked at again after an hour. */
const MAX_TIMER_MS = 3_600_000;

export function createIdentityKeeper(d: IdentityKeeperDeps): IdentityKeeper {
  const clients = new Map<string, { fingerprint: string; kube: KubeClient }>();
  /** When each remote's current certificate is due for renewal, and the timer that wakes it then. */
  const renewals = new Map<string, { certFingerprint: string; dueAt: number; timer: NodeJS.Timeout }>();
  const lastHealth = new Map<string, string>();

  async function client(remote: string, state: Peered): Promise<KubeClient> {
    const identity = state.identity!;
    const cached = clients.get(remote);
    if (cached && cached.fingerprint === identity.certFingerprint) return cached.kube;
    let kube: KubeClient;
    try {
      kube = await identityClient(d.kube, {
        remoteClusterId: remote, remoteClusterName: state.remote.clusterName, certFingerprint: identity.certFingerprint,
        apiServerUrl: identity.apiServerUrl, tenantNamespace: identity.tenantNamespace, consumerClusterId: d.clusterId,
      });
    } catch (e) {
      if (e instanceof IdentitySecretInvalidError) d.detail.set(remote, { reason: 'IdentitySecretInvalid', message: e.message });
      throw e;
    }
    d.detail.clear(remote, 'IdentitySecretInvalid');
    clients.set(remote, { fingerprint: identity.certFingerprint, kube });
    return kube;
  }

  function wakeAt(remote: string, certFingerprint: string, dueAt: number): void {
    clearTimeout(renewals.get(remote)?.timer);
    const timer = setTimeout(() => d.wake(remote), Math.min(Math.max(dueAt - Date.now(), 0) + 50, MAX_TIMER_MS));
    renewals.set(remote, { certFingerprint, dueAt, timer });
  }

  async function ensureRenewed(remote: string, state: Peered): Promise<OutgoingState> {
    const identity = state.identity!;
    const known = renewals.get(remote);
    if (known && known.certFingerprint === identity.certFingerprint && Date.now() < known.dueAt) return state;
    const pin = d.pinOf(remote);
    try {
      const outcome = await renewIdentityIfDue(d.consumer, { remoteClusterId: remote, authUrl: state.remote.authUrl, ...(pin ? { authFingerprint: pin } : {}) },
        { actor: CONTROLLER, correlationId: randomUUID() });
      d.detail.clear(remote, 'IdentityRenewalFailed');
      wakeAt(remote, outcome.renewed ? outcome.certFingerprint : identity.certFingerprint, Date.parse(outcome.dueAt));
      return outcome.renewed ? await d.rt.bus.loadOutgoing(remote) : state;
    } catch (e) {
      const reason = e instanceof IdentitySecretInvalidError ? 'IdentitySecretInvalid' : 'IdentityRenewalFailed';
      d.detail.set(remote, { reason, message: (e as Error).message });
      // The current certificate may still work: the peering goes on, and the renewal is tried again.
      d.log.warn('identity renewal did not succeed; retrying', { remoteClusterId: remote, notAfter: identity.notAfter, retryInMs: RENEWAL_RETRY_MS, error: e });
      wakeAt(remote, identity.certFingerprint, Date.now() + RENEWAL_RETRY_MS);
      return state;
    }
  }

  /** An authenticated read of this cluster's request in its tenant namespace at the provider. */
  async function probe(remote: string): Promise<ProviderHealth> {
    const state = await d.rt.bus.loadOutgoing(remote);
    if (!('identity' in state) || !state.identity) return { ready: false, reason: 'ProviderUnauthorized', message: 'this cluster holds no identity towards the provider' };
    const { notAfter, tenantNamespace } = state.identity;
    const expired = Date.parse(notAfter) <= Date.now();
    try {
      const remoteClient = await client(remote, state);
      await remoteClient.get(GROUP_VERSION, 'ResourceRequest', REQUEST_NAME, tenantNamespace);
      return { ready: true };
    } catch (e) {
      if (e instanceof IdentitySecretInvalidError) return { ready: false, reason: 'IdentitySecretInvalid', message: e.message };
      const code = e instanceof KubernetesError ? e.status : 0;
      if (code === 401 || code === 403) {
        return expired
          ? { ready: false, reason: 'IdentityExpired', message: `the identity's certificate expired at ${notAfter} and was not renewed; the provider answers ${code}` }
          : { ready: false, reason: 'ProviderUnauthorized', message: `the provider's API server answers ${code} to this cluster's identity` };
      }
      if (code === 0 || code >= 500) return { ready: false, reason: 'ProviderUnreachable', message: (e as Error).message.slice(0, 500) };
      return { ready: true };
    }
  }

  return {
    client,
    ensureRenewed,
    async health(remote) {
      const health = await probe(remote);
      const key = health.ready ? 'Ready' : health.reason;
      if (lastHealth.get(remote) !== key) { lastHealth.set(remote, key); d.status(remote); }
      return health;
    },
    stop() {
      for (const r of renewals.values()) clearTimeout(r.timer);
      renewals.clear();
    },
  };
}
