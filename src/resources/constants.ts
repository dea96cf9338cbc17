// Kubernetes-facing constants of peerlog's public contract: API group, names, labels, the identity
// a provider grants, condition types and reasons. Changing one changes what users and peers see.

export const API_GROUP = 'peering.peerlog.dev';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** The single field manager of every object peerlog applies (server-side apply). */
export const FIELD_MANAGER = 'peerlog';

/** Where a control plane keeps its own objects (token, serving certificate) unless configured otherwise. */
export const DEFAULT_SYSTEM_NAMESPACE = 'peerlog-system';
export const TOKEN_SECRET_NAME = 'peerlog-token';
export const TOKEN_SECRET_KEY = 'token';
/**
 * A consumer's Secret holding a provider's token also records where that token may go: the
 * provider's authentication URL and, when known, its certificate fingerprint. It carries the label
 * LABELS.remoteClusterId of that provider; a ForeignCluster may name no other token Secret.
 */
export const TOKEN_SECRET_AUTH_URL_KEY = 'authUrl';
export const TOKEN_SECRET_FINGERPRINT_KEY = 'authFingerprint';
export const AUTH_TLS_SECRET_NAME = 'peerlog-auth-tls';
/** The consumer's identity towards one provider, in the local tenant namespace of that provider. */
export const IDENTITY_SECRET_NAME = 'peerlog-identity';

export const TENANT_NAMESPACE_PREFIX = 'peerlog-tenant-';
export const TENANT_ROLE_NAME = 'peerlog-tenant';

/**
 * Identities a provider issues: the certificate's CN is this prefix, the consumer's cluster id and
 * the identity's lifetime (the Kubernetes user name, see identityUserFor), and its only
 * organisation is the peers group (the Kubernetes group). No permission is ever bound to the
 * group: each consumer gets its own RoleBinding to the user of its current lifetime.
 */
export const IDENTITY_CN_PREFIX = 'peerlog:cluster:';
export const PEERS_GROUP = 'peerlog:peers';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  remoteClusterId: 'peerlog.dev/remote-cluster-id',
  tenant: 'peerlog.dev/tenant',
  type: 'peerlog.dev/type',
  /** The control plane (its cluster id) that made a cluster-scoped object such as a CertificateSigningRequest. */
  clusterId: 'peerlog.dev/cluster-id',
} as const;

export const MANAGED_BY = 'peerlog';

/**
 * Held by a ForeignCluster while its outgoing peering has an identity: deleting it asks for
 * unpeering, which must run before the object goes.
 */
export const OUTGOING_FINALIZER = 'peering.peerlog.dev/outgoing-peering';

export const ANNOTATIONS = {
  /** Who asked for a ForeignCluster through the CLI (`cli:<user>`); kubectl users are known by field manager. */
  requestedBy: 'peerlog.dev/requested-by',
} as const;

export const VIRTUAL_NODE_TYPE = 'virtual-node';
export const VIRTUAL_NODE_TAINT = { key: 'virtual-node.peerlog.dev/not-allowed', value: 'true', effect: 'NoExecute' } as const;

export const PEERING_SWITCH = ['Enabled', 'Disabled'] as const;

/**
 * The user kube-apiserver is to kubelets: the CN of its --kubelet-client-certificate (the name
 * kubeadm gives it, and the local stack too). The virtual nodes' kubelet API serves this user only.
 */
export const APISERVER_KUBELET_CLIENT_CN = 'kube-apiserver-kubelet-client';

/**
 * Identities signed through the Kubernetes CSR API (no CA key in peerlog): the signer whose
 * certificates kube-apiserver accepts as client certificates, the `peerlog.dev/type` of the
 * CertificateSigningRequests peerlog makes, and the reason of the Approved condition it sets.
 */
export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const IDENTITY_CSR_TYPE = 'identity-csr';
export const CSR_APPROVAL_REASON = 'PeerlogPolicy';
