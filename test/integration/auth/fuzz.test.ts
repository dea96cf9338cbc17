// 10,000 malformed or random requests against the authentication endpoint: it stays up, signs
// nothing, and answers every one of them with a 4xx.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { createCsr, generateKeyPair } from '../../../src/adapters/x509/index.js';
import { PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityCommonNameFor } from '../../../src/resources/names.js';
import { rawRequest, startProvider } from '../../support/auth.js';
import { outboxEvents } from '../../support/core.js';
import { uniqueName } from '../../support/env.js';
import { driversOf } from '../../../src/runtime.js';

const REQUESTS = Number(process.env.PEERLOG_FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 16;

/** A small seeded generator (mulberry32), so that a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test(`${REQUESTS} malformed or random requests: the server stays up, issues no certificate, answers only 4xx`, async (t) => {
  const provider = await startProvider({ prefix: 'fuzz' });
  const requester = uniqueName('req');
  t.after(() => provider.cleanup([requester]));
  const seed = Number(process.env.PEERLOG_FUZZ_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (PEERLOG_FUZZ_SEED to replay)`);
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const str = (n: number) => bytes(n).toString(pick(['base64', 'hex', 'latin1', 'utf8'] as const));
  const json = (depth: number): unknown => {
    switch (int(depth > 3 ? 5 : 7)) {
      case 0: return str(int(40));
      case 1: return rand() * 1e6 - 5e5;
      case 2: return rand() < 0.5;
      case 3: return null;
      case 4: return int(2 ** 31);
      case 5: return Array.from({ length: int(5) }, () => json(depth + 1));
      default: return Object.fromEntries(Array.from({ length: int(6) }, () => [pick(['clusterId', 'clusterName', 'token', 'csr', 'validitySeconds', str(8)]), json(depth + 1)]));
    }
  };
  const goodCsr = await createCsr({ commonName: identityCommonNameFor(requester), organizations: [PEERS_GROUP] }, await generateKeyPair());
  const csrDer = Buffer.from(goodCsr.split('\n').filter((l) => l && !l.startsWith('-----')).join(''), 'base64');
  const mutatedCsr = () => {
    const der = Buffer.from(csrDer);
    // Each change really changes a byte: an unchanged CSR with the right token would rightly succeed.
    for (let i = 0, n = 1 + int(4); i < n; i++) { const at = int(der.length); der[at] = (der[at]! + 1 + int(255)) % 256; }
    return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
  };

  type Req = { method: string; path: string; body?: string | Buffer; headers?: Record<string, string> };
  const generators: ((i: number) => Req)[] = [
    () => ({ method: 'POST', path: '/identity', body: bytes(int(2000)) }),
    () => ({ method: 'POST', path: '/identity', body: JSON.stringify(json(0)) }),
    () => ({ method: 'POST', path: '/identity', body: JSON.stringify({ clusterId: pick([requester, str(10), '', '-x-']), token: str(43), csr: `-----BEGIN CERTIFICATE REQUEST-----\n${bytes(int(600)).toString('base64')}\n-----END CERTIFICATE REQUEST-----` }) }),
    () => ({ method: 'POST', path: '/identity', body: JSON.stringify({ clusterId: requester, token: bytes(32).toString('base64url'), csr: goodCsr }) }),
    () => ({ method: 'POST', path: '/identity', body: JSON.stringify({ clusterId: requester, token: provider.token, csr: mutatedCsr() }) }),
    () => ({ method: 'POST', path: '/identity', body: JSON.stringify({ clusterId: requester, token: provider.token, csr: goodCsr, validitySeconds: pick([0, -1, 1e12, 1.5, 59]) }) }),
    () => ({ method: pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']), path: '/identity', body: str(int(100)) }),
    () => ({ method: pick(['GET', 'POST']), path: `/${str(int(30)).replace(/[^A-Za-z0-9/_.-]/g, '').replace(/^\/+/, '')}`, body: '' }),
    () => ({ method: 'POST', path: '/identity', body: '['.repeat(20_000 + int(10_000)) }),
    () => ({ method: 'POST', path: '/identity', body: JSON.stringify({ clusterId: requester, token: provider.token, csr: goodCsr.replace('CERTIFICATE REQUEST', pick(['CERTIFICATE', 'PRIVATE KEY', 'X'])) }) }),
    (i) => (i % 50 === 0 ? { method: 'POST', path: '/identity', body: bytes(65 * 1024 + int(4096)) } : { method: 'POST', path: '/identity', body: '{}' }),
    () => ({ method: 'POST', path: '/ids', body: str(10) }),
  ];

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, rejectUnauthorized: false });
  const statuses = new Map<number, number>();
  const unexpected: string[] = [];
  let next = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const i = next++;
      const r = generators[i % generators.length]!(i);
      const a = await rawRequest(provider.cp.url, r.path, { method: r.method, body: r.body, agent, headers: r.headers });
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (a.status < 400 || a.status > 499) unexpected.push(`#${i} ${r.method} ${r.path} → ${a.status} ${a.text.slice(0, 200)}`);
    }
  }));
  agent.destroy();
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`${REQUESTS} requests in ${seconds.toFixed(1)} s (${Math.round(REQUESTS / seconds)}/s); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  assert.deepEqual(unexpected, [], unexpected.slice(0, 5).join('\n'));

  // Still up and ready, nothing signed, nothing granted in the log.
  assert.equal((await rawRequest(provider.cp.url, '/healthz', { method: 'GET' })).status, 200);
  assert.equal((await rawRequest(provider.cp.url, '/readyz', { method: 'GET' })).status, 200);
  const issued = await driversOf(provider.cp.runtime).ds.query('select count(*)::int as n from peerlog_issued_certificates') as { n: number }[];
  assert.equal(issued[0]!.n, 0);
  const events = await outboxEvents(provider.cp.runtime);
  assert.equal(events.filter((e) => e.type === 'CertIssued').length, 0);
  // Strangers' attempts are in the log, but leave no object in the cluster.
  await provider.cp.operator.idle();
  const fcs = await provider.kube.request<{ items: unknown[] }>('GET', `/apis/peering.peerlog.dev/v1alpha1/foreignclusters?labelSelector=${encodeURIComponent(`peerlog.dev/remote-cluster-id=${requester}`)}`);
  assert.equal(fcs.items.length, 0);
  t.diagnostic(`events recorded: ${JSON.stringify(events.reduce<Record<string, number>>((m, e) => ({ ...m, [e.type]: (m[e.type] ?? 0) + 1 }), {}))}`);
});
