// Every way an identity request can be wrong gets the right status and a JSON reason, no
// certificate, and the token (sent correctly in most of them) appears in no answer, log line,
// event or Kafka message. Failed attempts from one source are rate-limited with 429.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCsr, generateKeyPair } from '../../../src/adapters/x509/index.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { PEERS_GROUP } from '../../../src/resources/constants.js';
import { identityUserFor } from '../../../src/resources/names.js';
import { rawRequest, startProvider } from '../../support/auth.js';
import { outboxEvents, readTopic } from '../../support/core.js';
import { stackEnv, uniqueName } from '../../support/env.js';

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
  const cn = identityUserFor(requester);
  const ec = await generateKeyPair();
  const good = await createCsr({ commonName: cn, organizations: [PEERS_GROUP] }, ec);
  const body = (over: Record<string, unknown>) => JSON.stringify({ clusterId: requester, clusterName: requester, token: provider.token, csr: good, ...over });

  const cases: { name: string; body: string | Buffer; status: number; code: string; reason: string }[] = [
    { name: 'O=system:masters', body: body({ csr: await createCsr({ commonName: cn, organizations: ['system:masters'] }, ec) }), status: 403, code: 'PolicyRefused', reason: 'OrganizationNotAllowed' },
    // After the right token made the requester known: bad tokens for an unknown id leave no trace in the log.
    { name: 'wrong token', body: body({ token: 'A'.repeat(43) }), status: 401, code: 'TokenRejected', reason: 'TokenMismatch' },
    { name: 'no token', body: body({ token: undefined }), status: 401, code: 'TokenRejected', reason: 'TokenMissing' },
    { name: 'extra O values', body: body({ csr: await createCsr({ commonName: cn, organizations: [PEERS_GROUP, 'system:masters'] }, ec) }), status: 403, code: 'PolicyRefused', reason: 'OrganizationNotAllowed' },
    { name: 'CN of another cluster', body: body({ csr: await createCsr({ commonName: identityUserFor('someone-else'), organizations: [PEERS_GROUP] }, ec) }), status: 403, code: 'PolicyRefused', reason: 'CommonNameMismatch' },
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
  const issued = await provider.cp.runtime.ds.query('select count(*)::int as n from peerlog_issued_certificates') as { n: number }[];
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
  const csr = await createCsr({ commonName: identityUserFor(requester), organizations: [PEERS_GROUP] }, await generateKeyPair());
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
