// Issue 16, fault suite — hostile input. A provider's `peerlog serve` (beta's, a real child process)
// takes thousands of malformed or hostile requests on its authentication endpoint: bodies that are
// not JSON, wrong types, oversized bodies, huge and odd headers, garbage, truncated and policy-
// breaking CSRs (written with openssl: wrong keys, signatures, CNs, organisations, SANs asked for),
// wrong and near-miss tokens with a good CSR, slow clients dripping the TLS handshake, the headers or
// the body, connections opened and dropped, concurrent bursts, PROXY protocol headers where none is
// expected and broken ones where one is; then malformed custom resources applied with kubectl.
// Expected: the process never dies and still peers a legitimate consumer afterwards; no certificate
// is signed for any of it (peerlog_issued_certificates, no CertIssued in the outbox); every answer
// is a 4xx, never a 5xx, and no connection outlives the server's own timeouts; live memory after
// the load stays within a generous bound of what it was before.
//
// The run is in three parts, each a start of the same `peerlog serve` on the same log:
//   A. a failure burst so large that the limiter never answers: every request reaches the parsers;
//   B. PROXY protocol on and the default burst (10): broken headers are refused, and the limiter
//      counts per client the header names (one spoofed client gets 429, another does not);
//   C. the default settings: a hostile source gets 429 after its burst while the legitimate
//      consumer (another source) peers, then the custom resources.
// Size: 10,000 requests in part A (CI), PEERLOG_FAULTS=full 50,000; PEERLOG_FAULTS_REQUESTS=<n>.
// Replay: the seed is printed; PEERLOG_FAULTS_SEED=<seed> draws the same requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { eventually, uniqueName } from '../support/env.js';
import { rng } from '../support/faults.js';
import { logClient } from '../support/log.js';
import { cleanupPlanes, startPlane } from '../support/peering.js';
import { memoryOf, type MemorySample } from '../support/serve.js';
import { get, peered, servedPlane, type Obj } from '../support/unpeering.js';

const FULL = process.env.PEERLOG_FAULTS === 'full';
const REQUESTS = Number(process.env.PEERLOG_FAULTS_REQUESTS ?? (FULL ? 50_000 : 10_000));
const SEED = Number(process.env.PEERLOG_FAULTS_SEED ?? randomInt(1, 2 ** 31));
/** Requests in flight at once: a busy endpoint on a 2-core machine shared with others, not a benchmark. */
const CONCURRENCY = 8;
/** The server's own limits, as its source states them (written out: the test holds it to them). */
const MAX_BODY = 64 * 1024;
const REQUEST_TIMEOUT_MS = 15_000;
/** How long past the server's longest timeout a connection may live before it counts as a hang. */
const SLACK_MS = 10_000;
const CN_PREFIX = 'peerlog:cluster:';
const PEERS = 'peerlog:peers';

/** How one hostile exchange ended: an HTTP status, or the connection closed with none (by whom). */
interface Outcome { readonly status?: number; readonly closed?: 'server' | 'client'; readonly hang?: boolean; readonly ms: number }

/** What a case may end in: an HTTP 4xx only, or (where no HTTP answer can exist) a closed connection too. */
type Expect = '4xx' | '4xx-or-closed';

interface Tally {
  sent: number;
  byStatus: Map<string, number>;
  unexpected: string[];
  longest: number;
  /** Per kind: how many, how long in all, and the statuses seen (for the diagnostics). */
  byKind: Map<string, { n: number; ms: number; statuses: Set<string> }>;
}
const newTally = (): Tally => ({ sent: 0, byStatus: new Map(), unexpected: [], longest: 0, byKind: new Map() });

function record(t: Tally, kind: string, expect: Expect, o: Outcome): void {
  t.sent++;
  const key = o.hang ? 'hang' : o.status !== undefined ? String(o.status) : `closed-by-${o.closed}`;
  t.byStatus.set(key, (t.byStatus.get(key) ?? 0) + 1);
  t.longest = Math.max(t.longest, o.ms);
  const k = t.byKind.get(kind) ?? { n: 0, ms: 0, statuses: new Set<string>() };
  k.n++; k.ms += o.ms; k.statuses.add(key);
  t.byKind.set(kind, k);
  const ok = !o.hang && (o.status !== undefined ? o.status >= 400 && o.status <= 499 : expect === '4xx-or-closed');
  if (!ok && t.unexpected.length < 50) t.unexpected.push(`${kind}: ${key} after ${o.ms} ms`);
}

function classes(t: Tally): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of t.byStatus) {
    const c = /^\d{3}$/.test(k) ? `${k[0]}xx` : k;
    out[c] = (out[c] ?? 0) + n;
  }
  return out;
}

/**
 * One exchange on a connection of its own, written byte for byte: an optional PROXY header in clear,
 * then (unless `tls` is false) TLS, then `parts` (a number is a pause in ms). Ends when the server
 * closes, when `dropAfterMs` passes (the client drops it), or at `deadlineMs` (a hang).
 */
function exchange(port: number, o: {
  parts: readonly (Buffer | string | number)[]; proxyHeader?: Buffer | string; tls?: boolean; localAddress?: string;
  dropAfterMs?: number; deadlineMs?: number;
}): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let status: number | undefined;
    let head = '';
    let settled = false;
    let sock: Socket;
    const finish = (closed: 'server' | 'client' | 'hang') => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(drop);
      sock.destroy();
      raw.destroy();
      resolve({ ...(status !== undefined ? { status } : {}), ...(closed === 'hang' ? { hang: true } : { closed }), ms: Date.now() - started });
    };
    const raw = netConnect({ port, host: '127.0.0.1', ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    raw.on('error', () => finish('server'));
    const deadline = setTimeout(() => finish('hang'), o.deadlineMs ?? REQUEST_TIMEOUT_MS + SLACK_MS);
    const drop = o.dropAfterMs !== undefined ? setTimeout(() => finish('client'), o.dropAfterMs) : undefined;
    const write = async () => {
      for (const p of o.parts) {
        if (settled) return;
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else if (!sock.destroyed) sock.write(p);
      }
    };
    const onData = (c: Buffer) => {
      if (status !== undefined) return;
      head += c.toString('latin1');
      // An interim answer (100 Continue) is not the answer: the final one follows it.
      head = head.replace(/^HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n/, '');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m && m[1]![0] !== '1') status = Number(m[1]);
    };
    raw.once('connect', () => {
      if (o.proxyHeader !== undefined) raw.write(o.proxyHeader);
      if (o.tls === false) {
        sock = raw;
        raw.on('data', onData);
        raw.on('close', () => finish('server'));
        void write();
        return;
      }
      const t = tlsConnect({ socket: raw, rejectUnauthorized: false });
      sock = t;
      t.on('error', () => finish('server'));
      t.on('data', onData);
      t.on('close', () => finish('server'));
      t.once('secureConnect', () => { void write(); });
    });
    sock = raw;
  });
}

/** An HTTP/1.1 request as text; `headers` go out exactly as given (odd ones included). */
function httpRequest(method: string, path: string, headers: readonly (readonly [string, string])[], body: Buffer | string = ''): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body)]);
}

/** A POST /identity through node's client on a keep-alive agent (the cheap way for most cases). */
function post(agent: Agent, url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request(new URL('/identity', url), { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS + SLACK_MS, () => { req.destroy(); resolve({ hang: true, ms: Date.now() - started }); });
    req.on('error', () => resolve({ closed: 'server', ms: Date.now() - started }));
    req.end(body);
  });
}

function openssl(args: readonly string[], input?: string): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** CSRs written by openssl, an independent client: one good one for `victim`, and the hostile kinds. */
function forgeCsrs(dir: string, victim: string): { good: string; policy: Record<string, string>; garbage: Record<string, string> } {
  const key = (name: string, args: readonly string[]) => { const f = join(dir, `${name}.key`); openssl(['genpkey', ...args, '-out', f]); return f; };
  const csr = (k: string, subj: string, extra: readonly string[] = []) => openssl(['req', '-new', '-key', k, '-subj', subj, ...extra]);
  const ec = key('ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const cn = `${CN_PREFIX}${victim}`;
  const good = csr(ec, `/CN=${cn}/O=${PEERS}`);
  const dsaParams = join(dir, 'dsa.params');
  openssl(['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:1024', '-out', dsaParams]);
  const dsa = join(dir, 'dsa.key');
  openssl(['genpkey', '-paramfile', dsaParams, '-out', dsa]);
  const policy: Record<string, string> = {
    'cn-other-cluster': csr(ec, `/CN=${CN_PREFIX}someone-else/O=${PEERS}`),
    'cn-prefix-only': csr(ec, `/CN=${CN_PREFIX}/O=${PEERS}`),
    'cn-uppercase': csr(ec, `/CN=${cn.toUpperCase()}/O=${PEERS}`),
    'cn-trailing-space': csr(ec, `/CN=${cn} /O=${PEERS}`),
    'cn-twice': csr(ec, `/CN=${cn}/CN=${cn}/O=${PEERS}`),
    'cn-admin': csr(ec, `/CN=admin/O=${PEERS}`),
    'o-masters': csr(ec, `/CN=${cn}/O=system:masters`),
    'o-peers-and-masters': csr(ec, `/CN=${cn}/O=${PEERS}/O=system:masters`),
    'o-none': csr(ec, `/CN=${cn}`),
    'extra-ou': csr(ec, `/CN=${cn}/O=${PEERS}/OU=evil`),
    'san-dns-ip': csr(ec, `/CN=${cn}/O=${PEERS}`, ['-addext', 'subjectAltName=DNS:kubernetes.default,IP:10.0.0.1']),
    'san-uri': csr(ec, `/CN=${cn}/O=${PEERS}`, ['-addext', 'subjectAltName=URI:spiffe://cluster.local/ns/kube-system/sa/admin']),
    'basic-constraints-ca': csr(ec, `/CN=${cn}/O=${PEERS}`, ['-addext', 'basicConstraints=critical,CA:TRUE']),
    'eku-server': csr(ec, `/CN=${cn}/O=${PEERS}`, ['-addext', 'extendedKeyUsage=serverAuth']),
    'key-p521': csr(key('p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521']), `/CN=${cn}/O=${PEERS}`),
    'key-secp256k1': csr(key('k1', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1']), `/CN=${cn}/O=${PEERS}`),
    'key-rsa-1024': csr(key('rsa1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']), `/CN=${cn}/O=${PEERS}`),
    'key-rsa-e3': csr(key('rsae3', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_pubexp:3']), `/CN=${cn}/O=${PEERS}`),
    'key-rsa-4104': csr(key('rsa4104', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4104']), `/CN=${cn}/O=${PEERS}`),
    'key-ed448': csr(key('ed448', ['-algorithm', 'ED448']), `/CN=${cn}/O=${PEERS}`),
    'key-dsa': csr(dsa, `/CN=${cn}/O=${PEERS}`),
    'key-rsa-pss': csr(key('pss', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048']), `/CN=${cn}/O=${PEERS}`),
  };
  const der = Buffer.from(good.split('\n').filter((l) => l && !l.startsWith('-----')).join(''), 'base64');
  const pem = (d: Buffer, label = 'CERTIFICATE REQUEST') => `-----BEGIN ${label}-----\n${d.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
  const flipped = Buffer.from(der);
  flipped[flipped.length - 3] = flipped[flipped.length - 3]! ^ 0x01;
  policy['signature-flipped'] = pem(flipped);
  // The good CSR's body under another key's signature: the first bytes of the signature swapped for zeros.
  const zeroed = Buffer.from(der);
  zeroed.fill(0, zeroed.length - 20, zeroed.length - 8);
  policy['signature-zeroed'] = pem(zeroed);
  const garbage: Record<string, string> = {
    'header-only': '-----BEGIN CERTIFICATE REQUEST-----',
    'empty-block': '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
    truncated: pem(der.subarray(0, Math.floor(der.length / 2))),
    'one-byte-short': pem(der.subarray(0, der.length - 1)),
    'trailing-bytes': pem(Buffer.concat([der, Buffer.from([0, 0])])),
    'base64-garbage': '-----BEGIN CERTIFICATE REQUEST-----\n!!!!not base64 at all!!!!\n-----END CERTIFICATE REQUEST-----\n',
    'random-der': pem(Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) % 256))),
    'length-overflow': pem(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00])),
    'deep-nesting': pem(Buffer.from(Array.from({ length: 4000 }, (_, i) => (i % 2 === 0 ? 0x30 : 0x80)))),
    'two-csrs': good + good,
    'wrong-label-inside': good.replace(/CERTIFICATE REQUEST-----\n$/, 'CERTIFICATE-----\n'),
    'private-key': `-----BEGIN CERTIFICATE REQUEST-----\n${readFileSync(ec, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('\n')}\n-----END CERTIFICATE REQUEST-----\n`,
    'nul-inside': good.replace('\n', '\n\u0000'),
    'huge-base64': pem(Buffer.alloc(40_000, 0x41)),
  };
  return { good, policy, garbage };
}

test(`hostile input: ${REQUESTS} malformed or hostile requests to the provider's /identity, then malformed custom resources (seed ${SEED})`, async (t) => {
  const began = Date.now();
  const random = rng(SEED);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-hostile-'));
  const victim = uniqueName('hostile');
  const otherNs = uniqueName('hstns');

  // The legitimate consumer runs in this process; the provider under attack as `peerlog serve`.
  const alpha = await startPlane('alpha', 'hstc');
  const beta = servedPlane('beta', 'hstp', alpha);
  const betaId = beta.config.clusterId;
  const port = beta.config.authPort;
  const url = beta.cp.url;
  let crashes = 0;
  t.after(async () => {
    await cleanupPlanes([alpha, beta]);
    for (const ns of [`peerlog-tenant-${victim}`, otherNs]) beta.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    beta.kubectl(['delete', 'foreignclusters', '-l', `peerlog.dev/remote-cluster-id=${victim}`, '--wait=false', '--ignore-not-found']);
    rmSync(dir, { recursive: true, force: true });
  });
  const csrs = forgeCsrs(dir, victim);
  t.diagnostic(`seed ${SEED}; ${Object.keys(csrs.policy).length} policy-breaking and ${Object.keys(csrs.garbage).length} garbage CSRs from openssl in ${((Date.now() - began) / 1000).toFixed(1)} s`);

  /** Runs `n` cases `make(i)` with CONCURRENCY in flight; the process must stay up throughout. */
  const run = async (tally: Tally, n: number, make: (i: number) => { kind: string; expect: Expect; go: () => Promise<Outcome> }, concurrency = CONCURRENCY) => {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const c = make(next++);
        record(tally, c.kind, c.expect, await c.go());
      }
    }));
  };
  const alive = () => beta.child.child.exitCode === null && beta.child.child.signalCode === null;

  // ---- A. every request reaches the parsers (the limiter never answers) ---------------------------
  await beta.start({ settings: { authFailureBurst: 10_000_000 }, memoryProbe: true });
  const token = beta.token;
  const before: MemorySample = await memoryOf(beta.child);
  const a = newTally();
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, rejectUnauthorized: false });
  const goodBody = (over: Record<string, unknown> = {}) => JSON.stringify({ clusterId: victim, clusterName: victim, token, csr: csrs.good, ...over });
  const nearMiss = (): string => {
    const i = int(token.length);
    const other = token[i] === 'A' ? 'B' : 'A';
    return pick([
      token.slice(0, i) + other + token.slice(i + 1), token.slice(0, -1), `${token}A`, `${token}\n`, ` ${token}`, `${token}\u0000`,
      token.toUpperCase(), token.toLowerCase(), Buffer.from(token, 'base64url').toString('base64'), `Bearer ${token}`, token.repeat(2),
      `${token.slice(0, 20)}${token.slice(21)}`, token.split('').reverse().join(''),
    ]);
  };
  const wrongTypes: readonly Record<string, unknown>[] = [
    { clusterId: 42 }, { clusterId: [victim] }, { clusterId: { $ne: '' } }, { clusterId: null }, { clusterId: '' }, { clusterId: 'x'.repeat(64) },
    { clusterId: '../../etc' }, { clusterId: 'Alpha EU' }, { clusterName: 7 }, { clusterName: 'Alpha EU' }, { token: 42 }, { token: [token] },
    { token: { toString: token } }, { csr: 1 }, { csr: [csrs.good] }, { csr: { pem: csrs.good } }, { csr: null },
    { validitySeconds: '3600' }, { validitySeconds: 1.5 }, { validitySeconds: -1 }, { validitySeconds: 0 }, { validitySeconds: 1e308 },
    { validitySeconds: 59 }, { validitySeconds: 10 ** 12 }, { renewal: 'yes' }, { renewal: [] }, { renewal: { certFingerprint: 'x', signature: 'y' } },
    { renewal: { certFingerprint: 'a'.repeat(64), signature: 'AAAA' } }, { renewal: { certFingerprint: 'a'.repeat(64), signature: 'A'.repeat(3000) } },
    { extra: 1 }, { constructor: { prototype: {} } }, { isAdmin: true },
  ];
  const bodies: readonly (() => string | Buffer)[] = [
    () => bytes(int(3000)), () => '', () => '{', () => '{"clusterId":', () => 'null', () => '[]', () => '"string"', () => '1e999', () => 'NaN',
    () => '\ufeff{}', () => Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), () => '[' .repeat(30_000), () => '{"a":'.repeat(10_000),
    () => `{"clusterId":"${victim}","clusterId":"${victim}"}`, () => '{"__proto__":{"isAdmin":true},"clusterId":"x","csr":"-----BEGIN CERTIFICATE REQUEST-----"}',
    () => JSON.stringify({ clusterId: victim, token, csr: csrs.good }).slice(0, -5), () => `${goodBody()}garbage`,
    () => Buffer.from(goodBody(), 'utf8').toString('utf16le'),
  ];
  const cases: readonly ((i: number) => { kind: string; expect: Expect; go: () => Promise<Outcome> })[] = [
    () => { const b = pick(bodies)(); return { kind: 'malformed JSON', expect: '4xx', go: () => post(agent, url, b) }; },
    () => { const o = pick(wrongTypes); return { kind: `wrong type ${Object.keys(o).join()}`, expect: '4xx', go: () => post(agent, url, goodBody(o)) }; },
    () => { const k = pick(Object.keys(csrs.garbage)); return { kind: `garbage CSR ${k}`, expect: '4xx', go: () => post(agent, url, goodBody({ csr: csrs.garbage[k] })) }; },
    () => { const k = pick(Object.keys(csrs.policy)); return { kind: `policy CSR ${k}`, expect: '4xx', go: () => post(agent, url, goodBody({ csr: csrs.policy[k] })) }; },
    () => { const tk = nearMiss(); return { kind: 'near-miss token', expect: '4xx', go: () => post(agent, url, goodBody({ token: tk })) }; },
    () => { const tk = pick([bytes(32).toString('base64url'), '', 'x', 'A'.repeat(43), 'A'.repeat(257), bytes(4000).toString('base64')]); return { kind: 'wrong token', expect: '4xx', go: () => post(agent, url, goodBody({ token: tk })) }; },
    () => ({ kind: 'oversized (declared)', expect: '4xx', go: () => post(agent, url, Buffer.alloc(MAX_BODY + 1 + int(100_000), 0x20)) }),
    () => ({ kind: 'oversized (chunked)', expect: '4xx', go: () => exchange(port, { parts: [httpRequest('POST', '/identity', [['transfer-encoding', 'chunked']]), ...Array.from({ length: 5 }, () => `4000\r\n${' '.repeat(0x4000)}\r\n`), '0\r\n\r\n'] }) }),
    () => {
      const headers = pick<readonly (readonly [string, string])[]>([
        [['x-big', 'a'.repeat(20_000)]], Array.from({ length: 3000 }, (_, j) => [`x-h${j}`, 'v'] as const), [['content-length', '5'], ['content-length', '6']],
        [['content-length', '-1']], [['content-length', 'abc']], [['content-length', '99999999999999999999']], [['content-length', '5'], ['transfer-encoding', 'chunked']],
        [['transfer-encoding', 'gzip, chunked']], [['x\u0001bad', 'v']], [['x-nul', 'a\u0000b']], [['host', 'evil'], ['host', 'evil2']], [['expect', '100-continue']],
        [['content-type', 'text/plain; charset=utf-32']], [['x-forwarded-for', '10.0.0.1'], ['x-real-ip', '10.0.0.2']], [['connection', 'upgrade'], ['upgrade', 'websocket']],
      ]);
      // Headers beyond the server's limit are answered while the client still writes them: the answer
      // can be lost to the reset that the rest of the client's bytes then cause.
      const big = headers.length > 100 || headers[0]![1].length > 10_000;
      return { kind: `odd headers ${headers[0]![0].slice(0, 16)}`, expect: big ? '4xx-or-closed' : '4xx', go: () => exchange(port, { parts: [httpRequest('POST', '/identity', [...headers, ['connection', 'close']], goodBody().slice(0, 6))], deadlineMs: REQUEST_TIMEOUT_MS + SLACK_MS }) };
    },
    () => {
      const line = pick(['POST /identity HTTP/9.9', 'POST  /identity HTTP/1.1', 'POST /identity', 'GET / HTTP/1.1\nx: y', `POST /${'a'.repeat(20_000)} HTTP/1.1`, 'BREW /identity HTTP/1.1', '\u0000\u0001\u0002']);
      return { kind: 'malformed request line', expect: '4xx', go: () => exchange(port, { parts: [`${line}\r\nhost: x\r\nconnection: close\r\n\r\n`] }) };
    },
    () => ({ kind: 'lying content-length (short)', expect: '4xx', go: () => exchange(port, { parts: [httpRequest('POST', '/identity', [['content-length', '10'], ['connection', 'close']], goodBody())] }) }),
  ];
  // Rarer, slower cases mixed in: connections dropped mid-way, and plaintext or PROXY bytes where TLS is expected.
  const rare: readonly ((i: number) => { kind: string; expect: Expect; go: () => Promise<Outcome> })[] = [
    () => ({ kind: 'dropped after connect', expect: '4xx-or-closed', go: () => exchange(port, { tls: false, parts: [], dropAfterMs: int(50) }) }),
    () => ({ kind: 'dropped after TLS', expect: '4xx-or-closed', go: () => exchange(port, { parts: [], dropAfterMs: 10 + int(50) }) }),
    () => ({ kind: 'dropped mid-headers', expect: '4xx-or-closed', go: () => exchange(port, { parts: ['POST /identity HTTP/1.1\r\ncontent-le'], dropAfterMs: 50 + int(50) }) }),
    () => ({ kind: 'dropped mid-body', expect: '4xx-or-closed', go: () => exchange(port, { parts: [httpRequest('POST', '/identity', [['content-length', '2000']], goodBody().slice(0, 300))], dropAfterMs: 50 + int(100) }) }),
    () => ({ kind: 'dropped before the answer', expect: '4xx-or-closed', go: () => exchange(port, { parts: [httpRequest('POST', '/identity', [['content-length', String(Buffer.byteLength(goodBody({ token: 'A'.repeat(43) })))]], goodBody({ token: 'A'.repeat(43) }))], dropAfterMs: 1 }) }),
    () => ({ kind: 'plaintext HTTP', expect: '4xx-or-closed', go: () => exchange(port, { tls: false, parts: [httpRequest('POST', '/identity', [['connection', 'close']], '{}')] }) }),
    () => ({ kind: 'garbage instead of TLS', expect: '4xx-or-closed', go: () => exchange(port, { tls: false, parts: [bytes(1 + int(2000))] }) }),
    () => ({ kind: 'PROXY header unasked', expect: '4xx-or-closed', go: () => exchange(port, { proxyHeader: pick(['PROXY TCP4 10.1.2.3 127.0.0.1 5555 443\r\n', 'PROXY UNKNOWN\r\n', 'PROX', 'PROXY garbage garbage\r\n']), parts: [] }) }),
  ];
  t.diagnostic(`part A: ${REQUESTS} requests, ${CONCURRENCY} in flight, burst 10000000`);
  const startedA = Date.now();
  // Slow clients meanwhile: each must be cut off by the server, within its timeouts.
  const slow = newTally();
  const slowClients = Promise.all([
    ...Array.from({ length: 6 }, () => exchange(port, { tls: false, parts: [] })),
    ...Array.from({ length: 6 }, () => exchange(port, { tls: false, parts: [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), ...Array.from({ length: 60 }, () => [1000, Buffer.from([0x01])]).flat()] })),
    ...Array.from({ length: 6 }, () => exchange(port, { parts: [] })),
    ...Array.from({ length: 6 }, () => exchange(port, { parts: ['POST /identity HTTP/1.1\r\nx-slow: ', ...Array.from({ length: 60 }, () => [1000, 'x']).flat()] })),
    ...Array.from({ length: 6 }, () => exchange(port, { parts: [httpRequest('POST', '/identity', [['content-length', '4000']]), ...Array.from({ length: 60 }, () => [1000, ' ']).flat()] })),
    ...Array.from({ length: 6 }, () => exchange(port, { parts: [httpRequest('POST', '/identity', [['content-length', '4000']], '{"clusterId":')] })),
  ].map((p, i) => p.then((o) => record(slow, `slow client ${['silent TCP', 'TLS handshake drip', 'silent TLS', 'header drip', 'body drip', 'body never finished'][Math.floor(i / 6)]}`, '4xx-or-closed', o))));
  // Most cases go over keep-alive connections (cheap for both sides); one in five needs a connection
  // of its own (a TLS handshake each), one in 25 is a dropped or non-TLS connection.
  const cheap = cases.slice(0, 7);
  const own = cases.slice(7);
  await run(a, REQUESTS, (i) => (i % 25 === 24 ? pick(rare)(i) : i % 5 === 0 ? pick(own)(i) : pick(cheap)(i)));
  // A burst: 200 at once, each on a connection of its own.
  const burstAgent = new Agent({ keepAlive: false, maxSockets: 200, rejectUnauthorized: false });
  await Promise.all(Array.from({ length: 200 }, (_, j) => post(burstAgent, url, j % 2 ? goodBody({ token: nearMiss() }) : goodBody({ csr: pick(Object.values(csrs.policy)) })).then((o) => record(a, 'burst', '4xx', o))));
  await slowClients;
  agent.destroy();
  const msA = Date.now() - startedA;
  assert.ok(alive(), 'peerlog serve is still running after part A');
  const after: MemorySample = await memoryOf(beta.child);
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
  t.diagnostic(`part A: ${a.sent} requests in ${(msA / 1000).toFixed(1)} s, by status ${JSON.stringify(Object.fromEntries([...a.byStatus].sort()))}; slow clients ${JSON.stringify(Object.fromEntries(slow.byStatus))}, longest ${slow.longest} ms`);
  t.diagnostic(`memory of peerlog serve: RSS ${mb(before.rss)} → ${mb(after.rss)}, heap ${mb(before.heapUsed)} → ${mb(after.heapUsed)}`);

  // Nothing signed, nothing granted: read with pg, not through the plane.
  const db = await logClient(beta.config);
  const issuedCount = async () => Number((await db.query<{ n: string }>('select count(*) as n from peerlog_issued_certificates')).rows[0]!.n);
  const certIssued = async () => Number((await db.query<{ n: string }>(`select count(*) as n from peerlog_outbox where type = 'CertIssued'`)).rows[0]!.n);
  let issued = await issuedCount() + await certIssued();
  t.diagnostic(`after part A: ${issued} certificates or CertIssued events`);
  const errorLines: string[] = [];
  const internalErrors = () => {
    const found = beta.child.lines.filter((l) => l.includes('"request failed"') || l.includes('"request deferred"'));
    for (const l of found) if (errorLines.length < 5 && !errorLines.includes(l)) errorLines.push(l.slice(0, 600));
    return found.length;
  };
  const errorsA = internalErrors();

  // ---- B. PROXY protocol on, the default burst: broken headers refused, the limiter per named client ----
  await beta.stop();
  if (!(beta.child.child.signalCode === null && beta.child.child.exitCode === 0)) crashes++;
  await beta.start({ settings: { authProxyProtocol: true }, memoryProbe: true });
  const b = newTally();
  const v1 = (src: string) => `PROXY TCP4 ${src} 127.0.0.1 40000 ${port}\r\n`;
  const v2 = (ver: number, cmd: number, fam: number, len: number, body: Buffer = Buffer.alloc(len)) => Buffer.concat([
    Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, (ver << 4) | cmd, fam, len >> 8, len & 0xff]), body]);
  const broken: readonly (Buffer | string)[] = [
    'PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n', 'PROXY TCP4 1.2.3.4 127.0.0.1 99999 2\r\n', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', `PROXY TCP4 ${'1'.repeat(120)}\r\n`,
    'PROXY TCP4 1.2.3.4\r\n', 'PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n', 'PROXY TCP4 01.2.3.4 127.0.0.1 1 2\r\n', 'PROXY TCP4 1.2.3.4 127.0.0.1 01 2\r\n',
    v2(1, 1, 0x11, 12), v2(2, 5, 0x11, 12), v2(2, 1, 0x51, 12), v2(2, 1, 0x11, 4), v2(2, 1, 0x21, 12), v2(2, 1, 0x11, 0xffff), Buffer.from(bytes(40)),
  ];
  const headerCases: readonly ((i: number) => { kind: string; expect: Expect; go: () => Promise<Outcome> })[] = [
    () => { const h = pick(broken); return { kind: 'broken PROXY header', expect: '4xx-or-closed', go: () => exchange(port, { tls: false, parts: [h, httpRequest('POST', '/identity', [['connection', 'close']], '{}')] }) }; },
    () => ({ kind: 'no PROXY header', expect: '4xx-or-closed', go: () => exchange(port, { parts: [httpRequest('POST', '/identity', [['connection', 'close']], '{}')] }) }),
    () => ({ kind: 'PROXY header dripped', expect: '4xx-or-closed', go: () => exchange(port, { tls: false, parts: ['PRO', 2000, 'XY TCP4 1.2.3.4', 4000, ' 127.0.0.1'], deadlineMs: 5_000 + SLACK_MS }) }),
    () => ({ kind: 'PROXY v2 LOCAL then garbage', expect: '4xx-or-closed', go: () => exchange(port, { tls: false, parts: [v2(2, 0, 0x00, 0), bytes(200)] }) }),
  ];
  await run(b, 200, (i) => pick(headerCases)(i), 4);
  // One spoofed client fails 30 times: after its burst (10) it gets 429; another named client does not.
  const named = (src: string, body: string) => exchange(port, { proxyHeader: v1(src), parts: [httpRequest('POST', '/identity', [['content-length', String(Buffer.byteLength(body))], ['connection', 'close']], body)] });
  const spoofed: number[] = [];
  for (let j = 0; j < 30; j++) {
    const o = await named('10.66.0.1', goodBody({ token: nearMiss() }));
    record(b, 'spoofed client', '4xx', o);
    spoofed.push(o.status ?? 0);
  }
  const other = await named('10.66.0.2', goodBody({ token: nearMiss() }));
  record(b, 'another named client', '4xx', other);
  t.diagnostic(`part B: ${b.sent} requests, by status ${JSON.stringify(Object.fromEntries([...b.byStatus].sort()))}; spoofed client ${spoofed.join(',')}`);
  assert.deepEqual(spoofed.slice(0, 10).filter((s) => s === 429), [], 'the first 10 failures of a client are answered by the endpoint, not the limiter');
  assert.ok(spoofed.slice(10).every((s) => s === 429), `after its burst, a client is answered 429: ${spoofed.join(',')}`);
  assert.equal(other.status, 401, 'another client the PROXY header names keeps its own attempts');
  assert.ok(alive(), 'peerlog serve is still running after part B');
  const errorsB = internalErrors();

  // ---- C. default settings: a hostile source limited while the legitimate consumer peers; then CRs ----
  await beta.stop();
  if (!(beta.child.child.signalCode === null && beta.child.child.exitCode === 0)) crashes++;
  await beta.start({ memoryProbe: true });
  const c = newTally();
  const fromHostile = new Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false, localAddress: '127.0.0.2' } as ConstructorParameters<typeof Agent>[0]);
  await run(c, 100, (i) => ({ kind: 'limited source', expect: '4xx', go: () => post(fromHostile, url, i % 2 ? goodBody({ token: nearMiss() }) : goodBody({ csr: pick(Object.values(csrs.policy)) })) }), 4);
  fromHostile.destroy();
  t.diagnostic(`part C: ${c.sent} requests from 127.0.0.2, by status ${JSON.stringify(Object.fromEntries([...c.byStatus].sort()))}`);
  assert.ok((c.byStatus.get('429') ?? 0) >= 80, 'the hostile source is limited after its burst');
  issued = await issuedCount() + await certIssued();
  const kinds = (x: Tally) => [...x.byKind].sort((p, q) => q[1].ms - p[1].ms).map(([k, v]) => `${k}: ${v.n}× ${(v.ms / v.n).toFixed(0)} ms [${[...v.statuses].join(',')}]`);
  for (const x of [...kinds(a), ...kinds(slow), ...kinds(b), ...kinds(c)]) t.diagnostic(x);
  for (const u of [...a.unexpected, ...slow.unexpected, ...b.unexpected, ...c.unexpected].slice(0, 20)) t.diagnostic(`unexpected: ${u}`);
  assert.equal(issued, 0, 'no certificate signed for any hostile request');
  // The legitimate consumer still peers.
  await peered(alpha, beta, `peerlog-${betaId}`, 90_000);
  const legit = (await db.query<{ remote_cluster_id: string }>('select remote_cluster_id from peerlog_issued_certificates')).rows.map((r) => r.remote_cluster_id);
  assert.deepEqual(legit, [alpha.config.clusterId], 'one certificate: the legitimate consumer\'s');
  await db.end();

  // Malformed custom resources on beta, as a user applies them: the schema refuses many; the
  // operator answers the rest with a condition that has a reason, and never dies of them.
  assert.equal(beta.kubectl(['create', 'namespace', otherNs]).status, 0);
  const crs = customResources(beta, alpha.config.clusterId, `peerlog-tenant-${alpha.config.clusterId}`, otherNs, uniqueName('hst'));
  const refused = crs.filter((x) => !x.accepted).length;
  t.diagnostic(`custom resources: ${crs.length} applied, ${refused} refused by the CRD schema; accepted: ${crs.filter((x) => x.accepted).map((x) => x.name).join(', ')}`);
  for (const x of crs.filter((y) => y.accepted && y.condition)) {
    const reasons = await eventually(`a condition with a reason on ${x.name}`, async () => {
      const o = get<Obj & { status?: { conditions?: { type: string; status: string; reason?: string }[] } }>(beta, ['get', x.kind, x.name, ...(x.namespace ? ['-n', x.namespace] : [])]);
      const conds = (o?.status?.conditions ?? []).filter((k) => k.status !== 'True' && k.reason);
      return conds.length > 0 ? conds.map((k) => `${k.type}=${k.status}/${k.reason}`) : undefined;
    }, 60_000);
    t.diagnostic(`${x.name}: ${reasons.join(' ')}`);
  }
  assert.ok(alive(), 'peerlog serve is still running after the custom resources');
  // Still peers: the virtual node stays Ready through it all.
  await eventually('the virtual node still Ready', async () => (alpha.kubectl(['get', 'node', `peerlog-${betaId}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True' ? true : undefined), 30_000);
  const end: MemorySample = await memoryOf(beta.child);
  const errors = errorsA + errorsB + internalErrors();

  const total = a.sent + slow.sent + b.sent + c.sent;
  const all = [a, slow, b, c].reduce<Record<string, number>>((m, x) => { for (const [k, n] of Object.entries(classes(x))) m[k] = (m[k] ?? 0) + n; return m; }, {});
  const line = `hostile input: ${total} requests (${JSON.stringify(all)}), ${crs.length} custom resources (${refused} refused by schema), `
    + `certificates issued ${issued}, crashes ${crashes}, server errors logged ${errors}, RSS before/after ${mb(before.rss)}/${mb(after.rss)} `
    + `(heap ${mb(before.heapUsed)}/${mb(after.heapUsed)}; at the end RSS ${mb(end.rss)}), duration ${((Date.now() - began) / 1000).toFixed(0)} s (seed ${SEED})`;
  for (const l of errorLines) t.diagnostic(`server error: ${l}`);
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
  assert.deepEqual([...a.unexpected, ...slow.unexpected, ...b.unexpected, ...c.unexpected], [], 'every hostile request answered with a 4xx (or, without HTTP, a closed connection), none hanging');
  assert.equal(errors, 0, 'no request made the server fail or defer');
  assert.equal(crashes, 0);
  assert.ok(after.rss < 2 * before.rss + 100 * 2 ** 20, `RSS bounded: ${mb(before.rss)} → ${mb(after.rss)}`);
  assert.ok(after.heapUsed < 2 * before.heapUsed + 100 * 2 ** 20, `heap bounded: ${mb(before.heapUsed)} → ${mb(after.heapUsed)}`);
});

interface AppliedCr { readonly kind: string; readonly name: string; readonly namespace?: string; readonly accepted: boolean; readonly condition: boolean }

/**
 * Malformed ForeignClusters, ResourceRequests and ResourceOffers applied with kubectl on the
 * provider's cluster. `condition`: an accepted one must get a condition with a reason.
 */
function customResources(p: { kubectl(args: readonly string[], input?: string): { status: number | null; stderr: string }; config: { clusterId: string; systemNamespace: string } }, consumerId: string, tenant: string, other: string, tag: string): AppliedCr[] {
  const label = `peerlog.dev/test: "${p.config.clusterId}"`;
  const fc = (name: string, spec: string) => ({ kind: 'foreignclusters', name, yaml: `apiVersion: peering.peerlog.dev/v1alpha1\nkind: ForeignCluster\nmetadata:\n  name: ${name}\n  labels:\n    ${label}\nspec:\n${spec}\n` });
  const rr = (name: string, ns: string, spec: string) => ({ kind: 'resourcerequests', name, namespace: ns, yaml: `apiVersion: peering.peerlog.dev/v1alpha1\nkind: ResourceRequest\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n${spec}\n` });
  const ro = (name: string, ns: string, spec: string) => ({ kind: 'resourceoffers', name, namespace: ns, yaml: `apiVersion: peering.peerlog.dev/v1alpha1\nkind: ResourceOffer\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n${spec}\n` });
  const n = (s: string) => `${tag}-${s}`;
  const items: { kind: string; name: string; namespace?: string; yaml: string; condition?: boolean }[] = [
    fc(n('no-id'), '  clusterName: x'),
    fc(n('bad-id'), '  clusterId: "UPPER CASE!"'),
    fc(n('long-id'), `  clusterId: ${'a'.repeat(64)}`),
    fc(n('bad-name'), '  clusterId: hst-a\n  clusterName: "Alpha EU"'),
    fc(n('http-url'), '  clusterId: hst-b\n  authUrl: http://127.0.0.1:1'),
    fc(n('bad-switch'), '  clusterId: hst-c\n  outgoing: Maybe'),
    fc(n('bad-fp'), '  clusterId: hst-d\n  authFingerprint: zz'),
    fc(n('ref-no-name'), '  clusterId: hst-e\n  tokenSecretRef: {}'),
    fc(n('wrong-types'), '  clusterId: 42\n  outgoing: [1]'),
    { ...fc(n('url-scheme-only'), '  clusterId: hst-f\n  authUrl: "https://"\n  tokenSecretRef: {name: nope}'), condition: true },
    { ...fc(n('url-unreachable'), '  clusterId: hst-g\n  authUrl: "https://127.0.0.1:1"\n  tokenSecretRef: {name: nope}'), condition: true },
    { ...fc(n('url-odd'), '  clusterId: hst-h\n  authUrl: "https://[::1:99999/x?y#z"\n  tokenSecretRef: {name: nope}'), condition: true },
    { ...fc(n('own-token'), `  clusterId: hst-i\n  authUrl: "https://127.0.0.1:1"\n  tokenSecretRef: {name: peerlog-token, namespace: ${p.config.systemNamespace}}`), condition: true },
    { ...fc(n('no-url'), '  clusterId: hst-j\n  tokenSecretRef: {name: nope}'), condition: true },
    { ...fc(n('self'), `  clusterId: ${p.config.clusterId}\n  authUrl: "https://127.0.0.1:1"\n  tokenSecretRef: {name: nope}`), condition: true },
    { ...fc(n('dotted-id'), '  clusterId: hst.k_l\n  authUrl: "https://127.0.0.1:1"\n  tokenSecretRef: {name: nope}'), condition: true },
    rr('peerlog-request', tenant, '  clusterId: "NOT VALID"'),
    rr('peerlog-request', tenant, `  clusterId: ${consumerId}\n  namespaces: ["Bad Name"]`),
    rr(n('rr'), tenant, `  clusterId: ${consumerId}\n  namespaces: [a, a]`),
    rr('peerlog-request', other, `  clusterId: ${consumerId}\n  namespaces: [default]`),
    rr(n('rr2'), other, '  clusterId: someone-else'),
    ro(n('ro'), tenant, `  clusterId: ${consumerId}\n  resources: {cpu: "-1"}`),
    ro(n('ro2'), tenant, `  clusterId: ${consumerId}`),
    ro(n('ro3'), other, `  clusterId: ${consumerId}\n  resources: {cpu: "1.2.3", memory: "9e999999Ei"}`),
  ];
  return items.map((x) => {
    const r = p.kubectl(['apply', '-f', '-'], x.yaml);
    return { kind: x.kind, name: x.name, ...(x.namespace ? { namespace: x.namespace } : {}), accepted: r.status === 0, condition: x.condition === true };
  });
}
