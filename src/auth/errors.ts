// Refusals of the authentication endpoint: an HTTP status, a stable code and a reason a peer can
// act on. Messages are written here, from facts, so they can never carry the presented token.
import { PeerlogError } from '../errors.js';
import type { AuthenticationFailureReason } from '../events/catalogue.js';

export const AUTH_STATUS = {
  MalformedRequest: 400,
  TokenRejected: 401,
  PolicyRefused: 403,
  IdentityConflict: 409,
  /** The CSR must name the subject the provider gives (signing through the Kubernetes CSR API): `commonName` says which. */
  SubjectRequired: 409,
  PayloadTooLarge: 413,
  TooManyAttempts: 429,
} as const;

export type AuthRefusalCode = keyof typeof AUTH_STATUS;

export class AuthRefusal extends PeerlogError {
  readonly status: number;
  /** The specific reason (a policy rule, a token rejection reason, the offending field). */
  readonly reason: string;

  /** For SubjectRequired: the CN the CSR must carry (the provider's, never anything the caller sent). */
  readonly commonName: string | undefined;

  constructor(code: AuthRefusalCode, reason: string, message: string, commonName?: string) {
    super(code, message, { retriable: code === 'TooManyAttempts' });
    this.status = AUTH_STATUS[code];
    this.reason = reason;
    this.commonName = commonName;
  }

  toJSON(): { error: { code: string; reason: string; message: string; commonName?: string } } {
    return { error: { code: this.code, reason: this.reason, message: this.message, ...(this.commonName === undefined ? {} : { commonName: this.commonName }) } };
  }
}

/** How a consumer records a provider's refusal in its log (AuthenticationFailed.reason). */
export function failureReasonOf(status: number): AuthenticationFailureReason {
  switch (status) {
    case 400: case 413: return 'MalformedRequest';
    case 401: return 'TokenRejected';
    case 403: return 'PolicyRefused';
    case 409: return 'IdentityConflict';
    case 429: return 'TooManyAttempts';
    default: return 'InvalidResponse';
  }
}

/** The consumer's view of a refusal: the provider's status and reason, as it sent them. */
export class AuthenticationFailedError extends PeerlogError {
  readonly status: number;
  readonly reason: string;

  constructor(authUrl: string, status: number, code: string, reason: string, message: string) {
    super('AuthenticationFailed', `${authUrl} refused the identity request with ${status} ${code} (${reason}): ${message}`, { retriable: status === 429 || status >= 500 });
    this.status = status;
    this.reason = reason;
  }
}

/**
 * The identity Secret of a peering does not hold what the log says it should (another certificate,
 * a key that is not the certificate's, an unparseable CA, keys peerlog never writes): it is refused,
 * nothing is built from it, and the ForeignCluster says why (reason IdentitySecretInvalid).
 */
export class IdentitySecretInvalidError extends PeerlogError {
  constructor(namespace: string, why: string) {
    super('IdentitySecretInvalid', `the identity Secret in ${namespace} is refused: ${why}`, { retriable: true });
  }
}
