// Certificate renewal (DESIGN §6), pure: when an identity is due, and the statement a consumer signs
// with its current key so that the provider lets a new key replace it. The token alone never can.

/** A certificate is renewed once less than this share of its lifetime remains. */
export const DEFAULT_RENEW_FRACTION = 1 / 3;

/** The moment a certificate valid from notBefore to notAfter is due for renewal. */
export function renewalDueAt(notBefore: Date, notAfter: Date, fraction = DEFAULT_RENEW_FRACTION): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return new Date(notAfter.getTime() - Math.max(0, lifetime) * fraction);
}

/**
 * What the current key signs: the protocol version, both cluster ids, the certificate it renews and
 * the new CSR. Binding the CSR means a captured proof serves no other key; binding both ids and the
 * certificate means it serves no other peering or lifetime.
 */
export function renewalStatement(p: { providerClusterId: string; consumerClusterId: string; certFingerprint: string; csrPem: string }): string {
  return ['peerlog-renewal-v1', p.providerClusterId, p.consumerClusterId, p.certFingerprint, p.csrPem.trim()].join('\n');
}
