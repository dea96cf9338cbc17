// The Prometheus scrape endpoint: plain HTTP on a port of its own, GET (or HEAD) /metrics answers the
// text exposition of what `collect` gathers at that moment; nothing else is served. It carries no
// secret (counts, states, durations), so it needs no credentials: keep it on a trusted network.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/index.js';
import { EXPOSITION_CONTENT_TYPE, formatExposition, type MetricFamily } from '../../metrics/exposition.js';

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** The families of one scrape. A source that fails is for `collect` to leave out and report. */
  readonly collect: () => Promise<readonly MetricFamily[]>;
}

export interface MetricsServer {
  readonly server: Server;
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export const METRICS_PATH = '/metrics';

export function createMetricsServer(o: MetricsServerOptions): MetricsServer {
  const log = o.logger.child({ component: 'metrics-server' });
  const plain = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) return plain(res, 404, `no such endpoint: ${String(path).slice(0, 100)}; scrape ${METRICS_PATH}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, `${METRICS_PATH} accepts GET only\n`, { allow: 'GET, HEAD' });
    const body = formatExposition(await o.collect());
    res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error('scrape failed', { error: e });
      if (res.headersSent) res.destroy(); else plain(res, 500, 'scrape failed; the server log says more\n');
    });
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (_e, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'); else socket.destroy(); });
  return {
    server,
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        const addr = server.address() as AddressInfo;
        log.info('metrics endpoint listening', { url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${addr.port}${METRICS_PATH}` });
        resolve(addr);
      });
    }),
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
