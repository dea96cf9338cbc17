// Kubeconfig forging and loading: the only way peerlog builds Kubernetes clients.
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface KubeconfigParams {
  readonly cluster: string;
  readonly server: string;
  readonly caPem: string;
  readonly user: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly namespace?: string;
}

/** A self-contained kubeconfig (certificates inline) for one client-certificate identity. */
export function forgeKubeconfig(p: KubeconfigParams): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: p.cluster, cluster: { server: p.server, 'certificate-authority-data': b64(p.caPem) } }],
    users: [{ name: p.user, user: { 'client-certificate-data': b64(p.certPem), 'client-key-data': b64(p.keyPem) } }],
    contexts: [{ name: p.cluster, context: { cluster: p.cluster, user: p.user, ...(p.namespace ? { namespace: p.namespace } : {}) } }],
    'current-context': p.cluster,
  });
}

export function kubeConfigFromFile(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * The kubeconfig file given, or with none the in-cluster configuration: the pod's ServiceAccount
 * token (re-read as the kubelet rotates it), its CA and KUBERNETES_SERVICE_HOST/PORT. `root` is
 * where the ServiceAccount volume's path starts (tests point it at a directory of their own).
 */
export function loadKubeConfig(path: string | undefined, root = ''): k8s.KubeConfig {
  if (path) return kubeConfigFromFile(path);
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster(root);
  return kc;
}

export function kubeConfigFromString(yaml: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

/**
 * A client configuration from values only: a server URL, a CA bundle, a client certificate and its
 * key, all inline. Unlike a kubeconfig document it cannot name an exec plugin, an auth provider, a
 * token or key file, a proxy, or skip TLS verification, so whoever can edit where the values come
 * from can at most break the connection, never run something or redirect credentials.
 */
export function kubeConfigFromParts(p: KubeconfigParams): k8s.KubeConfig {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: p.cluster, server: p.server, caData: b64(p.caPem), skipTLSVerify: false }],
    users: [{ name: p.user, certData: b64(p.certPem), keyData: b64(p.keyPem) }],
    contexts: [{ name: p.cluster, cluster: p.cluster, user: p.user, ...(p.namespace ? { namespace: p.namespace } : {}) }],
    currentContext: p.cluster,
  });
  return kc;
}
