// Offloading end to end: a Deployment on alpha bound to beta's virtual node runs in beta's
// `<namespace>-<alpha id>`, with its ConfigMaps and Secret; a changed ConfigMap follows; a deleted
// local pod takes its twin with it; scaling to 0 leaves nothing of the Deployment in beta. The
// expected names and values are written out here, and every check reads the clusters with kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { offloadedDeployment, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, peerlog, planeFlags, startPlane, type Plane } from '../../support/peering.js';
import { driversOf } from '../../../src/runtime.js';

interface Pod {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; tolerations?: { key?: string }[]; nodeSelector?: Record<string, string>; automountServiceAccountToken?: boolean; volumes?: { name: string }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string; reason?: string }[]; containerStatuses?: { name: string; ready: boolean; state?: Record<string, unknown> }[] };
}

function json<T>(p: Plane, args: string[]): T {
  const r = p.kubectl([...args, '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

const pods = (p: Plane, ns: string, selector = 'app=web') => json<{ items: Pod[] }>(p, ['get', 'pods', '-n', ns, '-l', selector]).items;

/** The Deployment `web`: a ConfigMap and a Secret in envFrom, a ConfigMap volume. */
const deployment = (ns: string, replicas: number) => offloadedDeployment(ns, 'web', replicas, {
  name: 'web', image: 'registry.example/web:1.0', resources: { requests: { cpu: '100m', memory: '64Mi' } },
  envFrom: [{ configMapRef: { name: 'web-env' } }, { secretRef: { name: 'web-secret' } }],
  volumeMounts: [{ name: 'conf', mountPath: '/etc/web' }],
}, { volumes: [{ name: 'conf', configMap: { name: 'web-files' } }] });

test('a Deployment offloaded to beta: 3 Running pods on both sides with their ConfigMaps and Secret; changes follow; deletes and scale to 0 clean up', async (t) => {
  const consumer = await startPlane('alpha', 'ofc');
  const provider = await startPlane('beta', 'ofp');
  const ns = uniqueName('web');
  // The provider's namespace for it, by the rule `<namespace>-<consumer id>` (both plain DNS labels here).
  const remoteNs = `${ns}-${consumer.config.clusterId}`;
  assert.ok(remoteNs.length <= 63, remoteNs);
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });
  const nodeName = `peerlog-${provider.config.clusterId}`;

  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => {
    const r = consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return r.stdout === 'True' ? true : undefined;
  }, 30_000);

  const capacityOf = () => {
    const c = json<{ status: { capacity: Record<string, string> } }>(consumer, ['get', 'node', nodeName]).status.capacity;
    return { cpu: c.cpu, memory: c.memory, pods: c.pods };
  };
  const capacityBefore = capacityOf();
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['-n', ns, 'create', 'configmap', 'web-env', '--from-literal=MODE=blue']).status, 0);
  assert.equal(consumer.kubectl(['-n', ns, 'create', 'configmap', 'web-files', '--from-literal=web.conf=listen 8080']).status, 0);
  assert.equal(consumer.kubectl(['-n', ns, 'create', 'secret', 'generic', 'web-secret', '--from-literal=PASSWORD=s3cr3t']).status, 0);
  const started = Date.now();
  assert.equal(consumer.kubectl(['apply', '-f', '-'], deployment(ns, 3)).status, 0);

  // 3 local pods Running on the virtual node, each backed by a Running twin in beta.
  const local = await eventually('3 local pods Running on the virtual node', async () => {
    const list = pods(consumer, ns).filter((p) => !p.metadata.deletionTimestamp);
    return list.length === 3 && list.every((p) => p.spec.nodeName === nodeName && p.status?.phase === 'Running') ? list : undefined;
  }, 60_000);
  t.diagnostic(`deployment applied → 3 local pods Running in ${Date.now() - started} ms`);
  const remote = pods(provider, remoteNs);
  assert.deepEqual(remote.map((p) => p.metadata.name).sort(), local.map((p) => p.metadata.name).sort());
  for (const twin of remote) {
    const origin = local.find((p) => p.metadata.name === twin.metadata.name)!;
    assert.equal(twin.status?.phase, 'Running');
    assert.equal(twin.metadata.labels?.['peerlog.dev/remote-cluster-id'], consumer.config.clusterId);
    assert.equal(twin.metadata.labels?.['peerlog.dev/origin-uid'], origin.metadata.uid);
    assert.equal(twin.metadata.annotations?.['peerlog.dev/origin-namespace'], ns);
    assert.notEqual(twin.spec.nodeName, nodeName);
    assert.ok(twin.spec.nodeName?.startsWith('beta-worker-'), twin.spec.nodeName);
    assert.equal(twin.spec.nodeSelector, undefined, 'the virtual node selector is dropped');
    assert.ok(!(twin.spec.tolerations ?? []).some((x) => x.key === 'virtual-node.peerlog.dev/not-allowed'), 'the virtual node toleration is dropped');
    assert.equal(twin.spec.automountServiceAccountToken, false);
    assert.ok(!(twin.spec.volumes ?? []).some((v) => v.name.startsWith('kube-api-access-')), 'alpha\'s service-account token is not copied');
    // The local pod's IP is the twin's.
    assert.equal(origin.status?.podIP, twin.status?.podIP);
  }
  // The remote namespace: labelled for alpha, PodSecurity baseline enforced, a quota.
  const rns = json<{ metadata: { labels: Record<string, string> } }>(provider, ['get', 'namespace', remoteNs]);
  assert.equal(rns.metadata.labels['pod-security.kubernetes.io/enforce'], 'baseline');
  assert.equal(rns.metadata.labels['peerlog.dev/remote-cluster-id'], consumer.config.clusterId);
  // The quota is the accepted offer, as alpha's virtual node shows it.
  const quota = json<{ spec: { hard: Record<string, string> } }>(provider, ['get', 'resourcequota', '-n', remoteNs, 'peerlog-offloading']);
  const offered = capacityOf();
  assert.deepEqual(quota.spec.hard, { pods: offered.pods, 'requests.cpu': offered.cpu, 'requests.memory': offered.memory });
  // Dependencies in beta, with alpha's contents.
  const cm = (name: string) => json<{ data: Record<string, string> }>(provider, ['get', 'configmap', '-n', remoteNs, name]).data;
  assert.deepEqual(cm('web-env'), { MODE: 'blue' });
  assert.deepEqual(cm('web-files'), { 'web.conf': 'listen 8080' });
  const secret = json<{ data: Record<string, string> }>(provider, ['get', 'secret', '-n', remoteNs, 'web-secret']).data;
  assert.equal(Buffer.from(secret.PASSWORD!, 'base64').toString(), 's3cr3t');

  // beta's scheduler placed each twin: that Event shows on the local pod (what `kubectl describe pod` lists).
  const mirrored = await eventually('beta\'s Scheduled event on a local pod', async () => {
    const evs = json<{ items: { reason: string; message: string; involvedObject: { name: string; uid: string } }[] }>(consumer, ['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${local[0]!.metadata.name}`]).items;
    // alpha's own scheduler says it bound the pod to the virtual node; beta's names a beta worker.
    return evs.find((e) => e.reason === 'Scheduled' && /beta-worker-\d/.test(e.message));
  }, 20_000);
  assert.match(mirrored.message, /beta-worker-\d/);
  assert.equal(mirrored.involvedObject.uid, local[0]!.metadata.uid);

  // The offer does not shrink for what this consumer itself runs there (DESIGN §7): a while after
  // its 3 twins run, the virtual node has the capacity it had before (on a stack no one else loads).
  await new Promise((r) => setTimeout(r, 3_000));
  assert.deepEqual(capacityOf(), capacityBefore);

  // A changed ConfigMap on alpha is changed on beta.
  const patched = consumer.kubectl(['-n', ns, 'patch', 'configmap', 'web-env', '--type=merge', '-p', '{"data":{"MODE":"green"}}']);
  assert.equal(patched.status, 0, patched.stderr);
  await eventually('the changed ConfigMap in beta', async () => (cm('web-env').MODE === 'green' ? true : undefined), 20_000);

  // The log on both sides.
  const alphaTypes = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `pods-${provider.config.clusterId}`).map((e) => e.type);
  assert.ok(alphaTypes.includes('NamespaceOffloadRequested') && alphaTypes.includes('NamespaceOffloadGranted'), alphaTypes.join());
  assert.equal(alphaTypes.filter((x) => x === 'PodOffloaded').length, 3, alphaTypes.join());
  assert.ok(alphaTypes.includes('PodStatusReflected'), alphaTypes.join());
  const betaTypes = (await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${consumer.config.clusterId}`).map((e) => e.type);
  assert.ok(betaTypes.includes('NamespaceOffloadReceived') && betaTypes.includes('RemoteNamespaceCreated'), betaTypes.join());

  // The read model of offloaded pods (SQL), and `peerlog status`: 3 pods Running on the virtual node.
  const rows = await eventually('3 Running pods in the read model', async () => {
    const r = await driversOf(consumer.cp.runtime).ds.query('select namespace, name, remote_namespace, node_name, phase from peerlog_offloaded_pods where remote_cluster_id = $1 order by name', [provider.config.clusterId]) as Record<string, string>[];
    return r.length === 3 && r.every((x) => x.phase === 'Running') ? r : undefined;
  }, 20_000);
  assert.deepEqual(rows.map((r) => [r.namespace, r.name, r.remote_namespace, r.node_name]), local.map((p) => [ns, p.metadata.name, remoteNs, nodeName]).sort((a, b) => a[1]!.localeCompare(b[1]!)));
  const status = await peerlog(['status', provider.config.clusterId, '-o', 'json', ...planeFlags(consumer)]);
  assert.equal(status.status, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { outgoing: { offloadedPods: unknown } }).outgoing.offloadedPods, { total: 3, running: 3, pending: 0, succeeded: 0, failed: 0, keptBack: 0 });
  const table = await peerlog(['status', ...planeFlags(consumer)]);
  assert.match(table.stdout, /PODS/);
  assert.match(table.stdout.split('\n').find((l) => l.startsWith(provider.config.clusterId)) ?? '', new RegExp(`${nodeName}\\s+3/3`));

  // Deleting one local pod removes its twin (the Deployment makes a replacement, offloaded in turn).
  const victim = local[0]!.metadata.name;
  // kubectl runs synchronously in the process the control planes run in: never with --wait.
  assert.equal(consumer.kubectl(['-n', ns, 'delete', 'pod', victim, '--wait=false']).status, 0);
  await eventually('the deleted pod gone from alpha', async () => (consumer.kubectl(['-n', ns, 'get', 'pod', victim]).status !== 0 ? true : undefined), 30_000).catch(async (e: unknown) => {
    t.diagnostic(JSON.stringify((await outboxEvents(consumer.cp.runtime)).filter((x) => x.streamId.startsWith('pods-')).map((x) => [x.type, (x.data as { name?: string }).name])));
    t.diagnostic(consumer.kubectl(['-n', ns, 'get', 'pod', victim, '-o', 'yaml']).stdout);
    t.diagnostic(provider.kubectl(['-n', remoteNs, 'get', 'pod', victim, '-o', 'yaml']).stdout);
    throw e;
  });
  await eventually('the deleted pod\'s twin gone from beta', async () => (pods(provider, remoteNs).some((p) => p.metadata.name === victim) ? undefined : true), 30_000);
  await eventually('3 twins again', async () => {
    const l = pods(consumer, ns).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running').map((p) => p.metadata.name).sort();
    const r = pods(provider, remoteNs).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name).sort();
    return l.length === 3 && JSON.stringify(l) === JSON.stringify(r) ? true : undefined;
  }, 40_000);
  assert.ok((await outboxEvents(consumer.cp.runtime)).some((e) => e.type === 'PodReclaimed' && (e.data as { name: string }).name === victim));

  // Scaled to 0: no pod, ConfigMap or Secret of the Deployment left in beta.
  assert.equal(consumer.kubectl(['-n', ns, 'scale', 'deployment', 'web', '--replicas=0']).status, 0);
  await eventually('nothing of the Deployment left in beta', async () => {
    const left = [
      ...pods(provider, remoteNs).map((p) => `pod/${p.metadata.name}`),
      ...json<{ items: { metadata: { name: string } }[] }>(provider, ['get', 'configmaps,secrets', '-n', remoteNs, '-l', 'app.kubernetes.io/managed-by=peerlog']).items.map((o) => o.metadata.name),
    ];
    return left.length === 0 ? true : undefined;
  }, 40_000);
  await eventually('no local pod left', async () => (pods(consumer, ns).length === 0 ? true : undefined), 30_000);
});
