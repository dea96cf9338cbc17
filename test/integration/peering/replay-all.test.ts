// Issue 12, "the log drives every effect": a replay of every projection recreates what the clusters
// showed. Peer alpha → beta to Established; record alpha's ForeignCluster status, the virtual node and
// its Lease, the ResourceRequest and the ResourceOffer on beta, and beta's ForeignCluster for alpha.
// Stop both control planes; delete alpha's ForeignCluster status, the node and its Lease; clear the
// status of the ResourceRequest and the ResourceOffer; `peerlog replay` (no --projection: all of
// them) for alpha and for beta; start both again. What was recorded is there again, equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { tenantNamespaceFor } from '../../../src/resources/names.js';
import { eventually } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, peerlog, planeFlags, restartPlane, startPlane, type Plane } from '../../support/peering.js';

interface Meta { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface Obj { metadata: Meta; spec?: Record<string, unknown>; status?: Record<string, unknown> }

function get(p: Plane, args: string[]): Obj | undefined {
  const r = p.kubectl(['get', ...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as Obj : undefined;
}

/** Drops what moves by itself with time (heartbeats, renewals), recursively. */
function steady(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(steady);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>)
      .filter(([k]) => !/heartbeat|renew/i.test(k))
      .map(([k, x]) => [k, steady(x)]));
  }
  return v;
}

/** The parts of a virtual node the issue names: labels, peerlog's taint, capacity (and allocatable). */
function nodeParts(n: Obj | undefined): unknown {
  if (!n) return undefined;
  const spec = n.spec as { taints?: { key: string }[] } | undefined;
  const status = n.status as { capacity?: unknown; allocatable?: unknown } | undefined;
  return {
    labels: n.metadata.labels,
    // The node lifecycle controller adds node.kubernetes.io/* taints of its own while it catches up.
    taints: (spec?.taints ?? []).filter((x) => !x.key.startsWith('node.kubernetes.io/')),
    capacity: status?.capacity,
    allocatable: status?.allocatable,
  };
}

const specAndStatus = (o: Obj | undefined) => (o ? steady({ labels: o.metadata.labels, spec: o.spec, status: o.status }) : undefined);

test('replay of every projection after deleting what they made: ForeignCluster status, virtual node, ResourceRequest and ResourceOffer come back equal', async (t) => {
  let consumer = await startPlane('alpha', 'rpcons');
  let provider = await startPlane('beta', 'rpprov');
  t.after(() => cleanupPlanes([consumer, provider]));
  const fcName = provider.config.clusterId;
  const nodeName = `peerlog-${provider.config.clusterId}`;
  const tenantOnProvider = tenantNamespaceFor(consumer.config.clusterId);
  const incomingSelector = `peerlog.dev/remote-cluster-id=${consumer.config.clusterId}`;

  // 1. A peering, Established on both sides, the node Ready with only peerlog's taint.
  const applied = consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  assert.equal(applied.status, 0, applied.stderr);
  await eventually('alpha\'s ForeignCluster Established with VirtualNodeReady True', async () => {
    const fc = get(consumer, ['foreigncluster', fcName]);
    const conds = (fc?.status?.conditions ?? []) as { type: string; status: string }[];
    return conds.some((c) => c.type === 'VirtualNodeReady' && c.status === 'True') && conds.some((c) => c.type === 'OutgoingPeering' && c.status === 'True') ? true : undefined;
  }, 60_000);
  await eventually('beta\'s ForeignCluster for alpha Established', async () => {
    const r = provider.kubectl(['get', 'foreignclusters', '-l', incomingSelector, '-o', 'jsonpath={.items[0].status.incoming.phase}']);
    return r.stdout === 'Established' ? true : undefined;
  }, 30_000);
  await eventually('only peerlog\'s taint on the node, Ready', async () => {
    const n = get(consumer, ['node', nodeName]);
    const taints = (n?.spec as { taints?: unknown[] } | undefined)?.taints ?? [];
    const ready = ((n?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    return ready && JSON.stringify(taints) === JSON.stringify([{ effect: 'NoExecute', key: 'virtual-node.peerlog.dev/not-allowed', value: 'true' }]) ? true : undefined;
  }, 30_000);
  await eventually('the offer Accepted and the request Offered on beta', async () => {
    const ro = provider.kubectl(['get', 'resourceoffers', '-n', tenantOnProvider, '-o', 'jsonpath={.items[0].status.phase}']).stdout;
    const rr = provider.kubectl(['get', 'resourcerequests', '-n', tenantOnProvider, '-o', 'jsonpath={.items[0].status.phase}']).stdout;
    return ro === 'Accepted' && rr === 'Offered' ? true : undefined;
  }, 30_000);

  // 2. What the projections made, recorded. Stops settle first: nothing moves while the planes are down.
  const rrName = provider.kubectl(['get', 'resourcerequests', '-n', tenantOnProvider, '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
  const roName = provider.kubectl(['get', 'resourceoffers', '-n', tenantOnProvider, '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
  const incomingFcName = provider.kubectl(['get', 'foreignclusters', '-l', incomingSelector, '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
  assert.ok(rrName && roName && incomingFcName, `names on beta: ${rrName} ${roName} ${incomingFcName}`);
  await consumer.stop();
  await provider.stop();
  const record = () => ({
    foreignCluster: steady(get(consumer, ['foreigncluster', fcName])?.status),
    node: nodeParts(get(consumer, ['node', nodeName])),
    lease: get(consumer, ['lease', '-n', 'kube-node-lease', nodeName]) !== undefined,
    resourceRequest: specAndStatus(get(provider, ['resourcerequest', '-n', tenantOnProvider, rrName])),
    resourceOffer: specAndStatus(get(provider, ['resourceoffer', '-n', tenantOnProvider, roName])),
    incomingForeignCluster: steady(get(provider, ['foreigncluster', incomingFcName])?.status),
  });
  const before = record();
  t.diagnostic(`recorded: ${JSON.stringify(before)}`);
  assert.ok(before.lease, 'the Lease existed');
  assert.ok((before.foreignCluster as { conditions?: unknown[] } | undefined)?.conditions?.length, 'alpha\'s ForeignCluster had conditions');
  assert.ok((before.resourceRequest as { status?: unknown }).status, 'the ResourceRequest had a status');
  assert.ok((before.resourceOffer as { status?: unknown }).status, 'the ResourceOffer had a status');

  // 3. Delete what the projections made.
  const clearStatus = (p: Plane, args: string[]) => {
    const r = p.kubectl(['patch', ...args, '--subresource=status', '--type=json', '-p', '[{"op":"remove","path":"/status"}]']);
    assert.equal(r.status, 0, `clearing the status of ${args.join(' ')}: ${r.stderr}`);
  };
  clearStatus(consumer, ['foreigncluster', fcName]);
  clearStatus(provider, ['resourcerequest', '-n', tenantOnProvider, rrName]);
  clearStatus(provider, ['resourceoffer', '-n', tenantOnProvider, roName]);
  assert.equal(consumer.kubectl(['delete', 'node', nodeName, '--wait=true']).status, 0);
  assert.equal(consumer.kubectl(['delete', 'lease', '-n', 'kube-node-lease', nodeName, '--ignore-not-found']).status, 0);
  const cleared = record();
  assert.deepEqual({ fc: cleared.foreignCluster, node: cleared.node, lease: cleared.lease, rr: (cleared.resourceRequest as { status?: unknown }).status, ro: (cleared.resourceOffer as { status?: unknown }).status },
    { fc: undefined, node: undefined, lease: false, rr: undefined, ro: undefined }, 'everything the replay must recreate is gone');

  // 4. Replay everything, for both clusters, through the CLI: the planes' settings as flags.
  for (const p of [consumer, provider]) {
    const r = await peerlog(['replay', ...planeFlags(p), '--timeout', '2m']);
    t.diagnostic(`replay ${p.cluster}: exit ${String(r.status)}; ${r.stdout.trim()} ${r.stderr.trim()}`);
    assert.equal(r.status, 0, `peerlog replay for ${p.cluster}: ${r.stderr}`);
  }

  // 5. Start both again: what was recorded is there, equal (transition times included).
  consumer = await restartPlane(consumer);
  provider = await restartPlane(provider);
  let last: unknown;
  try {
    await eventually('every recorded object equal to what it was', async () => {
      last = record();
      return isDeepStrictEqual(last, before) ? true : undefined;
    }, 60_000);
  } catch {
    // Say exactly what differs.
    assert.deepEqual(last, before);
  }
});
