// Issue 12, "the log drives every effect": with Kafka stopped, `kubectl apply` of a ForeignCluster on
// alpha is accepted and its first event (PeeringRequested) waits in the outbox; nothing happens on the
// provider (no tenant namespace, no ResourceRequest, no identity), and the ForeignCluster says it waits
// for the log (OutgoingPeering Unknown WaitingForLog). Kafka started again: the peering completes with
// no manual step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tenantNamespaceFor } from '../../../src/resources/names.js';
import { eventually } from '../../support/env.js';
import { killKafka, restartKafka } from '../../support/kafka.js';
import { logClient, outboxRows } from '../../support/log.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

interface Cond { type: string; status: string; reason: string; message?: string }

function json<T>(p: Plane, args: string[]): T | undefined {
  const r = p.kubectl([...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as T : undefined;
}

test('Kafka stopped: an applied ForeignCluster waits in the outbox, touches nothing on the provider, says WaitingForLog; Kafka back: the peering completes', async (t) => {
  const consumer = await startPlane('alpha', 'kscons');
  const provider = await startPlane('beta', 'ksprov');
  let kafkaDown = false;
  t.after(async () => {
    // Other tests share the broker: it is started again whatever happened here.
    if (kafkaDown) restartKafka();
    await cleanupPlanes([consumer, provider]);
  });
  const fcName = provider.config.clusterId;
  const stream = `outgoing-${provider.config.clusterId}`;
  const tenantOnProvider = tenantNamespaceFor(consumer.config.clusterId);
  const nodeName = `peerlog-${provider.config.clusterId}`;
  const conditions = (): Cond[] => json<{ status?: { conditions?: Cond[] } }>(consumer, ['get', 'foreigncluster', fcName])?.status?.conditions ?? [];
  const db = await logClient(consumer.config);
  t.after(() => db.end());

  // What the provider holds for this consumer: its tenant namespace, ResourceRequests there (or
  // anywhere naming it), a ForeignCluster for it, the events of its incoming stream.
  const providerSide = async () => {
    const ns = provider.kubectl(['get', 'namespace', tenantOnProvider, '--ignore-not-found', '-o', 'name']).stdout.trim();
    const rrs = (json<{ items: { metadata: { namespace: string; name: string } }[] }>(provider, ['get', 'resourcerequests', '-A'])?.items ?? [])
      .filter((r) => r.metadata.namespace === tenantOnProvider).map((r) => r.metadata.name);
    const fcs = provider.kubectl(['get', 'foreignclusters', '-l', `peerlog.dev/remote-cluster-id=${consumer.config.clusterId}`, '-o', 'name']).stdout.trim();
    const providerDb = await logClient(provider.config);
    try {
      const incoming = (await outboxRows(providerDb, `incoming-${consumer.config.clusterId}`)).map((r) => r.type);
      return { namespace: ns, resourceRequests: rrs, foreignClusters: fcs, incomingEvents: incoming };
    } finally { await providerDb.end(); }
  };
  const nothing = { namespace: '', resourceRequests: [], foreignClusters: '', incomingEvents: [] };

  await killKafka();
  kafkaDown = true;

  // 1. The apply is accepted (the Secret with a valid token, and the ForeignCluster).
  const applied = consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  assert.equal(applied.status, 0, applied.stderr);

  // 2. Its first event is in the outbox.
  const first = await eventually('PeeringRequested in the outbox', async () => {
    const rows = await outboxRows(db, stream);
    return rows.length > 0 ? rows : undefined;
  }, 30_000);
  assert.equal(first[0]!.type, 'PeeringRequested');

  // 3. For a while (effects would have happened within a second or two), nothing moves: the only
  //    event of the stream is PeeringRequested, unpublished, and the provider holds nothing for alpha.
  //    The ForeignCluster says it waits for the log.
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    assert.deepEqual((await outboxRows(db, stream)).map((r) => ({ v: r.streamVersion, type: r.type, published: r.published })),
      [{ v: 1, type: 'PeeringRequested', published: false }], 'the outgoing stream while Kafka is away');
    assert.deepEqual(await providerSide(), nothing, 'what the provider holds for the consumer while Kafka is away');
    assert.equal(consumer.kubectl(['get', 'node', nodeName, '--ignore-not-found', '-o', 'name']).stdout.trim(), '', 'no virtual node');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const waiting = await eventually('OutgoingPeering Unknown WaitingForLog on the ForeignCluster', async () => {
    const c = conditions().find((x) => x.type === 'OutgoingPeering');
    return c?.reason === 'WaitingForLog' ? c : undefined;
  }, 30_000);
  assert.equal(waiting.status, 'Unknown');

  // 4. Kafka back: the peering completes by itself.
  restartKafka();
  kafkaDown = false;
  const started = Date.now();
  const ready = await eventually('VirtualNodeReady True on the ForeignCluster', async () => {
    const c = conditions().find((x) => x.type === 'VirtualNodeReady');
    return c?.status === 'True' ? c : undefined;
  }, 180_000);
  t.diagnostic(`Kafka back → VirtualNodeReady ${ready.reason} in ${Date.now() - started} ms`);
  const node = json<{ metadata: { labels?: Record<string, string> }; status?: { conditions?: Cond[] } }>(consumer, ['get', 'node', nodeName]);
  assert.ok(node, 'the virtual node exists');
  assert.equal(node.metadata.labels?.['peerlog.dev/remote-cluster-id'], provider.config.clusterId);
  await eventually('the virtual node Ready', async () => {
    const n = json<{ status?: { conditions?: Cond[] } }>(consumer, ['get', 'node', nodeName]);
    return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
  }, 30_000);
  const outgoing = conditions().find((x) => x.type === 'OutgoingPeering');
  assert.equal(outgoing?.status, 'True', `OutgoingPeering after Kafka is back: ${JSON.stringify(outgoing)}`);
  const types = (await outboxRows(db, stream)).map((r) => r.type);
  // Signed through the CSR API: the second IdentityRequested is the CSR with the CN the provider named.
  assert.deepEqual(types.slice(0, 4), ['PeeringRequested', 'IdentityRequested', 'IdentityRequested', 'CertIssued']);
  assert.ok(types.includes('VirtualNodeReady'), types.join(','));
  const side = await providerSide();
  assert.equal(side.namespace, `namespace/${tenantOnProvider}`);
  assert.equal(side.resourceRequests.length, 1);
});
