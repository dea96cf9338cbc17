// Typed work keys, the retry rule of a failed authentication, and the name of the provider's offer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeKey, encodeKey } from '../../../src/operator/keys.js';
import { isRetriableFailure } from '../../../src/operator/consumer.js';
import { offerNameFor } from '../../../src/operator/provider.js';

describe('work keys', () => {
  it('encode to the strings the queue coalesces on', () => {
    assert.equal(encodeKey({ kind: 'foreignCluster', name: 'beta' }), 'fc/beta');
    assert.equal(encodeKey({ kind: 'resourceRequest', namespace: 'peerlog-tenant-alpha-01', name: 'peerlog-request' }), 'rr/peerlog-tenant-alpha-01/peerlog-request');
    assert.equal(encodeKey({ kind: 'virtualNode', remoteClusterId: 'beta-7f3c' }), 'node/beta-7f3c');
  });

  it('decode back to the same keys', () => {
    assert.deepEqual(decodeKey('fc/beta'), { kind: 'foreignCluster', name: 'beta' });
    assert.deepEqual(decodeKey('rr/peerlog-tenant-alpha-01/peerlog-request'), { kind: 'resourceRequest', namespace: 'peerlog-tenant-alpha-01', name: 'peerlog-request' });
    assert.deepEqual(decodeKey('node/beta-7f3c'), { kind: 'virtualNode', remoteClusterId: 'beta-7f3c' });
  });

  it('refuse what no key encodes to', () => {
    for (const s of ['', 'fc', 'fc/a/b', 'rr/ns', 'rr/ns/name/x', 'node/a/b', 'status/beta', 'fc:beta', 'outgoing:beta']) {
      assert.equal(decodeKey(s), undefined, JSON.stringify(s));
    }
  });
});

describe('isRetriableFailure', () => {
  it('retries what may pass by itself: no answer, too many attempts, 429 and 5xx', () => {
    assert.equal(isRetriableFailure({ reason: 'Unreachable', httpStatus: null }), true);
    assert.equal(isRetriableFailure({ reason: 'TooManyAttempts', httpStatus: 429 }), true);
    assert.equal(isRetriableFailure({ reason: 'InvalidResponse', httpStatus: 429 }), true);
    assert.equal(isRetriableFailure({ reason: 'InvalidResponse', httpStatus: 500 }), true);
    assert.equal(isRetriableFailure({ reason: 'InvalidResponse', httpStatus: 503 }), true);
  });

  it('does not retry a refusal: a rejected token or a policy says the same until something changes', () => {
    assert.equal(isRetriableFailure({ reason: 'TokenRejected', httpStatus: 401 }), false);
    assert.equal(isRetriableFailure({ reason: 'PolicyRefused', httpStatus: 403 }), false);
    assert.equal(isRetriableFailure({ reason: 'InvalidResponse', httpStatus: 499 }), false);
    assert.equal(isRetriableFailure({ reason: 'InvalidResponse', httpStatus: null }), false);
  });
});

describe('offerNameFor', () => {
  it('names the offer after the provider cluster, as a DNS-safe name', () => {
    assert.equal(offerNameFor('alpha-01'), 'offer-alpha-01');
    assert.equal(offerNameFor('Alpha_01.eu'), 'offer-alpha-01-eu');
    assert.equal(offerNameFor('x'.repeat(300)), `offer-${'x'.repeat(247)}`);
  });
});
