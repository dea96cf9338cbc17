// Each local cluster's PKI: a serving CA, a client CA (the key peerlog signs identities with), the
// apiserver serving certificate, an admin client certificate, service-account keys, and kubeconfigs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { dirname } from 'node:path';
import { forgeKubeconfig } from '../adapters/kubernetes/kubeconfig.js';
import { createSelfSignedCa, exportKeyPair, generateKeyPair, importKeyPair, issueCertificate } from '../adapters/x509/index.js';
import { clusterFiles, type ClusterName, type StackLayout } from './config.js';
import { APISERVER_KUBELET_CLIENT_CN } from '../resources/constants.js';

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;
type CryptoKeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

function write(path: string, content: string, secret = false): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: secret ? 0o600 : 0o644 });
}

async function ensureCa(certPath: string, keyPath: string, cn: string): Promise<{ certPem: string; keys: CryptoKeyPair }> {
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { certPem: readFileSync(certPath, 'utf8'), keys: await importKeyPair(readFileSync(keyPath, 'utf8')) };
  }
  const now = Date.now();
  const ca = await createSelfSignedCa(cn, new Date(now - 3600_000), new Date(now + TEN_YEARS_MS));
  write(certPath, ca.certPem);
  write(keyPath, (await exportKeyPair(ca.keys)).privateKeyPem, true);
  return ca;
}

async function ensureLeaf(
  certPath: string, keyPath: string, ca: { certPem: string; keys: CryptoKeyPair },
  subject: { commonName: string; organizations?: string[] }, usage: 'client' | 'server',
  sans?: { dnsNames: string[]; ipAddresses: string[] },
): Promise<void> {
  if (existsSync(certPath) && existsSync(keyPath)) return;
  const keys = await generateKeyPair();
  const pem = await exportKeyPair(keys);
  const now = Date.now();
  const cert = await issueCertificate({
    subject, publicKey: pem.publicKeyPem, caCertPem: ca.certPem, caKeys: ca.keys,
    notBefore: new Date(now - 3600_000), notAfter: new Date(now + TEN_YEARS_MS), usage, ...sans,
  });
  write(keyPath, pem.privateKeyPem, true);
  write(certPath, cert);
}

/** Creates whatever part of the cluster's PKI is missing; existing files are kept. */
export async function ensurePki(layout: StackLayout, cluster: ClusterName): Promise<void> {
  const f = clusterFiles(layout, cluster);
  const c = layout.clusters[cluster];
  const servingCa = await ensureCa(f.caCert, f.caKey, `peerlog-stack-${cluster}-ca`);
  const clientCa = await ensureCa(f.clientCaCert, f.clientCaKey, `peerlog-stack-${cluster}-client-ca`);
  await ensureLeaf(f.servingCert, f.servingKey, servingCa, { commonName: 'kube-apiserver' }, 'server', {
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
  });
  await ensureLeaf(f.adminCert, f.adminKey, clientCa, { commonName: 'peerlog-stack-admin', organizations: ['system:masters'] }, 'client');
  // What kube-apiserver presents to kubelets (--kubelet-client-certificate): signed by the client
  // CA, so a kubelet that trusts that CA (a virtual kubelet) knows the caller is the apiserver. No
  // group: the certificate is meant for kubelets, not for the apiserver's own RBAC.
  await ensureLeaf(f.kubeletClientCert, f.kubeletClientKey, clientCa, { commonName: APISERVER_KUBELET_CLIENT_CN }, 'client');
  if (!existsSync(f.saKey)) {
    // Service-account tokens are signed with this key; kube-apiserver reads PKCS#8 and SPKI PEM.
    const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    write(f.saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), true);
    write(f.saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  }
  // The kubeconfig names the apiserver's port: it is rewritten whenever the layout's port (or a
  // certificate) differs from what it holds. The certificates name no port.
  const kubeconfig = forgeKubeconfig({
    cluster, server: `https://127.0.0.1:${c.apiserverPort}`, caPem: readFileSync(f.caCert, 'utf8'),
    user: 'peerlog-stack-admin', certPem: readFileSync(f.adminCert, 'utf8'), keyPem: readFileSync(f.adminKey, 'utf8'),
  });
  if (!existsSync(f.kubeconfig) || readFileSync(f.kubeconfig, 'utf8') !== kubeconfig) write(f.kubeconfig, kubeconfig, true);
}
