// The consumer's client to a provider's kube-apiserver, built from the identity Secret the log
// names, and the checks on what that Secret and a kubeconfig hold. The ports of the auth services
// are composed in src/wiring/auth.ts (this folder imports no HTTP or database adapter).
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KubeClient } from '../adapters/kubernetes/client.js';
import { createKubeClient } from '../adapters/kubernetes/client.js';
import { forgeKubeconfig, kubeConfigFromParts } from '../adapters/kubernetes/kubeconfig.js';
import { IDENTITY_SECRET_KEYS, readIdentity } from '../adapters/kubernetes/secrets.js';
import { apiServerUrlProblem } from './consumer.js';
import { IdentitySecretInvalidError } from './errors.js';
import { ValidationError } from '../errors.js';
import { identityCommonNameFor, tenantNamespaceFor } from '../resources/names.js';

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
    cluster: p.remoteClusterName, server: p.apiServerUrl, caPem: id.caPem, user: identityCommonNameFor(p.consumerClusterId),
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
