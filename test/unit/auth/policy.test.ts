import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CSR_POLICY, POLICY_REASONS, checkCsr } from '../../../src/auth/policy.js';
import type { CsrFacts, CsrPolicy, PolicyReason, PolicyVerdict } from '../../../src/auth/policy.js';

const CLUSTER = 'beta-7f3c';
const DAY = 24 * 3600;

/** Facts of a well-formed P-256 CSR from CLUSTER; each test changes what it is about. */
function facts(overrides: Partial<CsrFacts> = {}): CsrFacts {
  return {
    subjectAttributes: [['CN', `peerlog:cluster:${CLUSTER}`], ['O', 'peerlog:peers']],
    signatureValid: true,
    keyAlgorithm: 'ECDSA',
    keyDetail: 'prime256v1',
    rsaBits: 0,
    rsaExponent: overrides.keyAlgorithm === 'RSA' ? 65537 : 0,
    requestedAttributes: [],
    ...overrides,
  };
}

function reasonOf(verdict: PolicyVerdict): PolicyReason | 'allowed' {
  return verdict.allowed ? 'allowed' : verdict.reason;
}

function assertRefused(verdict: PolicyVerdict, reason: PolicyReason): void {
  assert.equal(reasonOf(verdict), reason);
  assert.ok(!verdict.allowed && verdict.message.length > 0, 'a refusal carries a message');
}

describe('checkCsr', () => {
  describe('given a well-formed CSR', () => {
    const allowedKeys: ReadonlyArray<readonly [string, Partial<CsrFacts>]> = [
      ['ECDSA P-256', { keyAlgorithm: 'ECDSA', keyDetail: 'prime256v1' }],
      ['ECDSA P-384', { keyAlgorithm: 'ECDSA', keyDetail: 'secp384r1' }],
      ['Ed25519', { keyAlgorithm: 'Ed25519', keyDetail: 'Ed25519' }],
      ['RSA 4096', { keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits: 4096 }],
      ['RSA of exactly 2048 bits', { keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits: 2048 }],
    ];
    for (const [name, key] of allowedKeys) {
      it(`allows a ${name} key with the default validity when none is asked`, () => {
        assert.deepEqual(checkCsr(facts(key), CLUSTER, undefined), { allowed: true, validitySeconds: 90 * DAY });
      });
    }

    it('allows the asked validity within the policy, bounds included', () => {
      assert.deepEqual(checkCsr(facts(), CLUSTER, 30 * DAY), { allowed: true, validitySeconds: 30 * DAY });
      assert.deepEqual(checkCsr(facts(), CLUSTER, 600), { allowed: true, validitySeconds: 600 });
      assert.deepEqual(checkCsr(facts(), CLUSTER, 365 * DAY), { allowed: true, validitySeconds: 365 * DAY });
    });

    it('takes the default validity from the policy passed in', () => {
      const policy: CsrPolicy = { ...DEFAULT_CSR_POLICY, defaultValiditySeconds: 7 * DAY };
      assert.deepEqual(checkCsr(facts(), CLUSTER, undefined, policy), { allowed: true, validitySeconds: 7 * DAY });
    });

    it('accepts the subject attributes in either order', () => {
      const verdict = checkCsr(facts({ subjectAttributes: [['O', 'peerlog:peers'], ['CN', `peerlog:cluster:${CLUSTER}`]] }), CLUSTER, undefined);
      assert.equal(reasonOf(verdict), 'allowed');
    });
  });

  describe('CsrSignatureInvalid', () => {
    it('refuses a CSR whose signature does not verify', () => {
      assertRefused(checkCsr(facts({ signatureValid: false }), CLUSTER, undefined), 'CsrSignatureInvalid');
    });

    it('wins over every other fault', () => {
      const everythingWrong = facts({
        signatureValid: false,
        keyAlgorithm: 'other',
        keyDetail: 'DSA',
        subjectAttributes: [['CN', 'admin'], ['O', 'system:masters'], ['OU', 'x']],
      });
      assertRefused(checkCsr(everythingWrong, 'other-cluster', 0.5), 'CsrSignatureInvalid');
    });
  });

  describe('KeyTypeNotAllowed', () => {
    for (const curve of ['secp256k1', 'secp521r1', 'prime192v1', '']) {
      it(`refuses ECDSA on curve ${JSON.stringify(curve)}`, () => {
        assertRefused(checkCsr(facts({ keyAlgorithm: 'ECDSA', keyDetail: curve }), CLUSTER, undefined), 'KeyTypeNotAllowed');
      });
    }

    it('refuses the curve by its NIST name too (only the OpenSSL names are known)', () => {
      assertRefused(checkCsr(facts({ keyAlgorithm: 'ECDSA', keyDetail: 'P-256' }), CLUSTER, undefined), 'KeyTypeNotAllowed');
    });

    it('refuses any other key type', () => {
      assertRefused(checkCsr(facts({ keyAlgorithm: 'other', keyDetail: 'DSA' }), CLUSTER, undefined), 'KeyTypeNotAllowed');
      assertRefused(checkCsr(facts({ keyAlgorithm: 'other', keyDetail: '' }), CLUSTER, undefined), 'KeyTypeNotAllowed');
    });

    it('is checked before the subject', () => {
      const verdict = checkCsr(facts({ keyAlgorithm: 'other', keyDetail: 'Ed448', subjectAttributes: [['CN', 'admin']] }), CLUSTER, undefined);
      assertRefused(verdict, 'KeyTypeNotAllowed');
    });
  });

  describe('RSA keys beyond 2048..4096 bits with e = 65537', () => {
    const rsa = (rsaBits: number, rsaExponent: number): CsrFacts => facts({ keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits, rsaExponent });
    for (const e of [1, 3, 17, 65535, 65539, 2 ** 32 + 1, 0]) {
      it(`refuses the public exponent ${e}`, () => {
        const verdict = checkCsr(rsa(2048, e), CLUSTER, undefined);
        assertRefused(verdict, 'KeyTypeNotAllowed');
        assert.match((verdict as { message: string }).message, /exponent 65537, this one has \d+/);
      });
    }

    it('refuses 4097 and 8192 bits and allows 4096', () => {
      assertRefused(checkCsr(rsa(4097, 65537), CLUSTER, undefined), 'KeyTypeNotAllowed');
      const verdict = checkCsr(rsa(8192, 65537), CLUSTER, undefined);
      assertRefused(verdict, 'KeyTypeNotAllowed');
      assert.match((verdict as { message: string }).message, /at most 4096 bits, this one has 8192/);
      assert.equal(reasonOf(checkCsr(rsa(4096, 65537), CLUSTER, undefined)), 'allowed');
    });

    it('follows the maximum of the policy passed in', () => {
      const policy: CsrPolicy = { ...DEFAULT_CSR_POLICY, maxRsaBits: 3072 };
      assertRefused(checkCsr(rsa(4096, 65537), CLUSTER, undefined, policy), 'KeyTypeNotAllowed');
      assert.equal(reasonOf(checkCsr(rsa(3072, 65537), CLUSTER, undefined, policy)), 'allowed');
    });

    it('names the exponent before the size', () => {
      assertRefused(checkCsr(rsa(1024, 1), CLUSTER, undefined), 'KeyTypeNotAllowed');
    });
  });

  describe('RsaKeyTooShort', () => {
    it('refuses 2047 bits and allows 2048', () => {
      assertRefused(checkCsr(facts({ keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits: 2047 }), CLUSTER, undefined), 'RsaKeyTooShort');
      assert.equal(reasonOf(checkCsr(facts({ keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits: 2048 }), CLUSTER, undefined)), 'allowed');
    });

    it('refuses 1024 bits', () => {
      assertRefused(checkCsr(facts({ keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits: 1024 }), CLUSTER, undefined), 'RsaKeyTooShort');
    });

    it('follows the minimum of the policy passed in', () => {
      const policy: CsrPolicy = { ...DEFAULT_CSR_POLICY, minRsaBits: 3072 };
      const rsa = (rsaBits: number): CsrFacts => facts({ keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits });
      assertRefused(checkCsr(rsa(2048), CLUSTER, undefined, policy), 'RsaKeyTooShort');
      assert.equal(reasonOf(checkCsr(rsa(3072), CLUSTER, undefined, policy)), 'allowed');
    });

    it('is checked before the subject', () => {
      const verdict = checkCsr(facts({ keyAlgorithm: 'RSA', keyDetail: 'RSA', rsaBits: 1024, subjectAttributes: [] }), CLUSTER, undefined);
      assertRefused(verdict, 'RsaKeyTooShort');
    });
  });

  describe('CommonNameMismatch', () => {
    const cases: ReadonlyArray<readonly [string, CsrFacts['subjectAttributes']]> = [
      ['the CN lacks the prefix', [['CN', CLUSTER], ['O', 'peerlog:peers']]],
      ['the CN names another cluster', [['CN', 'peerlog:cluster:gamma'], ['O', 'peerlog:peers']]],
      // The lifetime is the provider's to choose: a CSR that picks one (an earlier lifetime's user) is refused.
      ['the CN names an identity lifetime', [['CN', `peerlog:cluster:${CLUSTER}:1`], ['O', 'peerlog:peers']]],
      ['the CN differs only in case', [['CN', `peerlog:cluster:${CLUSTER.toUpperCase()}`], ['O', 'peerlog:peers']]],
      ['there are two CNs', [['CN', `peerlog:cluster:${CLUSTER}`], ['CN', `peerlog:cluster:${CLUSTER}`], ['O', 'peerlog:peers']]],
      ['a correct CN comes with another', [['CN', `peerlog:cluster:${CLUSTER}`], ['CN', 'admin'], ['O', 'peerlog:peers']]],
      ['there is no CN', [['O', 'peerlog:peers']]],
      ['the subject is empty', []],
    ];
    for (const [name, subjectAttributes] of cases) {
      it(`refuses when ${name}`, () => {
        assertRefused(checkCsr(facts({ subjectAttributes }), CLUSTER, undefined), 'CommonNameMismatch');
      });
    }

    it('refuses a CSR that is right for another cluster than the requesting one', () => {
      assertRefused(checkCsr(facts(), 'gamma', undefined), 'CommonNameMismatch');
    });

    it('names the expected CN in its message', () => {
      const verdict = checkCsr(facts({ subjectAttributes: [['CN', 'admin'], ['O', 'peerlog:peers']] }), CLUSTER, undefined);
      assert.ok(!verdict.allowed);
      assert.match(verdict.message, /peerlog:cluster:beta-7f3c/);
    });

    it('is checked before the organisation and other attributes', () => {
      const verdict = checkCsr(facts({ subjectAttributes: [['CN', 'admin'], ['O', 'system:masters'], ['OU', 'x']] }), CLUSTER, undefined);
      assertRefused(verdict, 'CommonNameMismatch');
    });
  });

  describe('a CN the provider asks for (signing through the Kubernetes CSR API)', () => {
    const asked = `peerlog:cluster:${CLUSTER}:4`;
    it('is allowed when it is the one asked for, and the plain name still is', () => {
      assert.equal(reasonOf(checkCsr(facts({ subjectAttributes: [['CN', asked], ['O', 'peerlog:peers']] }), CLUSTER, undefined, DEFAULT_CSR_POLICY, { commonNames: [asked] })), 'allowed');
      assert.equal(reasonOf(checkCsr(facts(), CLUSTER, undefined, DEFAULT_CSR_POLICY, { commonNames: [asked] })), 'allowed');
    });
    it('refuses another lifetime than the one asked for', () => {
      const verdict = checkCsr(facts({ subjectAttributes: [['CN', `peerlog:cluster:${CLUSTER}:3`], ['O', 'peerlog:peers']] }), CLUSTER, undefined, DEFAULT_CSR_POLICY, { commonNames: [asked] });
      assertRefused(verdict, 'CommonNameMismatch');
      assert.ok(!verdict.allowed && verdict.message.includes(asked));
    });
  });

  describe('CsrAttributesNotAllowed', () => {
    it('refuses a CSR with an extension request (the CSR API signer would honour its subject alternative names)', () => {
      assertRefused(checkCsr(facts({ requestedAttributes: ['extensionRequest'] }), CLUSTER, undefined), 'CsrAttributesNotAllowed');
    });
    it('refuses a challenge password too, and allows none', () => {
      assertRefused(checkCsr(facts({ requestedAttributes: ['challengePassword'] }), CLUSTER, undefined), 'CsrAttributesNotAllowed');
      assert.equal(reasonOf(checkCsr(facts({ requestedAttributes: [] }), CLUSTER, undefined)), 'allowed');
    });
  });

  describe('OrganizationNotAllowed', () => {
    const cn = ['CN', `peerlog:cluster:${CLUSTER}`] as const;
    const cases: ReadonlyArray<readonly [string, CsrFacts['subjectAttributes']]> = [
      ['O is system:masters', [cn, ['O', 'system:masters']]],
      ['system:masters comes with the peers group', [cn, ['O', 'peerlog:peers'], ['O', 'system:masters']]],
      ['an extra O comes with the peers group', [cn, ['O', 'peerlog:peers'], ['O', 'developers']]],
      ['the peers group is given twice', [cn, ['O', 'peerlog:peers'], ['O', 'peerlog:peers']]],
      ['there is no O', [cn]],
      ['O is some other group', [cn, ['O', 'system:nodes']]],
    ];
    for (const [name, subjectAttributes] of cases) {
      it(`refuses when ${name}`, () => {
        assertRefused(checkCsr(facts({ subjectAttributes }), CLUSTER, undefined), 'OrganizationNotAllowed');
      });
    }

    it('is checked before other attributes and validity', () => {
      assertRefused(checkCsr(facts({ subjectAttributes: [cn, ['OU', 'x']] }), CLUSTER, 1), 'OrganizationNotAllowed');
    });
  });

  describe('SubjectNotAllowed', () => {
    const base = [['CN', `peerlog:cluster:${CLUSTER}`], ['O', 'peerlog:peers']] as const;
    for (const type of ['OU', 'C', 'L', 'emailAddress']) {
      it(`refuses a subject with ${type}`, () => {
        assertRefused(checkCsr(facts({ subjectAttributes: [...base, [type, 'x']] }), CLUSTER, undefined), 'SubjectNotAllowed');
      });
    }

    it('names the offending attribute types once each', () => {
      const verdict = checkCsr(facts({ subjectAttributes: [...base, ['OU', 'a'], ['OU', 'b'], ['C', 'FR']] }), CLUSTER, undefined);
      assert.ok(!verdict.allowed);
      assert.equal(verdict.reason, 'SubjectNotAllowed');
      assert.match(verdict.message, /OU, C$/);
    });

    it('is checked before validity', () => {
      assertRefused(checkCsr(facts({ subjectAttributes: [...base, ['OU', 'x']] }), CLUSTER, 1), 'SubjectNotAllowed');
    });
  });

  describe('ValidityBeyondPolicy', () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ['longer than the maximum', 365 * DAY + 1],
      ['ten years', 10 * 365 * DAY],
      ['shorter than the minimum', 599],
      ['zero', 0],
      ['negative', -600],
      ['not an integer', 3600.5],
      ['NaN', Number.NaN],
      ['infinite', Number.POSITIVE_INFINITY],
    ];
    for (const [name, seconds] of cases) {
      it(`refuses a validity that is ${name}`, () => {
        assertRefused(checkCsr(facts(), CLUSTER, seconds), 'ValidityBeyondPolicy');
      });
    }

    it('follows the bounds of the policy passed in, including for the default', () => {
      const policy: CsrPolicy = { ...DEFAULT_CSR_POLICY, maxValiditySeconds: 30 * DAY };
      assertRefused(checkCsr(facts(), CLUSTER, 31 * DAY, policy), 'ValidityBeyondPolicy');
      assertRefused(checkCsr(facts(), CLUSTER, undefined, policy), 'ValidityBeyondPolicy');
    });
  });

  describe('given a CSR that asks for more than its subject and key', () => {
    const asks: ReadonlyArray<readonly [string, readonly string[]]> = [
      ['subject alternative names', ['subjectAltName']],
      ['a CA certificate', ['basicConstraints']],
      ['server usage', ['extendedKeyUsage']],
      ['several extensions', ['subjectAltName', 'keyUsage']],
      ['a challenge password', ['challengePassword']],
      ['an unknown attribute', ['1.3.6.1.4.1.99999.1']],
    ];
    for (const [name, requested] of asks) {
      it(`refuses one asking for ${name}, naming what it asks for`, () => {
        const verdict = checkCsr(facts({ requestedAttributes: requested }), CLUSTER, undefined);
        assertRefused(verdict, 'CsrAttributesNotAllowed');
        for (const r of requested) assert.ok(!verdict.allowed && verdict.message.includes(r), `the message names ${r}`);
      });
    }
  });

  it('every policy reason is reachable', () => {
    const cn = ['CN', `peerlog:cluster:${CLUSTER}`] as const;
    const o = ['O', 'peerlog:peers'] as const;
    const reached = new Set([
      reasonOf(checkCsr(facts({ signatureValid: false }), CLUSTER, undefined)),
      reasonOf(checkCsr(facts({ keyAlgorithm: 'other' }), CLUSTER, undefined)),
      reasonOf(checkCsr(facts({ keyAlgorithm: 'RSA', rsaBits: 1024 }), CLUSTER, undefined)),
      reasonOf(checkCsr(facts({ subjectAttributes: [o] }), CLUSTER, undefined)),
      reasonOf(checkCsr(facts({ subjectAttributes: [cn] }), CLUSTER, undefined)),
      reasonOf(checkCsr(facts({ subjectAttributes: [cn, o, ['OU', 'x']] }), CLUSTER, undefined)),
      reasonOf(checkCsr(facts({ requestedAttributes: ['subjectAltName'] }), CLUSTER, undefined)),
      reasonOf(checkCsr(facts(), CLUSTER, 1)),
      reasonOf(checkCsr(facts({ requestedAttributes: ['extensionRequest'] }), CLUSTER, undefined)),
    ]);
    assert.deepEqual([...reached].sort(), [...POLICY_REASONS].sort());
  });
});
