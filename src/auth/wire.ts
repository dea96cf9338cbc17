// Builds the authentication ports of one control plane from its runtime (log, database), its
// Kubernetes client and its client CA: the only place the auth services meet the adapters.
import { readFileSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import type { PeerlogConfig } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient } from '../adapters/kubernetes/client.js';
import { forgeKubeconfig } from '../adapters/kubernetes/kubeconfig.js';
import { createTokenStore, ensureNamespace, readIdentity, writeIdentity } from '../adapters/kubernetes/secrets.js';
import { createCertificateStore } from '../adapters/postgres/certificates.js';
import {
  createCsr, exportKeyPair, generateKeyPair, importAnyKeyPair, inspectCertificate, inspectCsr, issueCertificate,
} from '../adapters/x509/index.js';
import { fetchClusterIds, postIdentityRequest } from '../adapters/http/auth-client.js';
import { forgeLocalTenantNamespace, forgeTenantObjects } from '../resources/tenant.js';
import { DEFAULT_CSR_POLICY, type CsrPolicy } from './policy.js';
import type { ProviderPorts } from './provider.js';
import type { ConsumerPorts } from './consumer.js';

/** The kube-apiserver URL and CA a consumer needs, from the kubeconfig the control plane uses. */
export function apiServerOf(kube: KubeClient): { url: string; caPem: string } {
  const cluster = kube.config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : '';
  return { url: cluster.server, caPem };
}

export async function providerPorts(
  config: PeerlogConfig, rt: Runtime, kube: KubeClient, logger: Logger, policy: CsrPolicy = DEFAULT_CSR_POLICY,
  incomingAllowed: (clusterId: string) => boolean = () => true,
): Promise<ProviderPorts> {
  if (!config.caCert || !config.caKey) throw new Error('setting ca-cert/ca-key: the client CA is needed to sign identities');
  const caCertPem = readFileSync(config.caCert, 'utf8');
  const caKeys = await importAnyKeyPair(readFileSync(config.caKey, 'utf8'));
  const tokens = createTokenStore(kube, config.systemNamespace);
  const certificates = createCertificateStore(rt.ds);
  return {
    ids: { clusterId: config.clusterId, clusterName: config.clusterName },
    policy,
    apiServer: apiServerOf(kube),
    readToken: () => tokens.read(),
    incomingAllowed,
    parseCsr: (pem) => inspectCsr(pem),
    async sign(req) {
      const pem = await issueCertificate({
        subject: { commonName: req.commonName, organizations: [req.organization] }, publicKey: req.publicKeyDer,
        caCertPem, caKeys, notBefore: req.notBefore, notAfter: req.notAfter, usage: 'client', minValiditySeconds: policy.minValiditySeconds,
      });
      const info = inspectCertificate(pem);
      return { pem, fingerprint: info.fingerprint, serialNumber: info.serialNumber.toLowerCase(), notAfter: info.notAfter.toISOString() };
    },
    loadIncoming: (remote) => rt.bus.loadIncoming(remote),
    handleIncoming: (remote, command) => rt.bus.incoming(remote, command),
    saveCertificate: (c) => certificates.save(c),
    findCertificate: (fp) => certificates.find(fp),
    async ensureTenant(remote) {
      const t = forgeTenantObjects(remote);
      await kube.apply(t.namespace as never);
      await kube.apply(t.role as never);
      await kube.apply(t.roleBinding as never);
      return (t.namespace as { metadata: { name: string } }).metadata.name;
    },
    now: () => new Date(),
    newId: randomUUID,
    logger: logger.child({ component: 'auth-provider' }),
  };
}

export function consumerPorts(config: PeerlogConfig, rt: Runtime, kube: KubeClient, logger: Logger): ConsumerPorts {
  return {
    ids: { clusterId: config.clusterId, clusterName: config.clusterName },
    loadOutgoing: (remote) => rt.bus.loadOutgoing(remote),
    handleOutgoing: (remote, command) => rt.bus.outgoing(remote, command),
    async ensureLocalTenant(remote) {
      const ns = forgeLocalTenantNamespace(remote) as { metadata: { name: string; labels: Record<string, string> } };
      await ensureNamespace(kube, ns.metadata.name, ns.metadata.labels);
      return ns.metadata.name;
    },
    readIdentity: (ns) => readIdentity(kube, ns),
    writeIdentity: (ns, remote, id) => writeIdentity(kube, ns, remote, id),
    newPrivateKey: async () => (await exportKeyPair(await generateKeyPair())).privateKeyPem,
    async createCsr(keyPem, subject) {
      const keys = await importAnyKeyPair(keyPem);
      const pem = await createCsr({ commonName: subject.commonName, organizations: [subject.organization] }, keys);
      const info = await inspectCsr(pem);
      return { pem, fingerprint: createHash('sha256').update(pem.trim()).digest('hex'), publicKeyFingerprint: info.publicKeyFingerprint };
    },
    inspectCertificate(pem) {
      const c = inspectCertificate(pem);
      return { commonName: c.subject.commonName, fingerprint: c.fingerprint, publicKeyFingerprint: c.publicKeyFingerprint, notAfter: c.notAfter.toISOString() };
    },
    probe: (url, pin) => fetchClusterIds(url, pin),
    postIdentity: (url, body, pin) => postIdentityRequest(url, body, pin),
    forgeKubeconfig: (p) => forgeKubeconfig(p),
    now: () => new Date(),
    newId: randomUUID,
    logger: logger.child({ component: 'auth-consumer' }),
  };
}
