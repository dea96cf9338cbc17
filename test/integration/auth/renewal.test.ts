// H3: identities are renewed before they expire, with a new key, recorded on both sides; an old
// certificate stops working at once (each certificate is one identity lifetime, its own Kubernetes
// user, and RBAC names only the current one: 403 while unexpired, 401 once expired); a repeat
// request with the same key never gets an expired or nearly expired certificate; and a virtual node
// whose identity stops working turns NotReady with a reason instead of staying Ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsr, exportKeyPair, generateKeyPair, importAnyKeyPair } from '../../../src/adapters/x509/index.js';
import { postIdentityRequest } from '../../../src/adapters/http/auth-client.js';
import type { KubeObject } from '../../../src/adapters/kubernetes/client.js';
import { DEFAULT_CSR_POLICY } from '../../../src/auth/policy.js';
import { IDENTITY_SECRET_NAME, PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityCommonNameFor, tenantNamespaceFor, virtualNodeNameFor } from '../../../src/resources/names.js';
import { caKeyOf, startProvider } from '../../support/auth.js';
import { outboxEvents } from '../../support/core.js';
import { eventually } from '../../support/env.js';
import { clusterEndpoint, openssl, statusAs } from '../../support/identity.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

/**
 * These certificates live 30 to 60 seconds, so that renewal and expiry happen within a test: the
 * CA-key signer's (the Kubernetes CSR API signs for 600 s at least).
 */
const CA_KEY_SIGNER = { caKey: caKeyOf('beta') };

interface Cond { type: string; status: string; reason: string; message: string; lastTransitionTime: string }

/** What openssl says of a PEM certificate: serial, notAfter, public key and subject CN. */
function certFacts(pem: string): { serial: string; notAfter: Date; publicKey: string; cn: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'peerlog-h3-')), 'c.pem');
  writeFileSync(file, pem);
  const text = openssl(['x509', '-in', file, '-noout', '-serial', '-enddate']);
  return {
    serial: /serial=([0-9A-F]+)/.exec(text)![1]!,
    notAfter: new Date(/notAfter=(.+)/.exec(text)![1]!),
    publicKey: openssl(['x509', '-in', file, '-noout', '-pubkey']),
    cn: /CN\s*=\s*([^,/\n]+)/.exec(openssl(['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253']))![1]!.trim(),
  };
}

/** The tenant's ResourceOffers and ResourceRequests at beta, as REST paths. */
const tenantPaths = (tenant: string) => ({
  offers: `/apis/peering.peerlog.dev/v1alpha1/namespaces/${tenant}/resourceoffers`,
  requests: `/apis/peering.peerlog.dev/v1alpha1/namespaces/${tenant}/resourcerequests`,
});

function identitySecret(consumer: Plane, provider: Plane): { certPem: string; keyPem: string; caPem: string } {
  const r = consumer.kubectl(['get', 'secret', '-n', tenantNamespaceFor(provider.config.clusterId), IDENTITY_SECRET_NAME, '-o', 'json']);
  const data = (JSON.parse(r.stdout) as { data: Record<string, string> }).data;
  const d = (k: string) => Buffer.from(data[k]!, 'base64').toString('utf8');
  return { certPem: d('tls.crt'), keyPem: d('tls.key'), caPem: d('ca.crt') };
}

function readyOf(consumer: Plane, nodeName: string): Cond | undefined {
  const r = consumer.kubectl(['get', 'node', nodeName, '-o', 'json']);
  return r.status === 0 ? (JSON.parse(r.stdout) as { status?: { conditions?: Cond[] } }).status?.conditions?.find((c) => c.type === 'Ready') : undefined;
}

test('a certificate is renewed with a new key before it expires; the old one then gets 403, and 401 once expired; the node stays Ready', async (t) => {
  const consumer = await startPlane('alpha', 'rnc');
  const provider = await startPlane('beta', 'rnp', CA_KEY_SIGNER, { policy: { ...DEFAULT_CSR_POLICY, minValiditySeconds: 30, defaultValiditySeconds: 60 } });
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    // The side request's cluster: its tenant and the ForeignCluster beta made for it.
    const side = `${consumer.config.clusterId}-x`;
    provider.kubectl(['delete', 'namespace', tenantNamespaceFor(side), '--wait=false', '--ignore-not-found']);
    provider.kubectl(['delete', 'foreignclusters', '-l', `peerlog.dev/remote-cluster-id=${side}`, '--wait=false', '--ignore-not-found']);
  });
  const nodeName = virtualNodeNameFor(provider.config.clusterId);
  const tenant = tenantNamespaceFor(consumer.config.clusterId);

  // A repeat request with the same key, near expiry, on the side: run alongside the peering.
  const repeat = (async () => {
    const id = `${consumer.config.clusterId}-x`;
    const keys = await generateKeyPair();
    const csr = await createCsr({ commonName: identityCommonNameFor(id), organizations: [PEERS_GROUP] }, keys);
    const ask = () => postIdentityRequest(provider.cp.url, { clusterId: id, clusterName: 'x', token: provider.token, csr, validitySeconds: 30 }, provider.cp.fingerprint);
    const first = await ask();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const firstCert = (first.body as { certificate: string }).certificate;
    const firstFacts = certFacts(firstCert);
    // Wait until less than a third of its 30 s remains, then ask again with the same key.
    await new Promise((r) => setTimeout(r, Math.max(0, firstFacts.notAfter.getTime() - 9_000 - Date.now())));
    const second = await ask();
    assert.equal(second.status, 200);
    const secondFacts = certFacts((second.body as { certificate: string }).certificate);
    assert.notEqual(secondFacts.serial, firstFacts.serial, 'a nearly expired certificate was sent again');
    assert.ok(secondFacts.notAfter.getTime() - Date.now() > 20_000, `the answer expires at ${secondFacts.notAfter.toISOString()}`);
    assert.equal(secondFacts.publicKey, firstFacts.publicKey);
    return id;
  })();
  repeat.catch(() => undefined); // awaited (and its failure reported) at the end

  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  const readyAtStart = await eventually('the virtual node Ready', async () => { const c = readyOf(consumer, nodeName); return c?.status === 'True' ? c : undefined; }, 30_000);
  const first = identitySecret(consumer, provider);
  const firstFacts = certFacts(first.certPem);
  t.diagnostic(`first certificate serial ${firstFacts.serial}, notAfter ${firstFacts.notAfter.toISOString()}`);

  // The renewal: a new certificate for a new key in the Secret, well before the first expires.
  const renewed = await eventually('a renewed certificate in the identity Secret', async () => {
    const s = identitySecret(consumer, provider);
    return s.certPem !== first.certPem ? s : undefined;
  }, 60_000);
  const renewedFacts = certFacts(renewed.certPem);
  assert.notEqual(renewedFacts.serial, firstFacts.serial);
  assert.notEqual(renewedFacts.publicKey, firstFacts.publicKey, 'the renewal uses a new key');
  assert.notEqual(renewed.keyPem, first.keyPem);
  assert.ok(Date.now() < firstFacts.notAfter.getTime(), 'renewed before the first certificate expired');

  // Both logs say so. The consumer stores the new key and certificate before it records CertRenewed
  // (a crash in between must not lose the key), so the event may come a moment after the Secret.
  const consumerTypes = await eventually('CertRenewed in the consumer\'s log', async () => {
    const types = (await outboxEvents(consumer.cp.runtime)).map((e) => e.type);
    return types.includes('CertRenewed') ? types : undefined;
  }, 10_000);
  assert.ok(consumerTypes.includes('IdentityRenewalRequested'), consumerTypes.join());
  assert.ok(consumerTypes.indexOf('IdentityRenewalRequested') < consumerTypes.indexOf('CertRenewed'), consumerTypes.join());
  const providerRenewal = (await outboxEvents(provider.cp.runtime)).find((e) => e.type === 'CertRenewed' && e.streamId === `incoming-${consumer.config.clusterId}`);
  assert.ok(providerRenewal, 'CertRenewed on the provider');

  // beta's kube-apiserver: the new certificate works; the old one, still unexpired, is forbidden
  // (RBAC names only the current lifetime) within moments of the renewal, and unauthorized once expired.
  const beta = clusterEndpoint('beta');
  const asNew = { ...beta, certPem: renewed.certPem, keyPem: renewed.keyPem };
  const asOld = { ...beta, certPem: first.certPem, keyPem: first.keyPem };
  const paths = tenantPaths(tenant);
  assert.equal(await statusAs(asNew, paths.requests), 200);
  const forbiddenAt = await eventually('the old certificate forbidden by beta', async () => ((await statusAs(asOld, paths.offers)) === 403 ? Date.now() : undefined), 10_000);
  t.diagnostic(`old certificate forbidden ${((firstFacts.notAfter.getTime() - forbiddenAt) / 1000).toFixed(1)} s before it expires`);
  assert.ok(forbiddenAt < firstFacts.notAfter.getTime(), 'forbidden while still valid');
  assert.equal(await statusAs(asOld, paths.requests), 403);
  assert.equal(await statusAs(asNew, paths.offers), 200);
  await eventually('the old certificate unauthorized once expired', async () => ((await statusAs(asOld, paths.offers)) === 401 ? true : undefined), 40_000);
  assert.equal(await statusAs(asNew, paths.requests), 200);
  // Each certificate is its own lifetime, named in its CN: the first 1, the renewal 2.
  assert.equal(firstFacts.cn, `peerlog:cluster:${consumer.config.clusterId}:1`);
  assert.equal(renewedFacts.cn, `peerlog:cluster:${consumer.config.clusterId}:2`);

  // The node never left Ready.
  const readyNow = readyOf(consumer, nodeName);
  assert.equal(readyNow?.status, 'True');
  assert.equal(readyNow?.lastTransitionTime, readyAtStart.lastTransitionTime, 'Ready flapped during the renewal');
  await repeat;
});

test('a virtual node whose identity can no longer be renewed turns NotReady with IdentityExpired once it expires', async (t) => {
  const consumer = await startPlane('alpha', 'exc');
  const provider = await startPlane('beta', 'exp', CA_KEY_SIGNER, { policy: { ...DEFAULT_CSR_POLICY, minValiditySeconds: 30, defaultValiditySeconds: 30 } });
  t.after(async () => { await cleanupPlanes([consumer, provider]); });
  const nodeName = virtualNodeNameFor(provider.config.clusterId);

  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => (readyOf(consumer, nodeName)?.status === 'True' ? true : undefined), 30_000);
  const notAfter = certFacts(identitySecret(consumer, provider).certPem).notAfter;
  // The provider's control plane goes away: its authentication endpoint with it, so no renewal.
  await provider.stop();

  const notReady = await eventually('the virtual node NotReady', async () => {
    const c = readyOf(consumer, nodeName);
    return c?.status === 'False' ? c : undefined;
  }, 60_000);
  assert.equal(notReady.reason, 'IdentityExpired');
  const late = (Date.now() - notAfter.getTime()) / 1000;
  t.diagnostic(`NotReady ${late.toFixed(1)} s after notAfter: ${notReady.message}`);
  assert.ok(late < 80, 'within two Lease durations of the expiry');
  const failures = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.type === 'IdentityRenewalFailed');
  assert.ok(failures.length >= 1, 'the failed renewal is in the log');
  const auth = await eventually('Authenticated False with IdentityExpired', async () => {
    const r = consumer.kubectl(['get', 'foreignclusters', provider.config.clusterId, '-o', 'json']);
    const c = (JSON.parse(r.stdout) as { status?: { conditions?: Cond[] } }).status?.conditions?.find((x) => x.type === 'Authenticated');
    return c?.reason === 'IdentityExpired' ? c : undefined;
  }, 20_000);
  assert.equal(auth.status, 'False');
});

test('the provider lets a new key replace an identity only with a statement signed by the current certificate\'s key', async (t) => {
  // Short certificates, so that a renewal is due at once (one asked while more than half of the
  // validity remains is refused as RenewalNotDue).
  const provider = await startProvider({ prefix: 'rnq', settings: CA_KEY_SIGNER, policy: { ...DEFAULT_CSR_POLICY, minValiditySeconds: 30, defaultValiditySeconds: 60 } });
  const id = `${provider.config.clusterId}-c`;
  t.after(async () => { await provider.cleanup([id]); });
  const forge = async () => {
    const pem = (await exportKeyPair(await generateKeyPair())).privateKeyPem;
    return { pem, csr: await createCsr({ commonName: identityCommonNameFor(id), organizations: [PEERS_GROUP] }, await importAnyKeyPair(pem)) };
  };
  const post = (body: Record<string, unknown>) => postIdentityRequest(provider.cp.url, { clusterId: id, clusterName: 'c', token: '', ...body } as never, provider.cp.fingerprint);
  // The statement, written here as the protocol defines it.
  const statement = (fp: string, csr: string) => ['peerlog-renewal-v1', provider.config.clusterId, id, fp, csr.trim()].join('\n');
  const signWith = (keyPem: string, text: string) => sign('sha256', Buffer.from(text), keyPem).toString('base64');
  const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  const refusal = (a: { status: number; body: unknown }) => `${a.status} ${(a.body as { error?: { reason?: string } }).error?.reason ?? ''}`;

  const a = await forge();
  const first = await post({ token: provider.token, csr: a.csr, validitySeconds: 30 });
  assert.equal(first.status, 200);
  const certA = (first.body as { certificate: string }).certificate;
  const fpA = fingerprintOf(certA);
  // Certificate A may read its tenant's offers at beta's kube-apiserver.
  const beta = clusterEndpoint('beta');
  const paths = tenantPaths(tenantNamespaceFor(id));
  const asA = { ...beta, certPem: certA, keyPem: a.pem };
  assert.equal(await statusAs(asA, paths.offers), 200);

  const b = await forge();
  const stranger = await forge();
  // A new key while more than half of the validity it asks remains (about 30 s of 30): not due.
  const early = await forge();
  assert.equal(refusal(await post({ csr: early.csr, validitySeconds: 30, renewal: { certFingerprint: fpA, signature: signWith(a.pem, statement(fpA, early.csr)) } })), '409 RenewalNotDue');
  // The token and another key: never a replacement.
  assert.equal(refusal(await post({ token: provider.token, csr: b.csr })), '409 IdentityConflict');
  // A statement signed by a key that is not the current certificate's.
  assert.equal(refusal(await post({ csr: b.csr, renewal: { certFingerprint: fpA, signature: signWith(stranger.pem, statement(fpA, b.csr)) } })), '403 RenewalProofInvalid');
  // The current key's signature over another CSR does not carry over to this one.
  assert.equal(refusal(await post({ csr: b.csr, renewal: { certFingerprint: fpA, signature: signWith(a.pem, statement(fpA, stranger.csr)) } })), '403 RenewalProofInvalid');
  // A certificate that is not the current one.
  assert.equal(refusal(await post({ csr: b.csr, renewal: { certFingerprint: 'f'.repeat(64), signature: signWith(a.pem, statement('f'.repeat(64), b.csr)) } })), '409 NotCurrentIdentity');

  // The current key signing this CSR: renewed, for key B, recorded.
  const renewed = await post({ csr: b.csr, renewal: { certFingerprint: fpA, signature: signWith(a.pem, statement(fpA, b.csr)) } });
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  const certB = (renewed.body as { certificate: string }).certificate;
  assert.equal(certFacts(certB).publicKey, openssl(['pkey', '-pubout'], b.pem));
  // B works the moment it is handed out; A, unexpired, is forbidden once the renewal is in the log.
  const asB = { ...beta, certPem: certB, keyPem: b.pem };
  assert.equal(await statusAs(asB, paths.offers), 200);
  await eventually('certificate A forbidden by beta', async () => ((await statusAs(asA, paths.offers)) === 403 ? true : undefined), 10_000);
  assert.equal(await statusAs(asA, paths.requests), 403);
  assert.equal(await statusAs(asB, paths.requests), 200);
  // Each is its own lifetime, named in its CN: A the first, B the second.
  assert.equal(certFacts(certA).cn, `peerlog:cluster:${id}:1`);
  assert.equal(certFacts(certB).cn, `peerlog:cluster:${id}:2`);
  const events = (await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${id}`);
  const renewal = events.find((e) => e.type === 'CertRenewed');
  assert.equal((renewal?.data as { previousCertFingerprint?: string } | undefined)?.previousCertFingerprint, fpA);
  assert.equal((renewal?.data as { certFingerprint?: string }).certFingerprint, fingerprintOf(certB));

  // The replaced certificate cannot renew again (a replay with a third key), and no token was needed.
  const c = await forge();
  assert.equal(refusal(await post({ csr: c.csr, renewal: { certFingerprint: fpA, signature: signWith(a.pem, statement(fpA, c.csr)) } })), '409 NotCurrentIdentity');
  assert.ok(!events.some((e) => e.type === 'TokenRejected'), 'a renewal is not a token attempt');

  // Revoked, as unpeering ends: the current certificate is forbidden too. Peering again with the
  // token and a new key opens lifetime 3, which alone works; A and B stay forbidden.
  const revoked = await provider.cp.runtime.bus.incoming(id, {
    type: 'RevokeIdentity', data: { reason: 'ConsumerUnpeered' },
    metadata: { now: new Date().toISOString(), actor: { kind: 'cli', name: 'test' }, correlationId: randomUUID(), commandId: randomUUID() },
  });
  assert.deepEqual(revoked.events.map((e) => e.type), ['IdentityRevoked']);
  await eventually('certificate B forbidden once revoked', async () => ((await statusAs(asB, paths.offers)) === 403 ? true : undefined), 10_000);
  const d = await forge();
  const again = await post({ token: provider.token, csr: d.csr, validitySeconds: 30 });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  const certD = (again.body as { certificate: string }).certificate;
  assert.equal(certFacts(certD).cn, `peerlog:cluster:${id}:3`);
  const asD = { ...beta, certPem: certD, keyPem: d.pem };
  assert.equal(await statusAs(asD, paths.offers), 200);
  assert.equal(await statusAs(asA, paths.offers), 403);
  assert.equal(await statusAs(asB, paths.offers), 403);
  // The tenant's RoleBinding, read back from beta, names lifetime 3 alone.
  const binding = await provider.kube.get<{ subjects?: { kind: string; name: string }[] } & KubeObject>('rbac.authorization.k8s.io/v1', 'RoleBinding', 'peerlog-tenant', tenantNamespaceFor(id));
  assert.deepEqual(binding?.subjects?.map((x) => `${x.kind}/${x.name}`), [`User/peerlog:cluster:${id}:3`]);
});
