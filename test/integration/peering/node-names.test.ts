// Two providers announcing the same cluster name get two virtual nodes on their consumer, each
// named after its provider's cluster id, instead of fighting over one Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../../support/peering.js';

interface Node { metadata: { name: string; labels: Record<string, string> }; status?: { conditions?: { type: string; status: string }[] } }

test('two providers with one cluster name: two distinct virtual nodes, one per provider id', async (t) => {
  const consumer = await startPlane('alpha', 'l3c');
  const shared = uniqueName('twin');
  // The second provider runs on the alpha apiserver: on beta it would share the consumer's tenant
  // namespace with the first one, which is a test artefact, not the case under test.
  const providers = [await startPlane('beta', 'l3a', { clusterName: shared }), await startPlane('alpha', 'l3b', { clusterName: shared })];
  t.after(() => cleanupPlanes([consumer, ...providers]));
  assert.equal(providers[0]!.config.clusterName, providers[1]!.config.clusterName);

  for (const p of providers) {
    const r = consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, p));
    assert.equal(r.status, 0, r.stderr);
  }
  for (const p of providers) {
    await eventually(`VirtualNodeReady for ${p.config.clusterId}`, async () =>
      ((await outboxEvents(consumer.cp.runtime)).some((e) => e.streamId === `outgoing-${p.config.clusterId}` && e.type === 'VirtualNodeReady') ? true : undefined), 45_000);
  }

  const ids = providers.map((p) => p.config.clusterId);
  const list = consumer.kubectl(['get', 'nodes', '-l', 'peerlog.dev/type=virtual-node', '-o', 'json']);
  assert.equal(list.status, 0, list.stderr);
  const nodes = (JSON.parse(list.stdout) as { items: Node[] }).items.filter((n) => ids.includes(n.metadata.labels['peerlog.dev/remote-cluster-id']!));
  t.diagnostic(`nodes: ${nodes.map((n) => `${n.metadata.name} (${n.metadata.labels['peerlog.dev/remote-cluster-id']})`).join(', ')}`);
  assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ids.map((id) => `peerlog-${id}`).sort(), 'one node per provider id');
  for (const n of nodes) assert.ok(n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), `${n.metadata.name} Ready`);
});
