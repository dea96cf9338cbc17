// bench/offload: N pods bound to a virtual node at once, on the local stack. The consumer is a real
// `peerlog serve` child process (so its peak RSS is its own); the provider runs in this process.
// Measured by this process's own watches of both clusters: bind → twin created in the provider and
// twin Running → local pod Running (p50, p99), the time until all N are Running locally, and the
// consumer's peak RSS; beside the same N pod creates done straight on beta with the raw client in
// the same run (their latency, and the time until beta's scheduler and kwok have them all Running).
// Usage: npm run bench:offload -- [--pods 1000] [--width 32] [--cpu-prof DIR]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type PeerlogConfig } from '../../src/config.js';
import { startControlPlane, type ControlPlane } from '../../src/control-plane.js';
import { silentLogger } from '../../src/adapters/log/index.js';
import { createKubeClient, type KubeClient, type KubeObject } from '../../src/adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../../src/adapters/kubernetes/kubeconfig.js';
import { createTokenStore } from '../../src/adapters/kubernetes/secrets.js';
import { dropSchema } from '../../src/adapters/postgres/datasource.js';
import { topicFor } from '../../src/adapters/kafka/client.js';
import { generateToken } from '../../src/auth/token.js';
import { remoteNamespaceFor, tenantNamespaceFor, virtualNodeNameFor } from '../../src/resources/names.js';
import { GROUP_VERSION } from '../../src/resources/constants.js';
import { loadLayout, stackEnv } from '../../src/stack/config.js';
import { forgeKwokNode } from '../../src/stack/nodes.js';
import { driversOf } from '../../src/runtime.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function textArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const PODS = arg('pods', 1000);
/** Concurrent creates, the same for the bound pods on alpha and the raw pods on beta. */
const WIDTH = arg('width', 32);
const CPU_PROF = textArg('cpu-prof');
const layout = loadLayout();
const env = stackEnv(layout);
const run = Date.now().toString(36);
const providerId = `bench-op-${run}`;
const consumerId = `bench-oc-${run}`;
const bin = new URL('../../../bin/peerlog', import.meta.url).pathname;

/** Room on beta for the twins and the raw pods (the stack's own workers hold 330 pods). */
const EXTRA_NODES = Array.from({ length: Math.max(1, Math.ceil((2 * PODS) / 1000)) }, (_, i) => `bench-${run}-worker-${i + 1}`);

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

type Pod = KubeObject & { spec?: { nodeName?: string }; status?: { phase?: string } };

/** A pod of the benchmark: tiny requests (the provider's quota counts them), optionally bound. */
function benchPod(namespace: string, name: string, nodeName?: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: 'bench' } },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      tolerations: [{ key: 'virtual-node.peerlog.dev/not-allowed', operator: 'Exists', effect: 'NoExecute' }],
      containers: [{ name: 'main', image: 'registry.example/bench:1', resources: { requests: { cpu: '1m', memory: '1Mi' } } }],
    },
  } as KubeObject;
}

/** First time (performance.now()) each pod of a namespace was seen at all, and seen Running. */
function track(kube: KubeClient, namespace: string) {
  const seen = new Map<string, number>();
  const running = new Map<string, number>();
  const informer = kube.informer<Pod>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`);
  const saw = (p: Pod) => {
    const name = p.metadata?.name;
    if (!name) return;
    const now = performance.now();
    if (!seen.has(name)) seen.set(name, now);
    if (p.status?.phase === 'Running' && !running.has(name)) running.set(name, now);
  };
  informer.on('add', saw);
  informer.on('update', saw);
  return { seen, running, start: () => informer.start(), stop: () => informer.stop() };
}

/** Creates the pods through a pool of WIDTH; the time each create returned, and its latency. */
async function createAll(kube: KubeClient, pods: readonly KubeObject[]): Promise<{ done: Map<string, number>; latency: number[]; started: number }> {
  const done = new Map<string, number>();
  const latency: number[] = [];
  const started = performance.now();
  await pool(pods, WIDTH, async (p) => {
    const t = performance.now();
    await kube.create(p);
    const now = performance.now();
    latency.push(now - t);
    done.set(p.metadata!.name!, now);
  });
  return { done, latency, started };
}

/** Peak resident set of a process, from the kernel (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function startConsumer(logFile: string): ChildProcess {
  const out = openSync(logFile, 'a');
  const nodeArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  return spawn(process.execPath, [...nodeArgs, bin, 'serve', '--log-level', 'warn'], {
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      PEERLOG_CLUSTER_ID: consumerId, PEERLOG_KUBECONFIG: env.ALPHA_KUBECONFIG, PEERLOG_CA_CERT: env.ALPHA_CA_CERT, PEERLOG_CA_KEY: env.ALPHA_CA_KEY,
      PEERLOG_KAFKA_BROKERS: env.KAFKA_BROKERS, PEERLOG_DATABASE_URL: env.DATABASE_URL, PEERLOG_DB_SCHEMA: consumerId.replace(/-/g, '_'),
      PEERLOG_AUTH_PORT: '0', PEERLOG_NAMESPACE: `${consumerId}-system`, PEERLOG_FOREIGN_CLUSTER_SELECTOR: `peerlog.dev/bench=${consumerId}`,
    },
  });
}

async function stopConsumer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
}

function providerConfig(): PeerlogConfig {
  return loadConfig({
    clusterId: providerId, kubeconfig: env.BETA_KUBECONFIG, caCert: env.BETA_CA_CERT, caKey: env.BETA_CA_KEY,
    kafkaBrokers: env.KAFKA_BROKERS, databaseUrl: env.DATABASE_URL, dbSchema: providerId.replace(/-/g, '_'), authPort: 0,
    namespace: `${providerId}-system`, foreignClusterSelector: `peerlog.dev/bench=${providerId}`, sharingPercent: 100,
  }, { kubernetes: true, ca: true });
}

const kubectl = (kc: string, args: string[]) => spawnSync(env.KUBECTL!, ['--kubeconfig', kc, ...args], { encoding: 'utf8' });

/** Force-deletes a namespace's pods (nothing runs a kubelet for them any more) and the namespace, and waits until it is gone. */
async function removeNamespace(kube: KubeClient, ns: string): Promise<void> {
  const force = { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 };
  await kube.request('DELETE', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, force).catch(() => undefined);
  await kube.delete('v1', 'Namespace', ns).catch(() => undefined);
  await until(`namespace ${ns} gone`, 180_000, async () => {
    if (!(await kube.get('v1', 'Namespace', ns))) return true;
    await kube.request('DELETE', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, force).catch(() => undefined);
    return undefined;
  }, 1000);
}

async function cleanup(alpha: KubeClient, beta: KubeClient, provider: ControlPlane | undefined, child: ChildProcess | undefined, namespaces: { alpha: string[]; beta: string[] }): Promise<void> {
  if (child) await stopConsumer(child);
  if (provider) await provider.stop();
  for (const name of kubectl(env.ALPHA_KUBECONFIG!, ['get', 'foreignclusters', '-l', `peerlog.dev/bench=${consumerId}`, '-o', 'name']).stdout.split('\n').filter(Boolean)) {
    kubectl(env.ALPHA_KUBECONFIG!, ['patch', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  }
  kubectl(env.ALPHA_KUBECONFIG!, ['delete', 'foreignclusters', '-l', `peerlog.dev/bench=${consumerId}`, '--wait=false', '--ignore-not-found']);
  await alpha.delete('v1', 'Node', virtualNodeNameFor(providerId)).catch(() => undefined);
  await Promise.all([
    ...[...namespaces.alpha, `${consumerId}-system`].map((ns) => removeNamespace(alpha, ns)),
    ...[...namespaces.beta, tenantNamespaceFor(consumerId), `${providerId}-system`].map((ns) => removeNamespace(beta, ns)),
  ]);
  for (const n of EXTRA_NODES) await beta.delete('v1', 'Node', n).catch(() => undefined);
  for (const [id, dbSchema] of [[consumerId, consumerId.replace(/-/g, '_')], [providerId, providerId.replace(/-/g, '_')]] as const) {
    await dropSchema(env.DATABASE_URL!, dbSchema).catch(() => undefined);
    if (provider) {
      const admin = driversOf(provider.runtime).kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topicFor(id)] }).catch(() => undefined);
      await admin.disconnect();
    }
  }
}

async function main(): Promise<void> {
  spawnSync(process.execPath, [new URL('../../src/stack/cli.js', import.meta.url).pathname, 'planes-down'], { stdio: 'inherit' });
  const alpha = createKubeClient(kubeConfigFromFile(env.ALPHA_KUBECONFIG!));
  const beta = createKubeClient(kubeConfigFromFile(env.BETA_KUBECONFIG!));
  const ns = `bench-${run}`;
  const remoteNs = remoteNamespaceFor(ns, consumerId);
  const rawNs = `bench-raw-${run}`;
  const namespaces = { alpha: [ns], beta: [remoteNs, rawNs] };
  let provider: ControlPlane | undefined;
  let child: ChildProcess | undefined;
  const logFile = join(tmpdir(), `peerlog-bench-offload-${run}.log`);
  try {
    // Simulated workers with room for the twins and the raw pods, Ready before the provider offers.
    for (const n of EXTRA_NODES) await beta.create(forgeKwokNode(n, { cpu: '64', memory: '256Gi', pods: '1100' }) as KubeObject);
    await until('the extra beta workers Ready', 60_000, async () => {
      for (const n of EXTRA_NODES) {
        const node = await beta.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>('v1', 'Node', n);
        if (!node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
      }
      return true;
    }, 250);

    provider = await startControlPlane(providerConfig(), silentLogger);
    const { token } = await createTokenStore(provider.kube, provider.config.systemNamespace).ensure(generateToken);
    child = startConsumer(logFile);
    const systemNs = `${consumerId}-system`;
    await until('the consumer\'s namespace', 60_000, async () => (await alpha.get('v1', 'Namespace', systemNs)) ? true : undefined, 200);
    await alpha.apply({
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: 'provider-token', namespace: systemNs, labels: { 'peerlog.dev/remote-cluster-id': providerId } },
      stringData: { token, authUrl: provider.url },
    } as KubeObject);
    await alpha.apply({
      apiVersion: GROUP_VERSION, kind: 'ForeignCluster',
      metadata: { name: providerId, labels: { 'peerlog.dev/bench': consumerId } },
      spec: { clusterId: providerId, clusterName: providerId, authUrl: provider.url, outgoing: 'Enabled', tokenSecretRef: { name: 'provider-token', namespace: systemNs } },
    } as KubeObject);
    const nodeName = virtualNodeNameFor(providerId);
    await until('the virtual node Ready with room for the pods', 60_000, async () => {
      const n = await alpha.get<KubeObject & { status?: { capacity?: { pods?: string }; conditions?: { type: string; status: string }[] } }>('v1', 'Node', nodeName);
      return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && Number(n.status.capacity?.pods ?? 0) > PODS ? true : undefined;
    }, 100);

    // One pod first: the namespace is granted and its ConfigMaps and Secrets watched before the burst.
    await alpha.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } as KubeObject);
    const local = track(alpha, ns);
    const remote = track(beta, remoteNs);
    await local.start();
    await alpha.create(benchPod(ns, 'warm-up', nodeName));
    await until('the warm-up pod Running', 60_000, () => (local.running.has('warm-up') ? true : undefined));
    await remote.start();

    const names = Array.from({ length: PODS }, (_, i) => `p-${String(i).padStart(5, '0')}`);
    process.stderr.write(`binding ${PODS} pods to ${nodeName}...\n`);
    const bound = await createAll(alpha, names.map((n) => benchPod(ns, n, nodeName)));
    process.stderr.write(`  bound in ${(performance.now() - bound.started).toFixed(0)} ms\n`);
    await until(`all ${PODS} pods Running locally`, 300_000, () => (names.every((n) => local.running.has(n)) ? true : undefined), 100);
    const allRunning = Math.max(...names.map((n) => local.running.get(n)!)) - bound.started;
    const rss = peakRssMiB(child.pid!);
    const toTwin = names.map((n) => remote.seen.get(n)! - bound.done.get(n)!);
    const runningBack = names.map((n) => local.running.get(n)! - remote.running.get(n)!);
    process.stderr.write(`  all Running locally after ${allRunning.toFixed(0)} ms\n`);
    await stopConsumer(child);
    await local.stop();
    await remote.stop();

    // The raw tool: the same creates straight on beta (its scheduler and kwok place and run them).
    await beta.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: rawNs } } as KubeObject);
    const raw = track(beta, rawNs);
    await raw.start();
    process.stderr.write(`creating ${PODS} pods on beta with the raw client...\n`);
    const created = await createAll(beta, names.map((n) => benchPod(rawNs, n)));
    await until(`all ${PODS} raw pods Running`, 300_000, () => (names.every((n) => raw.running.has(n)) ? true : undefined), 100);
    const rawAllRunning = Math.max(...names.map((n) => raw.running.get(n)!)) - created.started;
    await raw.stop();

    const ms = (x: number) => `${x.toFixed(0).padStart(7)} ms`;
    const row = (label: string, xs: readonly number[], note = '') => `${label.padEnd(46)}${ms(percentile(xs, 50))}${ms(percentile(xs, 99))}${note}\n`;
    const rawP99 = percentile(created.latency, 99);
    process.stdout.write(`\nbench/offload: ${PODS} pods bound to ${nodeName} (alpha → beta), ${WIDTH} creates at a time (run ${run}, ${new Date().toISOString()})\n\n`);
    process.stdout.write(`${''.padEnd(46)}${'p50'.padStart(10)}${'p99'.padStart(10)}\n`);
    process.stdout.write(row('bind → remote pod created', toTwin, `   ${(percentile(toTwin, 99) / rawP99).toFixed(1)}× raw p99 (target ≤ 2×)`));
    process.stdout.write(row('remote Running → local Running', runningBack));
    process.stdout.write(row('raw: pod create on beta', created.latency));
    process.stdout.write(`${'all Running locally (first bind → last)'.padEnd(46)}${ms(allRunning)}   target ≤ 20000 ms\n`);
    process.stdout.write(`${'raw: all Running on beta (first create → last)'.padEnd(46)}${ms(rawAllRunning)}\n`);
    process.stdout.write(`${'peak RSS of the consumer\'s peerlog serve'.padEnd(46)}${`${rss.toFixed(0)} MiB`.padStart(10)}   target ≤ 300 MB\n`);
    process.stdout.write(`consumer log: ${logFile}${CPU_PROF ? `; CPU profile in ${CPU_PROF}` : ''}\n`);
  } finally {
    process.stderr.write('cleaning up...\n');
    await cleanup(alpha, beta, provider, child, namespaces);
  }
}

main().then(() => process.exit(0), (e: unknown) => { process.stderr.write(`bench/offload: ${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
