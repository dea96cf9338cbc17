// Two control planes for end-to-end tests: each a full peerlog (consumer and provider), with its own
// cluster id, log, schema and namespaces, acting only on ForeignClusters labelled for it.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { PeerlogConfig } from '../../src/config.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../src/control-plane.js';
import { createTokenStore } from '../../src/adapters/kubernetes/secrets.js';
import { generateToken } from '../../src/auth/token.js';
import { tenantNamespaceFor } from '../../src/resources/names.js';
import { GROUP_VERSION } from '../../src/resources/constants.js';
import { captureLogs, clusterConfig, dropLog, type Captured } from './auth.js';
import { stackEnv } from './env.js';

export interface Plane {
  readonly cluster: 'alpha' | 'beta';
  readonly cp: ControlPlane;
  readonly config: PeerlogConfig;
  readonly token: string;
  readonly logs: Captured;
  /** The label its ForeignClusters need for this control plane to act on them. */
  readonly fcLabel: Record<string, string>;
  kubectl(args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string };
  stop(): Promise<void>;
}

export async function startPlane(cluster: 'alpha' | 'beta', prefix: string, extra: Partial<Record<string, string | number>> = {}, opts: ControlPlaneOptions = {}): Promise<Plane> {
  return planeOn(cluster, clusterConfig(cluster, prefix, extra), opts);
}

/**
 * The same control plane started again on its log: same config (cluster id, schema, topic,
 * namespaces), same token. What a restart of `peerlog serve` is; stop the old one first.
 */
export async function restartPlane(p: Plane, opts: ControlPlaneOptions = {}): Promise<Plane> {
  await p.stop();
  return planeOn(p.cluster, p.config, opts);
}

async function planeOn(cluster: 'alpha' | 'beta', config: PeerlogConfig, opts: ControlPlaneOptions): Promise<Plane> {
  const logs = captureLogs();
  const cp = await startControlPlane(config, logs.logger, opts);
  const { token } = await createTokenStore(cp.kube, config.systemNamespace).ensure(generateToken);
  const env = stackEnv();
  let stopped = false;
  return {
    cluster, cp, config, token, logs, fcLabel: { 'peerlog.dev/test': config.clusterId },
    kubectl(args, input) {
      const r = spawnSync(env.kubectl, ['--kubeconfig', env.clusters[cluster].kubeconfig, ...args], { input, encoding: 'utf8' });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await cp.stop();
    },
  };
}

/** What cleanupPlanes needs of a plane: a test plane, or one run as a `peerlog serve` child. */
export type CleanablePlane = Pick<Plane, 'config' | 'kubectl' | 'stop'> & { readonly cp: Pick<ControlPlane, 'runtime'> };

/** Stops both planes and removes everything they created in both clusters, the log and the schema. */
export async function cleanupPlanes(planes: readonly CleanablePlane[]): Promise<void> {
  for (const p of planes) await p.stop();
  for (const p of planes) {
    const others = planes.filter((o) => o !== p);
    const k = (args: string[]) => p.kubectl(args);
    // Peered ForeignClusters hold a finalizer until unpeering exists: tests drop them anyway.
    const selectors = [`peerlog.dev/test=${p.config.clusterId}`, ...others.map((o) => `peerlog.dev/remote-cluster-id=${o.config.clusterId}`)];
    for (const selector of selectors) {
      for (const name of k(['get', 'foreignclusters', '-l', selector, '-o', 'name']).stdout.split('\n').filter(Boolean)) {
        k(['patch', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      }
    }
    k(['delete', 'foreignclusters', '-l', `peerlog.dev/test=${p.config.clusterId}`, '--wait=false', '--ignore-not-found']);
    for (const o of others) {
      k(['delete', 'foreignclusters', '-l', `peerlog.dev/remote-cluster-id=${o.config.clusterId}`, '--wait=false', '--ignore-not-found']);
      k(['delete', 'node', '-l', `peerlog.dev/remote-cluster-id=${o.config.clusterId}`, '--wait=false', '--ignore-not-found']);
      k(['delete', 'namespace', tenantNamespaceFor(o.config.clusterId), '--wait=false', '--ignore-not-found']);
      // Namespaces made for the other's offloaded pods: any pod that landed on its virtual node
      // (another test's, on the shared stack) would otherwise keep running and count against offers.
      k(['delete', 'namespace', '-l', `peerlog.dev/offloaded-namespace=true,peerlog.dev/remote-cluster-id=${o.config.clusterId}`, '--wait=false', '--ignore-not-found']);
    }
    k(['delete', 'namespace', p.config.systemNamespace, '--wait=false', '--ignore-not-found']);
    await dropLog(p.config, p.cp.runtime);
  }
}

/** The flags that point a log-reading verb (`offer`, `history`) at a plane's log. */
export function logFlags(p: Plane): string[] {
  const c = p.config;
  return ['--cluster-id', c.clusterId, '--kafka-brokers', c.kafkaBrokers.join(','), '--database-url', c.databaseUrl, '--db-schema', c.dbSchema];
}

/** Every setting of a plane as flags: what `--stack alpha` gives on the real stack. */
export function planeFlags(p: Plane): string[] {
  // The user's kubeconfig (the admin's), not the control plane's, which may hold only the shipped RBAC.
  return [...logFlags(p), '--kubeconfig', stackEnv().clusters[p.cluster].kubeconfig, '--namespace', p.config.systemNamespace];
}

const BIN = join(process.cwd(), 'bin', 'peerlog');

/**
 * Runs `peerlog <args>` to the end. Asynchronously on purpose: the control planes run in the test's
 * process and must keep answering while the CLI waits on them.
 */
export function peerlog(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** What a consumer's ForeignCluster names of its provider: its id and name, its endpoint and its token. */
export type ProviderRef = Pick<Plane, 'config' | 'token'> & { readonly cp: Pick<ControlPlane, 'url'> };

/**
 * A ForeignCluster manifest (and its token Secret) as a user would write it for `kubectl apply -f -`.
 * The Secret is bound to the provider (label) and its endpoint (authUrl), as the operator requires.
 */
export function foreignClusterManifest(consumer: Pick<Plane, 'config' | 'fcLabel'>, provider: ProviderRef, opts: { name?: string; token?: string; authUrl?: string; incoming?: 'Enabled' | 'Disabled'; outgoing?: 'Enabled' | 'Disabled' } = {}): string {
  const name = opts.name ?? provider.config.clusterId;
  const labels = Object.entries(consumer.fcLabel).map(([k, v]) => `    ${k}: "${v}"`).join('\n');
  return `apiVersion: v1
kind: Secret
metadata:
  name: token-${name}
  namespace: ${consumer.config.systemNamespace}
  labels:
    peerlog.dev/remote-cluster-id: ${provider.config.clusterId}
stringData:
  token: "${opts.token ?? provider.token}"
  authUrl: ${opts.authUrl ?? provider.cp.url}
---
apiVersion: ${GROUP_VERSION}
kind: ForeignCluster
metadata:
  name: ${name}
  labels:
${labels}
spec:
  clusterId: ${provider.config.clusterId}
  clusterName: ${provider.config.clusterName}
  authUrl: ${opts.authUrl ?? provider.cp.url}
  outgoing: ${opts.outgoing ?? 'Enabled'}
  incoming: ${opts.incoming ?? 'Enabled'}
  tokenSecretRef:
    name: token-${name}
    namespace: ${consumer.config.systemNamespace}
`;
}
