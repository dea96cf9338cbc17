// Control planes for authentication tests: a provider on beta and a consumer on alpha, each with
// its own cluster id (so its own topic, schema, system namespace and tenant namespaces).
import { randomUUID } from 'node:crypto';
import { loadConfig, type PeerlogConfig } from '../../src/config.js';
import { startControlPlane, type ControlPlane } from '../../src/control-plane.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createKubeClient, type KubeClient } from '../../src/adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../../src/adapters/kubernetes/kubeconfig.js';
import { createTokenStore } from '../../src/adapters/kubernetes/secrets.js';
import { dropSchema } from '../../src/adapters/postgres/datasource.js';
import { topicFor } from '../../src/adapters/kafka/client.js';
import { createLogger, type Logger } from '../../src/adapters/log/index.js';
import { consumerPorts } from '../../src/wiring/auth.js';
import { obtainIdentity, type ObtainedIdentity, type PeeringTarget } from '../../src/auth/consumer.js';
import { generateToken } from '../../src/auth/token.js';
import type { CsrPolicy } from '../../src/auth/policy.js';
import { tenantNamespaceFor } from '../../src/resources/names.js';
import { freePort, stackEnv, uniqueName } from './env.js';
import { shippedKubeconfig, shippedRbacAsked } from './rbac.js';
import { driversOf } from '../../src/runtime.js';

export interface Captured {
  readonly lines: string[];
  readonly logger: Logger;
}

/** A debug-level logger whose every line is kept, so tests can search what was logged. */
export function captureLogs(): Captured {
  const lines: string[] = [];
  const echo = Boolean(process.env.PEERLOG_TEST_LOGS);
  return { lines, logger: createLogger({ level: 'debug', write: (l) => { lines.push(l); if (echo) process.stderr.write(l + '\n'); } }) };
}

/**
 * A test plane's settings. Identities are signed through the Kubernetes CSR API, as on the stack,
 * and no CA key is given to peerlog; `{ caKey: caKeyOf(cluster) }` in `extra` pins the CA-key signer.
 */
export function clusterConfig(cluster: 'alpha' | 'beta', prefix: string, extra: Partial<Record<string, string | number>> = {}): PeerlogConfig {
  const env = stackEnv();
  const c = env.clusters[cluster];
  const clusterId = uniqueName(prefix);
  const namespace = typeof extra.namespace === 'string' ? extra.namespace : `${clusterId}-system`;
  // PEERLOG_TEST_RBAC=shipped: the control plane holds only the RBAC deploy/ ships.
  const kubeconfig = shippedRbacAsked() ? shippedKubeconfig(cluster, namespace, clusterId) : c.kubeconfig;
  return loadConfig({
    clusterId, clusterName: clusterId, kubeconfig, caCert: c.caCert,
    kafkaBrokers: env.kafkaBrokers.join(','), databaseUrl: env.databaseUrl, dbSchema: `t_${clusterId.replace(/-/g, '_')}`,
    // Each control plane serves its own virtual nodes' kubelet API on a fixed port of its own.
    authPort: 0, kubeletPort: freePort(), namespace: `${clusterId}-system`, foreignClusterSelector: `peerlog.dev/test=${clusterId}`, ...extra,
  }, { kubernetes: true, ca: true });
}

/** The stack cluster's client-CA key, for tests of the CA-key signer (`--ca-key`). */
export function caKeyOf(cluster: 'alpha' | 'beta'): string {
  return stackEnv().clusters[cluster].caKey;
}

/** A client of a stack cluster as its admin: what tests clean up with, whatever the planes may do. */
export function adminKube(cluster: 'alpha' | 'beta'): KubeClient {
  return createKubeClient(kubeConfigFromFile(stackEnv().clusters[cluster].kubeconfig));
}

export interface TestProvider {
  readonly cp: ControlPlane;
  readonly config: PeerlogConfig;
  readonly token: string;
  readonly logs: Captured;
  readonly kube: KubeClient;
  cleanup(consumerIds?: readonly string[]): Promise<void>;
}

/** Drops a control plane's schema and topic. */
export async function dropLog(config: PeerlogConfig, rt: Runtime): Promise<void> {
  await dropSchema(config.databaseUrl, config.dbSchema);
  const admin = driversOf(rt).kafka.admin();
  await admin.connect();
  try { await admin.deleteTopics({ topics: [topicFor(config.clusterId)] }); } catch { /* never created */ }
  await admin.disconnect();
}

export async function startProvider(opts: { prefix?: string; burst?: number; policy?: CsrPolicy; settings?: Partial<Record<string, string | number>> } = {}): Promise<TestProvider> {
  const config = clusterConfig('beta', opts.prefix ?? 'prov', { authFailureBurst: opts.burst ?? 100_000, ...opts.settings });
  const logs = captureLogs();
  const cp = await startControlPlane(config, logs.logger, opts.policy ? { policy: opts.policy } : {});
  const { token } = await createTokenStore(cp.kube, config.systemNamespace).ensure(generateToken);
  return {
    cp, config, token, logs, kube: cp.kube,
    async cleanup(consumerIds = []) {
      await cp.stop();
      await dropLog(config, cp.runtime);
      // As the admin: under PEERLOG_TEST_RBAC=shipped the control plane may not delete all it made.
      const admin = adminKube('beta');
      for (const ns of [config.systemNamespace, ...consumerIds.map(tenantNamespaceFor)]) await admin.delete('v1', 'Namespace', ns);
      // The ForeignClusters the provider made for the consumers it authenticated.
      for (const id of consumerIds) {
        const list = await admin.request<{ items: { metadata: { name: string } }[] }>('GET', `/apis/peering.peerlog.dev/v1alpha1/foreignclusters?labelSelector=${encodeURIComponent(`peerlog.dev/remote-cluster-id=${id}`)}`);
        for (const fc of list.items) await admin.delete('peering.peerlog.dev/v1alpha1', 'ForeignCluster', fc.metadata.name);
      }
    },
  };
}

export interface TestConsumer {
  readonly config: PeerlogConfig;
  readonly rt: Runtime;
  readonly kube: KubeClient;
  readonly logs: Captured;
  obtain(provider: TestProvider, token?: string, target?: Partial<PeeringTarget>): Promise<ObtainedIdentity>;
  cleanup(providerIds?: readonly string[]): Promise<void>;
}

export async function openConsumer(prefix = 'cons'): Promise<TestConsumer> {
  const config = clusterConfig('alpha', prefix);
  const logs = captureLogs();
  const rt = await openRuntime(config, logs.logger);
  const relay = rt.relay();
  await relay.start();
  const kube = createKubeClient(kubeConfigFromFile(config.kubeconfig!));
  const ports = consumerPorts(config, rt, kube, logs.logger);
  return {
    config, rt, kube, logs,
    obtain: (provider, token = provider.token, target = {}) => obtainIdentity(ports, {
      remoteClusterId: provider.config.clusterId, remoteClusterName: provider.config.clusterName, authUrl: provider.cp.url, ...target,
    }, token, { actor: { kind: 'cli', name: 'test' }, correlationId: randomUUID() }),
    async cleanup(providerIds = []) {
      await relay.stop();
      await rt.close();
      await dropLog(config, rt);
      const admin = adminKube('alpha');
      for (const id of providerIds) await admin.delete('v1', 'Namespace', tenantNamespaceFor(id));
    },
  };
}

export interface RawAnswer { readonly status: number; readonly text: string; readonly headers: Record<string, string | string[] | undefined> }

/** Any request at all, as an attacker or a broken client would send it (TLS unverified). */
export function rawRequest(url: string, path: string, opts: { method?: string; body?: string | Buffer; headers?: Record<string, string>; agent?: import('node:https').Agent } = {}): Promise<RawAnswer> {
  return import('node:https').then(({ request }) => new Promise((resolve, reject) => {
    const req = request(new URL(path, url), {
      method: opts.method ?? 'POST', rejectUnauthorized: false, agent: opts.agent ?? false, headers: opts.headers ?? {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  }));
}
