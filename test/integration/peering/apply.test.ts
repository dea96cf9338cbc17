// kubectl apply of a ForeignCluster on alpha ends with a Ready virtual node whose capacity is half of
// beta's free resources; the node follows beta's load, and comes back when deleted with kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeOffer, podRequests, type NodeFacts, type PodFacts } from '../../../src/resources/capacity.js';
import { tenantNamespaceFor } from '../../../src/resources/names.js';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

interface Node { metadata: { name: string; uid: string; labels?: Record<string, string> }; spec?: { unschedulable?: boolean; taints?: unknown[] }; status?: { allocatable?: Record<string, string>; capacity?: Record<string, string>; conditions?: { type: string; status: string }[] } }
interface Pod { metadata: { labels?: Record<string, string> }; spec: { nodeName?: string; containers: never[]; initContainers?: never[] }; status?: { phase?: string } }

function json<T>(p: Plane, args: string[]): T {
  const r = p.kubectl([...args, '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** What beta can offer right now, computed independently from what kubectl shows. */
function expectedOffer(provider: Plane, consumerId: string): Record<string, string> {
  const nodes = json<{ items: Node[] }>(provider, ['get', 'nodes']).items.map((n): NodeFacts => ({
    name: n.metadata.name, labels: n.metadata.labels ?? {}, unschedulable: n.spec?.unschedulable === true,
    ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'), allocatable: n.status?.allocatable ?? {},
  }));
  const pods = json<{ items: Pod[] }>(provider, ['get', 'pods', '-A']).items.map((p): PodFacts => ({
    nodeName: p.spec.nodeName, phase: p.status?.phase, labels: p.metadata.labels ?? {}, requests: podRequests(p.spec.containers, p.spec.initContainers ?? []),
  }));
  return { ...computeOffer(nodes, pods, 50, consumerId) };
}

function virtualNode(consumer: Plane, name: string): Node | undefined {
  const r = consumer.kubectl(['get', 'node', name, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as Node : undefined;
}

const ready = (n: Node | undefined) => (n?.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

test('kubectl apply of a ForeignCluster: virtual node Ready with 50% of the provider\'s free resources, following its load, recreated when deleted', async (t) => {
  const consumer = await startPlane('alpha', 'cons');
  const provider = await startPlane('beta', 'prov');
  const podNs = uniqueName('load');
  t.after(async () => { provider.kubectl(['delete', 'namespace', podNs, '--wait=false', '--ignore-not-found']); await cleanupPlanes([consumer, provider]); });
  const nodeName = `peerlog-${provider.config.clusterId}`;

  const started = Date.now();
  const applied = consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  assert.equal(applied.status, 0, applied.stderr);
  const node = await eventually('the virtual node Ready', async () => { const n = virtualNode(consumer, nodeName); return ready(n) ? n : undefined; }, 30_000);
  t.diagnostic(`apply → virtual node Ready in ${Date.now() - started} ms`);

  // Capacity = allocatable = half of what beta has free; labels and taint as DESIGN §5 says.
  const expected = expectedOffer(provider, consumer.config.clusterId);
  assert.deepEqual(node.status!.capacity, expected);
  assert.deepEqual(node.status!.allocatable, expected);
  assert.equal(node.metadata.labels!['peerlog.dev/type'], 'virtual-node');
  assert.equal(node.metadata.labels!['peerlog.dev/remote-cluster-id'], provider.config.clusterId);
  // The node lifecycle controller may add node.kubernetes.io/not-ready while it catches up with the
  // Ready status written just after the node; only peerlog's own taint stays.
  await eventually('only peerlog\'s taint on the node', async () => {
    const taints = virtualNode(consumer, nodeName)?.spec?.taints ?? [];
    return JSON.stringify(taints) === JSON.stringify([{ effect: 'NoExecute', key: 'virtual-node.peerlog.dev/not-allowed', value: 'true' }]) ? true : undefined;
  }, 15_000);
  const lease = consumer.kubectl(['get', 'lease', '-n', 'kube-node-lease', nodeName, '-o', 'jsonpath={.spec.holderIdentity}']);
  assert.equal(lease.stdout, nodeName);

  // kubectl shows the phase on both sides.
  const fcs = await eventually('kubectl get foreignclusters showing Established', async () => {
    const r = consumer.kubectl(['get', 'foreignclusters', provider.config.clusterId]);
    return new RegExp(`${provider.config.clusterId}\\s+Established\\s+${nodeName}`).test(r.stdout) ? r : undefined;
  }, 10_000);
  assert.match(fcs.stdout, /OUTGOING\s+INCOMING\s+VIRTUALNODE/);
  await eventually('the provider\'s ForeignCluster Established', async () => {
    const r = provider.kubectl(['get', 'foreignclusters', '-l', `peerlog.dev/remote-cluster-id=${consumer.config.clusterId}`, '-o', 'jsonpath={.items[0].status.incoming.phase}']);
    return r.stdout === 'Established' ? true : undefined;
  }, 10_000);
  const ro = provider.kubectl(['get', 'resourceoffers', '-n', tenantNamespaceFor(consumer.config.clusterId), '-o', 'jsonpath={.items[0].status.phase}']);
  assert.equal(ro.stdout, 'Accepted', 'the consumer wrote its acceptance on the offer\'s status');
  const rr = provider.kubectl(['get', 'resourcerequests', '-n', tenantNamespaceFor(consumer.config.clusterId), '-o', 'jsonpath={.items[0].status.phase}/{.items[0].status.offerName}']);
  assert.match(rr.stdout, /^Offered\/offer-/, 'the provider wrote which offer answers the request');

  // The log on the consumer tells the whole story, in order.
  const types = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${provider.config.clusterId}`).map((e) => e.type);
  assert.deepEqual(types, ['PeeringRequested', 'IdentityRequested', 'CertIssued', 'ResourceRequested', 'OfferReceived', 'OfferAccepted', 'VirtualNodeCreated', 'VirtualNodeReady']);
  const incoming = (await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${consumer.config.clusterId}`).map((e) => e.type);
  assert.deepEqual(incoming, ['TokenValidated', 'CertIssued', 'ResourceRequestReceived', 'OfferIssued']);

  // A large pod on beta shrinks the offer, and the virtual node follows within seconds.
  assert.equal(provider.kubectl(['create', 'namespace', podNs]).status, 0);
  const pod = provider.kubectl(['apply', '-n', podNs, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big' },
    spec: { containers: [{ name: 'big', image: 'busybox', resources: { requests: { cpu: '6', memory: '20Gi' } } }] },
  }));
  assert.equal(pod.status, 0, pod.stderr);
  const loaded = Date.now();
  const shrunk = await eventually('the virtual node to shrink', async () => {
    const n = virtualNode(consumer, nodeName);
    return n && n.status?.capacity?.cpu !== expected.cpu ? n : undefined;
  }, 20_000);
  t.diagnostic(`pod created → virtual node capacity updated in ${Date.now() - loaded} ms: ${JSON.stringify(expected)} → ${JSON.stringify(shrunk.status!.capacity)}`);
  assert.deepEqual(shrunk.status!.capacity, expectedOffer(provider, consumer.config.clusterId));
  const after = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${provider.config.clusterId}`).map((e) => e.type).slice(8);
  assert.deepEqual(after, ['OfferReceived', 'OfferAccepted']);
  assert.ok((await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'OfferUpdated'));

  // Deleted with kubectl, the node comes back: the log says it exists.
  assert.equal(consumer.kubectl(['delete', 'node', nodeName, '--wait=true']).status, 0);
  const back = await eventually('the virtual node recreated', async () => { const n = virtualNode(consumer, nodeName); return n && n.metadata.uid !== node.metadata.uid && ready(n) ? n : undefined; }, 20_000);
  assert.deepEqual(back.status!.capacity, shrunk.status!.capacity);

  // Disabling the outgoing peering asks for unpeering, which is a later step: refused, and said so.
  assert.equal(consumer.kubectl(['patch', 'foreigncluster', provider.config.clusterId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
  const refusedCond = await eventually('UnpeeringNotSupported on the ForeignCluster', async () => {
    const r = consumer.kubectl(['get', 'foreigncluster', provider.config.clusterId, '-o', 'jsonpath={.status.conditions}']);
    return (JSON.parse(r.stdout || '[]') as { type: string; reason: string; message: string }[]).find((c) => c.type === 'OutgoingPeering' && c.reason === 'UnpeeringNotSupported');
  }, 10_000);
  assert.match(refusedCond.message, /not implemented/);
  assert.ok(ready(virtualNode(consumer, nodeName)), 'the peering stays as it is');

  // Deleting it is refused the same way: the finalizer holds the object, and the condition says why.
  assert.equal(consumer.kubectl(['delete', 'foreigncluster', provider.config.clusterId, '--wait=false']).status, 0);
  const held = await eventually('deletion held with a reason', async () => {
    const r = consumer.kubectl(['get', 'foreigncluster', provider.config.clusterId, '-o', 'json']);
    const fc = JSON.parse(r.stdout || '{}') as { metadata?: { deletionTimestamp?: string; finalizers?: string[] }; status?: { conditions?: { type: string; reason: string; message: string }[] } };
    const c = fc.status?.conditions?.find((x) => x.type === 'OutgoingPeering' && /deletion waits/.test(x.message));
    return fc.metadata?.deletionTimestamp && c ? fc : undefined;
  }, 10_000);
  assert.deepEqual(held.metadata!.finalizers, ['peering.peerlog.dev/outgoing-peering']);
  assert.ok(ready(virtualNode(consumer, nodeName)));
});
