// The virtual kubelet's API against alpha's real kube-apiserver: a Node that no kwok manages, whose
// status names this server (InternalIP 127.0.0.1, kubelet port), a Pod bound to it by nodeName, and
// `kubectl logs` of that pod through the apiserver. The apiserver calls with its
// --kubelet-client-certificate (the stack's client CA signed it); curl without one, or with another
// CA's, is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { kubeletEndpointStatus, startKubeletServer, type ContainerLogRequest } from '../../../src/adapters/http/kubelet.js';
import { silentLogger } from '../../../src/adapters/log/index.js';
import { eventually, stackEnv, uniqueName } from '../../support/env.js';
import { openssl } from '../../support/identity.js';
import { kubectl, kubectlAsync, runAsync } from '../../support/kwok.js';

// Written out here: the user the stack's kube-apiserver is to kubelets (its kubelet client certificate's CN).
const APISERVER_USER = 'kube-apiserver-kubelet-client';
const KNOWN_LOG = 'hello from the provider\nsecond line\n';

// Every client runs as a child process without blocking: the server answers from this process.
async function curl(args: readonly string[]): Promise<{ code: number | null; status: string; body: string; stderr: string }> {
  const r = await runAsync('curl', ['-sS', '-k', '-o', '-', '-w', '\n%{http_code}', ...args], undefined, 30_000);
  const cut = r.stdout.lastIndexOf('\n');
  return { code: r.status, body: r.stdout.slice(0, cut), status: r.stdout.slice(cut + 1), stderr: r.stderr };
}

async function kubectlOk(args: readonly string[], input?: string): Promise<string> {
  const r = await kubectlAsync('alpha', args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A key and a client certificate for CN=`cn`, signed by `caCert`/`caKey` (or self-signed when none), written with openssl. */
function clientCert(dir: string, cn: string, ca?: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, `${cn}.key`);
  const cert = join(dir, `${cn}.crt`);
  if (!ca) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-days', '1', '-out', cert]);
    return { cert, key };
  }
  const csr = join(dir, `${cn}.csr`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '1', '-out', cert]);
  return { cert, key };
}

test('kubectl logs of a pod on a virtual node goes through kube-apiserver to the kubelet API, with its parameters parsed', async (t) => {
  const env = stackEnv();
  const alpha = env.clusters.alpha;
  const stackDir = process.env.PEERLOG_STACK_DIR;
  assert.ok(stackDir, 'PEERLOG_STACK_DIR is set (npm run stack:env)');
  const ns = uniqueName('vk-logs');
  const nodeName = uniqueName('peerlog-test-vk');
  const received: ContainerLogRequest[] = [];
  const follows: PassThrough[] = [];

  const server = await startKubeletServer({
    host: '127.0.0.1', port: 0, clientCaPem: readFileSync(alpha.caCert, 'utf8'), logger: silentLogger,
    authorize: (caller) => caller.commonName === APISERVER_USER,
    async logs(req) {
      received.push(req);
      if (req.namespace !== ns || req.pod !== 'talker') return { status: 404, message: `pod "${req.pod}" does not exist` };
      if (!req.follow) return Readable.from([Buffer.from('hello from the provider\n'), Buffer.from('second line\n')]);
      const live = new PassThrough();
      live.write('following\n');
      follows.push(live);
      return live;
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-vk-'));
  t.after(async () => {
    kubectl('alpha', ['delete', 'pod', '-n', ns, '--all', '--grace-period=0', '--force', '--wait=false']);
    kubectl('alpha', ['delete', 'namespace', ns, '--wait=false']);
    kubectl('alpha', ['delete', 'node', nodeName, '--wait=false']);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // 1. A Node nothing else manages (no kwok annotation, tainted against the scheduler), its status
  //    written through the status subresource as a kubelet would.
  await kubectlOk(['create', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: nodeName, labels: { 'peerlog.dev/test': 'kubelet-api' } },
    spec: { taints: [{ key: 'peerlog.dev/test', value: 'kubelet-api', effect: 'NoSchedule' }] },
  }));
  await kubectlOk(['patch', 'node', nodeName, '--subresource=status', '--type=merge', '-p',
    JSON.stringify({ status: kubeletEndpointStatus({ address: '127.0.0.1', port: server.port }) })]);
  const node = JSON.parse(await kubectlOk(['get', 'node', nodeName, '-o', 'json'])) as { status: { addresses: unknown; daemonEndpoints: unknown } };
  assert.deepEqual(node.status.daemonEndpoints, { kubeletEndpoint: { Port: server.port } }, 'the apiserver kept the port');

  // 2. Pods bound to it directly (no scheduler).
  await kubectlOk(['create', 'namespace', ns]);
  for (const name of ['talker', 'ghost']) {
    await kubectlOk(['create', '-n', ns, '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { nodeName, containers: [{ name: 'app', image: 'registry.example/none:1' }] },
    }));
  }

  // 3. Plain `kubectl logs`: the known text, and the request as the server parsed it.
  const plain = await kubectlAsync('alpha', ['logs', '-n', ns, 'talker']);
  assert.equal(plain.stderr, '');
  assert.equal(plain.stdout, KNOWN_LOG);
  assert.deepEqual(received.at(-1), { namespace: ns, pod: 'talker', container: 'app', follow: false, previous: false, timestamps: false });

  // 4. Its flags arrive as values.
  await kubectlOk(['logs', '-n', ns, 'talker', '-c', 'app', '--tail=2', '--timestamps', '--since=1h', '--limit-bytes=1000', '--previous']);
  assert.deepEqual(received.at(-1), {
    namespace: ns, pod: 'talker', container: 'app', follow: false, previous: true, timestamps: true, tailLines: 2, sinceSeconds: 3600, limitBytes: 1000,
  });
  // limitBytes is enforced here too, whatever the source sends.
  assert.equal(await kubectlOk(['logs', '-n', ns, 'talker', '--limit-bytes=5']), 'hello');

  // 5. The kubelet's 404 for a pod it does not know reaches kubectl as NotFound.
  const ghost = await kubectlAsync('alpha', ['logs', '-n', ns, 'ghost']);
  assert.notEqual(ghost.status, 0);
  assert.match(ghost.stderr, /NotFound|could not find/);
  assert.equal(received.at(-1)?.pod, 'ghost');

  // 6. -f streams as it comes; when kubectl goes away the apiserver drops the call and the source is destroyed.
  const child = spawn(env.kubectl, ['--kubeconfig', alpha.kubeconfig, 'logs', '-n', ns, 'talker', '-f', '--tail=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  try {
    await eventually('the first followed line', async () => (out === 'following\n' ? true : undefined), 20_000);
    assert.deepEqual(received.at(-1), { namespace: ns, pod: 'talker', container: 'app', follow: true, previous: false, timestamps: false, tailLines: 1 });
    follows[0]!.write('and more\n');
    await eventually('a line written later', async () => (out === 'following\nand more\n' ? true : undefined), 20_000);
  } finally {
    child.kill('SIGKILL');
  }
  await eventually('the followed source destroyed once kubectl is gone', async () => (follows[0]!.destroyed ? true : undefined), 30_000);

  // 7. Callers other than the apiserver. No certificate: 401 (only /healthz answers); another CA's
  //    certificate: 401; the client CA's but another user: 403; the apiserver's own: served.
  const path = `${server.url}/containerLogs/${ns}/talker/app`;
  const health = await curl([`${server.url}/healthz`]);
  assert.deepEqual([health.status, health.body], ['200', 'ok']);
  const anonymous = await curl([path]);
  assert.deepEqual([anonymous.status, anonymous.body], ['401', 'Unauthorized\n']);
  const stranger = clientCert(dir, 'stranger');
  assert.equal((await curl(['--cert', stranger.cert, '--key', stranger.key, path])).status, '401');
  const user = clientCert(dir, 'some-user', { cert: alpha.caCert, key: alpha.caKey });
  const forbidden = await curl(['--cert', user.cert, '--key', user.key, path]);
  assert.deepEqual([forbidden.status, forbidden.body], ['403', 'Forbidden (user=some-user, verb=get, resource=nodes, subresource(s)=[proxy])\n']);
  const apiserverCert = ['--cert', join(stackDir, 'clusters', 'alpha', 'pki', 'apiserver-kubelet-client.crt'), '--key', join(stackDir, 'clusters', 'alpha', 'pki', 'apiserver-kubelet-client.key')];
  const direct = await curl([...apiserverCert, `${path}?tailLines=3&follow=false`]);
  assert.deepEqual([direct.status, direct.body], ['200', KNOWN_LOG]);
  assert.equal((await curl([...apiserverCert, `${path}?tailLines=x`])).status, '400');
  assert.equal((await curl([...apiserverCert, `${server.url}/exec/${ns}/talker/app?command=sh`])).status, '501');
  assert.equal((await curl([...apiserverCert, `${server.url}/stats/summary`])).status, '404');
});
