// Builds the authentication ports of one control plane from its runtime (log, database), its
// Kubernetes client and its client CA: the only place the auth services meet the adapters.
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomUUID, sign as signBytes, verify as verifyBytes } from 'node:crypto';
import type { PeerlogConfig } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient } from '../adapters/kubernetes/client.js';
import { createKubeClient } from '../adapters/kubernetes/client.js';
import { forgeKubeconfig, kubeConfigFromParts } from '../adapters/kubernetes/kubeconfig.js';
import { IDENTITY_SECRET_KEYS, createTokenStore, ensureNamespace, readIdentity, writeIdentity } from '../adapters/kubernetes/secrets.js';
import { createCertificateStore } from '../adapters/postgres/certificates.js';
import {
  createCsr, exportKeyPair, generateKeyPair, importAnyKeyPair, inspectCertificate, inspectCsr, issueCertificate,
} from '../adapters/x509/index.js';
import { fetchClusterIds, postIdentityRequest } from '../adapters/http/auth-client.js';
import { forgeLocalTenantNamespace, forgeTenantObjects } from '../resources/tenant.js';
import { DEFAULT_CSR_POLICY, type CsrPolicy } from './policy.js';
import type { ProviderPorts } from './provider.js';
import { apiServerUrlProblem, type ConsumerPorts } from './consumer.js';
import { IdentitySecretInvalidError } from './errors.js';
import { ValidationError } from '../errors.js';
import { identityUserFor, tenantNamespaceFor } from '../resources/names.js';

/** Responses of a provider's kube-apiserver beyond this are cut off: its answers to peerlog are small. */
export const REMOTE_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Every PEM certificate of a bundle; throws on anything else, or on none. */
export function parseCertificates(pem: string): X509Certificate[] {
  if (pem.length > 256 * 1024) throw new ValidationError('longer than 256 KiB', { code: 'CertificateBundleInvalid' });
  const blocks = pem.match(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g) ?? [];
  const rest = blocks.reduce((text, b) => text.replace(b, ''), pem);
  if (blocks.length === 0) throw new ValidationError('no PEM block', { code: 'CertificateBundleInvalid' });
  if (rest.trim() !== '') throw new ValidationError('text outside PEM blocks', { code: 'CertificateBundleInvalid' });
  return blocks.map((b, i) => {
    if (!b.startsWith('-----BEGIN CERTIFICATE-----')) throw new ValidationError(`block ${i + 1} is not a CERTIFICATE`, { code: 'CertificateBundleInvalid' });
    try { return new X509Certificate(b); } catch (e) { throw new ValidationError(`block ${i + 1} does not parse as a certificate`, { code: 'CertificateBundleInvalid', cause: e }); }
  });
}

const spkiFingerprint = (key: ReturnType<typeof createPrivateKey>) => createHash('sha256').update(createPublicKey(key).export({ format: 'der', type: 'spki' })).digest('hex');

/**
 * The client to a provider, built from values only (H1): the key and certificate of the identity
 * Secret, its CA bundle, and the API server URL the log recorded. The Secret is refused unless its
 * certificate is the one the log names, its key is that certificate's, its CA bundle is PEM
 * certificates, and it holds nothing peerlog does not write (a kubeconfig left by an earlier
 * release is tolerated only if it is byte for byte the one peerlog forged; it is never loaded).
 */
export async function identityClient(kube: KubeClient, p: {
  remoteClusterId: string; remoteClusterName: string; certFingerprint: string; apiServerUrl: string; tenantNamespace: string; consumerClusterId: string;
}): Promise<KubeClient> {
  const namespace = tenantNamespaceFor(p.remoteClusterId);
  const refuse = (why: string): never => { throw new IdentitySecretInvalidError(namespace, why); };
  const id = await readIdentity(kube, namespace);
  if (!id) return refuse('it does not exist or holds no tls.key');
  if (!id.certPem) return refuse('it holds no tls.crt');
  if (!id.caPem) return refuse('it holds no ca.crt');
  const urlProblem = apiServerUrlProblem(p.apiServerUrl);
  if (urlProblem) return refuse(`the log's API server URL cannot be used: ${urlProblem}`);
  let cert: X509Certificate;
  try { cert = new X509Certificate(id.certPem); } catch { return refuse('tls.crt is not a PEM certificate'); }
  const fingerprint = createHash('sha256').update(cert.raw).digest('hex');
  if (fingerprint !== p.certFingerprint) return refuse(`tls.crt has fingerprint ${fingerprint}, not ${p.certFingerprint} as the log says`);
  let key: ReturnType<typeof createPrivateKey>;
  try { key = createPrivateKey(id.keyPem); } catch { return refuse('tls.key is not a PEM private key'); }
  if (spkiFingerprint(key) !== createHash('sha256').update(cert.publicKey.export({ format: 'der', type: 'spki' })).digest('hex')) {
    return refuse('tls.key is not the key of tls.crt');
  }
  try { parseCertificates(id.caPem); } catch (e) { return refuse(`ca.crt: ${(e as Error).message}`); }
  const parts = {
    cluster: p.remoteClusterName, server: p.apiServerUrl, caPem: id.caPem, user: identityUserFor(p.consumerClusterId),
    certPem: id.certPem, keyPem: id.keyPem, namespace: p.tenantNamespace,
  };
  const known = new Set<string>(IDENTITY_SECRET_KEYS);
  for (const k of id.keys) {
    if (known.has(k)) continue;
    if (k === 'kubeconfig' && id.kubeconfig === forgeKubeconfig(parts)) continue;
    return refuse(`it holds ${JSON.stringify(k)}, which peerlog never writes${k === 'kubeconfig' ? ' (a kubeconfig is never loaded: remove it)' : ''}`);
  }
  return createKubeClient(kubeConfigFromParts(parts), { maxResponseBytes: REMOTE_MAX_RESPONSE_BYTES });
}

/** The kube-apiserver URL and CA a consumer needs, from the kubeconfig the control plane uses. */
export function apiServerOf(kube: KubeClient): { url: string; caPem: string } {
  const cluster = kube.config.getCurrentCluster();
  if (!cluster) throw new ValidationError('the kubeconfig has no current cluster', { code: 'KubeconfigInvalid' });
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : '';
  return { url: cluster.server, caPem };
}

export async function providerPorts(
  config: PeerlogConfig, rt: Runtime, kube: KubeClient, logger: Logger, policy: CsrPolicy = DEFAULT_CSR_POLICY,
  incomingAllowed: (clusterId: string) => boolean = () => true,
): Promise<ProviderPorts> {
  if (!config.caCert || !config.caKey) throw new ValidationError('setting ca-cert/ca-key: the client CA is needed to sign identities', { code: 'InvalidSetting', field: 'ca-cert' });
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
    verifyProof(certPem, statement, signature) {
      try {
        const key = new X509Certificate(certPem).publicKey;
        return verifyBytes(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(statement), key, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    },
    findCertificate: (fp) => certificates.find(fp),
    async ensureTenant(remote) {
      const t = forgeTenantObjects(remote);
      await kube.apply(t.namespace as never);
      // The quota before the binding: no moment in which the identity could write without it.
      await kube.apply(t.quota as never);
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
      return {
        commonName: c.subject.commonName, issuer: c.issuer, fingerprint: c.fingerprint, publicKeyFingerprint: c.publicKeyFingerprint,
        notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(),
      };
    },
    parseCaBundle: (pem) => { parseCertificates(pem); },
    signProof(keyPem, statement) {
      const key = createPrivateKey(keyPem);
      return signBytes(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(statement), key).toString('base64');
    },
    probe: (url, pin) => fetchClusterIds(url, pin),
    postIdentity: (url, body, pin) => postIdentityRequest(url, body, pin),
    now: () => new Date(),
    newId: randomUUID,
    logger: logger.child({ component: 'auth-consumer' }),
  };
}
