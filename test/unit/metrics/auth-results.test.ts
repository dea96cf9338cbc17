// The labels an identity request's outcome is counted under; a field name the caller made up never
// becomes a label value (it would let anyone grow the exposition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authResultOf } from '../../../src/wiring/metrics.js';
import { virtualNodeStateOf, offloadedPodPhaseOf } from '../../../src/projections/metrics/gauges.js';
import type { OutgoingState } from '../../../src/commands/outgoing/state.js';

test('identity outcomes: issued, refused with the reason answered, rate_limited, failed', () => {
  assert.deepEqual(authResultOf({ status: 200, code: 'OK', reason: '', renewal: false }), { result: 'issued', reason: 'Identity' });
  assert.deepEqual(authResultOf({ status: 200, code: 'OK', reason: '', renewal: true }), { result: 'issued', reason: 'Renewal' });
  assert.deepEqual(authResultOf({ status: 401, code: 'TokenRejected', reason: 'TokenMismatch', renewal: false }), { result: 'refused', reason: 'TokenMismatch' });
  assert.deepEqual(authResultOf({ status: 403, code: 'PolicyRefused', reason: 'SubjectNotAllowed', renewal: false }), { result: 'refused', reason: 'SubjectNotAllowed' });
  assert.deepEqual(authResultOf({ status: 400, code: 'MalformedRequest', reason: 'csr', renewal: false }), { result: 'refused', reason: 'csr' });
  assert.deepEqual(authResultOf({ status: 400, code: 'MalformedRequest', reason: 'x-anything-at-all', renewal: false }), { result: 'refused', reason: 'unknownField' });
  assert.deepEqual(authResultOf({ status: 429, code: 'TooManyAttempts', reason: 'TooManyAttempts', renewal: false }), { result: 'rate_limited', reason: 'TooManyAttempts' });
  assert.deepEqual(authResultOf({ status: 503, code: 'CaExpiring', reason: 'CaExpiring', renewal: false }), { result: 'failed', reason: 'CaExpiring' });
});

test('virtual node states and offloaded pod phases as the gauges count them', () => {
  const identity = { publicKeyFingerprint: 'p', certFingerprint: 'c', notAfter: '2030-01-01T00:00:00Z', tenantNamespace: 't', apiServerUrl: 'https://x' };
  const remote = { clusterId: 'b', clusterName: 'b', authUrl: 'https://b' };
  const offer = { offerName: 'o', generation: 1, resources: {} };
  const s = (x: unknown) => x as OutgoingState;
  assert.equal(virtualNodeStateOf(s({ status: 'virtualNodeReady', remote, identity, offer, virtualNode: { nodeName: 'n', ready: true } })), 'Ready');
  assert.equal(virtualNodeStateOf(s({ status: 'virtualNodeReady', remote, identity: { ...identity, health: { ready: false, reason: 'Unreachable', message: 'm' } }, offer, virtualNode: { nodeName: 'n', ready: true } })), 'NotReady');
  assert.equal(virtualNodeStateOf(s({ status: 'virtualNodeCreated', remote, identity, offer, virtualNode: { nodeName: 'n', ready: false } })), 'NotReady');
  assert.equal(virtualNodeStateOf(s({ status: 'offerReceived', remote, identity, offer, accepted: { offer, virtualNode: { nodeName: 'n', ready: true } } })), 'Ready');
  assert.equal(virtualNodeStateOf(s({ status: 'offerReceived', remote, identity, offer, accepted: null })), null);
  assert.equal(virtualNodeStateOf(s({ status: 'unpeeringRequested', remote, identity, virtualNode: { nodeName: 'n', ready: true }, force: false, drain: true, cordoned: true, waiting: null })), 'Draining');
  assert.equal(virtualNodeStateOf(s({ status: 'unpeeringRequested', remote, identity, virtualNode: null, force: false, drain: true, cordoned: true, waiting: null })), null);
  assert.equal(virtualNodeStateOf(s({ status: 'offerAccepted', remote, identity, offer })), null);
  assert.equal(virtualNodeStateOf(s({ status: 'terminated', remote })), null);
  assert.equal(offloadedPodPhaseOf({ offloaded: true, phase: 'Running' }), 'Running');
  assert.equal(offloadedPodPhaseOf({ offloaded: true, phase: null }), 'Unknown');
  assert.equal(offloadedPodPhaseOf({ offloaded: false, phase: null }), 'NotOffloaded');
});
