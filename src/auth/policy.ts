// The CSR policy of the authentication endpoint (DESIGN §6), pure: the X.509 adapter parses and
// verifies the CSR into facts, and this decides whether a certificate may be signed for them.
import { IDENTITY_CN_PREFIX, PEERS_GROUP } from '../resources/constants.js';
import { identityCommonNameFor } from '../resources/names.js';

/** What the endpoint learned from a parsed CSR. */
export interface CsrFacts {
  /** Every subject attribute in order, as [type, value] ('CN', 'O', 'OU', ...). */
  readonly subjectAttributes: readonly (readonly [string, string])[];
  readonly signatureValid: boolean;
  readonly keyAlgorithm: 'ECDSA' | 'Ed25519' | 'RSA' | 'other';
  /** Curve name for ECDSA (prime256v1, secp384r1), the algorithm otherwise. */
  readonly keyDetail: string;
  readonly rsaBits: number;
  /** RSA public exponent (0 for other key types). */
  readonly rsaExponent: number;
  /**
   * What the CSR asks for beyond its subject and key: each extension of an extensionRequest
   * attribute (subjectAltName, basicConstraints, ...) and each other attribute, by name or OID.
   */
  readonly requestedAttributes: readonly string[];
}

export interface CsrPolicy {
  /** Validity when the request asks for none. */
  readonly defaultValiditySeconds: number;
  readonly maxValiditySeconds: number;
  readonly minValiditySeconds: number;
  readonly minRsaBits: number;
  /** Largest RSA modulus accepted (default 4096): bigger keys cost the verifier, not the requester. */
  readonly maxRsaBits?: number;
}

export const DEFAULT_CSR_POLICY: CsrPolicy = Object.freeze({
  defaultValiditySeconds: 90 * 24 * 3600,
  maxValiditySeconds: 365 * 24 * 3600,
  minValiditySeconds: 600,
  minRsaBits: 2048,
  maxRsaBits: 4096,
});

/**
 * The one RSA public exponent accepted. e = 1 makes the "signature" the padded digest itself, so
 * anyone could prove possession of a key nobody holds; small odd exponents invite broadcast and
 * padding attacks; every mainstream key generator uses 65537.
 */
export const RSA_PUBLIC_EXPONENT = 65537;

export const POLICY_REASONS = [
  'CsrSignatureInvalid',
  'KeyTypeNotAllowed',
  'RsaKeyTooShort',
  'CommonNameMismatch',
  'OrganizationNotAllowed',
  'SubjectNotAllowed',
  'CsrAttributesNotAllowed',
  'ValidityBeyondPolicy',
] as const;
export type PolicyReason = (typeof POLICY_REASONS)[number];

export type PolicyVerdict =
  | { readonly allowed: true; readonly validitySeconds: number }
  | { readonly allowed: false; readonly reason: PolicyReason; readonly message: string };

const ALLOWED_CURVES = ['prime256v1', 'secp384r1'];

function refuse(reason: PolicyReason, message: string): PolicyVerdict {
  return { allowed: false, reason, message };
}

/**
 * Checks a CSR from the cluster claiming `clusterId`. Checked in this order so that the reason
 * names the most basic fault: a CSR whose signature fails says nothing trustworthy about itself.
 */
export function checkCsr(
  facts: CsrFacts, clusterId: string, requestedValiditySeconds: number | undefined, policy: CsrPolicy = DEFAULT_CSR_POLICY,
  options: { readonly commonNames?: readonly string[] } = {},
): PolicyVerdict {
  if (!facts.signatureValid) return refuse('CsrSignatureInvalid', 'the CSR\'s signature does not verify with its own public key');
  switch (facts.keyAlgorithm) {
    case 'ECDSA':
      if (!ALLOWED_CURVES.includes(facts.keyDetail)) return refuse('KeyTypeNotAllowed', `ECDSA curve ${facts.keyDetail || 'unknown'} is not allowed (P-256 or P-384)`);
      break;
    case 'Ed25519':
      break;
    case 'RSA': {
      const maxRsaBits = policy.maxRsaBits ?? DEFAULT_CSR_POLICY.maxRsaBits!;
      if (facts.rsaExponent !== RSA_PUBLIC_EXPONENT) return refuse('KeyTypeNotAllowed', `RSA keys need the public exponent ${RSA_PUBLIC_EXPONENT}, this one has ${facts.rsaExponent}`);
      if (facts.rsaBits < policy.minRsaBits) return refuse('RsaKeyTooShort', `RSA keys need at least ${policy.minRsaBits} bits, this one has ${facts.rsaBits}`);
      if (facts.rsaBits > maxRsaBits) return refuse('KeyTypeNotAllowed', `RSA keys may have at most ${maxRsaBits} bits, this one has ${facts.rsaBits}`);
      break;
    }
    default:
      return refuse('KeyTypeNotAllowed', `key type ${facts.keyDetail || 'unknown'} is not allowed (ECDSA P-256/P-384, Ed25519 or RSA of ${policy.minRsaBits} to ${policy.maxRsaBits ?? DEFAULT_CSR_POLICY.maxRsaBits} bits with e = ${RSA_PUBLIC_EXPONENT})`);
  }
  const cns = facts.subjectAttributes.filter(([t]) => t === 'CN').map(([, v]) => v);
  const orgs = facts.subjectAttributes.filter(([t]) => t === 'O').map(([, v]) => v);
  const others = facts.subjectAttributes.filter(([t]) => t !== 'CN' && t !== 'O').map(([t]) => t);
  const expectedCn = identityCommonNameFor(clusterId);
  // The plain name, or the one CN the provider asked for (a provider signing through the Kubernetes
  // CSR API names the identity lifetime: that signer copies the CSR's subject). The lifetime is the
  // provider's to choose: a CSR that picks another (an earlier lifetime's user) is refused.
  if (cns.length !== 1 || (cns[0] !== expectedCn && !(options.commonNames ?? []).includes(cns[0]!))) {
    return refuse('CommonNameMismatch', `the subject CN must be exactly ${JSON.stringify(expectedCn)} (${IDENTITY_CN_PREFIX} followed by the requesting cluster id)${(options.commonNames ?? []).length > 0 ? ` or ${options.commonNames!.map((c) => JSON.stringify(c)).join(', ')}` : ''}`);
  }
  if (orgs.length !== 1 || orgs[0] !== PEERS_GROUP) {
    return refuse('OrganizationNotAllowed', `the subject must have exactly one O, ${JSON.stringify(PEERS_GROUP)}; got ${orgs.length === 0 ? 'none' : JSON.stringify(orgs)}`);
  }
  if (others.length > 0) return refuse('SubjectNotAllowed', `subject attributes other than CN and O are not allowed: ${[...new Set(others)].join(', ')}`);
  // The certificate is built here, never from what the CSR asks: a CSR asking for names, a CA bit or
  // other usages would get a certificate other than it asked for, signed in its name. Refused, so
  // that a requester never holds a certificate that differs from its request.
  if (facts.requestedAttributes.length > 0) {
    return refuse('CsrAttributesNotAllowed', `the CSR may ask for nothing beyond its subject and key (the certificate's extensions are the provider's); it asks for ${[...new Set(facts.requestedAttributes)].join(', ')}`);
  }
  const validity = requestedValiditySeconds ?? policy.defaultValiditySeconds;
  if (!Number.isInteger(validity) || validity < policy.minValiditySeconds || validity > policy.maxValiditySeconds) {
    return refuse('ValidityBeyondPolicy', `validity must be between ${policy.minValiditySeconds} and ${policy.maxValiditySeconds} seconds; ${validity} was asked`);
  }
  return { allowed: true, validitySeconds: validity };
}
