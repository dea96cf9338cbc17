// The verbs of issue "authentication" as users run them: `peerlog serve --stack beta` with no other
// flag, `peerlog token` (-o json, --rotate), and start-up settings refused with the setting named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createCsr, generateKeyPair } from '../../../src/adapters/x509/index.js';
import { PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityCommonNameFor } from '../../../src/resources/names.js';
import { caKeyOf, rawRequest, startProvider } from '../../support/auth.js';
import { eventually, stackEnv, uniqueName } from '../../support/env.js';

const BIN = join(process.cwd(), 'bin', 'peerlog');

function peerlog(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('peerlog token: created once, -o json, --rotate refuses the old token from then on', async (t) => {
  // The CA-key signer: a request below is one plain CSR, answered at once (the CSR API's would name the lifetime's CN first).
  const provider = await startProvider({ prefix: 'tok', settings: { caKey: caKeyOf('beta') } });
  const requester = uniqueName('req');
  t.after(() => provider.cleanup([requester]));
  const flags = ['--stack', 'beta', '--cluster-id', provider.config.clusterId, '--namespace', provider.config.systemNamespace, '--auth-url', provider.cp.url];

  const first = peerlog('token', ...flags, '-o', 'json');
  assert.equal(first.status, 0, first.stderr);
  const shown = JSON.parse(first.stdout) as Record<string, string>;
  assert.equal(shown.token, provider.token, 'the token the control plane created is the one printed');
  assert.equal(shown.clusterId, provider.config.clusterId);
  assert.equal(shown.authUrl, provider.cp.url);
  assert.equal(shown.authFingerprint, `sha256:${provider.cp.fingerprint}`);
  assert.match(shown.peerCommand!, new RegExp(`^peerlog peer \\S+ --auth-url ${provider.cp.url.replace(/[.]/g, '\\.')} --token-file \\S+\\.token`));
  assert.ok(!shown.peerCommand!.includes(provider.token), 'the suggested command keeps the token out of argv');
  assert.equal(JSON.parse(peerlog('token', ...flags, '-o', 'json').stdout).token, provider.token, 'printed again, not re-created');
  const table = peerlog('token', ...flags);
  assert.match(table.stdout, /On the consumer cluster, run:\n {2}peerlog peer /);

  const rotated = peerlog('token', ...flags, '--rotate', '-o', 'json');
  assert.equal(rotated.status, 0, rotated.stderr);
  const fresh = (JSON.parse(rotated.stdout) as { token: string }).token;
  assert.notEqual(fresh, provider.token);
  assert.ok(fresh.length >= 43);
  const csr = await createCsr({ commonName: identityCommonNameFor(requester), organizations: [PEERS_GROUP] }, await generateKeyPair());
  const post = (token: string) => rawRequest(provider.cp.url, '/identity', { body: JSON.stringify({ clusterId: requester, token, csr }) });
  assert.equal((await post(provider.token)).status, 401, 'the old token is refused');
  assert.equal((await post(fresh)).status, 200, 'the new one works');
});

test('peerlog serve --stack beta: starts with no other flag, installs the CRDs, serves the probes, stops on SIGTERM', async () => {
  const env = stackEnv();
  const child = spawn(process.execPath, [BIN, 'serve', '--stack', 'beta'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = `https://127.0.0.1:${env.clusters.beta.authPort}`;
    await eventually('beta\'s control plane ready', async () => ((await rawRequest(url, '/readyz', { method: 'GET' }).catch(() => ({ status: 0 }))).status === 200 ? true : undefined), 60_000);
    assert.deepEqual(JSON.parse((await rawRequest(url, '/ids', { method: 'GET' })).text), { clusterId: env.clusters.beta.clusterId, clusterName: 'beta' });
    assert.equal((await rawRequest(url, '/healthz', { method: 'GET' })).status, 200);
    const crds = spawnSync(env.kubectl, ['--kubeconfig', env.clusters.beta.kubeconfig, 'get', 'crd', '-o', 'name'], { encoding: 'utf8' });
    for (const name of ['foreignclusters', 'resourcerequests', 'resourceoffers']) assert.match(crds.stdout, new RegExp(`${name}\\.peering\\.peerlog\\.dev`));
    const fc = spawnSync(env.kubectl, ['--kubeconfig', env.clusters.beta.kubeconfig, 'get', 'fc'], { encoding: 'utf8' });
    assert.equal(fc.status, 0, `the short name fc works: ${fc.stderr}`);
    // Logs are structured: every stderr line is a JSON object.
    for (const line of stderr.trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), line);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr.slice(-2000));
});

test('bad settings fail at start, naming the setting', () => {
  const cases: [string[], RegExp][] = [
    [['serve', '--stack', 'gamma'], /setting stack: "gamma" is not a local stack cluster/],
    [['serve', '--stack', 'beta', '--auth-port', '70000'], /setting auth-port: 70000 is not a TCP port/],
    [['serve', '--stack', 'beta', '--kubeconfig', '/nonexistent/kubeconfig'], /setting kubeconfig: \/nonexistent\/kubeconfig does not exist/],
    [['serve', '--stack', 'beta', '--ca-key', '/nonexistent/ca.key'], /setting ca-key: \/nonexistent\/ca.key does not exist/],
    [['serve', '--stack', 'beta', '--database-url', 'mysql://x'], /setting database-url: scheme must be postgres/],
    [['serve', '--stack', 'beta', '--auth-url', 'http://plain'], /setting auth-url: must be https/],
    [['serve', '--stack', 'beta', '--namespace', 'Not_A_Namespace'], /setting namespace:/],
    [['serve', '--stack', 'beta', '--auth-failure-burst', '-3'], /setting auth-failure-burst:/],
    [['serve', '--cluster-id', 'Bad_Id'], /setting cluster-id: "Bad_Id" is not a DNS label/],
    [['token'], /setting cluster-id: missing/],
    [['serve', '--stack', 'beta', '--database-url', 'postgres://postgres@127.0.0.1:1/none'], /cannot start \(database\): PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/none: .*ECONNREFUSED/],
  ];
  for (const [args, expected] of cases) {
    const r = peerlog(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, expected, args.join(' '));
  }
});
