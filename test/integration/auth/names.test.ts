// One name rule at every boundary, the event log's: a cluster name is a DNS label. The real
// kube-apiserver refuses a ForeignCluster or ResourceRequest whose clusterName is not one (so no
// reconcile can fail on it later), and `peerlog serve` refuses such a --cluster-name at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FOREIGN_CLUSTER_CRD, RESOURCE_REQUEST_CRD } from '../../../src/resources/crds.js';
import { stackEnv, uniqueName } from '../../support/env.js';

const BIN = join(process.cwd(), 'bin', 'peerlog');

test('the apiserver refuses a ForeignCluster or ResourceRequest whose clusterName is not a DNS label, and takes one that is', async (t) => {
  const env = stackEnv();
  const kubectl = (args: string[], input?: string) => spawnSync(env.kubectl, ['--kubeconfig', env.clusters.alpha.kubeconfig, ...args], { encoding: 'utf8', input });
  // The very schemas peerlog installs, under a group and names of this test's own: control planes
  // of other tests re-apply peering.peerlog.dev all the time, and this one must not race them; and
  // kubectl resolves `foreignclusters` (or `fc`, or the kind) to any group that serves that name, so
  // a copy under the same names would capture every other test's `kubectl get foreignclusters`.
  const group = `${uniqueName('names')}.test.peerlog.dev`;
  const crds = [FOREIGN_CLUSTER_CRD, RESOURCE_REQUEST_CRD].map((c) => {
    const crd = structuredClone(c) as { metadata: { name: string }; spec: { group: string; names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[] } } };
    crd.spec.group = group;
    const n = crd.spec.names;
    crd.spec.names = { kind: `NameCheck${n.kind}`, listKind: `NameCheck${n.kind}List`, plural: `namecheck${n.plural}`, singular: `namecheck${n.kind.toLowerCase()}` };
    crd.metadata.name = `${crd.spec.names.plural}.${group}`;
    return crd;
  });
  t.after(() => { for (const c of crds) kubectl(['delete', 'crd', c.metadata.name, '--ignore-not-found', '--wait=false']); });
  for (const c of crds) assert.equal(kubectl(['apply', '-f', '-'], JSON.stringify(c)).status, 0);
  const established = kubectl(['wait', '--for=condition=Established', '--timeout=30s', ...crds.map((c) => `crd/${c.metadata.name}`)]);
  assert.equal(established.status, 0, established.stderr);

  const fc = (clusterName: string) => JSON.stringify({ apiVersion: `${group}/v1alpha1`, kind: 'NameCheckForeignCluster', metadata: { name: uniqueName('fc') }, spec: { clusterId: 'beta-1', clusterName, authUrl: 'https://127.0.0.1:1' } });
  const rr = (clusterName: string) => JSON.stringify({ apiVersion: `${group}/v1alpha1`, kind: 'NameCheckResourceRequest', metadata: { name: uniqueName('rr'), namespace: 'default' }, spec: { clusterId: 'alpha-1', clusterName } });
  for (const bad of ['Alpha EU', 'Alpha', 'alpha_eu', 'alpha.eu', '-alpha', 'a'.repeat(64)]) {
    for (const [kind, manifest] of [['ForeignCluster', fc(bad)], ['ResourceRequest', rr(bad)]] as const) {
      const r = kubectl(['apply', '--dry-run=server', '-f', '-'], manifest);
      assert.notEqual(r.status, 0, `${kind} with clusterName ${JSON.stringify(bad)} was accepted`);
      assert.match(r.stderr, /spec\.clusterName/, `${kind} ${bad}: ${r.stderr}`);
    }
  }
  for (const good of ['alpha-eu', 'a', 'a'.repeat(63)]) {
    assert.equal(kubectl(['apply', '--dry-run=server', '-f', '-'], fc(good)).status, 0, good);
    assert.equal(kubectl(['apply', '--dry-run=server', '-f', '-'], rr(good)).status, 0, good);
  }
});

test('peerlog serve refuses a --cluster-name that is not a DNS label at config load', () => {
  for (const name of ['Alpha EU', 'Alpha', 'alpha_eu']) {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--stack', 'beta', '--cluster-name', name], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0, name);
    assert.match(r.stderr, new RegExp(`setting cluster-name: ${JSON.stringify(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a DNS label`), r.stderr);
  }
  const env = { ...process.env, PEERLOG_CLUSTER_NAME: 'Alpha EU' };
  const r = spawnSync(process.execPath, [BIN, 'token', '--stack', 'beta'], { encoding: 'utf8', timeout: 30_000, env });
  assert.match(r.stderr, /setting cluster-name: "Alpha EU" is not a DNS label/, 'PEERLOG_CLUSTER_NAME too');
});
