// Peering tokens: random, compared in constant time, and never written anywhere but their Secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenRejectionReason } from '../events/catalogue.js';

export const TOKEN_BYTES = 32;
/** base64url of at least TOKEN_BYTES bytes; anything else cannot be a token of ours. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43,256}$/;

export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/**
 * Constant-time comparison. Both sides are hashed first so that the comparison does not even leak
 * the expected token's length through an early length check.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

/** Why a presented token does not open the door, or null when it does. */
export function checkToken(presented: unknown, expected: string): TokenRejectionReason | null {
  if (presented === undefined || presented === null || presented === '') return 'TokenMissing';
  if (typeof presented !== 'string' || !isWellFormedToken(presented)) return 'TokenMalformed';
  return tokensEqual(presented, expected) ? null : 'TokenMismatch';
}
