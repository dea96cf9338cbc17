// PEERLOG_TEST_RBAC=shipped: each test control plane runs as a ServiceAccount bound to exactly the
// RBAC shipped in deploy/kustomize/base/rbac.yaml (renamed for the test's cluster id and system
// namespace), through a kubeconfig holding a token minted for it, instead of the admin kubeconfig.
// Test code keeps the admin kubeconfig for its own kubectl checks.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { stackEnv } from './env.js';
import { clusterEndpoint } from './identity.js';

export const SHIPPED_RBAC = join(process.cwd(), 'deploy', 'kustomize', 'base', 'rbac.yaml');

export function shippedRbacAsked(): boolean {
  return process.env.PEERLOG_TEST_RBAC === 'shipped';
}

type Obj = { kind: string; metadata: { name: string; namespace?: string }; roleRef?: { name: string }; subjects?: { kind: string; name: string; namespace?: string }[] };

/**
 * The shipped RBAC for one test plane: the ServiceAccount `peerlog` in `namespace` (its system
 * namespace), cluster-scoped names and the kube-node-lease Role suffixed with the cluster id so that
 * planes never share a binding; rules untouched.
 */
export function renderShippedRbac(namespace: string, id: string): string {
  const docs = parseAllDocuments(readFileSync(SHIPPED_RBAC, 'utf8')).map((d) => d.toJSON() as Obj);
  const renamed = docs.map((o) => {
    const clusterScoped = o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding';
    const inSystem = o.metadata.namespace === 'peerlog-system';
    const name = clusterScoped || !inSystem ? `${o.metadata.name}-${id}` : o.metadata.name;
    const out: Obj = { ...o, metadata: { ...o.metadata, name, ...(inSystem ? { namespace } : {}) } };
    if (o.roleRef) out.roleRef = { ...o.roleRef, name: clusterScoped || !inSystem ? `${o.roleRef.name}-${id}` : o.roleRef.name };
    if (o.subjects) out.subjects = o.subjects.map((s) => (s.kind === 'ServiceAccount' ? { ...s, namespace } : s));
    return out;
  });
  const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'peerlog', namespace } };
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } };
  return [ns, sa, ...renamed].map((o) => stringify(o)).join('---\n');
}

const made: { kubeconfig: string; objects: string[] }[] = [];

/** Applies the shipped RBAC with the admin kubeconfig, mints a token, and returns a kubeconfig file for it. */
export function shippedKubeconfig(cluster: 'alpha' | 'beta', namespace: string, id: string): string {
  const env = stackEnv();
  const admin = env.clusters[cluster].kubeconfig;
  const kubectl = (args: string[], input?: string) => {
    const r = spawnSync(env.kubectl, ['--kubeconfig', admin, ...args], { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  kubectl(['apply', '-f', '-'], renderShippedRbac(namespace, id));
  // Cluster-scoped objects and the kube-node-lease Role outlive the test's namespaces: removed at exit.
  made.push({ kubeconfig: admin, objects: [`clusterrolebinding/peerlog-${id}`, `clusterrole/peerlog-${id}`, `-n kube-node-lease rolebinding/peerlog-node-leases-${id}`, `-n kube-node-lease role/peerlog-node-leases-${id}`] });
  const token = kubectl(['create', 'token', 'peerlog', '-n', namespace, '--duration', '2h']).trim();
  const { server, caPem } = clusterEndpoint(cluster);
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-sa-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: `system:serviceaccount:${namespace}:peerlog`, user: { token } }],
    contexts: [{ name: cluster, context: { cluster, user: `system:serviceaccount:${namespace}:peerlog` } }],
    'current-context': cluster,
  }), { mode: 0o600 });
  return file;
}

process.once('exit', () => {
  const env = process.env.KUBECTL;
  if (!env) return;
  for (const m of made) {
    for (const o of m.objects) spawnSync(env, ['--kubeconfig', m.kubeconfig, 'delete', ...o.split(' '), '--ignore-not-found', '--wait=false']);
  }
});
