// The consumer's client of a provider's authentication endpoint. The endpoint's certificate is
// self-signed: it is pinned by SHA-256 fingerprint when one is known, and its fingerprint is
// always reported so that the first contact can pin it for the next ones.
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { PeerlogError } from '../../errors.js';
import { AUDIT_KEY_PATH, IDENTITY_PATH, IDS_PATH, parseAuditKeyAnswer, type AuditKeyAnswer, type ClusterIds, type IdentityRequest } from '../../auth/protocol.js';
import { WITHDRAWAL_PATH, type WithdrawalRequest } from '../../auth/withdrawal.js';

export class ProviderUnreachableError extends PeerlogError {
  readonly address: string;
  constructor(address: string, why: string, cause?: unknown) {
    super('ProviderUnreachable', `the authentication endpoint ${address} cannot be reached: ${why}`, { cause, retriable: true });
    this.address = address;
  }
}

export class FingerprintMismatchError extends PeerlogError {
  constructor(address: string, expected: string, actual: string) {
    super('FingerprintMismatch', `the authentication endpoint ${address} presented certificate ${actual}, not the pinned ${expected}`);
  }
}

/** The endpoint sent more than an identity answer can be: refused, not buffered. */
export class AnswerTooLargeError extends PeerlogError {
  constructor(address: string, limit: number, what: string) {
    super('AnswerTooLarge', `the authentication endpoint ${address} ${what}, more than the ${limit} bytes an answer may have; gave up`);
  }
}

export interface AuthAnswer {
  readonly status: number;
  readonly body: unknown;
  /** SHA-256 fingerprint of the endpoint's certificate, lowercase hex without colons. */
  readonly fingerprint: string;
}

export function normalizeFingerprint(fp: string): string {
  return fp.replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
}

/** An identity answer is a few KiB (a certificate and a CA bundle): anything far beyond is refused. */
export const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * `timeoutMs` bounds both the silence between bytes and the whole exchange: a server that keeps
 * sending slowly is cut off at the deadline, and one that sends too much at MAX_ANSWER_BYTES.
 */
function call(authUrl: string, method: 'GET' | 'POST', path: string, body: unknown, pin: string | undefined, timeoutMs: number): Promise<AuthAnswer> {
  const url = new URL(path, authUrl.endsWith('/') ? authUrl : `${authUrl}/`);
  if (url.protocol !== 'https:') return Promise.reject(new ProviderUnreachableError(authUrl, 'the authentication URL must be https://'));
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    let fingerprint = '';
    const req = request(url, {
      method, agent: false, timeout: timeoutMs,
      // Trust is established by the pin (or on first use), not by a CA the consumer cannot know.
      rejectUnauthorized: false,
      headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > MAX_ANSWER_BYTES) {
        req.destroy(new AnswerTooLargeError(authUrl, MAX_ANSWER_BYTES, `declared an answer of ${declared} bytes`));
        return;
      }
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) {
          req.destroy(new AnswerTooLargeError(authUrl, MAX_ANSWER_BYTES, 'sent an answer'));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(deadline);
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* kept as text */ }
        resolve({ status: res.statusCode ?? 0, body: parsed, fingerprint });
      });
      res.on('error', (e) => reject(new ProviderUnreachableError(authUrl, e.message, e)));
    });
    req.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        const cert = (socket as TLSSocket).getPeerCertificate();
        fingerprint = normalizeFingerprint(cert.fingerprint256 ?? '');
        // Nothing (the token least of all) is written before the certificate is checked.
        if (pin && normalizeFingerprint(pin) !== fingerprint) {
          req.destroy(new FingerprintMismatchError(authUrl, normalizeFingerprint(pin), fingerprint));
          return;
        }
        req.end(payload);
      });
    });
    const deadline = setTimeout(() => req.destroy(new ProviderUnreachableError(authUrl, `no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new ProviderUnreachableError(authUrl, `no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => {
      clearTimeout(deadline);
      if (e instanceof PeerlogError) reject(e);
      else reject(new ProviderUnreachableError(authUrl, (e as NodeJS.ErrnoException).code ?? e.message, e));
    });
  });
}

export async function fetchClusterIds(authUrl: string, pin?: string, timeoutMs = 10_000): Promise<ClusterIds & { fingerprint: string }> {
  const a = await call(authUrl, 'GET', IDS_PATH.slice(1), undefined, pin, timeoutMs);
  const b = a.body as Partial<ClusterIds>;
  if (a.status !== 200 || typeof b?.clusterId !== 'string') throw new ProviderUnreachableError(authUrl, `GET /ids answered ${a.status}`);
  return { clusterId: b.clusterId, clusterName: b.clusterName ?? b.clusterId, fingerprint: a.fingerprint };
}

/** The endpoint answered GET /audit/key with something other than a key. */
export class AuditKeyUnavailableError extends PeerlogError {
  constructor(address: string, why: string) {
    super('AuditKeyUnavailable', `the authentication endpoint ${address} gave no checkpoint key: ${why}`);
  }
}

/**
 * The checkpoint key a control plane publishes, fetched only over a pinned connection: a key taken
 * from whoever answers would let that party sign a rewritten log.
 */
export async function fetchAuditKey(authUrl: string, pin: string, timeoutMs = 10_000): Promise<AuditKeyAnswer & { fingerprint: string }> {
  const a = await call(authUrl, 'GET', AUDIT_KEY_PATH.slice(1), undefined, pin, timeoutMs);
  if (a.status !== 200) {
    const said = (a.body as { error?: { message?: unknown } } | undefined)?.error?.message;
    throw new AuditKeyUnavailableError(authUrl, `GET ${AUDIT_KEY_PATH} answered ${a.status}${typeof said === 'string' ? `: ${said.slice(0, 200)}` : ''}`);
  }
  try {
    return { ...parseAuditKeyAnswer(a.body), fingerprint: a.fingerprint };
  } catch (e) {
    throw new AuditKeyUnavailableError(authUrl, (e as Error).message);
  }
}

export function postIdentityRequest(authUrl: string, body: IdentityRequest, pin?: string, timeoutMs = 15_000): Promise<AuthAnswer> {
  return call(authUrl, 'POST', IDENTITY_PATH.slice(1), body, pin, timeoutMs);
}

export function postWithdrawal(authUrl: string, body: WithdrawalRequest, pin?: string, timeoutMs = 15_000): Promise<AuthAnswer> {
  return call(authUrl, 'POST', WITHDRAWAL_PATH.slice(1), body, pin, timeoutMs);
}
