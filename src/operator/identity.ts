// The consumer's identities towards its providers: the client to each provider (built from the
// identity Secret's values and the log, never from a kubeconfig) and whether the provider still
// answers the current identity (what the virtual node's Ready follows, once reported to the log).
import type { KubeClient } from '../adapters/kubernetes/client.js';
import { KubernetesError } from '../adapters/kubernetes/client.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import { IdentitySecretInvalidError } from '../auth/errors.js';
import { identityClient } from '../auth/wire.js';
import { GROUP_VERSION } from '../resources/constants.js';
import { REQUEST_NAME } from '../resources/objects.js';
import type { ProviderHealth } from '../projections/virtual-kubelet/forge.js';

export type Peered = Extract<OutgoingState, { identity: unknown }>;

export interface IdentityKeeper {
  /** A client to the provider as the current identity; throws IdentitySecretInvalid when the Secret is refused. */
  client(remote: string, state: Peered): Promise<KubeClient>;
  /** An authenticated read of this cluster's request in its tenant namespace at the provider. */
  health(remote: string, state: OutgoingState, now?: Date): Promise<ProviderHealth>;
  /** Drops the client of a peering that ended. */
  forget(remote: string): void;
}

export function createIdentityKeeper(d: { kube: KubeClient; clusterId: string }): IdentityKeeper {
  const clients = new Map<string, { fingerprint: string; kube: KubeClient }>();

  async function client(remote: string, state: Peered): Promise<KubeClient> {
    const identity = state.identity!;
    const cached = clients.get(remote);
    if (cached && cached.fingerprint === identity.certFingerprint) return cached.kube;
    const kube = await identityClient(d.kube, {
      remoteClusterId: remote, remoteClusterName: state.remote.clusterName, certFingerprint: identity.certFingerprint,
      apiServerUrl: identity.apiServerUrl, tenantNamespace: identity.tenantNamespace, consumerClusterId: d.clusterId,
    });
    clients.set(remote, { fingerprint: identity.certFingerprint, kube });
    return kube;
  }

  async function health(remote: string, state: OutgoingState, now = new Date()): Promise<ProviderHealth> {
    if (!('identity' in state) || !state.identity) return { ready: false, reason: 'ProviderUnauthorized', message: 'this cluster holds no identity towards the provider' };
    const { notAfter, tenantNamespace } = state.identity;
    const expired = Date.parse(notAfter) <= now.getTime();
    try {
      const remoteClient = await client(remote, state as Peered);
      await remoteClient.get(GROUP_VERSION, 'ResourceRequest', REQUEST_NAME, tenantNamespace);
      return { ready: true };
    } catch (e) {
      if (e instanceof IdentitySecretInvalidError) return { ready: false, reason: 'IdentitySecretInvalid', message: e.message.slice(0, 1000) };
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

  return { client, health, forget: (remote) => { clients.delete(remote); } };
}
