// H1: the client to a provider is built from the identity Secret's values and the log, never from a
// kubeconfig read back from that Secret. A user who may only edit Secrets in the peering's tenant
// namespace plants an exec kubeconfig (and a key-file path, skip-verify, another server), and then
// a certificate that is not the logged one: after a restart of the consumer's control plane nothing
// ran, and the ForeignCluster and the virtual node say the Secret is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../../src/control-plane.js';
import { IDENTITY_SECRET_NAME } from '../../../src/resources/constants.js';
import { tenantNamespaceFor, virtualNodeNameFor } from '../../../src/resources/names.js';
import { captureLogs } from '../../support/auth.js';
import { eventually, uniqueName } from '../../support/env.js';
import { clusterUser, openssl } from '../../support/identity.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../../support/peering.js';

interface Cond { type: string; status: string; reason: string; message: string }

test('an identity Secret edited by a Secrets-only user runs nothing after a restart and is refused with IdentitySecretInvalid', async (t) => {
  const consumer = await startPlane('alpha', 'h1c');
  const provider = await startPlane('beta', 'h1p');
  let restarted: ControlPlane | undefined;
  const marker = join(tmpdir(), uniqueName('peerlog-exec-marker'));
  const ns = tenantNamespaceFor(provider.config.clusterId);
  const user = uniqueName('secrets-editor');
  t.after(async () => {
    await restarted?.stop();
    rmSync(marker, { force: true });
    rmSync(`${marker}.key`, { force: true });
    consumer.kubectl(['delete', 'rolebinding,role', '-n', ns, user, '--ignore-not-found']);
    await cleanupPlanes([consumer, provider]);
  });
  const nodeName = virtualNodeNameFor(provider.config.clusterId);
  const readyOf = (): Cond | undefined => {
    const r = consumer.kubectl(['get', 'node', nodeName, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as { status?: { conditions?: Cond[] } }).status?.conditions?.find((c) => c.type === 'Ready') : undefined;
  };
  const authenticated = (): Cond | undefined => {
    const r = consumer.kubectl(['get', 'foreignclusters', provider.config.clusterId, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as { status?: { conditions?: Cond[] } }).status?.conditions?.find((c) => c.type === 'Authenticated') : undefined;
  };

  // 1. A working peering.
  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => (readyOf()?.status === 'True' ? true : undefined), 30_000);
  const secret = JSON.parse(consumer.kubectl(['get', 'secret', '-n', ns, IDENTITY_SECRET_NAME, '-o', 'json']).stdout) as { data: Record<string, string> };
  assert.deepEqual(Object.keys(secret.data).sort(), ['ca.crt', 'tls.crt', 'tls.key'], 'no kubeconfig is stored');

  // 2. A real user of alpha, allowed to edit Secrets in that one namespace and nothing else.
  const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: ${user}, namespace: ${ns} }
rules: [{ apiGroups: [""], resources: [secrets], verbs: [get, list, patch, update] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: ${user}, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${user} }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: ${user} }]
`;
  assert.equal(consumer.kubectl(['apply', '-f', '-'], role).status, 0);
  const mallory = clusterUser('alpha', user);
  assert.equal(mallory(['auth', 'can-i', 'patch', 'secrets', '-n', ns]).stdout.trim(), 'yes');
  assert.equal(mallory(['auth', 'can-i', 'get', 'pods', '-n', ns]).stdout.trim(), 'no');

  // 3. The planted kubeconfig: an exec plugin that touches the marker, a key read from a file path
  //    of the control plane's machine, skip-verify, another server.
  const keyPath = `${marker}.key`;
  writeFileSync(keyPath, 'not a key');
  const hostile = JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
    clusters: [{ name: 'x', cluster: { server: 'https://127.0.0.1:9', 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'x', user: {
      'client-key': keyPath,
      exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: '/bin/sh', args: ['-c', `touch ${marker}`], interactiveMode: 'Never' },
    } }],
    contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
  });
  const patched = mallory(['patch', 'secret', '-n', ns, IDENTITY_SECRET_NAME, '--type=merge', '-p', JSON.stringify({ data: { kubeconfig: Buffer.from(hostile).toString('base64') } })]);
  assert.equal(patched.status, 0, patched.stderr);

  // 4. Restart: the client cache is empty, the Secret is read back.
  await consumer.stop();
  const logs = captureLogs();
  restarted = await startControlPlane(consumer.config, logs.logger);
  const refused = await eventually('Authenticated False with IdentitySecretInvalid', async () => {
    assert.equal(existsSync(marker), false, `the planted exec plugin ran: ${marker} exists`);
    const c = authenticated();
    return c?.reason === 'IdentitySecretInvalid' ? c : undefined;
  }, 30_000);
  assert.equal(refused.status, 'False');
  assert.match(refused.message, /kubeconfig/);
  const notReady = await eventually('the virtual node NotReady with IdentitySecretInvalid', async () => {
    const c = readyOf();
    return c?.status === 'False' ? c : undefined;
  }, 30_000);
  assert.equal(notReady.reason, 'IdentitySecretInvalid');
  assert.equal(existsSync(marker), false, 'the exec plugin of the planted kubeconfig ran');
  t.diagnostic(`refused: ${refused.message}`);

  // 5. The kubeconfig removed and tls.crt replaced by a valid-looking certificate for the same key
  //    that is not the one the log names: refused too, after another restart.
  const keyPem = Buffer.from(secret.data['tls.key']!, 'base64').toString('utf8');
  const keyFile = join(mkdtempSync(join(tmpdir(), 'peerlog-h1-')), 'tls.key');
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  const forged = openssl(['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=peerlog:cluster:forged', '-days', '1']);
  const swap = mallory(['patch', 'secret', '-n', ns, IDENTITY_SECRET_NAME, '--type=json', '-p', JSON.stringify([
    { op: 'remove', path: '/data/kubeconfig' }, { op: 'replace', path: '/data/tls.crt', value: Buffer.from(forged).toString('base64') },
  ])]);
  assert.equal(swap.status, 0, swap.stderr);
  await restarted.stop();
  restarted = await startControlPlane(consumer.config, captureLogs().logger);
  const mismatch = await eventually('the forged certificate refused', async () => {
    const c = authenticated();
    return c?.reason === 'IdentitySecretInvalid' && /fingerprint/.test(c.message) ? c : undefined;
  }, 30_000);
  assert.match(mismatch.message, /not .*as the log says/);

  // 6. The real certificate put back: the peering works again, with no restart.
  const restore = mallory(['patch', 'secret', '-n', ns, IDENTITY_SECRET_NAME, '--type=merge', '-p', JSON.stringify({ data: { 'tls.crt': secret.data['tls.crt'] } })]);
  assert.equal(restore.status, 0, restore.stderr);
  await eventually('Authenticated True again', async () => (authenticated()?.status === 'True' ? true : undefined), 40_000);
  await eventually('the virtual node Ready again', async () => (readyOf()?.status === 'True' ? true : undefined), 30_000);
  assert.equal(existsSync(marker), false);
});
