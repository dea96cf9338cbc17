// bench/peering: N peerings on the local stack, each a fresh consumer (so a fresh tenant on the
// provider): time from applying the ForeignCluster to its virtual node Ready, p50 and p99, each
// phase's time from the consumer's event log, and the same Kubernetes and X.509 work done directly
// by the raw client in the same run (the floor any control plane pays), as a ratio.
// Usage: npm run bench:peering -- [--peerings 20]
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadConfig, type PeerlogConfig } from '../../src/config.js';
import { startControlPlane, type ControlPlane } from '../../src/control-plane.js';
import { silentLogger } from '../../src/adapters/log/index.js';
import { createKubeClient, type KubeClient, type KubeObject } from '../../src/adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../../src/adapters/kubernetes/kubeconfig.js';
import { createTokenStore } from '../../src/adapters/kubernetes/secrets.js';
import { dropSchema } from '../../src/adapters/postgres/datasource.js';
import { topicFor } from '../../src/adapters/kafka/client.js';
import { createCsr, generateKeyPair, importKeyPair, inspectCsr, issueCertificate } from '../../src/adapters/x509/index.js';
import { generateToken } from '../../src/auth/token.js';
import { forgeTenantObjects } from '../../src/resources/tenant.js';
import { forgeResourceOffer, forgeResourceRequest } from '../../src/resources/objects.js';
import { forgeLease, forgeVirtualNode, forgeVirtualNodeStatus } from '../../src/projections/virtual-kubelet/forge.js';
import { identityCommonNameFor, tenantNamespaceFor, virtualNodeNameFor } from '../../src/resources/names.js';
import { GROUP_VERSION, PEERS_GROUP } from '../../src/resources/constants.js';
import { loadLayout, stackEnv } from '../../src/stack/config.js';
import { driversOf } from '../../src/runtime.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const PEERINGS = arg('peerings', 20);
const layout = loadLayout();
const env = stackEnv(layout);
const run = Date.now().toString(36);

function planeConfig(cluster: 'alpha' | 'beta', id: string): PeerlogConfig {
  const P = cluster.toUpperCase();
  return loadConfig({
    clusterId: id, kubeconfig: env[`${P}_KUBECONFIG`], caCert: env[`${P}_CA_CERT`], caKey: env[`${P}_CA_KEY`],
    kafkaBrokers: env.KAFKA_BROKERS, databaseUrl: env.DATABASE_URL, dbSchema: id.replace(/-/g, '_'), authPort: 0,
    namespace: `${id}-system`, foreignClusterSelector: `peerlog.dev/bench=${id}`,
    // The stack's port for the cluster's kubelet API: one plane per cluster runs at a time (the
    // consumers one after another), and planes-down above freed it.
    kubeletPort: Number(env[`${P}_KUBELET_PORT`]),
  }, { kubernetes: true, ca: true });
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const PHASES = ['PeeringRequested', 'IdentityRequested', 'CertIssued', 'ResourceRequested', 'OfferReceived', 'OfferAccepted', 'VirtualNodeCreated', 'VirtualNodeReady'] as const;

async function waitReady(kube: KubeClient, nodeName: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await kube.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>('v1', 'Node', nodeName);
    if (n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`node ${nodeName} not Ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function cleanup(planes: ControlPlane[], alpha: KubeClient, beta: KubeClient): Promise<void> {
  for (const p of planes) {
    await p.stop();
    await dropSchema(p.config.databaseUrl, p.config.dbSchema);
    const admin = driversOf(p.runtime).kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topicFor(p.config.clusterId)] }).catch(() => undefined);
    await admin.disconnect();
  }
  const kubectl = (kc: string, args: string[]) => spawnSync(env.KUBECTL!, ['--kubeconfig', kc, ...args, '--wait=false', '--ignore-not-found'], { encoding: 'utf8' });
  const unfinalize = (kc: string, selector: string) => {
    const names = spawnSync(env.KUBECTL!, ['--kubeconfig', kc, 'get', 'foreignclusters', '-l', selector, '-o', 'name'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const n of names) spawnSync(env.KUBECTL!, ['--kubeconfig', kc, 'patch', n, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  };
  for (const p of planes) {
    unfinalize(env.ALPHA_KUBECONFIG!, `peerlog.dev/bench=${p.config.clusterId}`);
    kubectl(env.ALPHA_KUBECONFIG!, ['delete', 'foreignclusters,namespaces,nodes', '-l', `peerlog.dev/remote-cluster-id=${p.config.clusterId}`]);
    kubectl(env.ALPHA_KUBECONFIG!, ['delete', 'foreignclusters', '-l', `peerlog.dev/bench=${p.config.clusterId}`]);
    kubectl(env.BETA_KUBECONFIG!, ['delete', 'foreignclusters,namespaces', '-l', `peerlog.dev/remote-cluster-id=${p.config.clusterId}`]);
    for (const ns of [p.config.systemNamespace]) { kubectl(env.ALPHA_KUBECONFIG!, ['delete', 'namespace', ns]); kubectl(env.BETA_KUBECONFIG!, ['delete', 'namespace', ns]); }
  }
  void alpha; void beta;
}

/** The same writes a peering makes, done straight with the client and X.509: no log, no watches. */
async function rawPeering(i: number, alpha: KubeClient, beta: KubeClient, caCertPem: string, caKeys: Awaited<ReturnType<typeof importKeyPair>>): Promise<number> {
  const consumer = `raw-${run}-${i}`;
  const started = performance.now();
  const t = forgeTenantObjects(consumer, [identityCommonNameFor(consumer)]);
  await beta.apply(t.namespace as never); await beta.apply(t.role as never); await beta.apply(t.roleBinding as never);
  const keys = await generateKeyPair();
  const csr = await inspectCsr(await createCsr({ commonName: identityCommonNameFor(consumer), organizations: [PEERS_GROUP] }, keys));
  const now = Date.now();
  await issueCertificate({ subject: csr.subject, publicKey: csr.publicKeyDer, caCertPem, caKeys, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000), usage: 'client' });
  await alpha.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: tenantNamespaceFor(`rawp-${run}`) } } as KubeObject);
  await alpha.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `identity-${i}`, namespace: tenantNamespaceFor(`rawp-${run}`) }, stringData: { kubeconfig: 'x' } } as KubeObject);
  const ns = tenantNamespaceFor(consumer);
  await beta.apply(forgeResourceRequest({ consumerId: consumer, consumerName: consumer, namespace: ns }) as KubeObject);
  const resources = { cpu: '4', memory: '8Gi', pods: '110' };
  await beta.apply(forgeResourceOffer({ providerId: 'raw', providerName: 'raw', namespace: ns, offerName: 'offer-raw', requestName: 'peerlog-request', consumerId: consumer, resources }) as KubeObject);
  const nodeName = virtualNodeNameFor(consumer);
  const node = await alpha.apply(forgeVirtualNode({ nodeName, remoteClusterId: consumer }) as KubeObject);
  await alpha.applyStatus(forgeVirtualNodeStatus({ nodeName, remoteClusterName: consumer, resources, now: new Date().toISOString(), kubelet: { address: '127.0.0.1', port: 10250 } }) as KubeObject);
  await alpha.apply(forgeLease({ nodeName, nodeUid: node.metadata?.uid, now: new Date().toISOString() }) as KubeObject);
  const ms = performance.now() - started;
  await alpha.delete('v1', 'Node', nodeName);
  await beta.delete('v1', 'Namespace', ns);
  return ms;
}

/** Waits until every projection of a control plane runs (their consumer groups joined, at the log's end). */
async function projectionsRunning(cp: ControlPlane): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await cp.readiness()).checks.projections === 'ok') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the projections of ${cp.config.clusterId} did not start within 30 s`);
}

async function main(): Promise<void> {
  spawnSync(process.execPath, [new URL('../../src/stack/cli.js', import.meta.url).pathname, 'planes-down'], { stdio: 'inherit' });
  const alpha = createKubeClient(kubeConfigFromFile(env.ALPHA_KUBECONFIG!));
  const beta = createKubeClient(kubeConfigFromFile(env.BETA_KUBECONFIG!));
  const provider = await startControlPlane(planeConfig('beta', `bench-p-${run}`), silentLogger);
  const planes: ControlPlane[] = [provider];
  const { token } = await createTokenStore(provider.kube, provider.config.systemNamespace).ensure(generateToken);
  await projectionsRunning(provider);
  const totals: number[] = [];
  // Time from the previous step to this event (PeeringRequested: from the apply).
  const phases = new Map<string, number[]>(PHASES.map((p) => [p, []]));
  try {
    for (let i = 0; i < PEERINGS; i++) {
      const consumer = await startControlPlane(planeConfig('alpha', `bench-c-${run}-${i}`), silentLogger);
      planes.push(consumer);
      // Timed from the apply to a running control plane: its projections joined their consumer groups.
      await projectionsRunning(consumer);
      await alpha.apply({
        apiVersion: 'v1', kind: 'Secret',
        metadata: { name: 'provider-token', namespace: consumer.config.systemNamespace, labels: { 'peerlog.dev/remote-cluster-id': provider.config.clusterId } },
        stringData: { token, authUrl: provider.url },
      } as KubeObject);
      const started = performance.now();
      const appliedAt = Date.now();
      await alpha.apply({
        apiVersion: GROUP_VERSION, kind: 'ForeignCluster',
        metadata: { name: `${provider.config.clusterId}-${i}`, labels: { 'peerlog.dev/bench': consumer.config.clusterId } },
        spec: { clusterId: provider.config.clusterId, clusterName: provider.config.clusterName, authUrl: provider.url, outgoing: 'Enabled',
          tokenSecretRef: { name: 'provider-token', namespace: consumer.config.systemNamespace } },
      } as KubeObject);
      await waitReady(alpha, virtualNodeNameFor(provider.config.clusterId));
      totals.push(performance.now() - started);
      // VirtualNodeReady is recorded just after the node's Ready status is written: wait for it.
      let at = new Map<string, number>();
      for (let tries = 0; tries < 200 && !at.has('VirtualNodeReady'); tries++) {
        const events = await consumer.runtime.queries.eventsAfter(`outgoing-${provider.config.clusterId}`, 0);
        at = new Map(events.map((e) => [e.type, Date.parse(e.occurredAt)]));
        if (!at.has('VirtualNodeReady')) await new Promise((r) => setTimeout(r, 10));
      }
      phases.get('PeeringRequested')!.push(at.get('PeeringRequested')! - appliedAt);
      for (let k = 1; k < PHASES.length; k++) phases.get(PHASES[k]!)!.push(at.get(PHASES[k]!)! - at.get(PHASES[k - 1]!)!);
      process.stderr.write(`peering ${i + 1}/${PEERINGS}: ${totals[i]!.toFixed(0)} ms\n`);
      // The next consumer peers with the same provider: this one's node must go, or names collide.
      await consumer.stop();
      await alpha.delete('v1', 'Node', virtualNodeNameFor(provider.config.clusterId));
    }
    const caCertPem = readFileSync(env.BETA_CA_CERT!, 'utf8');
    const caKeys = await importKeyPair(readFileSync(env.BETA_CA_KEY!, 'utf8'));
    const raw: number[] = [];
    for (let i = 0; i < PEERINGS; i++) raw.push(await rawPeering(i, alpha, beta, caCertPem, caKeys));
    await alpha.delete('v1', 'Namespace', tenantNamespaceFor(`rawp-${run}`));

    const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
    process.stdout.write(`\nbench/peering: ${PEERINGS} peerings alpha → beta, each a fresh consumer and tenant (run ${run}, ${new Date().toISOString()})\n\n`);
    process.stdout.write(`${'phase (from the event log)'.padEnd(44)}${'p50'.padStart(9)}${'p99'.padStart(9)}\n`);
    for (const [name, xs] of phases) process.stdout.write(`  ${`→ ${name}`.padEnd(42)}${fmt(percentile(xs, 50))}${fmt(percentile(xs, 99))}\n`);
    process.stdout.write(`${'apply → virtual node Ready (wall clock)'.padEnd(44)}${fmt(percentile(totals, 50))}${fmt(percentile(totals, 99))}   targets: p50 ≤ 600 ms, p99 ≤ 1200 ms\n`);
    process.stdout.write(`${'raw: the same API writes and signing'.padEnd(44)}${fmt(percentile(raw, 50))}${fmt(percentile(raw, 99))}\n`);
    process.stdout.write(`ratio raw / peerlog (p50): ${(percentile(raw, 50) / percentile(totals, 50) * 100).toFixed(0)}%\n`);
  } finally {
    await cleanup(planes, alpha, beta);
  }
}

main().then(() => process.exit(0), (e: unknown) => { process.stderr.write(`bench/peering: ${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
