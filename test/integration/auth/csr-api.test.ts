// Identities signed through the Kubernetes CSR API (no CA key in peerlog): beta's real
// kube-controller-manager signs them with the cluster's client CA, beta's kube-apiserver accepts them,
// no CertificateSigningRequest is left behind, and the log says which signer was used. The signer
// is never played by the test: a signer nobody serves shows the deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIdentity } from '../../../src/adapters/kubernetes/secrets.js';
import { createKubeClient } from '../../../src/adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../../../src/adapters/kubernetes/kubeconfig.js';
import { signWithCsrApi } from '../../../src/adapters/kubernetes/csr.js';
import { tenantNamespaceFor } from '../../../src/resources/names.js';
import { caKeyOf, openConsumer, startProvider } from '../../support/auth.js';
import { outboxEvents } from '../../support/core.js';
import { stackEnv, uniqueName } from '../../support/env.js';
import { kubectlAs, openssl } from '../../support/identity.js';

/** `kubectl get csr` on beta of the objects one control plane made (by its label), as names. */
function leftoverCsrs(clusterId: string): string[] {
  const env = stackEnv();
  const r = spawnSync(env.kubectl, ['--kubeconfig', env.clusters.beta.kubeconfig, 'get', 'csr', '-l', `peerlog.dev/cluster-id=${clusterId}`, '-o', 'name'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

function pemFile(pem: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'peerlog-csr-')), 'c.pem');
  writeFileSync(file, pem);
  return file;
}

test('with no CA key, beta signs alpha\'s identity through the CSR API: issued by its client CA, accepted by its kube-apiserver, no CSR left', async (t) => {
  const provider = await startProvider({ prefix: 'csrp' });
  const consumer = await openConsumer('csrc');
  t.after(async () => { await consumer.cleanup([provider.config.clusterId]); await provider.cleanup([consumer.config.clusterId]); });
  assert.equal(provider.config.caKey, undefined, 'the provider is given no CA key');
  assert.equal(provider.config.signer, 'csr-api');

  // kubectl watches beta's CSRs of this provider while it signs: what the object was, seen from outside.
  const env = stackEnv();
  const watch = spawn(env.kubectl, ['--kubeconfig', env.clusters.beta.kubeconfig, 'get', 'csr', '-l', `peerlog.dev/cluster-id=${provider.config.clusterId}`, '--watch',
    '-o', 'jsonpath={.metadata.name}{"|"}{.spec.signerName}{"|"}{.spec.expirationSeconds}{"|"}{.spec.usages}{"|"}{.status.conditions}{"|"}{.status.certificate}{"\\n"}']);
  let seen = '';
  watch.stdout.on('data', (c: Buffer) => { seen += c.toString('utf8'); });
  t.after(() => { watch.kill(); });
  await new Promise((r) => setTimeout(r, 1500)); // the watch is open before the request (kubectl has no ready signal); its output goes through a tabwriter, so fields are split by |

  const identity = await consumer.obtain(provider);
  const stored = await readIdentity(consumer.kube, tenantNamespaceFor(provider.config.clusterId));
  assert.ok(stored?.certPem && stored.keyPem && stored.caPem);
  const certFile = pemFile(stored.certPem);

  // Issued by beta's client CA (the signing cert kube-controller-manager was given), as openssl reads it.
  const clientCa = stackEnv().clusters.beta.caCert;
  const issuer = openssl(['x509', '-noout', '-issuer', '-nameopt', 'RFC2253', '-in', certFile]).trim().replace(/^issuer=\s*/, '');
  const caSubject = openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', clientCa]).trim().replace(/^subject=\s*/, '');
  assert.equal(issuer, caSubject);
  assert.match(openssl(['verify', '-CAfile', clientCa, '-purpose', 'sslclient', certFile]), /: OK/);
  // The subject is the provider's: the user of lifetime 1 and the peers group.
  const user = `peerlog:cluster:${consumer.config.clusterId}:1`;
  // (in the order of the consumer's CSR, which the signer keeps).
  const subject = openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', certFile]).trim().replace(/^subject=\s*/, '');
  assert.deepEqual(subject.split(',').sort(), [`CN=${user}`, 'O=peerlog:peers']);
  // Client auth only, and the policy's default validity (90 days) as expirationSeconds asked.
  const text = openssl(['x509', '-noout', '-text', '-in', certFile]);
  assert.match(text, /X509v3 Extended Key Usage:\s*\n\s*TLS Web Client Authentication\s*\n/);
  assert.doesNotMatch(text, /Subject Alternative Name/);
  const end = new Date(openssl(['x509', '-noout', '-enddate', '-in', certFile]).trim().replace(/^notAfter=/, ''));
  const days = (end.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 89.9 && days < 90.1, `valid for ${days.toFixed(2)} more days`);

  // beta's kube-apiserver knows the identity by that user.
  const kubectl = kubectlAs({ server: identity.apiServerUrl, caPem: stored.caPem, certPem: stored.certPem, keyPem: stored.keyPem });
  const whoami = kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  assert.equal(whoami.status, 0, whoami.stderr);
  assert.equal(whoami.stdout, user);
  assert.equal(kubectl(['auth', 'can-i', 'create', 'resourcerequests.peering.peerlog.dev', '-n', identity.tenantNamespace]).stdout.trim(), 'yes');

  // The CertificateSigningRequest did its job and is gone.
  assert.deepEqual(leftoverCsrs(provider.config.clusterId), []);

  // The provider's CertIssued (v3) says which signer signed.
  const issued = (await outboxEvents(provider.cp.runtime)).filter((e) => e.type === 'CertIssued');
  assert.equal(issued.length, 1);
  assert.equal(issued[0]!.schemaVersion, 3);
  assert.equal((issued[0]!.data as { signer?: string }).signer, 'csr-api');
  assert.ok(provider.logs.lines.some((l) => l.includes('identity issued') && l.includes('"signer":"csr-api"')), 'the issue is logged with its signer');

  // As kubectl saw it: one object, named from the provider's id and a fingerprint, for the
  // kube-apiserver-client signer, 90 days, client auth; approved by peerlog with its reason and a
  // message naming the peering; then signed.
  const parse = () => seen.split('\n').filter(Boolean).map((l) => l.split('|'));
  // kubectl writes the watch's rows when it flushes: wait for the one that shows the certificate.
  for (const until = Date.now() + 15_000; !parse().some((r) => (r[5] ?? '').length > 0) && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
  const rows = parse();
  assert.ok(rows.length >= 2, seen);
  assert.equal(new Set(rows.map((r) => r[0])).size, 1, seen);
  assert.match(rows[0]![0]!, new RegExp(`^peerlog-${provider.config.clusterId}-[0-9a-f]{40}$`));
  for (const r of rows) assert.deepEqual(r.slice(1, 4), ['kubernetes.io/kube-apiserver-client', '7776000', '["digital signature","client auth"]']);
  const approved = rows.map((r) => JSON.parse(r[4] || '[]') as { type: string; reason?: string; message?: string }[]).flat().find((c) => c.type === 'Approved');
  assert.equal(approved?.reason, 'PeerlogPolicy', seen);
  assert.ok(approved?.message?.includes(consumer.config.clusterId), approved?.message);
  assert.ok(rows.some((r) => (r[5] ?? '').length > 0), 'the watch saw the certificate');
});

test('a signer that never answers: the request fails within the deadline with a retriable error naming the CSR, and leaves no CSR', async (t) => {
  // An operator may name another signer (--csr-signer-name); none serves this one on the stack.
  const provider = await startProvider({ prefix: 'csrn', settings: { csrSignerName: 'peerlog.dev/nobody-signs-this', csrSigningTimeoutSeconds: 2 } });
  const consumer = await openConsumer('csrm');
  t.after(async () => { await consumer.cleanup([provider.config.clusterId]); await provider.cleanup([consumer.config.clusterId]); });

  const started = Date.now();
  await assert.rejects(consumer.obtain(provider), (e: Error & { status?: number; reason?: string; retriable?: boolean }) => {
    assert.equal(e.status, 503, e.message);
    assert.equal(e.reason, 'CsrNotSigned', e.message);
    assert.equal(e.retriable, true);
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took >= 2000 && took < 12_000, `answered after ${took} ms`);
  // The provider's log names the CSR, its signer and what to check.
  const line = provider.logs.lines.find((l) => l.includes('CsrNotSigned'));
  assert.ok(line, provider.logs.lines.slice(-5).join('\n'));
  assert.match(line, new RegExp(`CertificateSigningRequest peerlog-${provider.config.clusterId}-[0-9a-f]{40} \\(signer peerlog.dev/nobody-signs-this\\) was approved but not signed within 2000 ms`));
  assert.deepEqual(leftoverCsrs(provider.config.clusterId), []);
  // Nothing was issued.
  assert.deepEqual((await outboxEvents(provider.cp.runtime)).filter((e) => e.type === 'CertIssued'), []);
});

test('with --ca-key, peerlog signs itself: CertIssued says ca-key, and no CSR is made', async (t) => {
  const provider = await startProvider({ prefix: 'csrk', settings: { caKey: caKeyOf('beta') } });
  const consumer = await openConsumer('csrl');
  t.after(async () => { await consumer.cleanup([provider.config.clusterId]); await provider.cleanup([consumer.config.clusterId]); });
  assert.equal(provider.config.signer, 'ca-key');
  await consumer.obtain(provider);
  const stored = await readIdentity(consumer.kube, tenantNamespaceFor(provider.config.clusterId));
  assert.match(openssl(['verify', '-CAfile', stackEnv().clusters.beta.caCert, pemFile(stored!.certPem!)]), /: OK/);
  const issued = (await outboxEvents(provider.cp.runtime)).filter((e) => e.type === 'CertIssued');
  assert.equal((issued[0]!.data as { signer?: string }).signer, 'ca-key');
  // One CSR from the consumer, signed as it came: no SubjectRequired round.
  assert.equal((await outboxEvents(consumer.rt)).filter((e) => e.type === 'IdentityRequested').length, 1);
  assert.ok(!provider.logs.lines.some((l) => l.includes('CertificateSigningRequest')));
});

test('a CSR object left by a crashed attempt under the same name is found again, signed and deleted', async (t) => {
  const env = stackEnv();
  const kube = createKubeClient(kubeConfigFromFile(env.clusters.beta.kubeconfig));
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-csr-'));
  const id = uniqueName('csrx');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k'), '-subj', `/CN=peerlog:cluster:${id}:1/O=peerlog:peers`, '-out', join(dir, 'r')]);
  const csrPem = openssl(['req', '-in', join(dir, 'r')]);
  const { forgeIdentityCsr, forgeApprovalCondition } = await import('../../../src/resources/csr.js');
  const csr = forgeIdentityCsr({ clusterId: id, remoteClusterId: 'alpha-x', csrPem, validitySeconds: 3600, lifetime: 1 });
  const name = (csr.metadata as { name: string }).name;
  t.after(async () => { await kube.delete('certificates.k8s.io/v1', 'CertificateSigningRequest', name); });
  // What a crash right after the create leaves: the object, not approved.
  await kube.create(csr as never);
  assert.deepEqual(leftoverCsrs(id), [`certificatesigningrequest.certificates.k8s.io/${name}`]);

  const pem = await signWithCsrApi(kube, { csr, approval: forgeApprovalCondition({ clusterId: id, remoteClusterId: 'alpha-x', lifetime: 1, now: new Date() }), deadlineMs: 10_000 });
  const file = pemFile(pem);
  assert.match(openssl(['verify', '-CAfile', env.clusters.beta.caCert, file]), /: OK/);
  // The key is the CSR's: the same public key, as openssl prints both.
  assert.equal(openssl(['x509', '-noout', '-pubkey', '-in', file]), openssl(['req', '-noout', '-pubkey', '-in', join(dir, 'r')]));
  assert.deepEqual(leftoverCsrs(id), []);
});

test('CertificateSigningRequests left by an earlier process of this control plane are swept by label and age, others kept', async (t) => {
  const env = stackEnv();
  const kube = createKubeClient(kubeConfigFromFile(env.clusters.beta.kubeconfig));
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-csr-'));
  const mine = uniqueName('csrs');
  const other = uniqueName('csro');
  const { forgeIdentityCsr, identityCsrSelector } = await import('../../../src/resources/csr.js');
  const { sweepLeftoverCsrs } = await import('../../../src/adapters/kubernetes/csr.js');
  const made: string[] = [];
  for (const [i, clusterId] of [[1, mine], [2, mine], [3, other]] as const) {
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `k${i}`), '-subj', `/CN=peerlog:cluster:c${i}:1/O=peerlog:peers`, '-out', join(dir, `r${i}`)]);
    const csr = forgeIdentityCsr({ clusterId, remoteClusterId: `c${i}`, csrPem: openssl(['req', '-in', join(dir, `r${i}`)]), validitySeconds: 3600, lifetime: 1 });
    await kube.create(csr as never);
    made.push((csr.metadata as { name: string }).name);
  }
  t.after(async () => { for (const name of made) await kube.delete('certificates.k8s.io/v1', 'CertificateSigningRequest', name); });
  assert.equal(leftoverCsrs(mine).length, 2);

  // Younger than the age given: possibly in flight, kept.
  assert.deepEqual(await sweepLeftoverCsrs(kube, identityCsrSelector(mine), 3_600_000), []);
  assert.equal(leftoverCsrs(mine).length, 2);
  assert.deepEqual((await sweepLeftoverCsrs(kube, identityCsrSelector(mine), 0)).sort(), made.slice(0, 2).sort());
  assert.deepEqual(leftoverCsrs(mine), []);
  assert.deepEqual(leftoverCsrs(other), [`certificatesigningrequest.certificates.k8s.io/${made[2]}`]);
});
