// The kubelet API of a virtual node, as far as `kubectl logs` needs it: kube-apiserver dials the
// node's InternalIP and `daemonEndpoints.kubeletEndpoint.Port` over HTTPS, presenting its
// --kubelet-client-certificate, and GETs /containerLogs/{namespace}/{pod}/{container}. Only callers
// whose certificate the cluster's client CA signed are served (401 otherwise, 403 when `authorize`
// refuses them); the body is the log stream as it comes, never held in memory, and a caller that
// goes away closes it. exec, attach and port-forward answer 501; /healthz needs no certificate.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Logger } from '../log/index.js';
import { createSelfSignedServerCert } from '../x509/index.js';
import { isLogQueryRefusal, parseLogQuery, type ContainerLogRequest } from '../../resources/kubelet.js';

export { kubeletEndpointStatus, parseLogQuery } from '../../resources/kubelet.js';
export type { ContainerLogRequest, KubeletEndpointStatus, LogOptions } from '../../resources/kubelet.js';

/** What `logs` answers instead of a stream: the status and plain-text message the caller gets (404 for an unknown pod, as the kubelet). */
export interface LogsRefusal {
  readonly status: number;
  readonly message: string;
}

/** The verified client certificate of a caller. */
export interface KubeletCaller {
  readonly commonName: string;
  readonly organizations: readonly string[];
}

export interface KubeletServerOptions {
  readonly host: string;
  /** 0 for an ephemeral port. */
  readonly port: number;
  /** PEM of the CA whose client certificates are served (the one that signed kube-apiserver's --kubelet-client-certificate). */
  readonly clientCaPem: string;
  /**
   * The log of one container. `signal` aborts when the caller has gone before the stream came;
   * once returned, the stream is read only as fast as the caller takes it and destroyed when the
   * caller goes.
   */
  readonly logs: (req: ContainerLogRequest, signal: AbortSignal) => Promise<Readable | LogsRefusal>;
  readonly logger: Logger;
  /**
   * Who among the verified callers may read logs (default: every one). A cluster's client CA signs
   * other users too (peer identities among them); the apiserver is one user, its certificate's CN.
   */
  readonly authorize?: (caller: KubeletCaller) => boolean | Promise<boolean>;
  /** The serving certificate; by default one is made at start, self-signed, naming `host` (kube-apiserver verifies it only with --kubelet-certificate-authority). */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** At most this many connections at once (default 256). */
  readonly maxConnections?: number;
}

export interface KubeletServer {
  readonly port: number;
  readonly url: string;
  /** The serving certificate (PEM), for a caller that pins it. */
  readonly certPem: string;
  close(): Promise<void>;
}

const CERT_VALIDITY_MS = 365 * 24 * 3600 * 1000;
const UNSUPPORTED = ['exec', 'attach', 'portForward', 'run'] as const;

function names(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The serving certificate's names: `host` as an IP or DNS SAN, unless it is a wildcard address. */
function sansFor(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  if (host === '0.0.0.0' || host === '::' || host === '') return { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  return isIP(host) ? { dnsNames: [], ipAddresses: [host] } : { dnsNames: [host], ipAddresses: [] };
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
  return status;
}

/**
 * Copies `source` to `res` with back-pressure, stopping after `limitBytes` when given; destroys
 * `source` when `res` closes first. Resolves with the bytes sent once either side is done.
 */
function stream(source: Readable, res: ServerResponse, limitBytes: number | undefined, log: Logger, what: Record<string, unknown>): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      source.off('data', onData);
      source.destroy();
      resolve(sent);
    };
    const onData = (chunk: Buffer | string) => {
      let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (limitBytes !== undefined && sent + bytes.length >= limitBytes) {
        bytes = bytes.subarray(0, limitBytes - sent);
        sent += bytes.length;
        res.end(bytes);
        finish();
        return;
      }
      sent += bytes.length;
      if (!res.write(bytes)) {
        source.pause();
        res.once('drain', () => { if (!done) source.resume(); });
      }
    };
    source.on('data', onData);
    source.once('end', () => { res.end(); finish(); });
    source.once('error', (e: Error) => {
      // Headers are out: all the caller can learn is that the stream stopped short.
      log.warn('log stream failed', { ...what, sent, error: e });
      res.destroy();
      finish();
    });
    res.once('close', finish);
  });
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const log = opts.logger.child({ component: 'kubelet-api' });
  const now = Date.now();
  const tls = opts.tls ?? await createSelfSignedServerCert({
    commonName: 'peerlog-virtual-kubelet', ...sansFor(opts.host), notBefore: new Date(now - 3600_000), notAfter: new Date(now + CERT_VALIDITY_MS),
  });

  async function containerLogs(req: IncomingMessage, res: ServerResponse, segments: readonly string[], query: URLSearchParams): Promise<number> {
    if (req.method !== 'GET') return text(res, 405, `${req.method ?? ''} is not allowed on /containerLogs: GET only\n`, { allow: 'GET' });
    // The kubelet's own checks, in its order and words.
    const [namespace, pod, container] = segments;
    if (!pod) return text(res, 400, '{"message": "Missing podID."}');
    if (!container) return text(res, 400, '{"message": "Missing container name."}');
    if (!namespace) return text(res, 400, '{"message": "Missing podNamespace."}');
    const options = parseLogQuery(query);
    if (isLogQueryRefusal(options)) return text(res, options.status, options.message);

    const request: ContainerLogRequest = { namespace, pod, container, ...options };
    const abort = new AbortController();
    const onClose = () => abort.abort();
    res.once('close', onClose);
    let answer: Readable | LogsRefusal;
    try {
      answer = await opts.logs(request, abort.signal);
    } finally {
      res.off('close', onClose);
    }
    if (!('pipe' in answer)) return text(res, answer.status, answer.message.endsWith('\n') ? answer.message : `${answer.message}\n`);
    if (abort.signal.aborted || res.destroyed) { answer.destroy(); return 499; }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.flushHeaders();
    await stream(answer, res, options.limitBytes, log, { namespace, pod, container });
    return 200;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<{ status: number; user?: string }> {
    const url = new URL(req.url ?? '/', 'https://kubelet.invalid');
    const path = url.pathname;
    if (path === '/healthz') return { status: text(res, 200, 'ok') };

    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return { status: text(res, 401, 'Unauthorized\n') };
    const cert: PeerCertificate = socket.getPeerCertificate();
    const caller: KubeletCaller = { commonName: names(cert.subject?.CN)[0] ?? '', organizations: names(cert.subject?.O) };
    if (opts.authorize && !(await opts.authorize(caller))) {
      return { status: text(res, 403, `Forbidden (user=${caller.commonName}, verb=get, resource=nodes, subresource(s)=[proxy])\n`), user: caller.commonName };
    }

    let segments: string[];
    try {
      segments = path.split('/').slice(1).map((s) => decodeURIComponent(s));
    } catch {
      return { status: text(res, 400, 'malformed path\n'), user: caller.commonName };
    }
    const [head, ...rest] = segments;
    if (head === 'containerLogs' && rest.length <= 3) return { status: await containerLogs(req, res, rest, url.searchParams), user: caller.commonName };
    if ((UNSUPPORTED as readonly string[]).includes(head ?? '')) {
      return { status: text(res, 501, `${head} is not supported by this virtual kubelet: it serves container logs only\n`), user: caller.commonName };
    }
    return { status: text(res, 404, '404 page not found\n'), user: caller.commonName };
  }

  const server: Server = createServer({
    cert: tls.certPem, key: tls.keyPem, ca: opts.clientCaPem, minVersion: 'TLSv1.2',
    // A missing or unverified certificate is answered with 401 (and /healthz still served), as the kubelet does.
    requestCert: true, rejectUnauthorized: false,
  }, (req, res) => {
    const started = Date.now();
    const path = (req.url ?? '').split('?')[0]!.slice(0, 200);
    route(req, res).then(
      ({ status, user }) => log.debug('request', { method: req.method, path, status, user, ms: Date.now() - started }),
      (e: unknown) => {
        log.error('request failed', { method: req.method, path, error: e });
        if (res.headersSent) { res.destroy(); return; }
        text(res, 500, 'internal error: the virtual kubelet\'s log says more\n');
      },
    );
  });
  server.maxConnections = opts.maxConnections ?? 256;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('tlsClientError', (e) => log.debug('TLS handshake failed', { error: e }));

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const url = `https://${isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host}:${port}`;
  log.info('kubelet API listening', { url });
  return {
    port, url, certPem: tls.certPem,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
