// What the consumer's view replicates to the provider: the ResourceRequest, then the acceptance or
// refusal on the provider's offer. Expected objects are written out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutgoingState } from '../../../src/commands/outgoing/state.js';
import { forgeConsumerReplicas } from '../../../src/projections/replication/index.js';
import type { OutgoingView } from '../../../src/projections/views/view.js';
import { OFFER_1, OFFER_2, OUT, OUTGOING_STEPS, envelopes, fold } from './fixtures.js';

const CONSUMER = { clusterId: 'alpha-01', clusterName: 'alpha' };
const stateAfter = (n: number, extra: Parameters<typeof envelopes>[1] = []): OutgoingState =>
  (fold(envelopes(OUT, [...OUTGOING_STEPS.slice(0, n), ...extra])) as OutgoingView).state;

const REQUEST = {
  apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
  metadata: { name: 'peerlog-request', namespace: 'peerlog-tenant-alpha-01', labels: { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-01' } },
  spec: { clusterId: 'alpha-01', clusterName: 'alpha' },
};
const offerStatus = (status: Record<string, unknown>) => ({
  apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceOffer', metadata: { name: 'offer-beta-7f3c', namespace: 'peerlog-tenant-alpha-01' }, status,
});

describe('forgeConsumerReplicas', () => {
  it('nothing before resources are requested', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, { status: 'empty' }), []);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(2)), []);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(3)), []);
  });

  it('resources requested, or an offer received and not decided: the request only', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(4)), [REQUEST]);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(5)), [REQUEST]);
  });

  it('an offer accepted: the request and the acceptance, without a node', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(6)), [REQUEST, offerStatus({ phase: 'Accepted', acceptedGeneration: 1 })]);
  });

  it('a node running on the accepted offer: the acceptance names it', () => {
    const withNode = offerStatus({ phase: 'Accepted', acceptedGeneration: 1, virtualNode: 'peerlog-beta-7f3c' });
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(7)), [REQUEST, withNode]);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(10)), [REQUEST, withNode]);
  });

  it('an update received over a running node: the acceptance in force stays (generation 1)', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(8, [['OfferReceived', OFFER_2]])), [
      REQUEST, offerStatus({ phase: 'Accepted', acceptedGeneration: 1, virtualNode: 'peerlog-beta-7f3c' }),
    ]);
  });

  it('an offer refused: the request and the refusal', () => {
    const refused = stateAfter(5, [['OfferRefused', { offerName: OFFER_1.offerName, generation: 1, reason: 'InsufficientResources' }]]);
    assert.equal(refused.status, 'offerRefused');
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, refused), [REQUEST, offerStatus({ phase: 'Refused', acceptedGeneration: 1 })]);
  });

  it('unpeering: nothing is kept at the provider', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(8, [['UnpeeringRequested', { force: false }]])), []);
  });
});
