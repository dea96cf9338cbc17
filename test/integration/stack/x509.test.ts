import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { createCsr, createSelfSignedCa, exportKeyPair, generateKeyPair, importKeyPair, inspectCsr, issueCertificate } from '../../../src/adapters/x509/index.js';
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
