// Offloaded pods' lifecycle and boundaries: a twin deleted in beta comes back, one that completed
// does not (terminal is final); a pod the provider's quota refuses says so on the local pod; a
// DaemonSet pod is not offloaded; and alpha's identity can do nothing in beta outside its tenant
// namespace and the namespaces made for it (asked with `kubectl auth can-i` and the issued
// certificate). Expected values are written out here; the clusters are read with kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDENTITY_SECRET_NAME } from '../../../src/resources/constants.js';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { clusterEndpoint, kubectlAs } from '../../support/identity.js';
import { removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: { phase?: string; reason?: string; message?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

function get<T>(p: Plane, args: string[]): T | undefined {
  const r = p.kubectl([...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as T : undefined;
}

function pod(ns: string, name: string, opts: { restartPolicy?: string; cpu?: string } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: { app: ${name} } }
spec:
  restartPolicy: ${opts.restartPolicy ?? 'Always'}
  nodeSelector: { peerlog.dev/type: virtual-node }
  tolerations: [{ key: virtual-node.peerlog.dev/not-allowed, operator: Exists, effect: NoExecute }]
  containers:
  - name: main
    image: registry.example/${name}:1
    resources: { requests: { cpu: ${opts.cpu ?? '50m'}, memory: 32Mi } }
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('twins: recreated when deleted behind our back, never once terminal; a quota refusal shows on the local pod; DaemonSet pods stay; the identity is fenced', async (t) => {
  const consumer = await startPlane('alpha', 'olc');
  const provider = await startPlane('beta', 'olp');
  const ns = uniqueName('life');
  const remoteNs = `${ns}-${consumer.config.clusterId}`;
  const taken = uniqueName('taken');
  const takenRemote = `${taken}-${consumer.config.clusterId}`;
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs, takenRemote]);
    await removeNamespaces(consumer, [ns, taken]);
  });
  const nodeName = `peerlog-${provider.config.clusterId}`;
  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => (consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True' ? true : undefined), 30_000);

  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], pod(ns, 'keep') + '---\n' + pod(ns, 'job', { restartPolicy: 'Never' })).status, 0);
  const running = async (name: string) => (get<Pod>(consumer, ['get', 'pod', '-n', ns, name])?.status?.phase === 'Running' ? true : undefined);
  await eventually('keep Running locally', () => running('keep'), 60_000);
  await eventually('job Running locally', () => running('job'), 60_000);
  const twin = (name: string) => get<Pod>(provider, ['get', 'pod', '-n', remoteNs, name]);

  // A twin deleted in beta comes back.
  const first = twin('keep')!;
  assert.equal(provider.kubectl(['delete', 'pod', '-n', remoteNs, 'keep', '--wait=false']).status, 0);
  const again = await eventually('keep\'s twin made again', async () => {
    const x = twin('keep');
    return x && x.metadata.uid !== first.metadata.uid && !x.metadata.deletionTimestamp ? x : undefined;
  }, 30_000);
  assert.ok(again);
  assert.equal(get<Pod>(consumer, ['get', 'pod', '-n', ns, 'keep'])?.status?.phase, 'Running');

  // A twin that completed: the local pod completes, and the twin is never made again once deleted.
  const done = provider.kubectl(['patch', 'pod', '-n', remoteNs, 'job', '--subresource=status', '--type=merge', '-p',
    '{"status":{"phase":"Succeeded","conditions":[{"type":"Ready","status":"False","reason":"PodCompleted"}],"containerStatuses":[{"name":"main","ready":false,"restartCount":0,"image":"registry.example/job:1","imageID":"","state":{"terminated":{"exitCode":0,"reason":"Completed","startedAt":"2026-12-01T00:00:00Z","finishedAt":"2026-12-01T00:01:00Z"}}}]}}']);
  assert.equal(done.status, 0, done.stderr);
  await eventually('job Succeeded locally', async () => (get<Pod>(consumer, ['get', 'pod', '-n', ns, 'job'])?.status?.phase === 'Succeeded' ? true : undefined), 30_000);
  assert.equal(provider.kubectl(['delete', 'pod', '-n', remoteNs, 'job', '--wait=false']).status, 0);
  await eventually('job\'s twin gone', async () => (twin('job') ? undefined : true), 30_000);
  await sleep(5_000);
  assert.equal(twin('job'), undefined, 'a completed pod was made again');
  assert.equal(get<Pod>(consumer, ['get', 'pod', '-n', ns, 'job'])?.status?.phase, 'Succeeded');

  // The provider's own quota refuses a pod: the local pod says why, in the provider's words.
  assert.equal(provider.kubectl(['create', 'quota', 'admin-limit', '-n', remoteNs, '--hard=requests.cpu=300m']).status, 0);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], pod(ns, 'big', { cpu: '500m' })).status, 0);
  const refused = await eventually('big refused, with the reason on the local pod', async () => {
    const p = get<Pod>(consumer, ['get', 'pod', '-n', ns, 'big']);
    return p?.status?.reason === 'ProviderRefused' ? p : undefined;
  }, 30_000);
  assert.equal(refused.status?.phase, 'Pending');
  assert.match(refused.status?.message ?? '', /exceeded quota: admin-limit/);
  const offloaded = refused.status?.conditions?.find((c) => c.type === 'peerlog.dev/Offloaded');
  assert.equal(offloaded?.status, 'False');
  assert.equal(offloaded?.reason, 'ProviderRefused');
  assert.equal(twin('big'), undefined);
  const failures = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.type === 'PodOffloadFailed' && (e.data as { name: string }).name === 'big');
  assert.equal(failures.length, 1, 'the same refusal is recorded once');

  // A DaemonSet pod on the virtual node is not offloaded, and says so.
  const ds = `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: everywhere, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: everywhere } }
  template:
    metadata: { labels: { app: everywhere } }
    spec:
      tolerations: [{ operator: Exists }]
      containers: [{ name: main, image: registry.example/agent:1 }]
`;
  assert.equal(consumer.kubectl(['apply', '-f', '-'], ds).status, 0);
  const dsPod = await eventually('the DaemonSet pod on the virtual node marked', async () => {
    const list = get<{ items: (Pod & { spec: { nodeName?: string } })[] }>(consumer, ['get', 'pods', '-n', ns, '-l', 'app=everywhere'])?.items ?? [];
    const p = list.find((x) => x.spec.nodeName === nodeName);
    return p?.status?.reason === 'DaemonSetPod' ? p : undefined;
  }, 30_000);
  assert.equal(twin(dsPod.metadata.name), undefined);

  // A namespace of the name asked for, made in beta by someone else, is never adopted.
  assert.equal(provider.kubectl(['create', 'namespace', takenRemote]).status, 0);
  assert.equal(consumer.kubectl(['create', 'namespace', taken]).status, 0);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], pod(taken, 'squatted')).status, 0);
  const kept = await eventually('the pod kept back: its namespace was refused', async () => {
    const p = get<Pod>(consumer, ['get', 'pod', '-n', taken, 'squatted']);
    return p?.status?.reason === 'NamespaceRefused' ? p : undefined;
  }, 30_000);
  assert.match(kept.status?.message ?? '', /never adopted/);
  assert.equal(get<{ items: unknown[] }>(provider, ['get', 'pods', '-n', takenRemote])?.items.length, 0);
  const refusedNs = (await outboxEvents(provider.cp.runtime)).find((e) => e.type === 'RemoteNamespaceRefused');
  assert.equal((refusedNs?.data as { reason?: string } | undefined)?.reason, 'NamespaceExists');
  assert.equal(get<{ metadata: { labels?: Record<string, string> } }>(provider, ['get', 'namespace', takenRemote])?.metadata.labels?.['app.kubernetes.io/managed-by'], undefined, 'not relabelled');

  // The identity alpha holds, asked what it may do in beta.
  const tenant = `peerlog-tenant-${consumer.config.clusterId}`;
  const secret = get<{ data: Record<string, string> }>(consumer, ['get', 'secret', '-n', `peerlog-tenant-${provider.config.clusterId}`, IDENTITY_SECRET_NAME])!;
  const d = (k: string) => Buffer.from(secret.data[k]!, 'base64').toString('utf8');
  const beta = clusterEndpoint('beta');
  const as = kubectlAs({ server: beta.server, caPem: beta.caPem, certPem: d('tls.crt'), keyPem: d('tls.key') });
  const can = (args: string[]) => as(['auth', 'can-i', ...args]).stdout.trim();
  const matrix: [string[], string][] = [
    [['create', 'pods', '-n', remoteNs], 'yes'],
    [['delete', 'pods', '-n', remoteNs], 'yes'],
    [['get', 'pods', '--subresource=log', '-n', remoteNs], 'yes'],
    [['update', 'pods', '-n', remoteNs], 'no'],
    [['create', 'pods', '--subresource=exec', '-n', remoteNs], 'no'],
    [['update', 'pods', '--subresource=status', '-n', remoteNs], 'no'],
    [['create', 'configmaps', '-n', remoteNs], 'yes'],
    [['create', 'secrets', '-n', remoteNs], 'yes'],
    [['list', 'events', '-n', remoteNs], 'yes'],
    [['create', 'events', '-n', remoteNs], 'no'],
    [['delete', 'resourcequotas', '-n', remoteNs], 'no'],
    [['create', 'rolebindings', '-n', remoteNs], 'no'],
    [['create', 'pods', '-n', tenant], 'no'],
    [['get', 'secrets', '-n', tenant], 'no'],
    [['create', 'pods', '-n', 'default'], 'no'],
    [['list', 'pods', '-n', 'kube-system'], 'no'],
    [['get', 'secrets', '-n', 'kube-system'], 'no'],
    [['list', 'nodes'], 'no'],
    [['list', 'namespaces'], 'no'],
    [['create', 'namespaces'], 'no'],
  ];
  const answers = matrix.map(([args]) => can(args));
  assert.deepEqual(answers, matrix.map(([, want]) => want), matrix.map(([args], i) => `${args.join(' ')} → ${answers[i]}`).join('\n'));
});
