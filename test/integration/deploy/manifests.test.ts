// deploy/kustomize: the CRDs committed there are the ones `peerlog serve` installs, and the whole
// base is accepted by both stack clusters' kube-apiservers (server-side dry run, CRDs first: the
// apiserver checks each object against what exists, and a dry run creates nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PEERLOG_CRDS } from '../../../src/resources/crds.js';
import { stackEnv, uniqueName } from '../../support/env.js';

const BASE = join(process.cwd(), 'deploy', 'kustomize', 'base');

test('deploy/kustomize/base/crds.yaml holds exactly the CRDs the control plane installs, and scripts/render-crds.mjs --check agrees', () => {
  const committed = parseAllDocuments(readFileSync(join(BASE, 'crds.yaml'), 'utf8')).map((d) => d.toJSON() as unknown);
  assert.deepEqual(committed, JSON.parse(JSON.stringify(PEERLOG_CRDS)));
  const check = spawnSync(process.execPath, [join(process.cwd(), 'scripts', 'render-crds.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

for (const cluster of ['alpha', 'beta'] as const) {
  test(`kubectl apply --dry-run=server of the rendered base succeeds on ${cluster}`, (t) => {
    const env = stackEnv();
    const kubectl = (args: string[], input?: string) => spawnSync(env.kubectl, ['--kubeconfig', env.clusters[cluster].kubeconfig, ...args], { input, encoding: 'utf8' });
    const rendered = kubectl(['kustomize', BASE]);
    assert.equal(rendered.status, 0, rendered.stderr);
    const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJSON() as { kind: string; metadata: { name: string; namespace?: string } });
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`).sort(), [
      'ClusterRole//peerlog', 'ClusterRoleBinding//peerlog', 'ConfigMap/peerlog-system/peerlog-settings',
      'CustomResourceDefinition//foreignclusters.peering.peerlog.dev', 'CustomResourceDefinition//resourceoffers.peering.peerlog.dev',
      'CustomResourceDefinition//resourcerequests.peering.peerlog.dev', 'Deployment/peerlog-system/peerlog', 'Namespace//peerlog-system',
      'Role/kube-node-lease/peerlog-node-leases', 'RoleBinding/kube-node-lease/peerlog-node-leases',
      'Service/peerlog-system/peerlog-auth', 'ServiceAccount/peerlog-system/peerlog',
    ]);
    // A namespace of this test's own stands for peerlog-system (which the shared stack may hold):
    // a dry run does not create the Namespace, so the namespaced objects need one that exists.
    const ns = uniqueName('deploy-dry');
    const own = rendered.stdout.replaceAll('peerlog-system', ns);
    assert.equal(kubectl(['create', 'namespace', ns]).status, 0);
    t.after(() => { kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']); });
    const crds = kubectl(['apply', '--dry-run=server', '-f', join(BASE, 'crds.yaml')]);
    assert.equal(crds.status, 0, crds.stderr);
    const all = kubectl(['apply', '--dry-run=server', '-f', '-'], own);
    assert.equal(all.status, 0, all.stderr);
    assert.equal(all.stdout.trim().split('\n').filter((l) => l.endsWith('(server dry run)')).length, 12, all.stdout);
  });
}
