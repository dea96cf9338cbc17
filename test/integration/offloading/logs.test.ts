// `kubectl logs` of an offloaded pod: alpha's kube-apiserver dials the virtual node's kubelet API
// (its InternalIP and kubelet port), which reads the twin's log from beta through the identity beta
// issued. beta's kwok gives the twin a log of its own (a Logs object); what kubectl prints on alpha
// is compared with the literal lines written here. A peer identity, signed by the same client CA as
// kube-apiserver's kubelet client certificate, is refused by the kubelet API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, uniqueName } from '../../support/env.js';
import { giveOwnLog, kubectlAsync, runAsync } from '../../support/kwok.js';
import { offloadedDeployment, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { phase?: string };
}

function json<T>(p: Plane, args: string[]): T {
  const r = p.kubectl([...args, '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

async function kubectlOn(p: Plane, args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // Asynchronously: the control planes run in this process, and the virtual kubelet among them answers this call.
  return kubectlAsync(p.cluster, args);
}

// Two containers, each given its own log in beta.
const MAIN_LOG = ['offloaded: first line', 'offloaded: second line', 'offloaded: third line'];
const SIDECAR_LOG = ['sidecar: only line'];

test('kubectl logs of an offloaded pod on alpha prints its twin\'s log from beta; --tail and -c reach the provider; a peer identity gets 403', async (t) => {
  const consumer = await startPlane('alpha', 'lgc');
  const provider = await startPlane('beta', 'lgp');
  const ns = uniqueName('talk');
  const remoteNs = `${ns}-${consumer.config.clusterId}`;
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-logs-'));
  let own: { remove(): void } | undefined;
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
    own?.remove();
    rmSync(dir, { recursive: true, force: true });
  });
  const nodeName = `peerlog-${provider.config.clusterId}`;

  // 1. Peered: the virtual node names the kubelet API (127.0.0.1 and alpha's kubelet port) as its only address.
  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => {
    const r = consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return r.stdout === 'True' ? true : undefined;
  }, 60_000);
  const node = json<{ status: { addresses: unknown; daemonEndpoints: unknown } }>(consumer, ['get', 'node', nodeName]);
  assert.deepEqual(node.status.addresses, [{ type: 'InternalIP', address: '127.0.0.1' }]);
  assert.deepEqual(node.status.daemonEndpoints, { kubeletEndpoint: { Port: consumer.config.kubeletPort } });

  // 2. One pod offloaded, Running on both sides.
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  const containers = ['main', 'sidecar'].map((name) => ({ name, image: `registry.example/${name}:1`, resources: { requests: { cpu: '50m', memory: '32Mi' } } }));
  // This provider's virtual node only: other tests on the shared stack have virtual nodes too.
  const nodeSelector = { 'peerlog.dev/type': 'virtual-node', 'peerlog.dev/remote-cluster-id': provider.config.clusterId };
  assert.equal(consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'talker', 1, {}, { containers, nodeSelector })).status, 0);
  const local = await eventually('the local pod Running on the virtual node', async () => {
    const list = json<{ items: Pod[] }>(consumer, ['get', 'pods', '-n', ns, '-l', 'app=talker']).items.filter((p) => !p.metadata.deletionTimestamp);
    return list.length === 1 && list[0]!.spec.nodeName === nodeName && list[0]!.status?.phase === 'Running' ? list[0] : undefined;
  }, 60_000);
  const pod = local.metadata.name;
  const twin = json<Pod>(provider, ['get', 'pod', '-n', remoteNs, pod]);
  assert.ok(twin.spec.nodeName?.startsWith('beta-worker-'), twin.spec.nodeName);

  // 3. The twin, in beta, given a log of its own per container.
  own = giveOwnLog('beta', remoteNs, pod, { main: MAIN_LOG, sidecar: SIDECAR_LOG });
  const mainText = `${MAIN_LOG.join('\n')}\n`;
  // kwok reads Logs objects through a watch: the first answers may come before it has this one.
  await eventually('beta prints the twin\'s own log', async () => {
    const r = await kubectlOn(provider, ['logs', '-n', remoteNs, pod, '-c', 'main']);
    return r.status === 0 && r.stdout === mainText ? true : undefined;
  }, 30_000);

  // 4. On alpha, the local pod's log is the twin's.
  const asked = Date.now();
  const plain = await kubectlOn(consumer, ['logs', '-n', ns, pod, '-c', 'main']);
  t.diagnostic(`kubectl logs on alpha (kube-apiserver → virtual kubelet → beta) answered in ${Date.now() - asked} ms`);
  assert.equal(plain.stderr, '');
  assert.equal(plain.status, 0);
  assert.equal(plain.stdout, 'offloaded: first line\noffloaded: second line\noffloaded: third line\n');
  // Without -c, kubectl takes the first container (and says so on stderr).
  const defaulted = await kubectlOn(consumer, ['logs', '-n', ns, pod]);
  assert.equal(defaulted.status, 0, defaulted.stderr);
  assert.equal(defaulted.stdout, mainText);
  // The container named reaches beta.
  const sidecar = await kubectlOn(consumer, ['logs', '-n', ns, pod, '-c', 'sidecar']);
  assert.equal(sidecar.status, 0, sidecar.stderr);
  assert.equal(sidecar.stdout, 'sidecar: only line\n');
  // --tail and --limit-bytes too.
  const tail = await kubectlOn(consumer, ['logs', '-n', ns, pod, '-c', 'main', '--tail=1']);
  assert.equal(tail.status, 0, tail.stderr);
  assert.equal(tail.stdout, 'offloaded: third line\n');
  const tail2 = await kubectlOn(consumer, ['logs', '-n', ns, pod, '-c', 'main', '--tail=2']);
  assert.equal(tail2.stdout, 'offloaded: second line\noffloaded: third line\n');
  const limited = await kubectlOn(consumer, ['logs', '-n', ns, pod, '-c', 'main', '--limit-bytes=9']);
  assert.equal(limited.stdout, 'offloaded');
  // A pod alpha's virtual kubelet does not run: NotFound, as a kubelet says it.
  const ghost = await kubectlOn(consumer, ['logs', '-n', ns, `${pod}-nope`]);
  assert.notEqual(ghost.status, 0);
  assert.match(ghost.stderr, /NotFound|not found/);

  // 5. Callers of the kubelet API other than kube-apiserver. alpha's identity towards beta is signed
  //    by beta's client CA, the one beta's kubelet API trusts: a verified caller, and still 403.
  const secret = json<{ data: Record<string, string> }>(consumer, ['get', 'secret', 'peerlog-identity', '-n', `peerlog-tenant-${provider.config.clusterId}`]);
  const cert = join(dir, 'peer.crt');
  const key = join(dir, 'peer.key');
  writeFileSync(cert, Buffer.from(secret.data['tls.crt']!, 'base64'));
  writeFileSync(key, Buffer.from(secret.data['tls.key']!, 'base64'), { mode: 0o600 });
  const subject = await runAsync('openssl', ['x509', '-in', cert, '-noout', '-subject', '-nameopt', 'RFC2253']);
  const cn = /CN=([^,\n]+)/.exec(subject.stdout)?.[1];
  assert.ok(cn?.startsWith('peerlog:cluster:'), subject.stdout);
  const call = async (port: number, path: string) => {
    const r = await runAsync('curl', ['-sS', '-k', '--cert', cert, '--key', key, '-o', '-', '-w', '\n%{http_code}', `https://127.0.0.1:${port}${path}`], undefined, 30_000);
    const cut = r.stdout.lastIndexOf('\n');
    return { status: r.stdout.slice(cut + 1), body: r.stdout.slice(0, cut) };
  };
  const atBeta = await call(provider.config.kubeletPort, `/containerLogs/${remoteNs}/${pod}/main`);
  assert.deepEqual(atBeta, { status: '403', body: `Forbidden (user=${cn}, verb=get, resource=nodes, subresource(s)=[proxy])\n` });
  // At alpha's, whose client CA did not sign it: not even verified.
  const atAlpha = await call(consumer.config.kubeletPort, `/containerLogs/${ns}/${pod}/main`);
  assert.deepEqual(atAlpha, { status: '401', body: 'Unauthorized\n' });
});
