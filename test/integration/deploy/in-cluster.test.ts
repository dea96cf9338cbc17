// With no kubeconfig the control plane talks to its cluster as the pod's ServiceAccount: the token
// and CA where the kubelet mounts them, the apiserver from KUBERNETES_SERVICE_HOST/PORT. Here the
// mount is a directory of the test's own, holding a token minted by kubectl for a ServiceAccount it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient } from '../../../src/adapters/kubernetes/client.js';
import { loadKubeConfig } from '../../../src/adapters/kubernetes/kubeconfig.js';
import { stackEnv, uniqueName } from '../../support/env.js';
import { clusterEndpoint } from '../../support/identity.js';

test('no kubeconfig: the in-cluster ServiceAccount token authenticates, as kube-apiserver says (SelfSubjectReview)', async (t) => {
  const env = stackEnv();
  const kubectl = (args: string[]) => spawnSync(env.kubectl, ['--kubeconfig', env.clusters.beta.kubeconfig, ...args], { encoding: 'utf8' });
  const ns = uniqueName('incluster');
  assert.equal(kubectl(['create', 'namespace', ns]).status, 0);
  t.after(() => { kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']); });
  assert.equal(kubectl(['create', 'serviceaccount', 'peerlog', '-n', ns]).status, 0);
  const token = kubectl(['create', 'token', 'peerlog', '-n', ns, '--duration', '10m']);
  assert.equal(token.status, 0, token.stderr);

  const root = mkdtempSync(join(tmpdir(), 'peerlog-pod-'));
  const mount = join(root, 'var', 'run', 'secrets', 'kubernetes.io', 'serviceaccount');
  mkdirSync(mount, { recursive: true });
  const { server, caPem } = clusterEndpoint('beta');
  writeFileSync(join(mount, 'token'), token.stdout.trim());
  writeFileSync(join(mount, 'ca.crt'), caPem);
  const u = new URL(server);
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  process.env.KUBERNETES_SERVICE_HOST = u.hostname;
  process.env.KUBERNETES_SERVICE_PORT = u.port;
  try {
    const kube = createKubeClient(loadKubeConfig(undefined, root));
    const review = await kube.request<{ status?: { userInfo?: { username?: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${ns}:peerlog`);
  } finally {
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }
});
