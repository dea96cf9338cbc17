// A consumer, with the identity its provider issued, floods its tenant namespace with
// ResourceRequests carrying 100 KB annotations: the apiserver refuses them past the tenant's quota,
// and the provider neither caches them nor retries anything about them; deleting its request
// withdraws it, and the identity is revoked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, request } from 'node:https';
import { outboxEvents } from '../../support/core.js';
import { eventually } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

/** The review's 5k (PEERLOG_RR_FLOOD to change): past the quota every one is refused alike. */
const REQUESTS = Number(process.env.PEERLOG_RR_FLOOD ?? 5000);
const ANNOTATION = 'x'.repeat(100 * 1024);

function kubectlJson<T>(p: Plane, args: string[]): T {
  const r = p.kubectl([...args, '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/**
 * The heap still referenced, after full collections: what the planes keep, not the garbage their
 * consumers and watches make between two collections.
 */
function retainedHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc(); gc();
  return process.memoryUsage().heapUsed;
}

test(`${REQUESTS} ResourceRequests of 100 KB from a tenant: refused past the quota; the provider caches none and retries nothing`, async (t) => {
  const consumer = await startPlane('alpha', 'm2c');
  const provider = await startPlane('beta', 'm2p');
  t.after(() => cleanupPlanes([consumer, provider]));
  consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  await eventually('the peering established', async () =>
    ((await outboxEvents(consumer.cp.runtime)).some((e) => e.type === 'VirtualNodeReady') ? true : undefined), 30_000);

  // 1. The identity the provider issued, read back from the consumer's cluster with kubectl.
  const secret = kubectlJson<{ data: Record<string, string> }>(consumer, ['get', 'secret', 'peerlog-identity', '-n', `peerlog-tenant-${provider.config.clusterId}`]);
  const cfg = kubectlJson<{ clusters: { cluster: { server: string; 'certificate-authority-data': string } }[] }>(provider, ['config', 'view', '--raw']);
  const server = cfg.clusters[0]!.cluster.server;
  const agent = new Agent({
    keepAlive: true, maxSockets: 8,
    cert: Buffer.from(secret.data['tls.crt']!, 'base64'), key: Buffer.from(secret.data['tls.key']!, 'base64'),
    ca: Buffer.from(cfg.clusters[0]!.cluster['certificate-authority-data'], 'base64'),
  });
  t.after(() => agent.destroy());
  const tenant = `peerlog-tenant-${consumer.config.clusterId}`;
  const call = (method: string, path: string, body?: unknown) => new Promise<{ status: number; text: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const req = request(new URL(path, server), { method, agent, headers: { 'content-type': type, accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(payload);
  });
  const rrPath = `/apis/peering.peerlog.dev/v1alpha1/namespaces/${tenant}/resourcerequests`;
  const whoami = await call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  assert.match(whoami.text, new RegExp(`"username":"peerlog:cluster:${consumer.config.clusterId}:1"`), 'acting as the issued identity');

  const heapBefore = retainedHeap();
  const linesBefore = provider.logs.lines.length;

  // 2. The flood: every create is refused by the tenant's quota, which the one peerlog-request fills.
  const statuses: Record<string, number> = {};
  let sample = '';
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = next++; i < REQUESTS; i = next++) {
      const r = await call('POST', rrPath, {
        apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
        metadata: { name: `flood-${i}`, annotations: { 'flood.test/payload': ANNOTATION } },
        spec: { clusterId: consumer.config.clusterId, clusterName: consumer.config.clusterName },
      });
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === 403) sample = r.text;
    }
  }));
  t.diagnostic(`${REQUESTS} creates: ${JSON.stringify(statuses)}`);
  assert.deepEqual(statuses, { 403: REQUESTS });
  assert.match(sample, /exceeded quota/);
  const listed = JSON.parse((await call('GET', rrPath)).text) as { items: { metadata: { name: string } }[] };
  assert.deepEqual(listed.items.map((i) => i.metadata.name), ['peerlog-request']);

  // 3. The tenant keeps rewriting its one request with 100 KB annotations: nothing the provider
  //    answers changes, so it records nothing and retries nothing.
  for (let i = 0; i < 20; i++) {
    const r = await call('PATCH', `${rrPath}/peerlog-request`, { metadata: { annotations: { 'flood.test/payload': ANNOTATION, 'flood.test/round': String(i) } } });
    assert.equal(r.status, 200, r.text);
  }
  // Long enough for the provider's old retry loop (first retries at 0.25–4 s) to show.
  await new Promise((r) => setTimeout(r, 6000));

  const retries = provider.logs.lines.slice(linesBefore).filter((l) => /reconcile failed/.test(l) && /"key":"rr\//.test(l));
  t.diagnostic(`provider log lines since the flood: ${provider.logs.lines.length - linesBefore}, reconcile retries about requests: ${retries.length}`);
  assert.deepEqual(retries, [], 'no reconcile of a ResourceRequest failed or was retried');
  assert.ok(!(await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'ResourceRequestReceived' && (e.data as { requestName: string }).requestName !== 'peerlog-request'));
  const heapGrowth = retainedHeap() - heapBefore;
  t.diagnostic(`heap growth of the process running both planes: ${(heapGrowth / 1e6).toFixed(1)} MB`);
  assert.ok(heapGrowth < 50e6, `heap grew by ${(heapGrowth / 1e6).toFixed(1)} MB`);

  // 4. Deleting its request is how a consumer withdraws it: the provider revokes the identity, and
  //    the same certificate is then refused by the apiserver (403 Forbidden, not the quota), so no
  //    request of another name can take its place.
  assert.equal((await call('DELETE', `${rrPath}/peerlog-request`)).status, 200);
  await eventually('the identity revoked after its request was withdrawn', async () =>
    ((await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'IdentityRevoked') ? true : undefined), 30_000);
  await eventually('the old certificate refused', async () => {
    const r = await call('POST', rrPath, {
      apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
      metadata: { name: 'impostor' }, spec: { clusterId: consumer.config.clusterId, clusterName: consumer.config.clusterName },
    });
    assert.notEqual(r.status, 201, 'a request of another name was created after the revocation');
    return r.status === 403 && /forbidden/i.test(r.text) && !/exceeded quota/.test(r.text) ? true : undefined;
  }, 20_000);
  assert.ok(!(await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'ResourceRequestReceived' && (e.data as { requestName: string }).requestName !== 'peerlog-request'));
});
