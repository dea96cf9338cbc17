// Every way an identity request can be wrong gets the right status and a JSON reason, no
// certificate, and the token (sent correctly in most of them) appears in no answer, log line,
// event or Kafka message. Failed attempts from one source are rate-limited with 429.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsr, generateKeyPair } from '../../../src/adapters/x509/index.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityCommonNameFor } from '../../../src/resources/names.js';
import { caKeyOf, rawRequest, startProvider } from '../../support/auth.js';
import { outboxEvents, readTopic } from '../../support/core.js';
import { stackEnv, uniqueName } from '../../support/env.js';
import { driversOf } from '../../../src/runtime.js';

/** A CSR whose signature no longer matches its content: the last byte of the signature flipped. */
function tamper(csrPem: string): string {
  const b64 = csrPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const der = Buffer.from(b64, 'base64');
  der[der.length - 1] = der[der.length - 1]! ^ 0x01;
  const lines = der.toString('base64').match(/.{1,64}/g)!;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

test('refusals: 400, 401, 403, 413 with JSON reasons; no certificate; the token leaks nowhere', async (t) => {
  const provider = await startProvider({ prefix: 'refuse' });
  const requester = uniqueName('req');
  t.after(() => provider.cleanup([requester]));
  const cn = identityCommonNameFor(requester);
  const ec = await generateKeyPair();
  const good = await createCsr({ commonName: cn, organizations: [PEERS_GROUP] }, ec);
  const body = (over: Record<string, unknown>) => JSON.stringify({ clusterId: requester, clusterName: requester, token: provider.token, csr: good, ...over });

  const cases: { name: string; body: string | Buffer; status: number; code: string; reason: string }[] = [
    { name: 'O=system:masters', body: body({ csr: await createCsr({ commonName: cn, organizations: ['system:masters'] }, ec) }), status: 403, code: 'PolicyRefused', reason: 'OrganizationNotAllowed' },
    // After the right token made the requester known: bad tokens for an unknown id leave no trace in the log.
    { name: 'wrong token', body: body({ token: 'A'.repeat(43) }), status: 401, code: 'TokenRejected', reason: 'TokenMismatch' },
    { name: 'no token', body: body({ token: undefined }), status: 401, code: 'TokenRejected', reason: 'TokenMissing' },
    { name: 'extra O values', body: body({ csr: await createCsr({ commonName: cn, organizations: [PEERS_GROUP, 'system:masters'] }, ec) }), status: 403, code: 'PolicyRefused', reason: 'OrganizationNotAllowed' },
    { name: 'CN of another cluster', body: body({ csr: await createCsr({ commonName: identityCommonNameFor('someone-else'), organizations: [PEERS_GROUP] }, ec) }), status: 403, code: 'PolicyRefused', reason: 'CommonNameMismatch' },
    { name: 'CN without the prefix', body: body({ csr: await createCsr({ commonName: requester, organizations: [PEERS_GROUP] }, ec) }), status: 403, code: 'PolicyRefused', reason: 'CommonNameMismatch' },
    { name: 'extra subject attributes', body: body({ csr: await createCsr([{ CN: [cn] }, { O: [PEERS_GROUP] }, { OU: ['admins'] }], ec) }), status: 403, code: 'PolicyRefused', reason: 'SubjectNotAllowed' },
    { name: 'signature not matching its key', body: body({ csr: tamper(good) }), status: 403, code: 'PolicyRefused', reason: 'CsrSignatureInvalid' },
    { name: 'RSA 1024', body: body({ csr: await createCsr({ commonName: cn, organizations: [PEERS_GROUP] }, await generateKeyPair({ rsaBits: 1024 })) }), status: 403, code: 'PolicyRefused', reason: 'RsaKeyTooShort' },
    { name: 'validity beyond policy', body: body({ validitySeconds: 10 * 365 * 86400 }), status: 403, code: 'PolicyRefused', reason: 'ValidityBeyondPolicy' },
    { name: 'malformed JSON', body: body({}).slice(0, 40), status: 400, code: 'MalformedRequest', reason: 'body' },
    { name: 'JSON array', body: '[1,2]', status: 400, code: 'MalformedRequest', reason: 'body' },
    { name: 'malformed PEM', body: body({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n' }), status: 400, code: 'MalformedRequest', reason: 'csr' },
    { name: 'not a PEM at all', body: body({ csr: 'hello' }), status: 400, code: 'MalformedRequest', reason: 'csr' },
    { name: 'bad cluster id', body: body({ clusterId: '../etc' }), status: 400, code: 'MalformedRequest', reason: 'clusterId' },
    { name: 'unknown field', body: body({ admin: true }), status: 400, code: 'MalformedRequest', reason: 'admin' },
    { name: 'oversized body', body: body({ csr: good + ' '.repeat(70 * 1024) }), status: 413, code: 'PayloadTooLarge', reason: 'body' },
  ];
  const answers: string[] = [];
  for (const c of cases) {
    const a = await rawRequest(provider.cp.url, '/identity', { body: c.body, headers: { 'content-type': 'application/json' } });
    answers.push(a.text);
    assert.equal(a.status, c.status, `${c.name}: ${a.text}`);
    assert.match(String(a.headers['content-type']), /application\/json/, c.name);
    const err = (JSON.parse(a.text) as { error: { code: string; reason: string; message: string } }).error;
    assert.deepEqual([err.code, err.reason], [c.code, c.reason], `${c.name}: ${err.message}`);
    assert.ok(err.message.length > 0);
  }

  // Nothing was signed, the log says who tried what, and the token is nowhere.
  const issued = await driversOf(provider.cp.runtime).ds.query('select count(*)::int as n from peerlog_issued_certificates') as { n: number }[];
  assert.equal(issued[0]!.n, 0);
  const events = await outboxEvents(provider.cp.runtime);
  assert.ok(!events.some((e) => e.type === 'CertIssued'));
  assert.deepEqual(events.filter((e) => e.type === 'TokenRejected').map((e) => (e.data as { reason: string }).reason), ['TokenMismatch', 'TokenMissing']);
  const messages = await readTopic(stackEnv().kafkaBrokers, topicFor(provider.config.clusterId), events.length);
  const haystacks = { answers, logs: provider.logs.lines, events: events.map((e) => JSON.stringify(e)), kafka: messages.map((m) => `${m.key} ${m.value} ${JSON.stringify(m.headers)}`) };
  for (const [where, texts] of Object.entries(haystacks)) {
    assert.ok(texts.length > 0, `${where} is empty: the search would prove nothing`);
    for (const text of texts) assert.ok(!text.includes(provider.token), `the token appears in ${where}: ${text.slice(0, 200)}`);
  }
  t.diagnostic(`searched ${answers.length} answers, ${provider.logs.lines.length} log lines, ${events.length} events, ${messages.length} Kafka messages`);
});

test('failed attempts are rate-limited per source: 429 with Retry-After, even for a then-correct request', async (t) => {
  const provider = await startProvider({ prefix: 'limit', burst: 3 });
  const requester = uniqueName('req');
  t.after(() => provider.cleanup([requester]));
  const csr = await createCsr({ commonName: identityCommonNameFor(requester), organizations: [PEERS_GROUP] }, await generateKeyPair());
  const post = (token: string) => rawRequest(provider.cp.url, '/identity', { body: JSON.stringify({ clusterId: requester, token, csr }) });
  for (let i = 0; i < 3; i++) assert.equal((await post('B'.repeat(43))).status, 401);
  const limited = await post('B'.repeat(43));
  assert.equal(limited.status, 429);
  assert.equal(JSON.parse(limited.text).error.code, 'TooManyAttempts');
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.equal((await post(provider.token)).status, 429, 'a locked-out source waits even with the right token');
  // Probes and ids are not rate-limited.
  assert.equal((await rawRequest(provider.cp.url, '/healthz', { method: 'GET' })).status, 200);
  assert.equal((await rawRequest(provider.cp.url, '/ids', { method: 'GET' })).status, 200);
});

// ---- RSA keys outside e = 65537 and 2048..4096 bits (M6) ------------------------------------------

/** DER: a tag and its content. */
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const unsigned = (b: Buffer) => tlv(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const toPem = (der: Buffer, label: string) => `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

/**
 * A CSR for a "key" whose public exponent is 1, built byte by byte. With e = 1, RSA verification
 * computes s^1 mod n = s, so the PKCS#1 v1.5 encoded digest itself is a valid signature: anyone
 * can produce one, for a modulus whose factors nobody knows.
 */
function forgedExponentOneCsr(cn: string, org: string): string {
  const modulus = randomBytes(256);
  modulus[0] = modulus[0]! | 0x80;
  modulus[255] = modulus[255]! | 0x01;
  const spki = seq(seq(oid('2a864886f70d010101'), tlv(0x05)), tlv(0x03, Buffer.from([0]), seq(unsigned(modulus), unsigned(Buffer.from([1])))));
  const name = seq(tlv(0x31, seq(oid('550403'), utf8(cn))), tlv(0x31, seq(oid('55040a'), utf8(org))));
  const info = seq(tlv(0x02, Buffer.from([0])), name, spki, tlv(0xa0));
  const digestInfo = seq(seq(oid('608648016503040201'), tlv(0x05)), tlv(0x04, createHash('sha256').update(info).digest()));
  const em = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(256 - 3 - digestInfo.length, 0xff), Buffer.from([0]), digestInfo]);
  const der = seq(info, seq(oid('2a864886f70d01010b'), tlv(0x05)), tlv(0x03, Buffer.from([0]), em));
  return toPem(der, 'CERTIFICATE REQUEST');
}

/** A real RSA key from openssl (e = 3, or 8192 bits from 5 primes, which is quick) and its CSR. */
function opensslRsaCsr(dir: string, name: string, opts: string[], subject: string): string {
  const key = join(dir, `${name}.key`);
  const run = (args: string[]) => { const r = spawnSync('openssl', args, { encoding: 'utf8' }); assert.equal(r.status, 0, r.stderr); return r.stdout; };
  run(['genpkey', '-algorithm', 'RSA', ...opts.flatMap((o) => ['-pkeyopt', o]), '-out', key]);
  return run(['req', '-new', '-key', key, '-sha256', '-subj', subject]);
}

test('RSA keys with e = 1 (a forged proof of possession), e = 3 or 8192 bits: 403 KeyTypeNotAllowed, nothing issued', async (t) => {
  const provider = await startProvider({ prefix: 'rsa' });
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-rsa-'));
  const requester = uniqueName('req');
  t.after(async () => { rmSync(dir, { recursive: true, force: true }); await provider.cleanup([requester]); });
  const cn = identityCommonNameFor(requester);
  const subject = `/CN=${cn}/O=${PEERS_GROUP}`;
  const forged = forgedExponentOneCsr(cn, PEERS_GROUP);
  // openssl itself finds the forged signature valid, with exponent 1: the CSR is well formed.
  const check = spawnSync('openssl', ['req', '-noout', '-verify', '-text'], { input: forged, encoding: 'utf8' });
  assert.match(check.stdout + check.stderr, /verify OK|Certificate request self-signature verify OK/);
  assert.match(check.stdout, /Exponent: 1 \(0x1\)/);
  const cases = [
    ['e = 1, forged', forged, /exponent 65537, this one has 1\b/],
    ['e = 3', opensslRsaCsr(dir, 'e3', ['rsa_keygen_bits:2048', 'rsa_keygen_pubexp:3'], subject), /exponent 65537, this one has 3\b/],
    ['8192 bits', opensslRsaCsr(dir, 'big', ['rsa_keygen_bits:8192', 'rsa_keygen_primes:5'], subject), /at most 4096 bits, this one has 8192/],
  ] as const;
  for (const [name, csr, message] of cases) {
    const a = await rawRequest(provider.cp.url, '/identity', { body: JSON.stringify({ clusterId: requester, clusterName: requester, token: provider.token, csr }) });
    assert.equal(a.status, 403, `${name}: ${a.text}`);
    const err = (JSON.parse(a.text) as { error: { code: string; reason: string; message: string } }).error;
    assert.deepEqual([err.code, err.reason], ['PolicyRefused', 'KeyTypeNotAllowed'], `${name}: ${err.message}`);
    assert.match(err.message, message, name);
  }
  const issued = await driversOf(provider.cp.runtime).ds.query('select count(*)::int as n from peerlog_issued_certificates') as { n: number }[];
  assert.equal(issued[0]!.n, 0);
  assert.ok(!(await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'CertIssued'));
});

// ---- names (L2) ------------------------------------------------------------------------------------

test('a cluster name the log would refuse gets 400 clusterName before the token is looked at: same answer with a wrong token, nothing recorded', async (t) => {
  // The CA-key signer: the last request is one plain CSR, answered at once (the CSR API's would name the lifetime's CN first).
  const provider = await startProvider({ prefix: 'names', settings: { caKey: caKeyOf('beta') } });
  const requester = uniqueName('req');
  t.after(() => provider.cleanup([requester]));
  const csr = await createCsr({ commonName: identityCommonNameFor(requester), organizations: [PEERS_GROUP] }, await generateKeyPair());
  const cases: [string, Record<string, unknown>][] = [
    ['"Alpha EU", right token', { clusterId: requester, clusterName: 'Alpha EU', token: provider.token }],
    ['"Alpha EU", wrong token', { clusterId: requester, clusterName: 'Alpha EU', token: 'C'.repeat(43) }],
    ['uppercase name', { clusterId: requester, clusterName: 'Alpha', token: 'C'.repeat(43) }],
    ['64 characters', { clusterId: requester, clusterName: 'a'.repeat(64), token: provider.token }],
    ['no name, and an id that is not a DNS label', { clusterId: 'Alpha_EU', token: 'C'.repeat(43) }],
  ];
  for (const [name, body] of cases) {
    const a = await rawRequest(provider.cp.url, '/identity', { body: JSON.stringify({ csr, ...body }) });
    assert.equal(a.status, 400, `${name}: ${a.text}`);
    const err = (JSON.parse(a.text) as { error: { code: string; reason: string; message: string } }).error;
    assert.deepEqual([err.code, err.reason], ['MalformedRequest', 'clusterName'], `${name}: ${err.message}`);
  }
  assert.deepEqual(await outboxEvents(provider.cp.runtime), [], 'no TokenValidated, no TokenRejected: the token was never checked');
  // The same request with a DNS-label name is served.
  const ok = await rawRequest(provider.cp.url, '/identity', { body: JSON.stringify({ csr, clusterId: requester, clusterName: 'alpha-eu', token: provider.token }) });
  assert.equal(ok.status, 200, ok.text);
});

test('a CSR asking for names, a CA bit or server usage (written by openssl) gets 403 CsrAttributesNotAllowed, and two CSRs in one PEM 400; nothing issued', async (t) => {
  // The CA-key signer, so that the last step's plain CSR is signed at once (the CSR API's signer
  // would first answer 409 SubjectRequired for a CSR without its lifetime's CN).
  const provider = await startProvider({ prefix: 'refattr', settings: { caKey: caKeyOf('beta') } });
  const requester = uniqueName('req');
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-csr-'));
  t.after(async () => { rmSync(dir, { recursive: true, force: true }); await provider.cleanup([requester]); });
  const key = join(dir, 'k.pem');
  assert.equal(spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]).status, 0);
  const csr = (extra: string[]) => {
    const r = spawnSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=peerlog:cluster:${requester}/O=peerlog:peers`, ...extra], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const plain = csr([]);
  const cases: { name: string; csr: string; status: number; reason: string }[] = [
    { name: 'subjectAltName', csr: csr(['-addext', 'subjectAltName=DNS:kubernetes.default,IP:10.0.0.1']), status: 403, reason: 'CsrAttributesNotAllowed' },
    { name: 'basicConstraints CA:TRUE', csr: csr(['-addext', 'basicConstraints=critical,CA:TRUE']), status: 403, reason: 'CsrAttributesNotAllowed' },
    { name: 'extendedKeyUsage serverAuth', csr: csr(['-addext', 'extendedKeyUsage=serverAuth']), status: 403, reason: 'CsrAttributesNotAllowed' },
    { name: 'two CSRs in one PEM', csr: plain + plain, status: 400, reason: 'csr' },
    { name: 'text after the CSR', csr: `${plain}trailing text\n`, status: 400, reason: 'csr' },
  ];
  for (const c of cases) {
    const a = await rawRequest(provider.cp.url, '/identity', {
      body: JSON.stringify({ clusterId: requester, clusterName: requester, token: provider.token, csr: c.csr }), headers: { 'content-type': 'application/json' },
    });
    const err = (JSON.parse(a.text) as { error?: { reason: string } }).error;
    assert.deepEqual([a.status, err?.reason], [c.status, c.reason], `${c.name}: ${a.text.slice(0, 300)}`);
  }
  const issued = await driversOf(provider.cp.runtime).ds.query('select count(*)::int as n from peerlog_issued_certificates') as { n: number }[];
  assert.equal(issued[0]!.n, 0);
  assert.ok(!(await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'CertIssued'));
  // The same key's CSR with nothing asked is the consumer's ordinary one, and is signed.
  const ok = await rawRequest(provider.cp.url, '/identity', {
    body: JSON.stringify({ clusterId: requester, clusterName: requester, token: provider.token, csr: plain }), headers: { 'content-type': 'application/json' },
  });
  assert.equal(ok.status, 200, ok.text.slice(0, 300));
});
