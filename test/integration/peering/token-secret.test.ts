// A user who may create ForeignClusters but may not read Secrets cannot make the operator send a
// token it holds to an endpoint of their choosing: neither this cluster's own provider token
// (peerlog-token), nor another peering's token, nor a peering's token redirected to another authUrl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, stackEnv, uniqueName } from '../../support/env.js';
import { cleanupPlanes, startPlane, type Plane } from '../../support/peering.js';

interface Cond { type: string; status: string; reason: string; message: string }
interface Seen { method: string; path: string; headers: string; body: string }

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

/** An HTTPS server playing a provider: answers /ids with whatever id it is told, records everything it receives. */
async function hostileProvider(dir: string) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=evil',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'evil.key'), '-out', join(dir, 'evil.crt')]);
  const seen: Seen[] = [];
  let answerId = 'evil';
  const server = createServer({ key: readFileSync(join(dir, 'evil.key')), cert: readFileSync(join(dir, 'evil.crt')) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: JSON.stringify(req.headers), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/ids' ? JSON.stringify({ clusterId: answerId, clusterName: 'evil' }) : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    answer(id: string) { answerId = id; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A user of alpha (a client certificate from its client CA) allowed to create and read ForeignClusters, nothing else. */
function foreignClusterWriter(p: Plane, dir: string) {
  const env = stackEnv();
  const user = uniqueName('fc-writer');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${user}`, '-keyout', join(dir, 'u.key'), '-out', join(dir, 'u.csr')]);
  openssl(['x509', '-req', '-in', join(dir, 'u.csr'), '-CA', env.clusters.alpha.caCert, '-CAkey', env.clusters.alpha.caKey, '-set_serial', '0x' + Date.now().toString(16), '-days', '1', '-out', join(dir, 'u.crt')]);
  const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${user}}
rules:
- apiGroups: [peering.peerlog.dev]
  resources: [foreignclusters]
  verbs: [create, get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ${user}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${user}}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ${user}}]
`;
  const applied = p.kubectl(['apply', '-f', '-'], rbac);
  assert.equal(applied.status, 0, applied.stderr);
  const as = (args: string[], input?: string) => p.kubectl(['--client-certificate', join(dir, 'u.crt'), '--client-key', join(dir, 'u.key'), ...args], input);
  return { user, as, cleanup: () => { p.kubectl(['delete', 'clusterrolebinding,clusterrole', user, '--ignore-not-found']); } };
}

test('a ForeignCluster cannot send peerlog-token, another peering\'s token, or a token redirected to another authUrl', async (t) => {
  const consumer = await startPlane('alpha', 'h2');
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-h2-'));
  const hostile = await hostileProvider(dir);
  const writer = foreignClusterWriter(consumer, dir);
  const evil = [uniqueName('evil'), uniqueName('evil')];
  const other = uniqueName('other');
  t.after(async () => {
    await hostile.close();
    writer.cleanup();
    for (const id of [...evil, other]) consumer.kubectl(['delete', 'namespace', `peerlog-tenant-${id}`, '--wait=false', '--ignore-not-found']);
    await cleanupPlanes([consumer]);
    rmSync(dir, { recursive: true, force: true });
  });
  const ns = consumer.config.systemNamespace;

  // The writer is what the test says: ForeignClusters yes, Secrets no.
  await eventually('the RBAC of the writer in force', async () => (writer.as(['auth', 'can-i', 'create', 'foreignclusters.peering.peerlog.dev']).stdout.trim() === 'yes' ? true : undefined), 10_000);
  assert.equal(writer.as(['auth', 'can-i', 'get', 'secrets', '-n', ns]).stdout.trim(), 'no');
  assert.notEqual(writer.as(['get', 'secret', 'peerlog-token', '-n', ns]).status, 0);

  // Another peering's token, stored as `peerlog peer` stores it: bound to its provider and endpoint.
  const otherToken = 'o'.repeat(43);
  const stored = consumer.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Secret
metadata:
  name: peerlog-token-${other}
  namespace: ${ns}
  labels: {peerlog.dev/remote-cluster-id: ${other}}
stringData: {token: ${otherToken}, authUrl: "https://127.0.0.1:9"}
`);
  assert.equal(stored.status, 0, stored.stderr);

  const label = Object.entries(consumer.fcLabel).map(([k, v]) => `    ${k}: "${v}"`).join('\n');
  const cases = [
    { name: 'own-token', clusterId: evil[0]!, secret: 'peerlog-token', message: /own provider token/ },
    { name: 'others-token', clusterId: evil[1]!, secret: `peerlog-token-${other}`, message: /not bound to cluster/ },
    { name: 'redirected', clusterId: other, secret: `peerlog-token-${other}`, message: /holds the token for https:\/\/127\.0\.0\.1:9, not for spec\.authUrl/ },
  ];
  for (const c of cases) {
    hostile.answer(c.clusterId);
    const fcName = uniqueName(c.name);
    const created = writer.as(['create', '-f', '-'], `apiVersion: peering.peerlog.dev/v1alpha1
kind: ForeignCluster
metadata:
  name: ${fcName}
  labels:
${label}
spec:
  clusterId: ${c.clusterId}
  authUrl: ${hostile.url}
  outgoing: Enabled
  tokenSecretRef: {name: ${c.secret}}
`);
    assert.equal(created.status, 0, created.stderr);
    const posted = () => hostile.seen.some((s) => s.method === 'POST');
    const cond = await eventually(`${c.name}: a refusal on the ForeignCluster, or a token at the hostile server`, async () => {
      if (posted()) return { type: 'none', status: '', reason: 'sent', message: '' };
      const r = consumer.kubectl(['get', 'foreigncluster', fcName, '-o', 'jsonpath={.status.conditions}']);
      return (r.stdout ? JSON.parse(r.stdout) as Cond[] : []).find((x) => x.type === 'Authenticated' && x.reason === 'TokenSecretNotAllowed');
    }, 20_000);
    const leaked = hostile.seen.filter((s) => s.body.includes(consumer.token) || s.body.includes(otherToken) || s.headers.includes(consumer.token));
    assert.deepEqual(hostile.seen.filter((s) => s.method === 'POST').map((s) => `${s.method} ${s.path}`), [], `${c.name}: the hostile server received no POST /identity`);
    assert.equal(leaked.length, 0, `${c.name}: no token reached the hostile server`);
    assert.equal(cond.reason, 'TokenSecretNotAllowed');
    assert.equal(cond.status, 'False');
    assert.match(cond.message, c.message);
    assert.match(cond.message, /nothing was sent|never sent/);
  }
  t.diagnostic(`requests at the hostile server: ${JSON.stringify(hostile.seen.map((s) => `${s.method} ${s.path}`))}`);
});
