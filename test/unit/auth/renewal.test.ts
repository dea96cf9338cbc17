import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiServerUrlProblem } from '../../../src/auth/consumer.js';
import { parseIdentityRequest } from '../../../src/auth/protocol.js';
import { renewalDueAt, renewalStatement } from '../../../src/auth/renewal.js';
import { parseCertificates } from '../../../src/auth/wire.js';

describe('renewalDueAt', () => {
  it('is at two thirds of the lifetime by default, or at the fraction given', () => {
    const from = new Date('2026-01-01T00:00:00.000Z');
    const to = new Date('2026-01-01T00:01:30.000Z');
    assert.equal(renewalDueAt(from, to).toISOString(), '2026-01-01T00:01:00.000Z');
    assert.equal(renewalDueAt(from, to, 0.5).toISOString(), '2026-01-01T00:00:45.000Z');
    assert.equal(renewalDueAt(from, new Date('2026-04-01T00:00:00.000Z')).toISOString(), '2026-03-02T00:00:00.000Z');
  });

  it('is notAfter itself for a certificate whose notBefore is after its notAfter', () => {
    assert.equal(renewalDueAt(new Date('2026-02-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z')).toISOString(), '2026-01-01T00:00:00.000Z');
  });
});

describe('renewalStatement', () => {
  it('binds the protocol version, both cluster ids, the current certificate and the new CSR, one per line', () => {
    const s = renewalStatement({ providerClusterId: 'beta', consumerClusterId: 'alpha', certFingerprint: 'a'.repeat(64), csrPem: '\n-----BEGIN CERTIFICATE REQUEST-----\nMII\n-----END CERTIFICATE REQUEST-----\n' });
    assert.equal(s, `peerlog-renewal-v1\nbeta\nalpha\n${'a'.repeat(64)}\n-----BEGIN CERTIFICATE REQUEST-----\nMII\n-----END CERTIFICATE REQUEST-----`);
  });
});

describe('apiServerUrlProblem', () => {
  it('accepts https URLs with a host, and a path', () => {
    for (const url of ['https://127.0.0.1:6443', 'https://beta.example', 'https://[::1]:6443/', 'https://lb.example/k8s']) assert.equal(apiServerUrlProblem(url), null, url);
  });

  it('refuses other schemes, credentials, queries, fragments and non-URLs', () => {
    const cases: [string, RegExp][] = [
      ['http://169.254.169.254/latest', /must be https/],
      ['file:///etc/passwd', /must be https/],
      ['unix:///var/run/docker.sock', /must be https/],
      ['https://admin:pw@10.0.0.1', /credentials/],
      ['https://user@10.0.0.1', /credentials/],
      ['https://10.0.0.1/?x=1', /query or a fragment/],
      ['https://10.0.0.1/#x', /query or a fragment/],
      ['not a url', /is not a URL/],
      [`https://a.example/${'x'.repeat(2100)}`, /longer than 2048/],
    ];
    for (const [url, why] of cases) assert.match(apiServerUrlProblem(url) ?? 'accepted', why, url);
  });
});

describe('parseCertificates', () => {
  it('refuses text that is not only PEM certificates', () => {
    assert.throws(() => parseCertificates('not a certificate'), /no PEM block/);
    assert.throws(() => parseCertificates('-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n'), /not a CERTIFICATE/);
    assert.throws(() => parseCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /does not parse/);
    assert.throws(() => parseCertificates('x'.repeat(300 * 1024)), /256 KiB/);
  });
});

describe('parseIdentityRequest: renewal', () => {
  const base = { clusterId: 'alpha', csr: '-----BEGIN CERTIFICATE REQUEST-----' };
  it('keeps a well-formed proof and needs no token', () => {
    const req = parseIdentityRequest({ ...base, renewal: { certFingerprint: 'b'.repeat(64), signature: 'MEUCIQ==' } });
    assert.deepEqual(req.renewal, { certFingerprint: 'b'.repeat(64), signature: 'MEUCIQ==' });
    assert.equal(req.token, '');
  });

  it('refuses a malformed proof with the field at fault', () => {
    const field = (renewal: unknown) => { try { parseIdentityRequest({ ...base, renewal }); return 'accepted'; } catch (e) { return (e as { reason: string }).reason; } };
    assert.equal(field('x'), 'renewal');
    assert.equal(field({ certFingerprint: 'b'.repeat(64), signature: 'AA==', extra: 1 }), 'renewal');
    assert.equal(field({ certFingerprint: 'B'.repeat(64), signature: 'AA==' }), 'renewal.certFingerprint');
    assert.equal(field({ certFingerprint: 'b'.repeat(64), signature: 'not base64!' }), 'renewal.signature');
  });
});
