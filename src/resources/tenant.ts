// The objects a provider creates for one consumer: its tenant namespace, a Role granting only what
// peering needs there, the RoleBinding to the user of the consumer's current identity lifetime
// (DESIGN §6), and a quota that keeps the consumer's writes there to the one request the protocol uses.
import { API_GROUP, LABELS, MANAGED_BY, TENANT_ROLE_NAME } from './constants.js';
import { tenantNamespaceFor } from './names.js';

export interface TenantObjects {
  readonly namespace: Record<string, unknown>;
  readonly role: Record<string, unknown>;
  readonly roleBinding: Record<string, unknown>;
  readonly quota: Record<string, unknown>;
}

/**
 * ResourceRequests a tenant may hold at once: the protocol uses one (`peerlog-request`), so a
 * consumer cannot flood the provider's apiserver and cache with more.
 */
export const TENANT_REQUEST_QUOTA = 1;

/**
 * The consumer writes its ResourceRequest (spec) and reads what the provider answers; it reads the
 * provider's ResourceOffer and writes only that offer's status (acceptance). Nothing else: no
 * secrets, no other namespace, nothing cluster-scoped, no RBAC objects.
 */
export const TENANT_RULES = [
  { apiGroups: [API_GROUP], resources: ['resourcerequests'], verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'] },
  { apiGroups: [API_GROUP], resources: ['resourcerequests/status'], verbs: ['get'] },
  { apiGroups: [API_GROUP], resources: ['resourceoffers'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [API_GROUP], resources: ['resourceoffers/status'], verbs: ['get', 'update', 'patch'] },
] as const;

/**
 * `users` are the Kubernetes users bound: the current lifetime's alone, except while a renewal is
 * being signed, when the next one is bound beside it (so the new certificate works the moment the
 * consumer holds it) until the renewal is in the log.
 */
export function forgeTenantObjects(remoteClusterId: string, users: readonly string[]): TenantObjects {
  const namespace = tenantNamespaceFor(remoteClusterId);
  const labels = { [LABELS.managedBy]: MANAGED_BY, [LABELS.remoteClusterId]: remoteClusterId, [LABELS.tenant]: 'true' };
  return {
    namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role',
      metadata: { name: TENANT_ROLE_NAME, namespace, labels },
      rules: TENANT_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
      metadata: { name: TENANT_ROLE_NAME, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: TENANT_ROLE_NAME },
      subjects: userSubjects(users),
    },
    quota: {
      apiVersion: 'v1', kind: 'ResourceQuota',
      metadata: { name: TENANT_ROLE_NAME, namespace, labels },
      spec: { hard: { [`count/resourcerequests.${API_GROUP}`]: String(TENANT_REQUEST_QUOTA) } },
    },
  };
}

/** The consumer's own namespace for a provider: where its identity Secret lives. */
export function forgeLocalTenantNamespace(remoteClusterId: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: tenantNamespaceFor(remoteClusterId), labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.remoteClusterId]: remoteClusterId, [LABELS.tenant]: 'true' } },
  };
}

/** RoleBinding subjects naming these users, each once, in the order given. */
export function userSubjects(users: readonly string[]): Record<string, string>[] {
  return [...new Set(users)].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }));
}
