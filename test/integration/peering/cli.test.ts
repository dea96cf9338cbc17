// `peerlog peer` as users run it, and two clusters peering each other at once (directional).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, logFlags, peerlog, planeFlags, startPlane, type Plane } from '../../support/peering.js';

function peer(consumer: Plane, provider: Plane): ReturnType<typeof peerlog> {
  return peerlog(['peer', provider.config.clusterId, '--auth-url', provider.cp.url, '--token', provider.token, ...planeFlags(consumer)]);
}

function labelFc(consumer: Plane, name: string): void {
  // `peer` creates the ForeignCluster; the test control plane acts only on ones labelled for it.
  consumer.kubectl(['label', 'foreigncluster', name, ...Object.entries(consumer.fcLabel).map(([k, v]) => `${k}=${v}`), '--overwrite']);
}

test('peerlog peer, both ways at once: a virtual node on each side, live progress, exit 0', async (t) => {
  const a = await startPlane('alpha', 'a');
  const b = await startPlane('beta', 'b');
  t.after(() => cleanupPlanes([a, b]));

  const runs = [peer(a, b), peer(b, a)];
  // Label each ForeignCluster as soon as `peer` has created it.
  for (const [consumer, provider] of [[a, b], [b, a]] as const) {
    void eventually('the ForeignCluster created by peer', async () => {
      const r = consumer.kubectl(['get', 'foreigncluster', provider.config.clusterId]);
      if (r.status !== 0) return undefined;
      labelFc(consumer, provider.config.clusterId);
      return true;
    }, 30_000).catch(() => undefined);
  }
  const [ab, ba] = await Promise.all(runs);
  for (const [r, provider] of [[ab!, b], [ba!, a]] as const) {
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^peered with ${provider.config.clusterName}: node peerlog-${provider.config.clusterId} Ready`));
    const steps = [...r.stderr.matchAll(/^\[\s*[\d.]+s\] (\w+)/gm)].map((m) => m[1]);
    for (const s of ['IdentityRequested', 'CertIssued', 'ResourceRequested', 'OfferReceived', 'OfferAccepted', 'VirtualNodeCreated', 'VirtualNodeReady']) {
      assert.ok(steps.includes(s), `progress shows ${s}:\n${r.stderr}`);
    }
  }
  t.diagnostic(`a→b:\n${ab!.stderr}`);
  // The token Secret `peer` stored is bound to the provider and to the endpoint it was given.
  for (const [consumer, provider] of [[a, b], [b, a]] as const) {
    const secret = JSON.parse(consumer.kubectl(['get', 'secret', '-n', consumer.config.systemNamespace, `peerlog-token-${provider.config.clusterId}`, '-o', 'json']).stdout) as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
    assert.equal(secret.metadata.labels['peerlog.dev/remote-cluster-id'], provider.config.clusterId);
    assert.equal(Buffer.from(secret.data.authUrl!, 'base64').toString(), provider.cp.url);
    assert.equal(Buffer.from(secret.data.authFingerprint!, 'base64').toString(), `sha256:${provider.cp.fingerprint}`);
  }
  // Each side has the other's virtual node, and both directions are Established on each side.
  assert.match(a.kubectl(['get', 'node', `peerlog-${b.config.clusterId}`]).stdout, /\sReady\s/);
  assert.match(b.kubectl(['get', 'node', `peerlog-${a.config.clusterId}`]).stdout, /\sReady\s/);
  await eventually('both directions Established on alpha', async () => {
    const r = a.kubectl(['get', 'foreigncluster', b.config.clusterId, '-o', 'jsonpath={.status.outgoing.phase}/{.status.incoming.phase}']);
    return r.stdout === 'Established/Established' ? true : undefined;
  }, 10_000);

  // status tells the same, as JSON.
  const status = await peerlog(['status', b.config.clusterId, '-o', 'json', ...planeFlags(a)]);
  assert.equal(status.status, 0, status.stderr);
  const s = JSON.parse(status.stdout) as { outgoing: { phase: string; virtualNode: string }; incoming: { phase: string } };
  assert.equal(s.outgoing.phase, 'Established');
  assert.equal(s.outgoing.virtualNode, `peerlog-${b.config.clusterId}`);
  assert.equal(s.incoming.phase, 'Established');
});

test('manual acceptance: the offer waits for `peerlog offer accept`, then the virtual node comes', async (t) => {
  const a = await startPlane('alpha', 'm', { offerAcceptance: 'manual' });
  const b = await startPlane('beta', 'n');
  t.after(() => cleanupPlanes([a, b]));
  a.kubectl(['apply', '-f', '-'], foreignClusterManifest(a, b));
  await eventually('the offer received and waiting', async () => {
    const r = a.kubectl(['get', 'foreigncluster', b.config.clusterId, '-o', 'jsonpath={.status.outgoing.phase}']);
    return r.stdout === 'OfferReceived' ? true : undefined;
  }, 20_000);
  const list = await peerlog(['offer', 'list', '-o', 'json', ...logFlags(a)]);
  assert.equal(list.status, 0, list.stderr);
  const offers = JSON.parse(list.stdout) as { offerName: string; status: string; remoteClusterId: string }[];
  assert.equal(offers.length, 1);
  assert.equal(offers[0]!.status, 'offerReceived');
  assert.ok(!a.kubectl(['get', 'node', `peerlog-${b.config.clusterId}`]).stdout.includes('Ready'), 'no node before acceptance');
  const accepted = await peerlog(['offer', 'accept', offers[0]!.offerName, ...logFlags(a)]);
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.match(accepted.stdout, /accepted/);
  await eventually('the virtual node Ready after acceptance', async () => (/\sReady\s/.test(a.kubectl(['get', 'node', `peerlog-${b.config.clusterId}`]).stdout) ? true : undefined), 20_000);
});
