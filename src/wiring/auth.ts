// Builds the authentication ports of one control plane from its runtime (log, certificate store),
// its Kubernetes client and its client CA: the place where the auth services meet the adapters.
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash, createPrivateKey, randomUUID, sign as signBytes, verify as verifyBytes } from 'node:crypto';
import type { PeerlogConfig } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient } from '../adapters/kubernetes/client.js';
import { createTokenStore, ensureNamespace, readIdentity, untilNotTerminating, writeIdentity } from '../adapters/kubernetes/secrets.js';
import {
  createCsr, exportKeyPair, generateKeyPair, importAnyKeyPair, inspectCertificate, inspectCsr, issueCertificate,
} from '../adapters/x509/index.js';
import { fetchClusterIds, postIdentityRequest, postWithdrawal } from '../adapters/http/auth-client.js';
import { forgeLocalTenantNamespace, forgeTenantObjects } from '../resources/tenant.js';
import { forgeOffloadRoleBinding } from '../resources/offloading.js';
import { DEFAULT_CSR_POLICY, type CsrPolicy } from '../auth/policy.js';
import type { ProviderPorts, SigningRequest } from '../auth/provider.js';
import { signWithCsrApi, sweepLeftoverCsrs } from '../adapters/kubernetes/csr.js';
import { MIN_CSR_EXPIRATION_SECONDS, forgeApprovalCondition, forgeIdentityCsr, identityCsrSelector } from '../resources/csr.js';
import type { ConsumerPorts } from '../auth/consumer.js';
import { apiServerOf, parseCertificates } from '../auth/wire.js';
import { InternalError, ValidationError } from '../errors.js';

/** Signing with the client CA's key, which this process then holds. */
async function caKeySigner(config: PeerlogConfig, policy: CsrPolicy): Promise<(req: SigningRequest) => Promise<string>> {
  if (!config.caCert || !config.caKey) throw new ValidationError('setting ca-cert/ca-key: the client CA is needed to sign identities', { code: 'InvalidSetting', field: 'ca-cert' });
  const caCertPem = readFileSync(config.caCert, 'utf8');
  const caKeys = await importAnyKeyPair(readFileSync(config.caKey, 'utf8'));
  return (req) => issueCertificate({
    subject: { commonName: req.commonName, organizations: [req.organization] }, publicKey: req.publicKeyDer,
    caCertPem, caKeys, notBefore: req.notBefore, notAfter: req.notAfter, usage: 'client', minValiditySeconds: policy.minValiditySeconds,
  });
}

/**
 * Signing through the Kubernetes CSR API: the consumer's CSR (whose subject the provider named and
 * the policy checked) goes to the signer as it came, approved by this process and deleted after.
 */
function csrApiSigner(config: PeerlogConfig, kube: KubeClient, policy: CsrPolicy): (req: SigningRequest) => Promise<string> {
  // certificates.k8s.io refuses expirationSeconds below 600: a policy allowing shorter ones could not be served.
  if (policy.minValiditySeconds < MIN_CSR_EXPIRATION_SECONDS) {
    throw new ValidationError(`setting ca-key: identities of ${policy.minValiditySeconds} s (the policy's minimum) cannot be signed through the Kubernetes CSR API, which signs for ${MIN_CSR_EXPIRATION_SECONDS} s at least; give --ca-key or raise the minimum`, { code: 'InvalidSetting', field: 'ca-key' });
  }
  return (req) => signWithCsrApi(kube, {
    csr: forgeIdentityCsr({
      clusterId: config.clusterId, remoteClusterId: req.remoteClusterId, csrPem: req.csrPem, validitySeconds: req.validitySeconds,
      lifetime: req.lifetime, signerName: config.csrSignerName,
    }),
    approval: forgeApprovalCondition({ clusterId: config.clusterId, remoteClusterId: req.remoteClusterId, lifetime: req.lifetime, now: new Date() }),
    deadlineMs: config.csrSigningTimeoutSeconds * 1000,
  });
}

export async function providerPorts(
  config: PeerlogConfig, rt: Runtime, kube: KubeClient, logger: Logger, policy: CsrPolicy = DEFAULT_CSR_POLICY,
  incomingAllowed: (clusterId: string) => boolean = () => true,
): Promise<ProviderPorts> {
  const signer = config.signer === 'ca-key' ? await caKeySigner(config, policy) : csrApiSigner(config, kube, policy);
  if (config.signer === 'csr-api') {
    // What a process killed while signing left behind; one still in flight (another replica's) is
    // younger than any signing can take.
    const leftoverAgeMs = config.csrSigningTimeoutSeconds * 1000 + 60_000;
    sweepLeftoverCsrs(kube, identityCsrSelector(config.clusterId), leftoverAgeMs).then(
      (names) => { if (names.length > 0) logger.info('deleted CertificateSigningRequests left by an earlier process', { names }); },
      (e: unknown) => logger.warn('could not look for CertificateSigningRequests left by an earlier process', { error: e }),
    );
  }
  const tokens = createTokenStore(kube, config.systemNamespace);
  const certificates = rt.certificates;
  return {
    ids: { clusterId: config.clusterId, clusterName: config.clusterName },
    policy,
    signer: config.signer,
    apiServer: apiServerOf(kube),
    readToken: () => tokens.read(),
    incomingAllowed,
    parseCsr: (pem) => inspectCsr(pem),
    async sign(req) {
      const pem = await signer(req);
      const info = inspectCertificate(pem);
      // Whatever signed it, the certificate is what was asked for: the key, the user and the group.
      if (info.publicKeyFingerprint !== createHash('sha256').update(Buffer.from(req.publicKeyDer)).digest('hex')
        || info.subject.commonName !== req.commonName || (info.subject.organizations ?? []).join('\n') !== req.organization) {
        throw new InternalError('SignedCertificateMismatch', `the certificate signed for ${req.commonName} is for ${info.subject.commonName} or another key`);
      }
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
    async ensureTenant(remote, users) {
      const t = forgeTenantObjects(remote, users);
      const name = (t.namespace as { metadata: { name: string } }).metadata.name;
      // An unpeering's teardown may start deleting the namespace while this writes into it: the
      // writes are made again once it is gone, within the same deadline.
      const deadline = Date.now() + 60_000;
      for (;;) {
        await untilNotTerminating(kube, name, Math.max(deadline - Date.now(), 0));
        try {
          await kube.apply(t.namespace as never);
          // The quota before the binding: no moment in which the identity could write without it.
          // The role beside the quota: it grants nothing until the binding names it.
          await Promise.all([kube.apply(t.quota as never), kube.apply(t.role as never)]);
          await kube.apply(t.roleBinding as never);
          return name;
        } catch (e) {
          const ns = await kube.get('v1', 'Namespace', name).catch(() => undefined);
          if (Date.now() > deadline || (ns && !ns.metadata?.deletionTimestamp)) throw e;
        }
      }
    },
    async bindOffloading(consumerId, remoteNamespaces, users) {
      for (const remoteNamespace of remoteNamespaces) await kube.apply(forgeOffloadRoleBinding({ consumerId, remoteNamespace, users }) as never);
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
    postWithdrawal: (url, body, pin) => postWithdrawal(url, body, pin),
    now: () => new Date(),
    newId: randomUUID,
    logger: logger.child({ component: 'auth-consumer' }),
  };
}
