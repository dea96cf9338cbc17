// Deterministic names derived from cluster ids: both sides compute the same ones with no exchange.
import { createHash } from 'node:crypto';
import { InternalError } from '../errors.js';
import { IDENTITY_CN_PREFIX, TENANT_NAMESPACE_PREFIX } from './constants.js';

const MAX_LABEL = 63;
const HASH_HEX = 16;
/** A plain name: a DNS label without '--', so it can never look like a hashed one (which has '--'). */
const PLAIN = /^[a-z0-9](?:[a-z0-9]|-(?!-))*$/;

/**
 * `prefix + value` when value is a plain lowercase label and it fits; otherwise a readable head,
 * '--' and 64 bits of the value's SHA-256. Plain names never contain '--' and hashed names always
 * do, so two values cannot share a name short of a 64-bit hash collision.
 */
function derive(prefix: string, value: string, max: number): string {
  if (PLAIN.test(value) && prefix.length + value.length <= max) return prefix + value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, HASH_HEX);
  const head = (prefix + value.toLowerCase().replace(/[^a-z0-9-]/g, '-')).slice(0, max - HASH_HEX - 2).replace(/-+$/, '');
  return `${head}--${hash}`;
}

/** The tenant namespace of a remote cluster (a DNS label, at most 63 characters). */
export function tenantNamespaceFor(remoteClusterId: string): string {
  return derive(TENANT_NAMESPACE_PREFIX, remoteClusterId, MAX_LABEL);
}

/**
 * The name a consumer cluster goes by, `peerlog:cluster:<id>`: the one CN its CSR may carry (the
 * policy refuses any other), and the Kubernetes user of certificates issued before identities had
 * lifetimes.
 */
export function identityCommonNameFor(remoteClusterId: string): string {
  return IDENTITY_CN_PREFIX + remoteClusterId;
}

/**
 * The Kubernetes user (issued certificate CN) of one lifetime of a consumer's identity:
 * `peerlog:cluster:<id>:<lifetime>`. Each certificate the provider signs (a first identity, a
 * renewal, a peering again after revocation) opens a new lifetime, and RBAC names only the current
 * one, so a replaced certificate is refused by the kube-apiserver even while it is unexpired.
 * Unambiguous: a cluster id never holds ':', and the lifetime is a positive integer after the last
 * ':'. A lifetime of undefined stands for a certificate issued before lifetimes (v1 events), whose
 * CN is the plain name.
 */
export function identityUserFor(remoteClusterId: string, lifetime: number | undefined): string {
  if (lifetime === undefined) return identityCommonNameFor(remoteClusterId);
  if (!Number.isSafeInteger(lifetime) || lifetime < 1) throw new InternalError('InvalidLifetime', `an identity lifetime is a positive integer, not ${lifetime}`);
  return `${IDENTITY_CN_PREFIX}${remoteClusterId}:${lifetime}`;
}

/** Whether `user` is a Kubernetes user of that cluster's identity: of some lifetime, or the plain name. */
export function isIdentityUserOf(user: string, remoteClusterId: string): boolean {
  const base = identityCommonNameFor(remoteClusterId);
  return user === base || (user.startsWith(`${base}:`) && /^[1-9][0-9]*$/.test(user.slice(base.length + 1)));
}

/**
 * The virtual node standing for a provider on its consumer: `peerlog-<remote cluster id>`, derived
 * like tenant namespaces. DESIGN §5 says `peerlog-<remoteName>`, but the name is whatever the
 * provider announces, and two providers announcing one name would fight over one Node; the id is
 * what a peering is keyed by (one stream per id), so it cannot be shared.
 */
export function virtualNodeNameFor(remoteClusterId: string): string {
  return derive('peerlog-', remoteClusterId, MAX_LABEL);
}

/**
 * The provider namespace a consumer's namespace is offloaded to: `<namespace>-<consumer id>` when
 * that is a plain DNS label of at most 63 characters; otherwise a readable head, '--' and 64 bits of
 * the SHA-256 of both (so two consumers, or two namespaces, never share one).
 */
export function remoteNamespaceFor(namespace: string, consumerId: string): string {
  const plain = `${namespace}-${consumerId}`;
  if (PLAIN.test(plain) && plain.length <= MAX_LABEL) return plain;
  const hash = createHash('sha256').update(`${namespace}\n${consumerId}`).digest('hex').slice(0, HASH_HEX);
  const head = plain.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, MAX_LABEL - HASH_HEX - 2).replace(/-+$/, '');
  return `${head}--${hash}`;
}
