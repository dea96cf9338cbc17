// Deterministic names derived from cluster ids: both sides compute the same ones with no exchange.
import { createHash } from 'node:crypto';
import { IDENTITY_CN_PREFIX, TENANT_NAMESPACE_PREFIX } from './constants.js';

const MAX_LABEL = 63;

/**
 * The tenant namespace of a remote cluster. Cluster ids may hold upper case, '.' or '_', which a
 * namespace cannot; such ids (and over-long ones) get a hash suffix so that two ids never collide.
 */
export function tenantNamespaceFor(remoteClusterId: string): string {
  const plain = remoteClusterId.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const name = TENANT_NAMESPACE_PREFIX + plain;
  if (plain === remoteClusterId && name.length <= MAX_LABEL) return name;
  const suffix = createHash('sha256').update(remoteClusterId).digest('hex').slice(0, 8);
  const head = name.slice(0, MAX_LABEL - suffix.length - 1).replace(/-+$/, '');
  return `${head}-${suffix}`;
}

/** The Kubernetes user name (certificate CN) of a consumer cluster's identity. */
export function identityUserFor(remoteClusterId: string): string {
  return IDENTITY_CN_PREFIX + remoteClusterId;
}

/** The virtual node standing for a provider on its consumer (DESIGN §5). */
export function virtualNodeNameFor(remoteClusterName: string): string {
  return `peerlog-${remoteClusterName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 253);
}
