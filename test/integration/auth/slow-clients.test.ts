// Slow clients on the authentication endpoint: one that drips its TLS handshake, one that opens TLS
// and sends nothing, one that drips its request body. Each must be cut off by the server within its
// stated timeouts (10 s for a handshake or the headers, 15 s for a whole request), plus slack; a
// connection that outlives them holds a socket an attacker can multiply. The server runs alone here
// (its ports stubbed): no stack needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createAuthServer } from '../../../src/adapters/http/auth-server.js';
import { createSelfSignedServerCert } from '../../../src/adapters/x509/index.js';
import { createFailureLimiter } from '../../../src/auth/rate-limit.js';
import { createLogger, silentLogger, type Logger } from '../../../src/adapters/log/index.js';
import { request } from 'node:https';

/** The longest a slow connection may live: the request timeout (15 s) and 5 s of slack. */
const CUT_OFF_MS = 20_000;
/** The client gives up here and calls it a hang. */
const HANG_MS = 35_000;

async function server(logger: Logger = silentLogger, burst = 1000) {
  const tls = await createSelfSignedServerCert({ commonName: 'slow', dnsNames: [], ipAddresses: ['127.0.0.1'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
  const s = createAuthServer({
    host: '127.0.0.1', port: 0, tls, ids: { clusterId: 'slow', clusterName: 'slow' },
    issueIdentity: async () => { throw new Error('not reached'); },
    acceptWithdrawal: async () => { throw new Error('not reached'); },
    readiness: async () => ({ ready: true, checks: {} }),
    limiter: createFailureLimiter({ burst, refillSeconds: 3600 }), logger,
  });
  const addr = await s.listen();
  return { s, port: addr.port };
}

/** Opens a connection (TLS unless `tls` is false), writes `first`, then one byte a second; ms until the server closes it. */
function slow(port: number, o: { tls: boolean; first: Buffer | string; drip: Buffer | string | null }): Promise<number | 'hang'> {
  const started = Date.now();
  return new Promise((resolve) => {
    const raw = netConnect(port, '127.0.0.1');
    let timer: NodeJS.Timeout | undefined;
    const done = (r: number | 'hang') => { clearInterval(timer); clearTimeout(hang); raw.destroy(); resolve(r); };
    const hang = setTimeout(() => done('hang'), HANG_MS);
    raw.on('error', () => done(Date.now() - started));
    raw.on('close', () => done(Date.now() - started));
    raw.once('connect', () => {
      const sock = o.tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
      sock.on('error', () => done(Date.now() - started));
      sock.on('data', () => undefined);
      const go = () => {
        sock.write(o.first);
        if (o.drip !== null) timer = setInterval(() => { if (!sock.destroyed) sock.write(o.drip!); }, 1000);
      };
      if (o.tls) sock.once('secureConnect', go); else go();
    });
  });
}

test('slow clients are cut off within the server\'s timeouts: a dripped TLS handshake, a silent TLS connection, a dripped body', async (t) => {
  const { s, port } = await server();
  t.after(() => s.close());
  const [handshake, silent, body] = await Promise.all([
    // A TLS record header announcing a 512-byte ClientHello, then one byte of it a second.
    slow(port, { tls: false, first: Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), drip: Buffer.from([0x00]) }),
    slow(port, { tls: true, first: '', drip: null }),
    slow(port, { tls: true, first: 'POST /identity HTTP/1.1\r\nhost: x\r\ncontent-length: 4000\r\n\r\n{', drip: ' ' }),
  ]);
  t.diagnostic(`closed by the server after: handshake drip ${handshake} ms, silent TLS ${silent} ms, body drip ${body} ms`);
  for (const [what, ms] of [['a dripped TLS handshake', handshake], ['a silent TLS connection', silent], ['a dripped body', body]] as const) {
    assert.ok(ms !== 'hang' && ms < CUT_OFF_MS, `${what} cut off within ${CUT_OFF_MS} ms (got ${ms})`);
  }
});

test('a client that drops its connection mid-body is no server failure, and its attempt counts', async (t) => {
  const lines: string[] = [];
  const { s, port } = await server(createLogger({ level: 'debug', write: (l) => { lines.push(l); } }), 1);
  t.after(() => s.close());
  // Half a body, then the connection is dropped.
  await new Promise<void>((resolve) => {
    const raw = netConnect(port, '127.0.0.1', () => {
      const sock = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => {
        sock.write('POST /identity HTTP/1.1\r\nhost: x\r\ncontent-length: 2000\r\n\r\n{"clusterId":');
        setTimeout(() => { sock.destroy(); resolve(); }, 200);
      });
      sock.on('error', () => undefined);
    });
  });
  await new Promise((r) => setTimeout(r, 300));
  // The source's one attempt was spent: the next request is answered by the limiter.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/identity', method: 'POST', rejectUnauthorized: false, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end('{}');
  });
  assert.equal(status, 429, 'the dropped attempt counted');
  const errors = lines.filter((l) => (JSON.parse(l) as { level: string }).level === 'error');
  assert.deepEqual(errors, [], 'nothing logged as a failure of the server');
});
