// Behind a TCP load balancer every consumer shares the balancer's address. With
// --auth-proxy-protocol the balancer's PROXY header names each client, and failures are limited per
// client: one that keeps failing is locked out, another behind the same address still peers.
// This test plays the balancer: it opens the TCP connection, writes the header, then speaks TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { request } from 'node:https';
import { createCsr, generateKeyPair } from '../../../src/adapters/x509/index.js';
import { PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityCommonNameFor } from '../../../src/resources/names.js';
import { caKeyOf, rawRequest, startProvider, type RawAnswer } from '../../support/auth.js';
import { uniqueName } from '../../support/env.js';

function v2Header(src: string, srcPort: number): Buffer {
  const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
  const block = Buffer.alloc(12);
  src.split('.').forEach((o, i) => block.writeUInt8(Number(o), i));
  [127, 0, 0, 1].forEach((o, i) => block.writeUInt8(o, 4 + i));
  block.writeUInt16BE(srcPort, 8);
  block.writeUInt16BE(443, 10);
  return Buffer.concat([sig, Buffer.from([0x21, 0x11, 0, 12]), block]);
}

/** One HTTPS request over a connection that first carries `header` in the clear, as a balancer's does. */
function viaBalancer(url: string, header: Buffer | string, path: string, body?: string): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const tcp = tcpConnect(Number(u.port), u.hostname, () => {
      tcp.write(header);
      const req = request(new URL(path, url), {
        method: body === undefined ? 'GET' : 'POST',
        createConnection: () => tlsConnect({ socket: tcp, rejectUnauthorized: false }),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      });
      req.on('error', reject);
      req.end(body);
    });
    tcp.on('error', reject);
  });
}

/** Whatever the server writes on a plain TCP connection that sent `bytes`, until it closes it. */
function plain(url: string, bytes: Buffer | string): Promise<{ text: string; ms: number }> {
  const u = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const s: Socket = tcpConnect(Number(u.port), u.hostname, () => s.write(bytes));
    let text = '';
    s.on('data', (c: Buffer) => { text += c.toString('latin1'); });
    s.on('close', () => resolve({ text, ms: Date.now() - started }));
    s.on('error', reject);
    s.setTimeout(20_000, () => { s.destroy(); reject(new Error('the server kept the connection open')); });
  });
}

test('behind one balancer address, a client that keeps failing is locked out and another still gets its identity (PROXY v1 and v2)', async (t) => {
  // The CA-key signer: the request below is one plain CSR, answered at once (the CSR API's would name the lifetime's CN first).
  const provider = await startProvider({ prefix: 'proxy', burst: 3, settings: { authProxyProtocol: 'true', caKey: caKeyOf('beta') } });
  const requester = uniqueName('req');
  t.after(() => provider.cleanup([requester]));
  const csr = await createCsr({ commonName: identityCommonNameFor(requester), organizations: [PEERS_GROUP] }, await generateKeyPair());
  const body = (token: string) => JSON.stringify({ clusterId: requester, clusterName: requester, token, csr });
  const attacker = (port: number) => `PROXY TCP4 198.51.100.7 127.0.0.1 ${port} 443\r\n`;

  for (let i = 0; i < 3; i++) assert.equal((await viaBalancer(provider.cp.url, attacker(40000 + i), '/identity', body('D'.repeat(43)))).status, 401);
  const limited = await viaBalancer(provider.cp.url, attacker(40010), '/identity', body('D'.repeat(43)));
  assert.equal(limited.status, 429, limited.text);
  assert.match(JSON.parse(limited.text).error.message, /198\.51\.100\.7/);
  // Another client of the same balancer (same TCP source, 127.0.0.1) is not behind that lock.
  const legit = await viaBalancer(provider.cp.url, v2Header('203.0.113.9', 50123), '/identity', body(provider.token));
  assert.equal(legit.status, 200, legit.text);
  assert.ok(JSON.parse(legit.text).certificate.includes('BEGIN CERTIFICATE'));
  // An IPv6 client is limited per /64: another address of the same /64 is locked out too.
  const v6 = (a: string, port: number) => `PROXY TCP6 ${a} ::1 ${port} 443\r\n`;
  for (let i = 0; i < 3; i++) assert.equal((await viaBalancer(provider.cp.url, v6(`2001:db8:7:7::${i + 1}`, 41000 + i), '/identity', body('D'.repeat(43)))).status, 401);
  assert.equal((await viaBalancer(provider.cp.url, v6('2001:db8:7:7:ffff::42', 41010), '/identity', body('D'.repeat(43)))).status, 429);
  assert.equal((await viaBalancer(provider.cp.url, v6('2001:db8:7:8::1', 41011), '/ids')).status, 200);
  // A LOCAL header (the balancer's health check) is served as the balancer itself.
  const local = Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([0x20, 0x00, 0, 0])]);
  assert.equal((await viaBalancer(provider.cp.url, local, '/healthz')).status, 200);

  // A connection without a header, a malformed or oversized one, is refused before TLS.
  assert.match((await plain(provider.cp.url, Buffer.from([0x16, 0x03, 0x01, 0x00]))).text, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*does not start with a PROXY protocol header/);
  assert.match((await plain(provider.cp.url, 'PROXY TCP4 999.1.1.1 127.0.0.1 1 443\r\n')).text, /^HTTP\/1\.1 400 [\s\S]*bad TCP4 address/);
  assert.match((await plain(provider.cp.url, `PROXY TCP4 ${'1'.repeat(120)}`)).text, /^HTTP\/1\.1 400 [\s\S]*longer than 107 bytes/);
  assert.match((await plain(provider.cp.url, Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([0x21, 0x11, 0xff, 0xff])]))).text, /^HTTP\/1\.1 400 [\s\S]*more than 2064/);
  // A header that never completes is dropped after the header timeout (5 s).
  const stalled = await plain(provider.cp.url, 'PROXY TCP4 198.51.100.8');
  assert.match(stalled.text, /^HTTP\/1\.1 400 [\s\S]*no complete PROXY protocol header within 5000 ms/);
  assert.ok(stalled.ms >= 4500 && stalled.ms < 15_000, `closed after ${stalled.ms} ms`);
});

test('without --auth-proxy-protocol a PROXY header is a bad request and the connection\'s own address is the source', async (t) => {
  const provider = await startProvider({ prefix: 'noproxy' });
  t.after(() => provider.cleanup());
  const refused = await plain(provider.cp.url, 'PROXY TCP4 198.51.100.7 127.0.0.1 1234 443\r\n');
  assert.match(refused.text, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*does not expect one \(see --auth-proxy-protocol\)/);
  assert.equal((await rawRequest(provider.cp.url, '/healthz', { method: 'GET' })).status, 200, 'plain TLS is served as before');
});
