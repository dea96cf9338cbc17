// The withdrawal notice of a forced unpeering: its statement, its wire shape, and how a provider
// answers it (over in-memory ports, with real keys signed and verified by node:crypto).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { acceptWithdrawal, type ProviderPorts, type StoredCertificate } from '../../../src/auth/provider.js';
import { AuthRefusal } from '../../../src/auth/errors.js';
import { parseWithdrawalAnswer, parseWithdrawalRequest, withdrawalStatement } from '../../../src/auth/withdrawal.js';
import type { IncomingCommand } from '../../../src/commands/incoming/commands.js';
import type { IncomingState } from '../../../src/commands/incoming/state.js';
import { createLogger } from '../../../src/adapters/log/index.js';

const FP = 'a'.repeat(64);
const SIGNED_AT = '2026-12-03T09:00:00.000Z';

describe('withdrawalStatement', () => {
  it('binds the protocol version, both cluster ids, the certificate and the time, one per line', () => {
    assert.equal(
      withdrawalStatement({ providerClusterId: 'beta', consumerClusterId: 'alpha', certFingerprint: FP, signedAt: SIGNED_AT }),
      `peerlog-withdrawal-v1\nbeta\nalpha\n${FP}\n2026-12-03T09:00:00.000Z`,
    );
  });
});

describe('parseWithdrawalRequest', () => {
  const good = { clusterId: 'alpha', certFingerprint: FP, signedAt: SIGNED_AT, signature: 'c2lnbmVk' };

  it('takes a well-formed notice as it is', () => {
    assert.deepEqual(parseWithdrawalRequest(good), good);
  });

  it('refuses anything else with 400 and the field named', () => {
    const cases: [unknown, string][] = [
      [[], 'body'],
      ['text', 'body'],
      [{ ...good, token: 'x' }, 'token'],
      [{ ...good, clusterId: '../etc' }, 'clusterId'],
      [{ ...good, certFingerprint: 'A'.repeat(64) }, 'certFingerprint'],
      [{ ...good, certFingerprint: 'a'.repeat(63) }, 'certFingerprint'],
      [{ ...good, signedAt: 'yesterday' }, 'signedAt'],
      [{ ...good, signature: '' }, 'signature'],
      [{ ...good, signature: 'not base64!' }, 'signature'],
      [{ ...good, signature: 'A'.repeat(2049) }, 'signature'],
    ];
    for (const [body, field] of cases) {
      assert.throws(() => parseWithdrawalRequest(body), (e: unknown) => e instanceof AuthRefusal && e.status === 400 && e.reason === field, JSON.stringify(body).slice(0, 80));
    }
  });

  it('reads the provider\'s answer, and nothing else, as an outcome', () => {
    assert.equal(parseWithdrawalAnswer({ outcome: 'Revoked' }), 'Revoked');
    assert.equal(parseWithdrawalAnswer({ outcome: 'AlreadyEnded' }), 'AlreadyEnded');
    assert.equal(parseWithdrawalAnswer({ outcome: 'Refused' }), undefined);
    assert.equal(parseWithdrawalAnswer(null), undefined);
  });
});

describe('acceptWithdrawal', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // The provider stores the PEM it issued; here a stand-in whose public key verifies: the ports
  // take the PEM to the verifier, which this test backs with the key pair itself.
  const stored: StoredCertificate = { certFingerprint: FP, remoteClusterId: 'alpha', publicKeyFingerprint: 'b'.repeat(64), serialNumber: '01', notAfter: '2027-01-01T00:00:00.000Z', pem: 'PEM' };
  const statement = withdrawalStatement({ providerClusterId: 'beta', consumerClusterId: 'alpha', certFingerprint: FP, signedAt: SIGNED_AT });
  const signature = sign(null, Buffer.from(statement), privateKey).toString('base64');
  const identity = { certFingerprint: FP, publicKeyFingerprint: 'b'.repeat(64), serialNumber: '01', notAfter: '2027-01-01T00:00:00.000Z', tenantNamespace: 'peerlog-tenant-alpha', lifetime: 1 };

  function ports(state: IncomingState, sent: string[]): ProviderPorts {
    return {
      ids: { clusterId: 'beta', clusterName: 'beta' },
      findCertificate: async (fp: string) => (fp === FP ? stored : undefined),
      verifyProof: (_pem: string, s: string, sig: string) => verify(null, Buffer.from(s), publicKey, Buffer.from(sig, 'base64')),
      loadIncoming: async () => state,
      handleIncoming: async (_remote: string, c: IncomingCommand) => { sent.push(`${c.type}:${(c.data as { reason: string }).reason}:${c.metadata.actor.kind}:${c.metadata.actor.name}`); return { events: [], version: 0 } as never; },
      now: () => new Date('2026-12-03T09:01:00.000Z'),
      newId: () => '00000000-0000-4000-8000-000000000000',
      logger: createLogger({ level: 'error', write: () => undefined }),
    } as unknown as ProviderPorts;
  }
  const offered = { status: 'offered', remote: { clusterId: 'alpha', clusterName: 'alpha' }, identity, requestName: 'peerlog-request', offer: { offerName: 'beta-offer', resources: { cpu: '1', memory: '1Gi', pods: '10' } } } as unknown as IncomingState;

  it('a notice signed by the current identity\'s key: the offer withdrawn, then the identity revoked, both by the consumer', async () => {
    const sent: string[] = [];
    assert.deepEqual(await acceptWithdrawal(ports(offered, sent), { clusterId: 'alpha', certFingerprint: FP, signedAt: SIGNED_AT, signature }), { outcome: 'Revoked' });
    assert.deepEqual(sent, ['WithdrawOffer:ResourceRequestWithdrawn:remote-cluster:alpha', 'RevokeIdentity:ConsumerUnpeered:remote-cluster:alpha']);
  });

  it('the identity already ended (revoked, or replaced since): AlreadyEnded, and nothing is sent', async () => {
    const sent: string[] = [];
    const revoked = { status: 'revoked', remote: { clusterId: 'alpha', clusterName: 'alpha' }, lastLifetime: 1 } as unknown as IncomingState;
    assert.deepEqual(await acceptWithdrawal(ports(revoked, sent), { clusterId: 'alpha', certFingerprint: FP, signedAt: SIGNED_AT, signature }), { outcome: 'AlreadyEnded' });
    const replaced = { ...offered, identity: { ...identity, certFingerprint: 'd'.repeat(64) } } as unknown as IncomingState;
    assert.deepEqual(await acceptWithdrawal(ports(replaced, sent), { clusterId: 'alpha', certFingerprint: FP, signedAt: SIGNED_AT, signature }), { outcome: 'AlreadyEnded' });
    assert.deepEqual(sent, []);
  });

  it('refused with 403, and nothing sent: another signer, another time than signed, an unknown certificate, another consumer\'s', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const cases: [Record<string, string>, string][] = [
      [{ signature: sign(null, Buffer.from(statement), other).toString('base64') }, 'WithdrawalSignatureInvalid'],
      [{ signedAt: '2026-12-03T09:00:01.000Z' }, 'WithdrawalSignatureInvalid'],
      [{ certFingerprint: 'e'.repeat(64) }, 'UnknownCertificate'],
      [{ clusterId: 'gamma' }, 'UnknownCertificate'],
    ];
    for (const [change, reason] of cases) {
      const sent: string[] = [];
      await assert.rejects(acceptWithdrawal(ports(offered, sent), { clusterId: 'alpha', certFingerprint: FP, signedAt: SIGNED_AT, signature, ...change }), (e: unknown) => e instanceof AuthRefusal && e.status === 403 && e.reason === reason, reason);
      assert.deepEqual(sent, [], JSON.stringify(change));
    }
  });
});
