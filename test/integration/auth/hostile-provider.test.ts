// L1: the consumer trusts a provider's answer only as far as it can check it. A hostile endpoint
// (a local HTTPS server playing the provider) that streams 2 GB steadily, drips bytes forever, or
// answers 200 with an API server URL, a CA bundle or a tenant namespace the consumer must not use,
// gets a clear refusal: bounded memory, a total deadline, AuthenticationFailed with the reason, and
// nothing stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSelfSignedCa, createSelfSignedServerCert, inspectCsr, issueCertificate,
} from '../../../src/adapters/x509/index.js';
import { postIdentityRequest } from '../../../src/adapters/http/auth-client.js';
import { readIdentity } from '../../../src/adapters/kubernetes/secrets.js';
import { PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityCommonNameFor, tenantNamespaceFor } from '../../../src/resources/names.js';
import { openConsumer, type TestProvider } from '../../support/auth.js';
import { outboxEvents } from '../../support/core.js';
import { uniqueName } from '../../support/env.js';

type Behaviour = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, body: string) => void;

async function hostileServer(behaviour: Behaviour): Promise<{ url: string; certPem: string; keyPem: string; server: Server; sent: () => number }> {
  const now = Date.now();
  const tls = await createSelfSignedServerCert({ commonName: 'hostile', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
  let sent = 0;
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => behaviour(req, res, body));
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer, ...rest: never[]) => { sent += chunk.length; return write(chunk, ...rest); }) as typeof res.write;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, certPem: tls.certPem, keyPem: tls.keyPem, server, sent: () => sent };
}

/** 2 GB in 256 KiB chunks as fast as the socket takes them: steady, so no idle timeout ever fires. */
const stream2GB = (contentType: string): Behaviour => (_req, res) => {
  res.writeHead(200, { 'content-type': contentType });
  const chunk = Buffer.alloc(256 * 1024, 0x20);
  let left = 2 * 1024 ** 3;
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      left -= chunk.length;
      if (!res.write(chunk)) { res.once('drain', pump); return; }
    }
    if (left <= 0) res.end();
  };
  res.on('error', () => undefined);
  pump();
};

function child(mode: 'identity' | 'kube' | 'watch', url: string, caFile: string): Promise<{ outcome: string; code?: string; message?: string; maxRss: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--max-old-space-size=256', join(process.cwd(), 'dist/test/support/hostile-child.js'), mode, url, caFile]);
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const killer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('exit', (code, signal) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop();
      if (!line) { reject(new Error(`the child ended (${code ?? signal}) without an answer: ${err.slice(-500)}`)); return; }
      resolve(JSON.parse(line) as never);
    });
  });
}

test('an endpoint streaming 2 GB: the identity request and the remote kube client give up at their size limits, RSS bounded', async (t) => {
  const hostile = await hostileServer(stream2GB('application/json'));
  t.after(() => { hostile.server.closeAllConnections(); hostile.server.close(); });
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-l1-'));
  writeFileSync(join(dir, 'ca.pem'), hostile.certPem);
  writeFileSync(join(dir, 'ca.pem.key'), hostile.keyPem);

  for (const mode of ['identity', 'kube'] as const) {
    const r = await child(mode, hostile.url, join(dir, 'ca.pem'));
    t.diagnostic(`${mode}: ${r.outcome} ${r.code ?? ''} after ${r.ms} ms, max RSS ${(r.maxRss / 2 ** 20).toFixed(0)} MiB: ${r.message ?? ''}`);
    assert.equal(r.outcome, 'error');
    assert.ok(r.maxRss < 200 * 2 ** 20, `${mode}: RSS reached ${(r.maxRss / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(r.ms < 10_000, `${mode}: gave up only after ${r.ms} ms`);
    assert.match(r.message!, mode === 'identity' ? /more than the 262144 bytes/ : /exceeds 4194304 bytes/);
  }
  assert.ok(hostile.sent() < 512 * 2 ** 20, `the server got to send ${hostile.sent()} bytes`);
});

test('a remote kube-apiserver whose offer watch streams one endless line: the watch gives up at its line limit, RSS bounded', async (t) => {
  const stream = stream2GB('application/json');
  const hostile = await hostileServer((req, res, body) => {
    if (req.url?.includes('watch=true')) { stream(req, res, body); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceOfferList', metadata: { resourceVersion: '1' }, items: [] }));
  });
  t.after(() => { hostile.server.closeAllConnections(); hostile.server.close(); });
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-l1-'));
  writeFileSync(join(dir, 'ca.pem'), hostile.certPem);
  writeFileSync(join(dir, 'ca.pem.key'), hostile.keyPem);
  const r = await child('watch', hostile.url, join(dir, 'ca.pem'));
  t.diagnostic(`watch: ${r.outcome} ${r.code ?? ''} after ${r.ms} ms, max RSS ${(r.maxRss / 2 ** 20).toFixed(0)} MiB: ${r.message ?? ''}`);
  assert.equal(r.outcome, 'error');
  assert.ok(r.maxRss < 200 * 2 ** 20, `RSS reached ${(r.maxRss / 2 ** 20).toFixed(0)} MiB`);
  assert.match(r.message!, /a line exceeds 4194304 bytes/);
  assert.ok(hostile.sent() < 512 * 2 ** 20, `the server got to send ${hostile.sent()} bytes`);
});

test('an endpoint dripping a byte every 200 ms is cut off at the total deadline, not kept open by the idle timeout', async (t) => {
  const hostile = await hostileServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const drip = setInterval(() => { if (res.destroyed) clearInterval(drip); else res.write(' '); }, 200);
    res.on('close', () => clearInterval(drip));
  });
  t.after(() => { hostile.server.closeAllConnections(); hostile.server.close(); });
  const started = Date.now();
  const outcome = await Promise.race([
    postIdentityRequest(hostile.url, { clusterId: 'alpha', clusterName: 'alpha', token: 'x'.repeat(43), csr: 'csr' }, undefined, 2_000).then(() => 'answered', (e: Error) => e.message),
    new Promise<string>((r) => setTimeout(() => r('still waiting after 10 s'), 10_000)),
  ]);
  assert.match(outcome, /no complete answer within 2000 ms/);
  assert.ok(Date.now() - started < 5_000);
});

test('a provider answering with a non-https or credentialed API server URL, a non-PEM CA or another tenant namespace is refused, and nothing is stored', async (t) => {
  const consumer = await openConsumer('l1c');
  const ca = await createSelfSignedCa('hostile-ca', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
  const cases = [
    { name: 'http', patch: { apiServerUrl: 'http://169.254.169.254/latest/meta-data' }, reason: 'ApiServerUrlNotAllowed' },
    { name: 'userinfo', patch: { apiServerUrl: 'https://admin:secret@10.0.0.1:6443' }, reason: 'ApiServerUrlNotAllowed' },
    { name: 'scheme', patch: { apiServerUrl: 'file:///etc/passwd' }, reason: 'ApiServerUrlNotAllowed' },
    { name: 'ca', patch: { caBundle: 'not a certificate' }, reason: 'CaBundleInvalid' },
    { name: 'tenant', patch: { tenantNamespace: 'kube-system' }, reason: 'TenantNamespaceMismatch' },
    { name: 'big', patch: null, reason: 'AnswerTooLarge' },
  ] as const;
  const ids = cases.map((c) => uniqueName(`hostile-${c.name}`));
  const servers: Server[] = [];
  t.after(async () => {
    for (const s of servers) { s.closeAllConnections(); s.close(); }
    await consumer.cleanup(ids);
  });

  for (const [i, c] of cases.entries()) {
    const clusterId = ids[i]!;
    const hostile = await hostileServer((req, res, body) => {
      if (req.url === '/ids') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ clusterId, clusterName: 'hostile' })); return; }
      if (c.patch === null) { stream2GB('application/json')(req, res, body); return; }
      void (async () => {
        // A certificate that is right in every way the consumer checks first: its key, its CN.
        const csr = await inspectCsr((JSON.parse(body) as { csr: string }).csr);
        const certificate = await issueCertificate({
          subject: { commonName: identityCommonNameFor(consumer.config.clusterId), organizations: [PEERS_GROUP] }, publicKey: csr.publicKeyDer,
          caCertPem: ca.certPem, caKeys: ca.keys, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000), usage: 'client',
        });
        const answer = {
          clusterId, clusterName: 'hostile', certificate, caBundle: ca.certPem, apiServerUrl: 'https://127.0.0.1:6443',
          tenantNamespace: tenantNamespaceFor(consumer.config.clusterId), notAfter: new Date(Date.now() + 3_600_000).toISOString(), ...c.patch,
        };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      })();
    });
    servers.push(hostile.server);
    const provider = { config: { clusterId, clusterName: 'hostile' }, cp: { url: hostile.url }, token: 'T'.repeat(43) } as unknown as TestProvider;
    await assert.rejects(consumer.obtain(provider), (e: { code?: string; reason?: string; message?: string }) => {
      assert.equal(e.code, 'AuthenticationFailed', `${c.name}: ${e.message}`);
      assert.equal(e.reason, c.reason, `${c.name}: ${e.message}`);
      return true;
    });
    const stored = await readIdentity(consumer.kube, tenantNamespaceFor(clusterId));
    assert.equal(stored?.certPem, undefined, `${c.name}: a certificate was stored`);
  }
  const failures = (await outboxEvents(consumer.rt)).filter((e) => e.type === 'AuthenticationFailed');
  assert.equal(failures.length, cases.length);
  assert.ok(failures.every((e) => (e.data as { reason: string }).reason === 'InvalidResponse'));
  assert.equal((await outboxEvents(consumer.rt)).filter((e) => e.type === 'CertIssued').length, 0);
});
