import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { AUTH_STATUS, AuthRefusal, failureReasonOf } from '../../../src/auth/errors.js';
import { parseAuditKeyAnswer, parseIdentityRequest, parseIdentityResponse } from '../../../src/auth/protocol.js';
import { PeerlogError } from '../../../src/errors.js';

const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIBfake\n-----END CERTIFICATE REQUEST-----\n';
const TOKEN = 'x'.repeat(43);

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { clusterId: 'beta-7f3c', clusterName: 'beta', token: TOKEN, csr: CSR, validitySeconds: 86400, ...overrides };
}

function without(field: string): Record<string, unknown> {
  const r = request();
  delete r[field];
  return r;
}

/** Asserts that parsing `body` is refused as malformed, blaming `field`. */
function assertMalformed(body: unknown, field: string): void {
  assert.throws(() => parseIdentityRequest(body), (err: unknown) => {
    assert.ok(err instanceof AuthRefusal, `expected an AuthRefusal, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'MalformedRequest');
    assert.equal(err.reason, field);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    return true;
  });
}

describe('parseIdentityRequest', () => {
  describe('given a well-formed request', () => {
    it('returns every field as sent', () => {
      assert.deepEqual(parseIdentityRequest(request()), {
        clusterId: 'beta-7f3c', clusterName: 'beta', token: TOKEN, csr: CSR, validitySeconds: 86400,
      });
    });

    it('defaults the cluster name to the cluster id', () => {
      assert.equal(parseIdentityRequest(without('clusterName')).clusterName, 'beta-7f3c');
    });

    it('defaults the token to the empty string, for the token check to refuse', () => {
      assert.equal(parseIdentityRequest(without('token')).token, '');
    });

    it('keeps an empty token as sent', () => {
      assert.equal(parseIdentityRequest(request({ token: '' })).token, '');
    });

    it('leaves the validity out when none is asked', () => {
      const parsed = parseIdentityRequest(without('validitySeconds'));
      assert.equal('validitySeconds' in parsed, false);
    });

    it('accepts cluster ids with upper case, dots and underscores', () => {
      assert.equal(parseIdentityRequest(request({ clusterId: 'Prod.EU_west-1' })).clusterId, 'Prod.EU_west-1');
      assert.equal(parseIdentityRequest(request({ clusterId: 'a'.repeat(63) })).clusterId, 'a'.repeat(63));
    });
  });

  describe('body', () => {
    for (const [name, body] of [['null', null], ['an array', [request()]], ['a string', 'hello'], ['a number', 1], ['undefined', undefined]] as const) {
      it(`refuses ${name}`, () => assertMalformed(body, 'body'));
    }
  });

  describe('unknown fields', () => {
    it('refuses an unknown field, naming it', () => assertMalformed(request({ clusterID: 'beta' }), 'clusterID'));
    it('refuses it even when everything else is wrong too', () => assertMalformed({ admin: true }, 'admin'));
  });

  describe('clusterId', () => {
    const bad: ReadonlyArray<readonly [string, unknown]> = [
      ['missing', undefined],
      ['empty', ''],
      ['a number', 42],
      ['too long', 'a'.repeat(64)],
      ['starting with "-"', '-beta'],
      ['ending with "."', 'beta.'],
      ['holding a "/"', 'beta/7f3c'],
      ['holding a space', 'beta 7f3c'],
      ['holding a ":"', 'peerlog:cluster:beta'],
    ];
    for (const [name, clusterId] of bad) {
      it(`refuses a cluster id ${name}`, () => {
        assertMalformed(clusterId === undefined ? without('clusterId') : request({ clusterId }), 'clusterId');
      });
    }
  });

  describe('clusterName', () => {
    for (const [name, clusterName] of [['empty', ''], ['too long', 'n'.repeat(64)], ['a number', 7], ['null', null]] as const) {
      it(`refuses a cluster name ${name}`, () => assertMalformed(request({ clusterName }), 'clusterName'));
    }
    it('accepts 63 characters', () => {
      assert.equal(parseIdentityRequest(request({ clusterName: 'n'.repeat(63) })).clusterName, 'n'.repeat(63));
    });
    for (const clusterName of ['Alpha EU', 'Alpha', 'alpha_eu', 'alpha.eu', '-alpha', 'alpha-', 'é']) {
      it(`refuses ${JSON.stringify(clusterName)}: the log holds names to DNS labels`, () => assertMalformed(request({ clusterName }), 'clusterName'));
    }
    it('accepts DNS labels', () => {
      for (const clusterName of ['a', 'alpha-eu', '0', 'a1-b2']) assert.equal(parseIdentityRequest(request({ clusterName })).clusterName, clusterName);
    });
    it('refuses a missing name when the cluster id cannot stand for it', () => {
      const { clusterName: _omit, ...rest } = request({ clusterId: 'Beta_7F3C' });
      assertMalformed(rest, 'clusterName');
    });
  });

  describe('token', () => {
    for (const [name, token] of [['a number', 42], ['null', null], ['an object', { value: TOKEN }]] as const) {
      it(`refuses a token that is ${name}`, () => assertMalformed(request({ token }), 'token'));
    }
  });

  describe('csr', () => {
    const bad: ReadonlyArray<readonly [string, unknown]> = [
      ['missing', undefined],
      ['not a string', 12],
      ['not PEM', 'MIIBfake'],
      ['a certificate, not a request', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'],
    ];
    for (const [name, csr] of bad) {
      it(`refuses a CSR ${name}`, () => assertMalformed(csr === undefined ? without('csr') : request({ csr }), 'csr'));
    }
  });

  describe('validitySeconds', () => {
    const bad: ReadonlyArray<readonly [string, unknown]> = [
      ['zero', 0],
      ['negative', -1],
      ['not an integer', 1.5],
      ['a numeric string', '3600'],
      ['null', null],
      ['NaN', Number.NaN],
      ['infinite', Number.POSITIVE_INFINITY],
    ];
    for (const [name, validitySeconds] of bad) {
      it(`refuses a validity that is ${name}`, () => assertMalformed(request({ validitySeconds }), 'validitySeconds'));
    }
  });

  it('checks the fields in order: unknown field, clusterId, clusterName, token, csr, validitySeconds', () => {
    const allBad = { clusterId: '', clusterName: '', token: 1, csr: '', validitySeconds: 0 };
    assertMalformed({ ...allBad, extra: 1 }, 'extra');
    assertMalformed(allBad, 'clusterId');
    assertMalformed({ ...allBad, clusterId: 'beta' }, 'clusterName');
    assertMalformed({ ...allBad, clusterId: 'beta', clusterName: 'beta' }, 'token');
    assertMalformed({ ...allBad, clusterId: 'beta', clusterName: 'beta', token: TOKEN }, 'csr');
    assertMalformed({ ...allBad, clusterId: 'beta', clusterName: 'beta', token: TOKEN, csr: CSR }, 'validitySeconds');
  });

  it('never puts the presented token in a refusal', () => {
    const secret = 'S3cr3t'.repeat(8);
    assert.throws(() => parseIdentityRequest(request({ token: secret, csr: 'nope' })), (err: unknown) => {
      assert.ok(err instanceof AuthRefusal);
      assert.ok(!JSON.stringify(err.toJSON()).includes(secret));
      return true;
    });
  });
});

describe('parseIdentityResponse', () => {
  const response = {
    clusterId: 'alpha-01',
    clusterName: 'alpha',
    certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    caBundle: '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n',
    apiServerUrl: 'https://alpha.example:6443',
    tenantNamespace: 'peerlog-tenant-beta-7f3c',
    notAfter: '2026-01-01T00:00:00Z',
  };

  it('returns a complete response as is', () => {
    assert.deepEqual(parseIdentityResponse({ ...response }), response);
  });

  for (const field of Object.keys(response)) {
    it(`throws naming ${field} when it is missing`, () => {
      const partial: Record<string, unknown> = { ...response };
      delete partial[field];
      assert.throws(() => parseIdentityResponse(partial), new RegExp(`lacks ${field}$`));
    });

    it(`throws naming ${field} when it is empty or not a string`, () => {
      assert.throws(() => parseIdentityResponse({ ...response, [field]: '' }), new RegExp(`lacks ${field}$`));
      assert.throws(() => parseIdentityResponse({ ...response, [field]: 1 }), new RegExp(`lacks ${field}$`));
    });
  }

  it('throws naming the first field when the body is not an object', () => {
    for (const body of [null, undefined, 'ok', 3]) {
      assert.throws(() => parseIdentityResponse(body), /lacks clusterId$/);
    }
  });
});

describe('AuthRefusal', () => {
  it('carries the status of its code, its reason and a JSON body without the stack', () => {
    const refusal = new AuthRefusal('PolicyRefused', 'RsaKeyTooShort', 'RSA keys need at least 2048 bits');
    assert.ok(refusal instanceof PeerlogError);
    assert.equal(refusal.name, 'AuthRefusal');
    assert.equal(refusal.status, 403);
    assert.equal(refusal.retriable, false);
    assert.deepEqual(refusal.toJSON(), {
      error: { code: 'PolicyRefused', reason: 'RsaKeyTooShort', message: 'RSA keys need at least 2048 bits' },
    });
    assert.deepEqual(JSON.parse(JSON.stringify(refusal)), refusal.toJSON());
  });

  it('is retriable only for TooManyAttempts', () => {
    for (const code of Object.keys(AUTH_STATUS) as (keyof typeof AUTH_STATUS)[]) {
      assert.equal(new AuthRefusal(code, 'r', 'm').retriable, code === 'TooManyAttempts', code);
    }
  });

  it('takes its status from AUTH_STATUS for every code', () => {
    for (const [code, status] of Object.entries(AUTH_STATUS)) {
      assert.equal(new AuthRefusal(code as keyof typeof AUTH_STATUS, 'r', 'm').status, status);
    }
  });
});

describe('AUTH_STATUS', () => {
  it('maps each refusal code to its HTTP status', () => {
    assert.deepEqual({ ...AUTH_STATUS }, {
      MalformedRequest: 400,
      TokenRejected: 401,
      PolicyRefused: 403,
      IdentityConflict: 409,
      SubjectRequired: 409,
      PayloadTooLarge: 413,
      TooManyAttempts: 429,
    });
  });
});

describe('failureReasonOf', () => {
  const cases: ReadonlyArray<readonly [number, string]> = [
    [400, 'MalformedRequest'],
    [413, 'MalformedRequest'],
    [401, 'TokenRejected'],
    [403, 'PolicyRefused'],
    [409, 'IdentityConflict'],
    [429, 'TooManyAttempts'],
    [200, 'InvalidResponse'],
    [404, 'InvalidResponse'],
    [500, 'InvalidResponse'],
    [503, 'InvalidResponse'],
  ];
  for (const [status, reason] of cases) {
    it(`records ${status} as ${reason}`, () => assert.equal(failureReasonOf(status), reason));
  }

  it('is the inverse of AUTH_STATUS for every code a provider sends, but PayloadTooLarge and SubjectRequired', () => {
    // A SubjectRequired the consumer could not follow is recorded as the conflict it is (409).
    for (const [code, status] of Object.entries(AUTH_STATUS)) {
      assert.equal(failureReasonOf(status), code === 'PayloadTooLarge' ? 'MalformedRequest' : code === 'SubjectRequired' ? 'IdentityConflict' : code);
    }
  });
});

test('an /audit/key answer: every field checked, the PEM one PUBLIC KEY block', () => {
  const pem = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';
  const good = { clusterId: 'beta', algorithm: 'Ed25519', keyId: 'k1', publicKey: pem };
  assert.deepEqual(parseAuditKeyAnswer(good), good);
  assert.deepEqual(parseAuditKeyAnswer({ ...good, extra: 1 }), good);
  for (const [body, field] of [
    [null, 'clusterId'], ['text', 'clusterId'], [{ ...good, clusterId: '' }, 'clusterId'],
    [{ ...good, algorithm: 'RSA' }, 'algorithm'], [{ ...good, keyId: 7 }, 'keyId'],
    [{ ...good, publicKey: pem.replace('PUBLIC KEY', 'PRIVATE KEY') }, 'publicKey'],
    [{ ...good, publicKey: `${pem}${pem}` }, 'publicKey'], [{ ...good, publicKey: 'MCowBQYDK2VwAyEA' }, 'publicKey'],
  ] as const) {
    assert.throws(() => parseAuditKeyAnswer(body), (e: Error & { field?: string }) => e.name === 'ValidationError' && new RegExp(`^${field}:`).test(e.message), JSON.stringify(body).slice(0, 80));
  }
});
