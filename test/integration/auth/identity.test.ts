// alpha obtains an identity from beta's authentication endpoint; beta's real kube-apiserver
// authenticates it, and RBAC gives it exactly the tenant namespace's peering objects (can-i matrix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { kubeConfigFromParts } from '../../../src/adapters/kubernetes/kubeconfig.js';
import { readIdentity } from '../../../src/adapters/kubernetes/secrets.js';
import { createCsr, generateKeyPair, importAnyKeyPair, inspectCertificate } from '../../../src/adapters/x509/index.js';
import { postIdentityRequest } from '../../../src/adapters/http/auth-client.js';
import { API_GROUP, API_VERSION, PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityCommonNameFor, tenantNamespaceFor } from '../../../src/resources/names.js';
import { openConsumer, startProvider } from '../../support/auth.js';
import { outboxEvents } from '../../support/core.js';
import { driversOf } from '../../../src/runtime.js';

interface Row { readonly verb: string; readonly resource: string; readonly group?: string; readonly subresource?: string; readonly namespace?: string; readonly expect: boolean }

test('alpha obtains an identity from beta: authenticated by beta\'s kube-apiserver, limited to its tenant namespace', async (t) => {
  const provider = await startProvider();
  const consumer = await openConsumer();
  const tenant = tenantNamespaceFor(consumer.config.clusterId);
  t.after(async () => { await consumer.cleanup([provider.config.clusterId]); await provider.cleanup([consumer.config.clusterId]); });

  const identity = await consumer.obtain(provider);
  assert.equal(identity.tenantNamespace, tenant);
  assert.equal(identity.requested, true);
  assert.equal(identity.authFingerprint, provider.cp.fingerprint);

  // The identity is a Secret in alpha's local tenant namespace for beta: key, certificate and CA
  // bundle, and no kubeconfig (a client is built from these values and the log, never loaded).
  const stored = await readIdentity(consumer.kube, tenantNamespaceFor(provider.config.clusterId));
  assert.ok(stored?.certPem && stored.keyPem && stored.caPem);
  assert.deepEqual([...stored.keys].sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  const cert = inspectCertificate(stored.certPem);
  // The first identity on the stream opens lifetime 1, named in the CN.
  const user = `peerlog:cluster:${consumer.config.clusterId}:1`;
  assert.equal(cert.subject.commonName, user);
  assert.deepEqual(cert.subject.organizations, [PEERS_GROUP]);
  const validityDays = (cert.notAfter.getTime() - Date.now()) / 86_400_000;
  assert.ok(validityDays > 89 && validityDays < 91, `validity ${validityDays.toFixed(1)} days`);

  const kc = kubeConfigFromParts({
    cluster: provider.config.clusterName, server: identity.apiServerUrl, caPem: stored.caPem, user: identityCommonNameFor(consumer.config.clusterId),
    certPem: stored.certPem, keyPem: stored.keyPem,
  });
  const who = await kc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
  assert.equal(who.status?.userInfo?.username, user);
  assert.deepEqual(who.status?.userInfo?.groups?.filter((g) => !g.startsWith('system:')), [PEERS_GROUP]);

  // The can-i matrix, asked of beta's authorizer as the issued identity.
  const rows: Row[] = [
    { verb: 'create', group: API_GROUP, resource: 'resourcerequests', namespace: tenant, expect: true },
    { verb: 'get', group: API_GROUP, resource: 'resourcerequests', namespace: tenant, expect: true },
    { verb: 'list', group: API_GROUP, resource: 'resourcerequests', namespace: tenant, expect: true },
    { verb: 'watch', group: API_GROUP, resource: 'resourceoffers', namespace: tenant, expect: true },
    { verb: 'patch', group: API_GROUP, resource: 'resourceoffers', subresource: 'status', namespace: tenant, expect: true },
    { verb: 'create', group: API_GROUP, resource: 'resourceoffers', namespace: tenant, expect: false },
    { verb: 'update', group: API_GROUP, resource: 'resourcerequests', subresource: 'status', namespace: tenant, expect: false },
    { verb: 'create', group: API_GROUP, resource: 'resourcerequests', namespace: 'default', expect: false },
    { verb: 'list', group: API_GROUP, resource: 'resourcerequests', namespace: tenantNamespaceFor('someone-else'), expect: false },
    { verb: 'get', resource: 'secrets', namespace: tenant, expect: false },
    { verb: 'list', resource: 'secrets', namespace: 'kube-system', expect: false },
    { verb: 'list', resource: 'secrets', expect: false },
    { verb: 'create', resource: 'pods', namespace: tenant, expect: false },
    { verb: 'get', resource: 'configmaps', namespace: tenant, expect: false },
    { verb: 'list', resource: 'nodes', expect: false },
    { verb: 'create', resource: 'namespaces', expect: false },
    { verb: 'get', resource: 'namespaces', expect: false },
    { verb: 'list', group: API_GROUP, resource: 'foreignclusters', expect: false },
    { verb: 'list', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', expect: false },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: tenant, expect: false },
    { verb: 'update', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: tenant, expect: false },
    { verb: 'list', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', expect: false },
    { verb: 'create', group: 'certificates.k8s.io', resource: 'certificatesigningrequests', expect: false },
    { verb: 'impersonate', resource: 'users', expect: false },
  ];
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const matrix: string[] = [];
  for (const r of rows) {
    const review = await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: {
      verb: r.verb, group: r.group ?? '', resource: r.resource, subresource: r.subresource, namespace: r.namespace,
    } } } });
    const allowed = review.status?.allowed === true;
    matrix.push(`${allowed ? 'yes' : 'no '}  ${r.verb.padEnd(11)} ${`${r.resource}${r.subresource ? `/${r.subresource}` : ''}${r.group ? `.${r.group}` : ''}`.padEnd(52)} ${r.namespace ?? '(cluster)'}`);
    assert.equal(allowed, r.expect, `can-i ${r.verb} ${r.resource} in ${r.namespace ?? 'cluster scope'}`);
  }
  t.diagnostic(`can-i matrix as ${user}:\n${matrix.join('\n')}`);

  // And for real: create and read a ResourceRequest in the tenant namespace; 403 elsewhere.
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const rr = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ResourceRequest', metadata: { name: 'test-request', namespace: tenant }, spec: { clusterId: consumer.config.clusterId } };
  await objects.create(rr);
  const read = await objects.read({ apiVersion: rr.apiVersion, kind: rr.kind, metadata: rr.metadata }) as { spec: { clusterId: string } };
  assert.equal(read.spec.clusterId, consumer.config.clusterId);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const forbidden = (e: { code?: number }) => e.code === 403;
  await assert.rejects(core.listNamespacedSecret({ namespace: tenant }), forbidden);
  await assert.rejects(core.listSecretForAllNamespaces(), forbidden);
  await assert.rejects(core.listNode(), forbidden);
  await assert.rejects(core.readNamespace({ name: tenant }), forbidden);
  await assert.rejects(objects.create({ ...rr, metadata: { name: 'x', namespace: 'default' } }), forbidden);
  await assert.rejects(kc.makeApiClient(k8s.RbacAuthorizationV1Api).listNamespacedRole({ namespace: tenant }), forbidden);

  // The log on both sides, and the private key nowhere in it.
  const consumerEvents = await outboxEvents(consumer.rt);
  // Signed through the CSR API: the first CSR has the plain CN, the provider names the lifetime's
  // (409 SubjectRequired), and the second CSR, for the same key, carries it.
  assert.deepEqual(consumerEvents.map((e) => e.type), ['PeeringRequested', 'IdentityRequested', 'IdentityRequested', 'CertIssued']);
  const [first, second] = consumerEvents.slice(1, 3).map((e) => e.data as { publicKeyFingerprint: string; csrFingerprint: string });
  assert.equal(first!.publicKeyFingerprint, second!.publicKeyFingerprint);
  assert.notEqual(first!.csrFingerprint, second!.csrFingerprint);
  assert.equal((consumerEvents[3]!.data as { certFingerprint: string }).certFingerprint, cert.fingerprint);
  // The ResourceRequest created above is answered by the provider's operator: that is peering's next step.
  const providerEvents = await outboxEvents(provider.cp.runtime);
  assert.deepEqual(providerEvents.slice(0, 2).map((e) => e.type), ['TokenValidated', 'CertIssued']);
  assert.ok(providerEvents.slice(2).every((e) => e.type === 'ResourceRequestReceived' || e.type === 'OfferIssued'), providerEvents.map((e) => e.type).join());
  assert.equal((providerEvents[1]!.data as { certFingerprint: string }).certFingerprint, cert.fingerprint);
  assert.equal(providerEvents[1]!.actor.kind, 'remote-cluster');
  const keyBody = stored.keyPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  for (const e of [...consumerEvents, ...providerEvents]) {
    const text = JSON.stringify(e);
    assert.ok(!text.includes(keyBody.slice(0, 40)), `${e.type} holds the private key`);
    assert.ok(!text.includes(provider.token), `${e.type} holds the token`);
  }

  // Asking again with the same key returns the very same certificate; nothing new is logged.
  const again = await consumer.obtain(provider);
  assert.equal(again.requested, false);
  const keys = await importAnyKeyPair(stored.keyPem);
  const csr = await createCsr({ commonName: identityCommonNameFor(consumer.config.clusterId), organizations: [PEERS_GROUP] }, keys);
  const same = await postIdentityRequest(provider.cp.url, { clusterId: consumer.config.clusterId, clusterName: consumer.config.clusterName, token: provider.token, csr }, provider.cp.fingerprint);
  assert.equal(same.status, 200);
  assert.equal((same.body as { certificate: string }).certificate, stored.certPem);
  const identityEvents = (await outboxEvents(provider.cp.runtime)).filter((e) => e.type === 'TokenValidated' || e.type === 'CertIssued');
  assert.deepEqual(identityEvents.map((e) => e.type), ['TokenValidated', 'CertIssued'], 'no second identity in the log');

  // Another key for the same cluster id: 409, and no second certificate.
  const otherCsr = await createCsr({ commonName: identityCommonNameFor(consumer.config.clusterId), organizations: [PEERS_GROUP] }, await generateKeyPair());
  const conflict = await postIdentityRequest(provider.cp.url, { clusterId: consumer.config.clusterId, clusterName: consumer.config.clusterName, token: provider.token, csr: otherCsr });
  assert.equal(conflict.status, 409);
  assert.equal((conflict.body as { error: { code: string } }).error.code, 'IdentityConflict');
  const rows2 = await driversOf(provider.cp.runtime).ds.query('select count(*)::int as n from peerlog_issued_certificates') as { n: number }[];
  assert.equal(rows2[0]!.n, 1);

  // A pinned fingerprint that does not match stops the request before the token is sent.
  await assert.rejects(postIdentityRequest(provider.cp.url, { clusterId: 'x', clusterName: 'x', token: provider.token, csr }, 'sha256:' + '0'.repeat(64)),
    (e: { code?: string }) => e.code === 'FingerprintMismatch');
});

test('consumer side: a refusal or an unreachable provider is recorded with its reason, and a retry reuses the stored key', async (t) => {
  const provider = await startProvider({ prefix: 'prov2' });
  const consumer = await openConsumer('cons2');
  t.after(async () => { await consumer.cleanup([provider.config.clusterId]); await provider.cleanup([consumer.config.clusterId]); });

  await assert.rejects(consumer.obtain(provider, 'C'.repeat(43)), (e: { code?: string; status?: number; reason?: string; message?: string }) =>
    e.code === 'AuthenticationFailed' && e.status === 401 && e.reason === 'TokenMismatch' && !e.message!.includes(provider.token));
  const keyAfterRefusal = (await readIdentity(consumer.kube, tenantNamespaceFor(provider.config.clusterId)))?.keyPem;
  assert.ok(keyAfterRefusal, 'the key is stored before the request is sent');

  await assert.rejects(consumer.obtain(provider, provider.token, { authUrl: 'https://127.0.0.1:1' }), (e: { code?: string; message?: string }) =>
    e.code === 'ProviderUnreachable' && /127\.0\.0\.1:1/.test(e.message!));

  const ok = await consumer.obtain(provider);
  assert.equal(ok.requested, true);
  const stored = await readIdentity(consumer.kube, tenantNamespaceFor(provider.config.clusterId));
  assert.equal(stored?.keyPem, keyAfterRefusal, 'the retry presented the same key');

  const events = (await outboxEvents(consumer.rt)).map((e) => e.type === 'AuthenticationFailed' ? `${e.type}:${(e.data as { reason: string }).reason}` : e.type);
  assert.deepEqual(events, [
    'PeeringRequested', 'IdentityRequested', 'AuthenticationFailed:TokenRejected',
    // Unreachable is found before a key, a CSR or the token is spent: no IdentityRequested.
    'PeeringRequested', 'AuthenticationFailed:Unreachable',
    'PeeringRequested', 'IdentityRequested', 'IdentityRequested', 'CertIssued',
  ]);
});
