// Constants of the event log's public contract: enumerations, limits and formats. Changing a value
// here changes what the log accepts, so each change needs a schema version bump.

/** prevHash of the first event of a cluster log. */
export const GENESIS_HASH = '0'.repeat(64);

export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';

export const ACTOR_KINDS = ['user', 'cli', 'remote-cluster', 'controller'] as const;

/** Why the consumer's identity request failed; mirrors the authentication endpoint's answers. */
export const AUTHENTICATION_FAILURE_REASONS = [
  'MalformedRequest',
  'TokenRejected',
  'PolicyRefused',
  'IdentityConflict',
  'TooManyAttempts',
  'Unreachable',
  'InvalidResponse',
] as const;

/**
 * What signed a provider's certificate (CertIssued/CertRenewed v3): the cluster's client-CA key held
 * by the control plane, or the Kubernetes CSR API (signer kubernetes.io/kube-apiserver-client).
 */
export const CERTIFICATE_SIGNERS = ['ca-key', 'csr-api'] as const;

/** Why a peering could not even start: what the ForeignCluster or its token Secret lacks. */
export const PEERING_BLOCK_REASONS = ['TokenMissing', 'TokenMalformed', 'TokenSecretNotAllowed', 'MissingAuthUrl'] as const;

/** Why the provider does not answer this cluster's current identity (what the virtual node's Ready says). */
export const PROVIDER_HEALTH_REASONS = ['ProviderUnauthorized', 'IdentityExpired', 'ProviderUnreachable', 'IdentitySecretInvalid'] as const;

/** A reason and nothing else: the presented token must never reach the log. */
export const TOKEN_REJECTION_REASONS = ['TokenMissing', 'TokenMalformed', 'TokenMismatch'] as const;

export const OFFER_REFUSAL_REASONS = ['InsufficientResources', 'PolicyRefused', 'UserRefused'] as const;

export const OFFER_WITHDRAWAL_REASONS = ['ResourceRequestWithdrawn', 'IncomingDisabled'] as const;

export const IDENTITY_REVOCATION_REASONS = ['ConsumerUnpeered', 'IncomingDisabled', 'AdministratorRequest'] as const;

/**
 * What came of a withdrawal notice delivered after a forced unpeering: the provider revoked the
 * identity then, had ended it already, or refused the notice (its words are kept).
 */
export const WITHDRAWAL_OUTCOMES = ['Revoked', 'AlreadyEnded', 'Refused'] as const;

/**
 * Why the drain of a virtual node waits: a PodDisruptionBudget refuses an eviction (the pod and the
 * budget are named), the apiserver refused it for another reason, or unpeering was asked without a
 * drain and the offloaded pods are left to finish on their own.
 */
export const DRAIN_WAIT_REASONS = ['PodDisruptionBudget', 'EvictionRefused', 'WaitingForPods'] as const;

export const POD_RECLAIM_REASONS = ['Deleted', 'Evicted', 'VirtualNodeDeleted'] as const;

/**
 * Why a pod bound to a virtual node does not run in the provider: the provider refused its twin
 * (quota, PodSecurity, an invalid spec: the apiserver's words are in the message), it belongs to a
 * DaemonSet (never offloaded), or its namespace was not granted.
 */
export const POD_OFFLOAD_FAILURE_REASONS = ['ProviderRefused', 'DaemonSetPod', 'NamespaceRefused'] as const;

/** Why a provider did not grant a namespace: one it did not create holds the name, or nothing is offered. */
export const NAMESPACE_REFUSAL_REASONS = ['NamespaceExists', 'NotOffered', 'CreationFailed'] as const;

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export const CONTAINER_STATES = ['waiting', 'running', 'terminated'] as const;

/** Side of the peering a CertIssued event was recorded on (see catalogue.ts). */
export const CERT_SIDES = ['consumer', 'provider'] as const;

/**
 * Field names no event schema may declare, checked by the unit tests over every schema. Objects in
 * events are closed (unknown fields are refused), so a secret cannot slip in under another name
 * either without a schema change that this list guards.
 */
export const FORBIDDEN_FIELD_NAME = /token|private.?key|secret|password|credential/i;

export const LIMITS = {
  shortString: 63,
  name: 253,
  url: 2048,
  reason: 128,
  message: 1024,
  uid: 128,
  correlationId: 128,
  quantity: 64,
  resourceKinds: 32,
  podConditions: 32,
  containerStatuses: 64,
  ip: 45,
} as const;

/** Kubernetes label value rules, because the cluster id ends up in `peerlog.dev/remote-cluster-id`. */
export const CLUSTER_ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** RFC 1123 label: namespaces, and names of things derived from cluster names. */
export const DNS_LABEL_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: most Kubernetes object names (nodes, pods, offers). */
export const DNS_SUBDOMAIN_PATTERN = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Kubernetes resource names: `cpu`, `memory`, `pods`, `ephemeral-storage`, `nvidia.com/gpu`, `hugepages-2Mi`. */
export const RESOURCE_NAME_PATTERN = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

// The two patterns above as character tables: every event carries two SHA-256 hex strings and a
// UUID, and a lookup per character measured about twice as fast as the anchored patterns.
const LOWER_HEX = new Uint8Array(128);
for (const c of '0123456789abcdef') LOWER_HEX[c.charCodeAt(0)] = 1;

function lowerHexBetween(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || LOWER_HEX[c] === 0) return false;
  }
  return true;
}

/** SHA256_HEX_PATTERN.test(s). */
export function isSha256Hex(s: string): boolean {
  return s.length === 64 && lowerHexBetween(s, 0, 64);
}

/** UUID_PATTERN.test(s). */
export function isLowercaseUuid(s: string): boolean {
  return s.length === 36 && s.charCodeAt(8) === 45 && s.charCodeAt(13) === 45 && s.charCodeAt(18) === 45 && s.charCodeAt(23) === 45
    && lowerHexBetween(s, 0, 8) && lowerHexBetween(s, 9, 13) && lowerHexBetween(s, 14, 18) && lowerHexBetween(s, 19, 23)
    && lowerHexBetween(s, 24, 36);
}
/** X.509 serial numbers are at most 20 octets. */
export const SERIAL_NUMBER_PATTERN = /^[0-9a-f]{1,40}$/;
/** Timestamps as `Date.prototype.toISOString` writes them (UTC, `Z`), which is also RFC 3339. */
export const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
export const STREAM_ID_PATTERN = /^[a-z]+-[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** The longest stream id: a kind and a cluster id. */
export const STREAM_ID_MAX = LIMITS.shortString + 16;
/** Stream versions are PostgreSQL integers. */
export const STREAM_VERSION_MAX = 2_147_483_647;

/** Resources whose canonical unit is the byte; every other resource but cpu counts whole units. */
export const BYTE_RESOURCE_PATTERN = /^(?:memory|ephemeral-storage|storage|hugepages-.+)$/;
/** Required in every offered or accepted resource set: a virtual node needs all three. */
export const REQUIRED_RESOURCES = ['cpu', 'memory', 'pods'] as const;
