// Independent clients for identity tests: kubeconfig files written by hand for $KUBECTL, and real
// RBAC users whose client certificates openssl signs with a cluster's client CA.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackEnv } from './env.js';

export interface KubectlResult { readonly status: number | null; readonly stdout: string; readonly stderr: string }

/** A kubeconfig file for one client certificate, and $KUBECTL run with it. */
export function kubectlAs(p: { server: string; caPem: string; certPem: string; keyPem: string }): (args: readonly string[], input?: string) => KubectlResult {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-kc-'));
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server: p.server, 'certificate-authority-data': b64(p.caPem) } }],
    users: [{ name: 'u', user: { 'client-certificate-data': b64(p.certPem), 'client-key-data': b64(p.keyPem) } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  }), { mode: 0o600 });
  return (args, input) => {
    const r = spawnSync(stackEnv().kubectl, ['--kubeconfig', file, ...args], { input, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/**
 * The HTTP status a kube-apiserver answers to a GET of `path` made with one client certificate,
 * by node's own HTTPS client (no kubeconfig, no retries): 200, 401, 403 as the server says.
 */
export function statusAs(p: { server: string; caPem: string; certPem: string; keyPem: string }, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, p.server), { method: 'GET', ca: p.caPem, cert: p.certPem, key: p.keyPem, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.once('error', reject);
    req.end();
  });
}

/** Server URL and CA bundle of a stack cluster, read from its admin kubeconfig with kubectl. */
export function clusterEndpoint(cluster: 'alpha' | 'beta'): { server: string; caPem: string } {
  const env = stackEnv();
  const r = spawnSync(env.kubectl, ['--kubeconfig', env.clusters[cluster].kubeconfig, 'config', 'view', '--raw', '--minify', '-o', 'json'], { encoding: 'utf8' });
  const view = JSON.parse(r.stdout) as { clusters: { cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[] };
  const c = view.clusters[0]!.cluster;
  const caPem = c['certificate-authority-data'] ? Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8') : readFileSync(c['certificate-authority']!, 'utf8');
  return { server: c.server, caPem };
}

/** openssl, failing the test with its stderr. */
export function openssl(args: readonly string[], input?: string): string {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A user of a stack cluster: a key and a certificate for CN=`name` signed by openssl with the cluster's client CA. */
export function clusterUser(cluster: 'alpha' | 'beta', name: string): (args: readonly string[], input?: string) => KubectlResult {
  const env = stackEnv();
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-user-'));
  const key = join(dir, 'user.key');
  const csr = join(dir, 'user.csr');
  const crt = join(dir, 'user.crt');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-subj', `/CN=${name}`, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', env.clusters[cluster].caCert, '-CAkey', env.clusters[cluster].caKey, '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '1', '-out', crt]);
  return kubectlAs({ ...clusterEndpoint(cluster), certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') });
}
