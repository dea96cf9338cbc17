// kubectl apply of a ForeignCluster on alpha ends with a Ready virtual node whose capacity is half of
// beta's free resources; the node follows beta's load, and comes back when deleted with kubectl.
// The expected capacities are stated literally below, from the stack's node shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tenantNamespaceFor } from '../../../src/resources/names.js';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

interface Node { metadata: { name: string; uid: string; labels?: Record<string, string> }; spec?: { unschedulable?: boolean; taints?: unknown[] }; status?: { allocatable?: Record<string, string>; capacity?: Record<string, string>; conditions?: { type: string; status: string }[] } }
interface Container { resources?: { requests?: Record<string, string> } }
interface Pod { metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec: { nodeName?: string; containers: Container[]; initContainers?: Container[] }; status?: { phase?: string } }

function json<T>(p: Plane, args: string[]): T {
  const r = p.kubectl([...args, '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

// The oracle, by hand. beta's real nodes are the stack's kwok workers (src/stack/config.ts: beta has
// 3 nodes of cpu 8, memory 32Gi, pods 110; checked with kubectl below before relying on it). The
// provider runs with sharing-percent 50, and offers 50% of (allocatable of those nodes - requests of
// the non-terminal pods bound to them), each such pod counting 1 against pods, rounded down:
//   cpu    50% x (3 x 8)     = 12
//   memory 50% x (3 x 32Gi)  = 48Gi
//   pods   50% x (3 x 110)   = 165
const SHARING_PERCENT = 50;
const WORKERS = ['beta-worker-1', 'beta-worker-2', 'beta-worker-3'];
const WORKER_ALLOCATABLE = { cpu: '8', memory: '32Gi', pods: '110' };
const QUIET_OFFER = { cpu: '12', memory: '48Gi', pods: '165' };
// With the test's pod "big" (requests cpu 6, memory 20Gi) bound to one of them:
//   cpu    50% x (24 - 6)       = 9
//   memory 50% x (96Gi - 20Gi)  = 38Gi
//   pods   50% x (330 - 1)      = 164.5, rounded down to 164
const BIG_POD = { cpu: '6', memory: '20Gi' };
const LOADED_OFFER = { cpu: '9', memory: '38Gi', pods: '164' };

// Quantities as the test reads them, without peerlog's parser: cpu in millicores, memory in bytes,
// pods as a count. Only the forms kubectl shows for these resources are accepted.
const SUFFIX: Record<string, bigint> = { '': 1n, k: 1000n, M: 1000n ** 2n, G: 1000n ** 3n, T: 1000n ** 4n, Ki: 1024n, Mi: 1024n ** 2n, Gi: 1024n ** 3n, Ti: 1024n ** 4n };
function milli(text: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,3}))?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text);
  if (!m) throw new Error(`quantity the test cannot read: ${text}`);
  const whole = BigInt(m[1]!) * 1000n + BigInt((m[2] ?? '').padEnd(3, '0'));
  return m[3] === 'm' ? whole / 1000n : whole * SUFFIX[m[3] ?? '']!;
}
interface Amounts { cpuMilli: bigint; memoryBytes: bigint; pods: bigint }
const amounts = (r: Record<string, string>): Amounts => ({ cpuMilli: milli(r.cpu ?? '0'), memoryBytes: milli(r.memory ?? '0') / 1000n, pods: milli(r.pods ?? '0') / 1000n });

/**
 * What pods of other tests (that share beta) take from the workers right now: zero on a quiet stack.
 * Requests of a pod: the sum over its containers, or the largest init container's if larger.
 */
function othersLoad(provider: Plane, ownNamespace: string): { load: Amounts; pods: string[] } {
  const load: Amounts = { cpuMilli: 0n, memoryBytes: 0n, pods: 0n };
  const names: string[] = [];
  for (const p of json<{ items: Pod[] }>(provider, ['get', 'pods', '-A']).items) {
    if (p.metadata.namespace === ownNamespace || !WORKERS.includes(p.spec.nodeName ?? '') || ['Succeeded', 'Failed'].includes(p.status?.phase ?? '')) continue;
    for (const r of ['cpu', 'memory'] as const) {
      const sum = p.spec.containers.reduce((a, c) => a + milli(c.resources?.requests?.[r] ?? '0'), 0n);
      const init = (p.spec.initContainers ?? []).reduce((a, c) => { const x = milli(c.resources?.requests?.[r] ?? '0'); return x > a ? x : a; }, 0n);
      const v = sum > init ? sum : init;
      if (r === 'cpu') load.cpuMilli += v; else load.memoryBytes += v / 1000n;
    }
    load.pods += 1n;
    names.push(`${p.metadata.namespace}/${p.metadata.name}`);
  }
  return { load, pods: names };
}

/** The same arithmetic as the comment above, on amounts, with what other tests' pods take removed first. */
function offerLessOthers(withBigPod: boolean, others: Amounts): Amounts {
  const pct = BigInt(SHARING_PERCENT);
  const workers = BigInt(WORKERS.length);
  const node = amounts(WORKER_ALLOCATABLE);
  const own = withBigPod ? { ...amounts(BIG_POD), pods: 1n } : { cpuMilli: 0n, memoryBytes: 0n, pods: 0n };
  return {
    cpuMilli: ((workers * node.cpuMilli - own.cpuMilli - others.cpuMilli) * pct) / 100n,
    memoryBytes: ((workers * node.memoryBytes - own.memoryBytes - others.memoryBytes) * pct) / 100n,
    pods: ((workers * node.pods - own.pods - others.pods) * pct) / 100n,
  };
}

/**
 * Checks the virtual node's capacity against the literal offer: exactly (as strings) when no pod of
 * another test is on beta's workers, else against the literal totals less what kubectl shows those
 * pods request (said in a diagnostic).
 */
function assertOffer(t: { diagnostic(m: string): void }, capacity: Record<string, string> | undefined, withBigPod: boolean, provider: Plane, ownNamespace: string): void {
  const { load, pods } = othersLoad(provider, ownNamespace);
  if (pods.length === 0) {
    assert.deepEqual(capacity, withBigPod ? LOADED_OFFER : QUIET_OFFER);
    return;
  }
  t.diagnostic(`beta's workers also run ${pods.length} pods of other tests (${pods.join(', ')}): the literal totals less their requests`);
  assert.deepEqual(amounts(capacity ?? {}), offerLessOthers(withBigPod, load));
}

/** beta's schedulable real nodes are exactly the stack's three workers, each with the allocatable the oracle assumes. */
function assertWorkers(provider: Plane): void {
  const nodes = json<{ items: Node[] }>(provider, ['get', 'nodes']).items.filter((n) => n.metadata.labels?.['peerlog.dev/type'] !== 'virtual-node');
  assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), WORKERS);
  for (const n of nodes) {
    assert.notEqual(n.spec?.unschedulable, true, `${n.metadata.name} is schedulable`);
    assert.ok((n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'), `${n.metadata.name} is Ready`);
    const a = n.status?.allocatable ?? {};
    assert.deepEqual({ cpu: a.cpu, memory: a.memory, pods: a.pods }, WORKER_ALLOCATABLE, `${n.metadata.name}'s allocatable`);
  }
}

function virtualNode(consumer: Plane, name: string): Node | undefined {
  const r = consumer.kubectl(['get', 'node', name, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as Node : undefined;
}

const ready = (n: Node | undefined) => (n?.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

test('kubectl apply of a ForeignCluster: virtual node Ready with 50% of the provider\'s free resources, following its load, recreated when deleted', async (t) => {
  const consumer = await startPlane('alpha', 'cons');
  const provider = await startPlane('beta', 'prov', { sharingPercent: SHARING_PERCENT });
  const podNs = uniqueName('load');
  t.after(async () => { provider.kubectl(['delete', 'namespace', podNs, '--wait=false', '--ignore-not-found']); await cleanupPlanes([consumer, provider]); });
  const nodeName = `peerlog-${provider.config.clusterId}`;

  const started = Date.now();
  const applied = consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  assert.equal(applied.status, 0, applied.stderr);
  const node = await eventually('the virtual node Ready', async () => { const n = virtualNode(consumer, nodeName); return ready(n) ? n : undefined; }, 30_000);
  t.diagnostic(`apply → virtual node Ready in ${Date.now() - started} ms`);

  // Capacity = allocatable = half of what beta has free (the literals above); labels and taint as DESIGN §5 says.
  assertWorkers(provider);
  assertOffer(t, node.status!.capacity, false, provider, podNs);
  assert.deepEqual(node.status!.allocatable, node.status!.capacity);
  const expected = node.status!.capacity!;
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
  // Signed through the CSR API: the second IdentityRequested is the CSR with the CN the provider named.
  assert.deepEqual(types, ['PeeringRequested', 'IdentityRequested', 'IdentityRequested', 'CertIssued', 'ResourceRequested', 'OfferReceived', 'OfferAccepted', 'VirtualNodeCreated', 'VirtualNodeReady']);
  const incoming = (await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${consumer.config.clusterId}`).map((e) => e.type);
  assert.deepEqual(incoming, ['TokenValidated', 'CertIssued', 'ResourceRequestReceived', 'OfferIssued']);

  // A large pod on beta shrinks the offer, and the virtual node follows within seconds.
  assert.equal(provider.kubectl(['create', 'namespace', podNs]).status, 0);
  const pod = provider.kubectl(['apply', '-n', podNs, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big' },
    spec: { containers: [{ name: 'big', image: 'busybox', resources: { requests: BIG_POD } }] },
  }));
  assert.equal(pod.status, 0, pod.stderr);
  const loaded = Date.now();
  const shrunk = await eventually('the virtual node to shrink', async () => {
    const n = virtualNode(consumer, nodeName);
    return n && n.status?.capacity?.cpu !== expected.cpu ? n : undefined;
  }, 20_000);
  t.diagnostic(`pod created → virtual node capacity updated in ${Date.now() - loaded} ms: ${JSON.stringify(expected)} → ${JSON.stringify(shrunk.status!.capacity)}`);
  assertOffer(t, shrunk.status!.capacity, true, provider, podNs);
  assert.deepEqual(shrunk.status!.allocatable, shrunk.status!.capacity);
  const after = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${provider.config.clusterId}`).map((e) => e.type).slice(9);
  assert.deepEqual(after, ['OfferReceived', 'OfferAccepted']);
  assert.ok((await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'OfferUpdated'));

  // Deleted with kubectl, the node comes back: the log says it exists.
  assert.equal(consumer.kubectl(['delete', 'node', nodeName, '--wait=true']).status, 0);
  const back = await eventually('the virtual node recreated', async () => { const n = virtualNode(consumer, nodeName); return n && n.metadata.uid !== node.metadata.uid && ready(n) ? n : undefined; }, 20_000);
  assert.deepEqual(back.status!.capacity, shrunk.status!.capacity);

  // Disabling the outgoing peering unpeers: the node goes, the object stays and says Terminated.
  assert.equal(consumer.kubectl(['patch', 'foreigncluster', provider.config.clusterId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
  const terminated = await eventually('the outgoing peering Terminated', async () => {
    const r = consumer.kubectl(['get', 'foreigncluster', provider.config.clusterId, '-o', 'jsonpath={.status.outgoing.phase}']);
    return r.stdout === 'Terminated' ? r.stdout : undefined;
  }, 60_000);
  assert.equal(terminated, 'Terminated');
  assert.equal(virtualNode(consumer, nodeName), undefined, 'the virtual node is gone');

  // Deleted, the object goes: nothing stands at the provider any more, so the finalizer is released.
  assert.equal(consumer.kubectl(['delete', 'foreigncluster', provider.config.clusterId, '--wait=false']).status, 0);
  await eventually('the ForeignCluster gone', async () => (consumer.kubectl(['get', 'foreigncluster', provider.config.clusterId]).status !== 0 ? true : undefined), 30_000);
});
