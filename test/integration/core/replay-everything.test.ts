// Issue 15 item 3: `peerlog replay` rebuilds every projection from offset 0 while the control plane
// is stopped — read models, custom-resource status, replicated objects, virtual nodes and offloaded
// pods — and the result equals the live state it replaced. Peer alpha → beta, offload a Deployment
// of 2 pods (pinned to this test's virtual node by remote-cluster-id) that uses a ConfigMap; once
// the pods run on both sides, stop both control planes and dump, with kubectl and SQL (pg): alpha's
// ForeignCluster status, the virtual node and its Lease, the local pods' status; beta's ForeignCluster
// status, ResourceRequest and ResourceOffer, the twins and the copied ConfigMap; both read models.
// Damage all of it, run the real CLI (`bin/peerlog replay`) for beta and for alpha, dump again: equal.
// Then start both planes again: nothing changes, but for the twin replay had to make anew (a new pod
// in beta, with a new IP), whose status the restarted plane reflects onto its local pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { tenantNamespaceFor } from '../../../src/resources/names.js';
import { eventually, uniqueName } from '../../support/env.js';
import { offloadedDeployment, ON_VIRTUAL_NODE, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, peerlog, planeFlags, restartPlane, startPlane, type Plane } from '../../support/peering.js';

type Json = Record<string, unknown>;
interface Obj { metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string }; spec?: Json; status?: Json; data?: Json }

function get(p: Plane, args: string[]): Obj | undefined {
  const r = p.kubectl(['get', ...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as Obj : undefined;
}
const list = (p: Plane, args: string[]): Obj[] => (get(p, args) as unknown as { items?: Obj[] } | undefined)?.items ?? [];

/** Drops what the apiserver assigns or what moves by itself (heartbeats, Lease renewals), recursively. */
const MOVING = new Set(['resourceVersion', 'uid', 'managedFields', 'creationTimestamp', 'generation', 'selfLink']);
function steady(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(steady);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Json).filter(([k]) => !MOVING.has(k) && !/heartbeat|renew/i.test(k)).map(([k, x]) => [k, steady(x)]));
  }
  return v;
}

/** The read models of a plane's schema, each table or view in a fixed order (SQL, not peerlog's queries). */
async function readModels(p: Plane): Promise<Record<'peerings' | 'aggregates' | 'offers' | 'virtualNodes' | 'offloadedPods' | 'audit', Json[]>> {
  const client = new pg.Client({ connectionString: p.config.databaseUrl });
  await client.connect();
  const s = `"${p.config.dbSchema}"`;
  const q = async (sql: string) => (await client.query(sql)).rows as Json[];
  try {
    return {
      peerings: await q(`select * from ${s}.peerlog_peerings order by cluster_id, remote_cluster_id, direction`),
      aggregates: await q(`select * from ${s}.peerlog_aggregates order by stream_id`),
      offers: await q(`select stream_id, state->'status' as status, state->'offer' as offer from ${s}.peerlog_aggregates where state ? 'offer' order by stream_id`),
      virtualNodes: await q(`select stream_id, state->'virtualNode' as virtual_node from ${s}.peerlog_aggregates where state ? 'virtualNode' order by stream_id`),
      offloadedPods: await q(`select * from ${s}.peerlog_offloaded_pods order by remote_cluster_id, namespace, name`),
      audit: await q(`select * from ${s}.peerlog_audit order by stream_id, stream_version`),
    };
  } finally {
    await client.end();
  }
}

/** Empties a plane's read-model tables (what replay must fill again from the log). */
async function truncateReadModels(p: Plane): Promise<void> {
  const client = new pg.Client({ connectionString: p.config.databaseUrl });
  await client.connect();
  const s = `"${p.config.dbSchema}"`;
  try {
    await client.query(`truncate ${s}.peerlog_peerings, ${s}.peerlog_aggregates, ${s}.peerlog_audit`);
  } finally {
    await client.end();
  }
}

/** Events in a plane's outbox, published ones, and rows of its audit index (by SQL). */
async function logCounts(p: Plane): Promise<{ outbox: number; published: number; audit: number }> {
  const client = new pg.Client({ connectionString: p.config.databaseUrl });
  await client.connect();
  const s = `"${p.config.dbSchema}"`;
  try {
    const r = await client.query(`select (select count(*) from ${s}.peerlog_outbox)::int as outbox,
      (select count(*) from ${s}.peerlog_outbox where published_at is not null)::int as published,
      (select count(*) from ${s}.peerlog_audit)::int as audit`);
    return r.rows[0] as { outbox: number; published: number; audit: number };
  } finally {
    await client.end();
  }
}

/** Waits until both planes' logs are published and projected and their effects idle, twice in a row. */
async function settle(planes: readonly Plane[]): Promise<void> {
  let last = '';
  await eventually('both logs published, projected and applied', async () => {
    for (const p of planes) await p.cp.operator.idle();
    const counts = await Promise.all(planes.map(logCounts));
    const now = JSON.stringify(counts);
    const done = counts.every((c) => c.outbox === c.published && c.audit === c.outbox);
    const stable = done && now === last;
    last = now;
    if (!stable) await new Promise((r) => setTimeout(r, 1000));
    return stable ? true : undefined;
  }, 60_000);
}

test('peerlog replay recreates statuses, replicated objects, the virtual node, offloaded pods and read models equal to the live state', async (t) => {
  let consumer = await startPlane('alpha', 'rpeca');
  let provider = await startPlane('beta', 'rpecb');
  const alphaId = consumer.config.clusterId;
  const betaId = provider.config.clusterId;
  const ns = uniqueName('rpe');
  const remoteNs = `${ns}-${alphaId}`;
  const tenant = tenantNamespaceFor(alphaId);
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });
  const fcName = betaId;
  const nodeName = `peerlog-${betaId}`;

  // 1. Peered, and a Deployment using a ConfigMap offloaded to this test's virtual node only.
  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => (
    consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True' ? true : undefined), 60_000);
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['-n', ns, 'create', 'configmap', 'rp-env', '--from-literal=MODE=blue']).status, 0);
  const applied = consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'rp', 2, { envFrom: [{ configMapRef: { name: 'rp-env' } }] }, {
    nodeSelector: { 'peerlog.dev/remote-cluster-id': betaId }, tolerations: ON_VIRTUAL_NODE.tolerations,
  }));
  assert.equal(applied.status, 0, applied.stderr);
  await eventually('2 pods Running on alpha, their twins Running on beta with the same IPs', async () => {
    const local = list(consumer, ['pods', '-n', ns, '-l', 'app=rp']).filter((p) => !p.metadata.deletionTimestamp);
    const twins = list(provider, ['pods', '-n', remoteNs, '-l', 'app=rp']);
    const ready = (p: Obj) => ((p.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
    const ok = local.length === 2 && twins.length === 2 && local.every((p) => p.spec?.nodeName === nodeName && p.status?.phase === 'Running' && ready(p)
      && twins.some((w) => w.metadata.name === p.metadata.name && w.status?.phase === 'Running' && w.status.podIP === p.status?.podIP));
    return ok ? true : undefined;
  }, 90_000);
  assert.ok(get(provider, ['configmap', '-n', remoteNs, 'rp-env']), 'the ConfigMap is copied to beta');
  await settle([consumer, provider]);

  // 2. Both planes stopped, then everything dumped.
  await consumer.stop();
  await provider.stop();
  for (const p of [consumer, provider]) {
    const c = await logCounts(p);
    assert.ok(c.audit === c.published, `${p.cluster}: every published event is in the read model before the stop (${JSON.stringify(c)})`);
  }
  const rrName = provider.kubectl(['get', 'resourcerequests', '-n', tenant, '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
  const roName = provider.kubectl(['get', 'resourceoffers', '-n', tenant, '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
  const incomingFc = provider.kubectl(['get', 'foreignclusters', '-l', `peerlog.dev/remote-cluster-id=${alphaId}`, '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
  assert.ok(rrName && roName && incomingFc, `names on beta: ${rrName} ${roName} ${incomingFc}`);
  const objectParts = (o: Obj | undefined) => (o ? steady({ labels: o.metadata.labels, annotations: o.metadata.annotations, spec: o.spec, status: o.status, data: o.data }) : undefined);
  const dump = async () => {
    const node = get(consumer, ['node', nodeName]);
    const nodeSpec = node?.spec as { taints?: { key: string }[] } | undefined;
    const twins = list(provider, ['pods', '-n', remoteNs, '-l', 'app=rp']).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    return {
      alpha: {
        foreignCluster: steady(get(consumer, ['foreigncluster', fcName])?.status),
        // The node lifecycle controller's own taints (node.kubernetes.io/*) come and go as it catches up.
        node: node ? steady({ labels: node.metadata.labels, taints: (nodeSpec?.taints ?? []).filter((x) => !x.key.startsWith('node.kubernetes.io/')), status: node.status }) : undefined,
        lease: objectParts(get(consumer, ['lease', '-n', 'kube-node-lease', nodeName])),
        pods: list(consumer, ['pods', '-n', ns, '-l', 'app=rp']).map((p) => [p.metadata.name, p.spec?.nodeName, steady(p.status)]).sort(),
        readModels: await readModels(consumer),
      },
      beta: {
        foreignCluster: steady(get(provider, ['foreigncluster', incomingFc])?.status),
        resourceRequest: objectParts(get(provider, ['resourcerequest', '-n', tenant, rrName])),
        resourceOffer: objectParts(get(provider, ['resourceoffer', '-n', tenant, roName])),
        // The twins as peerlog makes them: beta's scheduler picks the node, kwok writes the status.
        twins: twins.map((w) => steady({ name: w.metadata.name, labels: w.metadata.labels, annotations: w.metadata.annotations, spec: { ...w.spec, nodeName: undefined } })),
        configMap: objectParts(get(provider, ['configmap', '-n', remoteNs, 'rp-env'])),
        readModels: await readModels(provider),
      },
      // Kept apart: what only the twins' own cluster writes.
      twinStatus: Object.fromEntries(twins.map((w) => [w.metadata.name, steady(w.status)])),
    };
  };
  const before = await dump();
  t.diagnostic(`dumped: ${JSON.stringify(before).length} bytes`);
  assert.ok((before.alpha.foreignCluster as { conditions?: unknown[] } | undefined)?.conditions?.length, 'alpha\'s ForeignCluster has conditions');
  assert.ok(before.alpha.node && before.alpha.lease, 'the virtual node and its Lease exist');
  assert.equal(before.alpha.pods.length, 2);
  assert.equal(before.beta.twins.length, 2);
  assert.equal(before.alpha.readModels.offloadedPods.length, 2, 'the offloaded pods read model has both pods');
  assert.ok(before.alpha.readModels.offers.length > 0 && before.alpha.readModels.virtualNodes.length > 0 && before.beta.readModels.offers.length > 0);
  assert.ok((before.alpha.readModels.audit as unknown[]).length > 10 && (before.beta.readModels.audit as unknown[]).length > 5);

  const must = (r: { status: number | null; stderr: string }, what: string) => assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  const clearStatus = (p: Plane, args: string[]) => must(p.kubectl(['patch', ...args, '--subresource=status', '--type=json', '-p', '[{"op":"remove","path":"/status"}]']), `clearing the status of ${args.join(' ')}`);
  // The flags of the plane's own settings; the kubelet port too, which the node's status names.
  const replay = async (p: Plane) => {
    const started = Date.now();
    const r = await peerlog(['replay', ...planeFlags(p), '--kubelet-port', String(p.config.kubeletPort), '--timeout', '2m']);
    t.diagnostic(`replay ${p.cluster}: exit ${String(r.status)} in ${Date.now() - started} ms; ${r.stdout.trim()} | ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    assert.equal(r.status, 0, `peerlog replay for ${p.cluster}: ${r.stdout} ${r.stderr}`);
  };

  // 3. Everything damaged: on beta, the statuses, one twin and the copied ConfigMap (alpha's to make
  //    again, through its identity), its read models; on alpha, the ForeignCluster's status, one local
  //    pod's status, the read models, the virtual node and its Lease. A pod bound to a missing node
  //    is deleted by the pod garbage collector after 40 s: the node goes last, shortly before replay.
  const [victim, kept] = before.alpha.pods.map((p) => p[0] as string) as [string, string];
  clearStatus(provider, ['resourcerequest', '-n', tenant, rrName]);
  clearStatus(provider, ['resourceoffer', '-n', tenant, roName]);
  clearStatus(provider, ['foreigncluster', incomingFc]);
  must(provider.kubectl(['delete', 'pod', '-n', remoteNs, victim, '--wait=false']), 'deleting a twin');
  must(provider.kubectl(['delete', 'configmap', '-n', remoteNs, 'rp-env']), 'deleting the copied ConfigMap');
  await eventually('the twin gone from beta', async () => (get(provider, ['pod', '-n', remoteNs, victim]) ? undefined : true), 60_000);
  await truncateReadModels(provider);
  clearStatus(consumer, ['foreigncluster', fcName]);
  // A local pod's status down to what the scheduler's binding wrote (PodScheduled): the rest is peerlog's.
  const keptPod = get(consumer, ['pod', '-n', ns, kept])!;
  const scheduled = ((keptPod.status?.conditions ?? []) as { type: string }[]).filter((c) => c.type === 'PodScheduled');
  must(consumer.kubectl(['patch', 'pod', '-n', ns, kept, '--subresource=status', '--type=json', '-p',
    JSON.stringify([{ op: 'replace', path: '/status', value: { phase: 'Pending', conditions: scheduled, qosClass: keptPod.status?.qosClass } }])]), 'clearing a local pod\'s status');
  await truncateReadModels(consumer);
  must(consumer.kubectl(['delete', 'node', nodeName, '--wait=false']), 'deleting the virtual node');
  must(consumer.kubectl(['delete', 'lease', '-n', 'kube-node-lease', nodeName, '--ignore-not-found', '--wait=false']), 'deleting the Lease');
  const damaged = await dump();
  assert.deepEqual({
    fc: damaged.alpha.foreignCluster, node: damaged.alpha.node, lease: damaged.alpha.lease,
    keptPhase: (damaged.alpha.pods.find((p) => p[0] === kept)![2] as Json).phase,
    incomingFc: damaged.beta.foreignCluster, rr: (damaged.beta.resourceRequest as Json).status, ro: (damaged.beta.resourceOffer as Json).status,
    twins: damaged.beta.twins.length, configMap: damaged.beta.configMap,
    alphaAudit: damaged.alpha.readModels.audit, alphaPods: damaged.alpha.readModels.offloadedPods, betaAudit: damaged.beta.readModels.audit, betaPeerings: damaged.beta.readModels.peerings,
  }, {
    fc: undefined, node: undefined, lease: undefined, keptPhase: 'Pending', incomingFc: undefined, rr: undefined, ro: undefined,
    twins: 1, configMap: undefined, alphaAudit: [], alphaPods: [], betaAudit: [], betaPeerings: [],
  }, 'everything replay must recreate is gone');

  // 4. `peerlog replay` for beta, then for alpha (whose replay makes the twin and ConfigMap again).
  await replay(provider);
  await replay(consumer);

  // 5. Dumped again: equal. The new twin runs (kwok), its status is beta's own.
  let last: Awaited<ReturnType<typeof dump>> | undefined;
  const { twinStatus: _beforeTwins, ...wanted } = before;
  try {
    await eventually('every dumped object and row equal to what it was', async () => {
      last = await dump();
      const { twinStatus: _t, ...got } = last;
      return isDeepStrictEqual(got, wanted) ? true : undefined;
    }, 20_000);
  } catch {
    const { twinStatus: _t, ...got } = last!;
    assert.deepEqual(got, wanted);
  }
  assert.deepEqual(last!.twinStatus[kept], before.twinStatus[kept], 'the twin left alone is unchanged');

  // 6. Both planes again: nothing moves, but for the new twin, whose status alpha reflects.
  consumer = await restartPlane(consumer);
  provider = await restartPlane(provider);
  const newTwinIp = await eventually('the new twin Running on beta', async () => {
    const w = get(provider, ['pod', '-n', remoteNs, victim]);
    return w?.status?.phase === 'Running' && w.status.podIP ? String(w.status.podIP) : undefined;
  }, 60_000);
  await eventually('the new twin\'s IP reflected onto its local pod', async () => (get(consumer, ['pod', '-n', ns, victim])?.status?.podIP === newTwinIp ? true : undefined), 60_000);
  await settle([consumer, provider]);
  const after = await dump();
  const withoutVictim = (d: typeof before) => ({
    ...d,
    twinStatus: d.twinStatus[kept],
    alpha: {
      ...d.alpha,
      pods: d.alpha.pods.filter((p) => p[0] !== victim),
      readModels: {
        ...d.alpha.readModels,
        aggregates: (d.alpha.readModels.aggregates as Json[]).filter((r) => r.stream_id !== `pods-${betaId}`),
        // The kept pod's row is the same but for the version of the stream both are in.
        offloadedPods: (d.alpha.readModels.offloadedPods as Json[]).filter((r) => r.name !== victim).map(({ stream_version: _v, ...r }) => r),
        audit: (d.alpha.readModels.audit as Json[]).filter((r) => (before.alpha.readModels.audit as Json[]).some((b) => b.event_id === r.event_id)),
      },
    },
  });
  assert.deepEqual(withoutVictim(after), withoutVictim(last!), 'nothing changed after the restart but the new twin\'s reflection');
  const newEvents = (after.alpha.readModels.audit as Json[]).filter((r) => !(before.alpha.readModels.audit as Json[]).some((b) => b.event_id === r.event_id));
  t.diagnostic(`events after the restart: ${JSON.stringify(newEvents.map((e) => [e.stream_id, e.type]))}`);
  assert.ok(newEvents.every((e) => e.stream_id === `pods-${betaId}` && e.type === 'PodStatusReflected'), 'only the new twin\'s status was recorded');
  assert.equal((after.beta.readModels.audit as Json[]).length, (before.beta.readModels.audit as Json[]).length, 'beta recorded nothing new');
});
