import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createCsr, createSelfSignedCa, exportKeyPair, generateKeyPair, importAnyKeyPair, importKeyPair, inspectCsr, issueCertificate } from '../../../src/adapters/x509/index.js';
import { forgeKubeconfig, kubeConfigFromFile, kubeConfigFromString } from '../../../src/adapters/kubernetes/kubeconfig.js';
import { stackEnv } from '../../support/env.js';

test('a CSR signed by beta\'s client CA is authenticated by beta\'s kube-apiserver, and RBAC denies what was not granted', async () => {
  const env = stackEnv();
  const beta = env.clusters.beta;
  const admin = kubeConfigFromFile(beta.kubeconfig);

  const keys = await generateKeyPair();
  const csrPem = await createCsr({ commonName: 'test-user', organizations: ['test-group'] }, keys);
  const csr = await inspectCsr(csrPem);
  assert.equal(csr.signatureValid, true);
  assert.deepEqual(csr.subject, { commonName: 'test-user', organizations: ['test-group'] });

  const now = Date.now();
  const certPem = await issueCertificate({
    subject: csr.subject, publicKey: csr.publicKeyDer, caCertPem: readFileSync(beta.caCert, 'utf8'),
    caKeys: await importKeyPair(readFileSync(beta.caKey, 'utf8')), notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000), usage: 'client',
  });
  const cluster = admin.getCurrentCluster()!;
  const kc = kubeConfigFromString(forgeKubeconfig({
    cluster: 'beta', server: cluster.server, caPem: Buffer.from(cluster.caData!, 'base64').toString(),
    user: 'test-user', certPem, keyPem: (await exportKeyPair(keys)).privateKeyPem,
  }));

  const review = await kc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
  assert.equal(review.status?.userInfo?.username, 'test-user');
  assert.ok(review.status?.userInfo?.groups?.includes('test-group'), `groups: ${review.status?.userInfo?.groups?.join(',')}`);
  assert.ok(!review.status?.userInfo?.groups?.includes('system:masters'));

  const core = kc.makeApiClient(k8s.CoreV1Api);
  await assert.rejects(core.listNamespacedSecret({ namespace: 'default' }), (e: { code?: number }) => e.code === 403);
  await assert.rejects(core.listNode(), (e: { code?: number }) => e.code === 403);
  const access = await kc.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({ body: {
    spec: { resourceAttributes: { verb: 'create', resource: 'namespaces' } },
  } });
  assert.equal(access.status?.allowed, false);

  // A certificate from a CA beta does not trust is refused outright.
  const other = await createSelfSignedCa('not-beta', new Date(now - 60_000), new Date(now + 3600_000));
  const forged = await issueCertificate({ subject: csr.subject, publicKey: csr.publicKeyDer, caCertPem: other.certPem, caKeys: other.keys,
    notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000), usage: 'client' });
  const kcForged = kubeConfigFromString(forgeKubeconfig({
    cluster: 'beta', server: cluster.server, caPem: Buffer.from(cluster.caData!, 'base64').toString(),
    user: 'test-user', certPem: forged, keyPem: (await exportKeyPair(keys)).privateKeyPem,
  }));
  await assert.rejects(kcForged.makeApiClient(k8s.CoreV1Api).listNamespace(), (e: { code?: number }) => e.code === 401);
});

// ---- certificates under a CA that openssl made (M5, L5): checked with openssl alone --------------

function openssl(args: readonly string[], input?: string): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The DER bytes of the TBS fields of a certificate, as openssl's asn1parse finds them (depth 2). */
function tbsFields(certPath: string, dir: string): Buffer[] {
  const der = join(dir, `${Math.random().toString(36).slice(2)}.der`);
  openssl(['x509', '-in', certPath, '-outform', 'DER', '-out', der]);
  const bytes = readFileSync(der);
  return openssl(['asn1parse', '-inform', 'DER', '-in', der]).split('\n')
    .map((l) => /^\s*(\d+):d=2\s+hl=\s*(\d+)\s+l=\s*(\d+)/.exec(l)).filter((m) => m !== null)
    .map((m) => bytes.subarray(Number(m[1]), Number(m[1]) + Number(m[2]) + Number(m[3])));
}

/** RawIssuer and RawSubject as Go reads them: TBS = [0] version, serial, signature, issuer, validity, subject. */
function rawNames(certPath: string, dir: string): { issuer: Buffer; subject: Buffer } {
  const f = tbsFields(certPath, dir);
  assert.equal(f[0]![0], 0xa0, 'a v3 certificate starts its TBS with [0] version');
  return { issuer: f[3]!, subject: f[5]! };
}

test('under an openssl-made client CA with UTF8String names, an issued certificate carries the CA\'s subject bytes as its issuer, and openssl verifies it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-x509-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const caCert = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  openssl(['req', '-x509', '-utf8', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCert,
    '-subj', '/CN=peerlog-test-client-ca/O=Société Test', '-days', '2']);
  assert.match(openssl(['asn1parse', '-in', caCert]), /UTF8STRING\s+:peerlog-test-client-ca/, 'the CA\'s CN is a UTF8String');

  const keys = await generateKeyPair();
  const now = Date.now();
  const certPem = await issueCertificate({
    subject: { commonName: 'peerlog:cluster:utf8', organizations: ['peerlog:peers'] }, publicKey: (await exportKeyPair(keys)).publicKeyPem,
    caCertPem: readFileSync(caCert, 'utf8'), caKeys: await importAnyKeyPair(readFileSync(caKey, 'utf8')),
    notBefore: new Date(now - 60_000), notAfter: new Date(now + 30 * 86400_000), usage: 'client',
  });
  const leaf = join(dir, 'leaf.pem');
  writeFileSync(leaf, certPem);

  const ca = rawNames(caCert, dir);
  const issued = rawNames(leaf, dir);
  assert.equal(issued.issuer.toString('hex'), ca.subject.toString('hex'), 'RawIssuer == the CA\'s RawSubject, byte for byte');
  assert.match(openssl(['verify', '-CAfile', caCert, leaf]), /: OK/);

  // L5: digitalSignature only for an EC key, SKI present, AKI = the CA's SKI, notAfter capped at the CA's.
  const text = openssl(['x509', '-noout', '-text', '-in', leaf]);
  assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
  assert.doesNotMatch(text, /Key Encipherment/);
  const caSki = /X509v3 Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(openssl(['x509', '-noout', '-text', '-in', caCert]))![1]!;
  assert.match(text, /X509v3 Subject Key Identifier:\s*\n\s*[0-9A-F:]{59}\n/);
  assert.match(text, new RegExp(`X509v3 Authority Key Identifier:\\s*\\n\\s*(keyid:)?${caSki}\\n`));
  assert.equal(openssl(['x509', '-noout', '-enddate', '-in', leaf]), openssl(['x509', '-noout', '-enddate', '-in', caCert]), 'notAfter capped at the CA\'s');
});

test('an RSA key gets Digital Signature and Key Encipherment; a CA expiring within the minimum validity refuses to issue', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-x509-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const caCert = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCert, '-subj', '/CN=peerlog-test-ca', '-days', '1']);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const base = { subject: { commonName: 'peerlog:cluster:rsa', organizations: ['peerlog:peers'] }, publicKey: rsa, caCertPem: readFileSync(caCert, 'utf8'),
    caKeys: await importAnyKeyPair(readFileSync(caKey, 'utf8')), usage: 'client' as const, minValiditySeconds: 600 };
  const now = Date.now();
  const leaf = join(dir, 'rsa.pem');
  writeFileSync(leaf, await issueCertificate({ ...base, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000) }));
  assert.match(openssl(['x509', '-noout', '-text', '-in', leaf]), /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
  assert.match(openssl(['verify', '-CAfile', caCert, leaf]), /: OK/);

  const caEnd = Date.parse(openssl(['x509', '-noout', '-enddate', '-in', caCert]).trim().replace(/^notAfter=/, ''));
  await assert.rejects(issueCertificate({ ...base, now: new Date(caEnd - 300_000), notBefore: new Date(caEnd - 600_000), notAfter: new Date(caEnd + 3600_000) }),
    (e: Error & { code?: string }) => e.code === 'CaExpiring' && /expires at .* within the minimum validity of 600 s/.test(e.message));
  await assert.rejects(issueCertificate({ ...base, now: new Date(caEnd + 1000), notBefore: new Date(caEnd), notAfter: new Date(caEnd + 3600_000) }),
    (e: Error & { code?: string }) => e.code === 'CaExpiring' && /expired at/.test(e.message));
});
