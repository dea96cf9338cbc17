// Issue 14: peering is reversible, over and over. Five peer/unpeer cycles in a row between alpha
// (consumer) and beta (provider), each with a pod offloaded with a ConfigMap and a Secret, each with a
// new identity (its own key, the CN of the next identity lifetime), each ending clean on both sides
// (listed by label and by name), and every earlier cycle's certificate gets 403 from beta's
// kube-apiserver, while the current one works. Unpeering alternates between `peerlog unpeer` and
// `kubectl patch … outgoing: Disabled`. Expected values are written out here; the clusters are read
// with kubectl, the certificates with openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, uniqueName } from '../../support/env.js';
import { clusterEndpoint, statusAs } from '../../support/identity.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, peerlog, planeFlags, startPlane } from '../../support/peering.js';
import { assertConsumerClean, assertProviderClean, exists, get, identityOf, nodeReady, running, subjectOf, type Obj } from '../../support/unpeering.js';

const CYCLES = 5;

test('five peer/unpeer cycles in a row: each a new identity, each ending clean on beta and alpha, each earlier certificate 403 at beta', async (t) => {
  const started = Date.now();
  const consumer = await startPlane('alpha', 'cyca');
  const provider = await startPlane('beta', 'cycb');
  const alphaId = consumer.config.clusterId;
  const betaId = provider.config.clusterId;
  const ns = uniqueName('cycles');
  const remoteNs = `${ns}-${alphaId}`;
  const tenantAtBeta = `peerlog-tenant-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });

  // A workload that outlives every cycle: one pod on this provider's virtual node, with a ConfigMap
  // and a Secret that go with it to beta.
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['create', 'configmap', 'settings', '-n', ns, '--from-literal=MODE=blue']).status, 0);
  assert.equal(consumer.kubectl(['create', 'secret', 'generic', 'creds', '-n', ns, '--from-literal=PASSWORD=cycle']).status, 0);
  const container = { envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' } }] };
  assert.equal(consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'app', 1, container, pinnedTo(betaId))).status, 0);

  const beta = clusterEndpoint('beta');
  const requests = `/apis/peering.peerlog.dev/v1alpha1/namespaces/${tenantAtBeta}/resourcerequests`;
  const pods = `/api/v1/namespaces/${remoteNs}/pods`;
  const earlier: { certPem: string; keyPem: string }[] = [];
  const timings: string[] = [];

  for (let cycle = 1; cycle <= CYCLES; cycle += 1) {
    const t0 = Date.now();
    // 1. Peer: the ForeignCluster applied the first time, outgoing Enabled again afterwards.
    if (cycle === 1) {
      assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
    } else {
      assert.equal(consumer.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Enabled"}}']).status, 0);
    }
    await eventually(`cycle ${cycle}: the virtual node Ready`, nodeReady(consumer, nodeName), 60_000);
    await eventually(`cycle ${cycle}: the pod Running on alpha`, running(consumer, ns, 'app=app', 1), 60_000);
    await eventually(`cycle ${cycle}: its twin Running in beta`, running(provider, remoteNs, 'app=app', 1), 60_000);
    assert.ok(exists(provider, ['configmap', '-n', remoteNs, 'settings']), `cycle ${cycle}: the ConfigMap followed the pod`);
    assert.ok(exists(provider, ['secret', '-n', remoteNs, 'creds']), `cycle ${cycle}: the Secret followed the pod`);

    // 2. A new identity: a key and a certificate never seen before, the CN of lifetime `cycle`.
    const id = identityOf(consumer, betaId);
    assert.deepEqual(subjectOf(id.certPem), { CN: [`peerlog:cluster:${alphaId}:${cycle}`], O: ['peerlog:peers'] }, `cycle ${cycle}: the certificate's subject`);
    for (const [i, old] of earlier.entries()) {
      assert.notEqual(id.keyPem, old.keyPem, `cycle ${cycle} reuses the key of cycle ${i + 1}`);
      assert.notEqual(id.certPem, old.certPem, `cycle ${cycle} reuses the certificate of cycle ${i + 1}`);
    }
    const current = { server: beta.server, caPem: beta.caPem, certPem: id.certPem, keyPem: id.keyPem };
    assert.equal(await statusAs(current, requests), 200, `cycle ${cycle}: the current certificate reads its request`);
    assert.equal(await statusAs(current, pods), 200, `cycle ${cycle}: the current certificate reads the offloaded pods`);
    // Every earlier cycle's certificate: 403, while the current one is bound.
    for (const [i, old] of earlier.entries()) {
      const as = { server: beta.server, caPem: beta.caPem, ...old };
      assert.equal(await statusAs(as, requests), 403, `cycle ${cycle}: the certificate of cycle ${i + 1} on ${requests}`);
      assert.equal(await statusAs(as, pods), 403, `cycle ${cycle}: the certificate of cycle ${i + 1} on ${pods}`);
    }
    const peeredIn = Date.now() - t0;

    // 3. Unpeer, by the CLI or by kubectl, and wait for the consumer's stream to end the peering.
    if (cycle % 2 === 1) {
      const r = await peerlog(['unpeer', betaId, '--timeout', '90s', ...planeFlags(consumer)]);
      assert.equal(r.status, 0, `cycle ${cycle}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^unpeered from ${betaId} in \\d+\\.\\ds\\n$`));
    } else {
      assert.equal(consumer.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
    }
    await eventually(`cycle ${cycle}: the ForeignCluster says Terminated`, async () => (
      get<Obj & { status?: { outgoing?: { phase?: string } } }>(consumer, ['get', 'foreigncluster', betaId])?.status?.outgoing?.phase === 'Terminated' ? true : undefined), 90_000);

    // 4. Clean on both sides; the workload stays on alpha, its pod waiting for a node.
    await assertProviderClean(provider, alphaId, [remoteNs]);
    await assertConsumerClean(consumer, betaId, { secrets: [`Secret/${consumer.config.systemNamespace}/token-${betaId}`] });
    assert.equal(get<{ spec: { replicas: number } }>(consumer, ['get', 'deployment', '-n', ns, 'app'])?.spec.replicas, 1);

    // 5. This cycle's certificate, still unexpired: 403 now.
    assert.equal(await statusAs(current, requests), 403, `cycle ${cycle}: its certificate after unpeering, on ${requests}`);
    assert.equal(await statusAs(current, pods), 403, `cycle ${cycle}: its certificate after unpeering, on ${pods}`);
    earlier.push({ certPem: id.certPem, keyPem: id.keyPem });
    timings.push(`cycle ${cycle}: peered in ${(peeredIn / 1000).toFixed(1)} s, unpeered and clean in ${((Date.now() - t0 - peeredIn) / 1000).toFixed(1)} s`);
  }
  t.diagnostic(`${timings.join('; ')}; ${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
