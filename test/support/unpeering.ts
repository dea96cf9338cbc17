// Unpeering tests' common ground: the clusters read with kubectl (by label and by name), a peering
// brought up to a Ready virtual node, a consumer's identity as its Secret holds it, the checks that
// nothing of one direction of a peering is left on either side, and a control plane run as a real
// `peerlog serve` child that a test can SIGKILL and start again on the same log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { PeerlogConfig } from '../../src/config.js';
import type { Runtime } from '../../src/runtime.js';
import { clusterConfig } from './auth.js';
import { eventually, freePort, stackEnv } from './env.js';
import { foreignClusterManifest, type ProviderRef } from './peering.js';
import { startServe, type ServeChild } from './serve.js';

export interface KubectlResult { readonly status: number | null; readonly stdout: string; readonly stderr: string }
/** Anything with an admin kubectl on one cluster: a test plane, or a served one. */
export interface Kubectl { kubectl(args: readonly string[], input?: string): KubectlResult }

export interface Obj { metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; deletionTimestamp?: string; finalizers?: string[]; labels?: Record<string, string> }; status?: Record<string, unknown>; spec?: Record<string, unknown> }

/** $KUBECTL as the stack's admin of one cluster. */
export function kubectlOn(cluster: 'alpha' | 'beta'): Kubectl['kubectl'] {
  const env = stackEnv();
  return (args, input) => {
    const r = spawnSync(env.kubectl, ['--kubeconfig', env.clusters[cluster].kubeconfig, ...args], { input, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

export function get<T = Obj>(p: Kubectl, args: string[]): T | undefined {
  const r = p.kubectl([...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as T : undefined;
}

export function names(p: Kubectl, args: string[]): string[] {
  const r = p.kubectl([...args, '-o', 'name']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** `Kind/namespace/name` of every object of `kinds` (comma-separated) matching `selector`, in all namespaces. */
export function listed(p: Kubectl, kinds: string, selector: string): string[] {
  const r = p.kubectl(['get', kinds, '-A', '-l', selector, '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{"\\n"}{end}']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** Exists on the cluster (and is not being deleted). */
export function exists(p: Kubectl, args: string[]): boolean {
  const o = get(p, ['get', ...args]);
  return o !== undefined && !o.metadata.deletionTimestamp;
}

/** `n` pods matching `selector` Running in `ns` (none of them being deleted): their objects. */
export const running = (p: Kubectl, ns: string, selector: string, n: number) => async () => {
  const items = get<{ items: (Obj & { spec: { nodeName?: string } })[] }>(p, ['get', 'pods', '-n', ns, '-l', selector])?.items ?? [];
  const live = items.filter((x) => (x.status as { phase?: string } | undefined)?.phase === 'Running' && !x.metadata.deletionTimestamp);
  return live.length === n ? live : undefined;
};

/** The node's Ready condition is True. */
export const nodeReady = (p: Kubectl, nodeName: string) => async () => (
  p.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True' ? true : undefined);

/** The ForeignCluster for `provider` applied on the consumer's cluster, and its virtual node Ready. */
export async function peered(consumer: Kubectl & { config: PeerlogConfig; fcLabel: Record<string, string> }, provider: ProviderRef, nodeName: string, timeoutMs = 30_000): Promise<void> {
  const r = consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  assert.equal(r.status, 0, r.stderr);
  await eventually(`the virtual node ${nodeName} Ready`, nodeReady(consumer, nodeName), timeoutMs);
}

/** The consumer's identity at a provider, as its Secret `peerlog-identity` in `peerlog-tenant-<provider>` holds it. */
export function identityOf(consumer: Kubectl, providerId: string): { certPem: string; keyPem: string; uid: string; resourceVersion: string } {
  const secret = get<Obj & { data: Record<string, string> }>(consumer, ['get', 'secret', '-n', `peerlog-tenant-${providerId}`, 'peerlog-identity']);
  assert.ok(secret, `the identity Secret towards ${providerId}`);
  const d = (k: string) => Buffer.from(secret.data[k]!, 'base64').toString('utf8');
  return { certPem: d('tls.crt'), keyPem: d('tls.key'), uid: secret.metadata.uid!, resourceVersion: secret.metadata.resourceVersion! };
}

/**
 * Nothing of the peering of `consumerId` is left on its provider's cluster, listed by label
 * (`peerlog.dev/remote-cluster-id=<consumer>`) and by name: namespaces (the tenant one and those made
 * for offloaded pods), requests, offers, Roles, RoleBindings, quotas, pods, ConfigMaps and Secrets.
 * `kept` is what the opposite direction (the provider's own peering towards that consumer) still
 * holds there and must keep: its tenant namespace, and the Secrets in it; nothing else may be there.
 * Waits for the namespaces to go (the provider's half runs after the consumer's), then asserts.
 */
export async function assertProviderClean(provider: Kubectl, consumerId: string, remoteNamespaces: readonly string[], kept: { tenant?: boolean; secrets?: readonly string[] } = {}): Promise<void> {
  const label = `peerlog.dev/remote-cluster-id=${consumerId}`;
  const tenant = `peerlog-tenant-${consumerId}`;
  const namespaces = kept.tenant ? [`Namespace//${tenant}`] : [];
  await eventually(`nothing of ${consumerId}'s namespaces left on the provider`, async () => (
    isDeepEqual(listed(provider, 'namespaces', label), namespaces)
    && remoteNamespaces.every((n) => provider.kubectl(['get', 'namespace', n]).status !== 0)
    && (kept.tenant ? exists(provider, ['namespace', tenant]) : provider.kubectl(['get', 'namespace', tenant]).status !== 0) ? true : undefined), 90_000);
  assert.deepEqual(listed(provider, 'resourcerequests,resourceoffers', label), [], 'requests and offers');
  assert.deepEqual(listed(provider, 'roles,rolebindings,resourcequotas,limitranges', label), [], 'RBAC and quotas');
  assert.deepEqual(listed(provider, 'pods,configmaps,secrets', label), [...(kept.secrets ?? [])].sort(), 'pods, ConfigMaps and Secrets');
  if (kept.tenant) {
    // What the tenant namespace holds, whatever its labels: only what the other direction keeps there.
    assert.deepEqual(names(provider, ['get', 'resourcerequests,resourceoffers,roles,rolebindings,resourcequotas', '-n', tenant]), [], `the tenant namespace ${tenant} holds no request, offer or RBAC`);
  }
}

/**
 * Nothing of the outgoing peering towards `providerId` is left on the consumer's cluster: the
 * virtual node (by label and by name) and its Lease, the identity Secret (by name, and by label:
 * only `secrets` may be labelled for the provider, such as a user's token Secret), and the tenant
 * namespace with any request or offer labelled for the provider, unless `keepTenant` (the incoming
 * direction from that cluster still uses it, with its own request and offer). Waits for the
 * namespace to go, then asserts.
 */
export async function assertConsumerClean(consumer: Kubectl, providerId: string, opts: { keepTenant?: boolean; secrets?: readonly string[] } = {}): Promise<void> {
  const nodeName = `peerlog-${providerId}`;
  const tenant = `peerlog-tenant-${providerId}`;
  const label = `peerlog.dev/remote-cluster-id=${providerId}`;
  assert.deepEqual(names(consumer, ['get', 'nodes', '-l', label]), [], 'virtual nodes');
  assert.notEqual(consumer.kubectl(['get', 'node', nodeName]).status, 0, `node ${nodeName}`);
  assert.notEqual(consumer.kubectl(['get', 'lease', '-n', 'kube-node-lease', nodeName]).status, 0, `Lease ${nodeName}`);
  assert.notEqual(consumer.kubectl(['get', 'secret', '-n', tenant, 'peerlog-identity']).status, 0, 'the identity Secret');
  if (opts.keepTenant) {
    assert.ok(exists(consumer, ['namespace', tenant]), `the tenant namespace ${tenant} is kept for the incoming direction`);
  } else {
    await eventually(`the tenant namespace ${tenant} gone`, async () => (consumer.kubectl(['get', 'namespace', tenant]).status !== 0 ? true : undefined), 60_000);
    assert.deepEqual(listed(consumer, 'resourcerequests,resourceoffers', label), [], 'requests and offers');
  }
  if (opts.secrets) assert.deepEqual(listed(consumer, 'secrets', label), [...opts.secrets].sort(), 'Secrets labelled for the provider');
}

function isDeepEqual(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A certificate's subject as openssl reads it: each attribute's values (order-free), e.g. { CN: [...], O: [...] }. */
export function subjectOf(certPem: string): Record<string, string[]> {
  const r = spawnSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: certPem, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out: Record<string, string[]> = {};
  // peerlog's subjects hold no escaped commas: a plain split is enough, and a surprise fails the equality.
  for (const part of r.stdout.trim().replace(/^subject=\s*/, '').split(',')) {
    const at = part.indexOf('=');
    (out[part.slice(0, at)] ??= []).push(part.slice(at + 1));
  }
  for (const v of Object.values(out)) v.sort();
  return out;
}

/**
 * A control plane run as `peerlog serve` in a child process, with a test plane's settings and a
 * fixed authentication port (its URL outlives a restart), so that a test can SIGKILL it and start it
 * again on the same log. `cp.runtime` is another plane's, lent for dropping this one's topic.
 */
export interface ServedPlane extends Kubectl {
  readonly cluster: 'alpha' | 'beta';
  readonly config: PeerlogConfig;
  readonly fcLabel: Record<string, string>;
  readonly cp: { readonly url: string; readonly runtime: Runtime };
  /** The peering token (read once it runs). */
  readonly token: string;
  /** The child of the current run. */
  readonly child: ServeChild;
  /**
   * Starts it (again) and waits until it is ready; `killOn` makes it SIGKILL itself before that
   * request, `settings` run it with some settings changed (the same log), `memoryProbe` see startServe.
   */
  start(opts?: { killOn?: string; settings?: Partial<PeerlogConfig>; memoryProbe?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export function servedPlane(cluster: 'alpha' | 'beta', prefix: string, lend: { cp: { runtime: Runtime } }): ServedPlane {
  const config = clusterConfig(cluster, prefix, { authPort: freePort() });
  const kubectl = kubectlOn(cluster);
  let child: ServeChild | undefined;
  let token = '';
  return {
    cluster, config, kubectl, fcLabel: { 'peerlog.dev/test': config.clusterId },
    cp: { url: config.authUrl!, runtime: lend.cp.runtime },
    get token() { return token; },
    get child() { assert.ok(child, 'started'); return child; },
    async start(opts = {}) {
      assert.ok(!child || ended(child), 'the previous run has ended');
      const c = startServe({ ...config, ...opts.settings }, opts);
      child = c;
      // A run meant to die may die before it says it is ready: that is as good. One that ends
      // otherwise (an apiserver away at its start) fails at once, with its last words.
      const deadline = Date.now() + 60_000;
      while (!c.lines.some((l) => l.includes('"control plane ready"')) && !(opts.killOn && killedOnRequest(c))) {
        if (ended(c)) {
          await endOf(c, 5_000);
          if (opts.killOn && killedOnRequest(c)) break;
          throw new Error(`peerlog serve for ${config.clusterId} ended (${String(c.child.signalCode ?? c.child.exitCode)}): ${c.lines.slice(-3).join('\n')}`);
        }
        if (Date.now() > deadline) throw new Error(`peerlog serve for ${config.clusterId} not ready after 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = kubectl(['get', 'secret', '-n', config.systemNamespace, 'peerlog-token', '-o', 'jsonpath={.data.token}']);
      assert.equal(r.status, 0, r.stderr);
      token = Buffer.from(r.stdout, 'base64').toString('utf8');
    },
    async stop() { await child?.stop(); },
  };
}

function ended(c: ServeChild): boolean {
  return c.child.exitCode !== null || c.child.signalCode !== null;
}

/** The child killed itself where its `killOn` said (test/fixtures/kill-on-request.ts), not elsewhere. */
export function killedOnRequest(c: ServeChild): boolean {
  return c.child.signalCode === 'SIGKILL' && c.lines.some((l) => l.includes('"killed on request"'));
}

/** Waits up to `ms` for the child to end, and for the last of its stderr; its signal or exit code. */
export async function endOf(c: ServeChild, ms: number): Promise<NodeJS.Signals | number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`peerlog serve still runs after ${ms} ms`)), ms); });
  try {
    const end = await Promise.race([c.exited, late]);
    const err = c.child.stderr!;
    if (!err.destroyed) await Promise.race([once(err, 'close'), late]);
    return end;
  } finally { clearTimeout(timer); }
}
