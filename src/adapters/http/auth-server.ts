// The HTTPS server of a control plane: the authentication endpoint (GET /ids, POST /identity) and
// the probes (/healthz, /readyz). Bodies are bounded, failures are rate-limited per source (an IPv4
// address or an IPv6 /64; behind a load balancer, the client its PROXY protocol header names), and
// no request body is ever logged (it holds the token).
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../log/index.js';
import { AuthRefusal } from '../../auth/errors.js';
import { BodyTooLargeError, ProxyHeaderError, isRetriable, isPeerlogError } from '../../errors.js';
import { sourceKey, type FailureLimiter } from '../../auth/rate-limit.js';
import { parseProxyHeader, startsWithProxyHeader } from './proxy-protocol.js';
import { AUDIT_KEY_PATH, IDENTITY_PATH, IDS_PATH, MAX_BODY_BYTES, parseIdentityRequest, type ClusterIds, type IdentityRequest, type IdentityResponse } from '../../auth/protocol.js';
import { WITHDRAWAL_PATH, parseWithdrawalRequest, type WithdrawalRequest } from '../../auth/withdrawal.js';

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

export interface AuthServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly ids: ClusterIds;
  readonly issueIdentity: (req: IdentityRequest) => Promise<IdentityResponse>;
  /** A consumer's signed withdrawal notice (a forced unpeering that could not reach this cluster). */
  readonly acceptWithdrawal: (req: WithdrawalRequest) => Promise<{ outcome: string }>;
  readonly readiness: () => Promise<Readiness>;
  readonly limiter: FailureLimiter;
  readonly logger: Logger;
  /**
   * Every connection starts with a PROXY protocol v1/v2 header (a TCP load balancer's), and the
   * client it names is the source. Off, a connection that starts with one is refused with 400.
   */
  readonly proxyProtocol?: boolean;
  /** How long a connection may take to send its PROXY header (default 5 s). */
  readonly proxyHeaderTimeoutMs?: number;
  /** The public key that verifies this cluster's signed log checkpoints, for peers and auditors (GET /audit/key). */
  readonly auditKey?: { readonly keyId: string; readonly publicKeyPem: string };
  /** Told how each identity request ended (for /metrics): the HTTP status, and a refusal's code and reason. */
  readonly onIdentityOutcome?: (outcome: IdentityOutcome) => void;
}

export interface IdentityOutcome {
  readonly status: number;
  /** The refusal's code (`TokenRejected`, …), `OK`, or for a server fault `Unavailable`, `CaExpiring`, `Internal`. */
  readonly code: string;
  /** The refusal's reason as answered (a field name for a malformed request: the caller may choose it). */
  readonly reason: string;
  /** Whether the request was a renewal (known once its body parsed). */
  readonly renewal: boolean;
}

export { AUDIT_KEY_PATH };

export interface AuthServer {
  readonly server: Server;
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

const PROXY_HEADER_TIMEOUT_MS = 5_000;
/** A TLS handshake must be done within this; an honest client needs a round trip or two. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const CONNECTIONS_CHECK_MS = 1_000;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) { reject(new BodyTooLargeError(limit)); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { reject(new BodyTooLargeError(limit)); req.removeAllListeners('data'); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function createAuthServer(opts: AuthServerOptions): AuthServer {
  const log = opts.logger.child({ component: 'auth-server' });

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
    res.end(text);
  };
  const refuse = (res: ServerResponse, e: AuthRefusal, headers: Record<string, string> = {}) => send(res, e.status, e.toJSON(), headers);

  /** A JSON POST under the failure limiter: a refused attempt costs the source one of its tries. */
  async function post(req: IncomingMessage, res: ServerResponse, source: string, handle: (body: unknown) => Promise<unknown>, refused?: (e: AuthRefusal) => void): Promise<number> {
    const wait = opts.limiter.take(source);
    if (wait > 0) {
      const e = new AuthRefusal('TooManyAttempts', 'TooManyAttempts', `too many failed attempts from ${source}; retry in ${wait} s`);
      refused?.(e);
      refuse(res, e, { 'retry-after': String(wait) });
      return 429;
    }
    try {
      let raw: Buffer;
      try {
        raw = await readBody(req, MAX_BODY_BYTES);
      } catch (e) {
        if (e instanceof BodyTooLargeError) throw new AuthRefusal('PayloadTooLarge', 'body', `the body exceeds ${MAX_BODY_BYTES} bytes`);
        // The client went away mid-body: its doing, so the attempt counts (dropping connections must
        // not be a free way to try) and nothing failed here; the answer goes nowhere.
        if (req.destroyed || (e as { code?: string }).code === 'ECONNRESET') throw new AuthRefusal('MalformedRequest', 'body', 'the connection closed before the body ended');
        throw e;
      }
      let body: unknown;
      try { body = JSON.parse(raw.toString('utf8')); } catch { throw new AuthRefusal('MalformedRequest', 'body', 'body: not valid JSON'); }
      const answer = await handle(body);
      opts.limiter.refund(source);
      send(res, 200, answer);
      return 200;
    } catch (e) {
      // A refusal keeps the attempt it took; anything else was not the caller's fault.
      if (!(e instanceof AuthRefusal)) { opts.limiter.refund(source); throw e; }
      refused?.(e);
      // 413 closes the connection: the rest of an oversized body is not worth reading.
      refuse(res, e, e.status === 413 ? { connection: 'close' } : {});
      return e.status;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const source = sourceKey(clientAddress(req.socket));
    const only = (method: string) => {
      if (req.method === method) return true;
      send(res, 405, { error: { code: 'MethodNotAllowed', reason: 'method', message: `${path} accepts ${method} only` } }, { allow: method });
      return false;
    };
    switch (path) {
      case IDS_PATH:
        if (!only('GET')) return 405;
        send(res, 200, opts.ids);
        return 200;
      case IDENTITY_PATH: {
        if (!only('POST')) return 405;
        let renewal = false;
        let refusal: AuthRefusal | undefined;
        const status = await post(req, res, source, (body) => {
          const parsed = parseIdentityRequest(body);
          renewal = parsed.renewal !== undefined;
          return opts.issueIdentity(parsed);
        }, (e) => { refusal = e; }).catch((e: unknown) => {
          // A server fault, answered below (5xx): reported here, where the path is known.
          const code = isPeerlogError(e) && e.code === 'CaExpiring' ? 'CaExpiring' : isRetriable(e) ? 'Unavailable' : 'Internal';
          opts.onIdentityOutcome?.({ status: code === 'Internal' ? 500 : 503, code, reason: code, renewal });
          throw e;
        });
        opts.onIdentityOutcome?.(refusal ? { status, code: refusal.code, reason: refusal.reason, renewal } : { status, code: 'OK', reason: '', renewal });
        return status;
      }
      case WITHDRAWAL_PATH:
        if (!only('POST')) return 405;
        return post(req, res, source, (body) => opts.acceptWithdrawal(parseWithdrawalRequest(body)));
      case AUDIT_KEY_PATH:
        if (!only('GET')) return 405;
        if (!opts.auditKey) {
          send(res, 404, { error: { code: 'NotFound', reason: 'auditKey', message: 'this control plane signs no checkpoints (no --audit-key)' } });
          return 404;
        }
        send(res, 200, { clusterId: opts.ids.clusterId, algorithm: 'Ed25519', keyId: opts.auditKey.keyId, publicKey: opts.auditKey.publicKeyPem });
        return 200;
      case '/healthz':
        if (!only('GET')) return 405;
        send(res, 200, { status: 'ok' });
        return 200;
      case '/readyz': {
        if (!only('GET')) return 405;
        const r = await opts.readiness();
        send(res, r.ready ? 200 : 503, r);
        return r.ready ? 200 : 503;
      }
      default:
        send(res, 404, { error: { code: 'NotFound', reason: 'path', message: `no such endpoint: ${path.slice(0, 100)}` } });
        return 404;
    }
  }

  const server = createServer({
    cert: opts.tls.certPem, key: opts.tls.keyPem, minVersion: 'TLSv1.2',
    // TLS's own handshake timeout (120 s by default) is one of inactivity, so a client that drips a
    // byte now and then never meets it: handshakes get a deadline of their own below.
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    // The header and request timeouts below are enforced only when node checks its connections
    // (every 30 s by default): a silent or dripping client then lived up to 30 s past them.
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
  }, (req, res) => {
    const started = Date.now();
    route(req, res).then(
      (status) => log.debug('request', { method: req.method, path: (req.url ?? '').slice(0, 100), status, source: clientAddress(req.socket), ms: Date.now() - started }),
      (e: unknown) => {
        if (res.headersSent) { res.destroy(); return; }
        // The client CA cannot sign: nothing the peer did, and nothing a retry soon would change.
        if (isPeerlogError(e) && e.code === 'CaExpiring') {
          log.error('cannot issue identities', { error: e });
          send(res, 503, { error: { code: 'Unavailable', reason: 'CaExpiring', message: 'this cluster\'s client CA cannot sign identities now; its administrator must renew it' } });
          return;
        }
        // A dependency that is briefly away (database, apiserver) or a lost race: worth a retry.
        if (isRetriable(e)) {
          log.warn('request deferred', { method: req.method, path: (req.url ?? '').slice(0, 100), error: e });
          send(res, 503, { error: { code: 'Unavailable', reason: (e as { code?: string }).code ?? 'Unavailable', message: 'temporarily unable to answer; retry shortly' } }, { 'retry-after': '1' });
          return;
        }
        log.error('request failed', { method: req.method, path: (req.url ?? '').slice(0, 100), error: e });
        send(res, 500, { error: { code: 'Internal', reason: 'internal', message: 'internal error; the server log says more' } });
      },
    );
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  // Malformed HTTP and failed TLS handshakes are the client's problem: answer 400 where possible, never crash.
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('tlsClientError', (e) => log.debug('TLS handshake failed', { error: e }));

  // The PROXY header comes before the TLS handshake: TLS gets each connection only once the header
  // (if any) has been read, with the bytes that followed it put back.
  const tlsListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  /** PROXY-named clients by connection, `address|port` of the balancer's side (what TLS sockets report too). */
  const clients = new Map<string, string>();
  /** Connections still before TLS (reading their first bytes): close() ends them too. */
  const early = new Set<Socket>();
  /** Handshake deadlines of connections handed to TLS, by tuple, cleared once the handshake is done. */
  const handshakes = new Map<string, NodeJS.Timeout>();
  const tupleOf = (s: Socket) => `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
  server.on('secureConnection', (s: Socket) => { const tuple = tupleOf(s); clearTimeout(handshakes.get(tuple)); handshakes.delete(tuple); });
  const clientAddress = (s: Socket): string => clients.get(tupleOf(s)) ?? s.remoteAddress ?? 'unknown';
  const badRequest = (raw: Socket, why: string) => {
    log.debug('connection refused', { source: raw.remoteAddress, why });
    const text = `${why}\n`;
    raw.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    raw.destroySoon();
  };
  server.on('connection', (raw: Socket) => {
    raw.on('error', () => raw.destroy());
    early.add(raw);
    let head: Buffer = Buffer.alloc(0);
    const waitMs = opts.proxyHeaderTimeoutMs ?? PROXY_HEADER_TIMEOUT_MS;
    const timer = setTimeout(() => badRequest(raw, `no ${opts.proxyProtocol ? 'complete PROXY protocol header' : 'TLS handshake'} within ${waitMs} ms`), waitMs);
    const done = () => { clearTimeout(timer); early.delete(raw); raw.off('data', onData); raw.pause(); };
    const handOff = (rest: Buffer, client: string | null) => {
      done();
      const tuple = tupleOf(raw);
      handshakes.set(tuple, setTimeout(() => { log.debug('connection refused', { source: raw.remoteAddress, why: `no TLS handshake within ${HANDSHAKE_TIMEOUT_MS} ms` }); raw.destroy(); }, HANDSHAKE_TIMEOUT_MS));
      raw.once('close', () => { clearTimeout(handshakes.get(tuple)); handshakes.delete(tuple); });
      if (client !== null) {
        clients.set(tuple, client);
        raw.once('close', () => { if (clients.get(tuple) === client) clients.delete(tuple); });
      }
      if (rest.length > 0) raw.unshift(rest);
      for (const l of tlsListeners) l.call(server, raw);
    };
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (!opts.proxyProtocol) {
        // Only a PROXY header is held back (to say what is wrong); TLS gets everything else at once.
        const proxied = startsWithProxyHeader(head);
        if (proxied === false) { handOff(head, null); return; }
        if (proxied === undefined) return;
        done();
        badRequest(raw, 'PROXY protocol header received, but this endpoint does not expect one (see --auth-proxy-protocol)');
        return;
      }
      try {
        const parsed = parseProxyHeader(head);
        if (parsed.kind === 'incomplete') return;
        handOff(head.subarray(parsed.length), parsed.source?.address ?? null);
      } catch (e) {
        if (!(e instanceof ProxyHeaderError)) throw e;
        done();
        badRequest(raw, e.message);
      }
    };
    raw.on('data', onData);
    raw.once('close', () => { clearTimeout(timer); early.delete(raw); });
  });

  return {
    server,
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        const addr = server.address() as AddressInfo;
        log.info('authentication endpoint listening', { url: `https://${opts.host}:${addr.port}` });
        resolve(addr);
      });
    }),
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const raw of early) raw.destroy();
    }),
  };
}
