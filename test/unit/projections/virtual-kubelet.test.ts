// The node a consumer's view wants: none without a node, the offer in force, the provider's health.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { desiredNode } from '../../../src/projections/virtual-kubelet/index.js';
import type { OutgoingView } from '../../../src/projections/views/view.js';
import { OFFER_2, OUT, OUTGOING_STEPS, envelopes, fold, t } from './fixtures.js';

const viewAfter = (n: number, extra: Parameters<typeof envelopes>[1] = []): OutgoingView =>
  fold(envelopes(OUT, [...OUTGOING_STEPS.slice(0, n), ...extra])) as OutgoingView;
const NODE = { nodeName: 'peerlog-beta-7f3c', remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta' };

describe('desiredNode', () => {
  it('no node without a view, or before VirtualNodeCreated', () => {
    assert.equal(desiredNode(undefined), undefined);
    assert.equal(desiredNode(viewAfter(3)), undefined);
    assert.equal(desiredNode(viewAfter(6)), undefined);
  });

  it('a node created: the accepted offer\'s resources, Ready since its creation', () => {
    assert.deepEqual(desiredNode(viewAfter(7)), { ...NODE, resources: { cpu: '4', memory: '8Gi', pods: '110' }, health: { ready: true }, readySince: t(7) });
  });

  it('an update received over a running node: the resources of the offer in force, not the pending one', () => {
    assert.deepEqual(desiredNode(viewAfter(8, [['OfferReceived', OFFER_2]])), {
      ...NODE, resources: { cpu: '4', memory: '8Gi', pods: '110' }, health: { ready: true }, readySince: t(7),
    });
  });

  it('the update accepted: its resources', () => {
    assert.deepEqual(desiredNode(viewAfter(8, [['OfferReceived', OFFER_2], ['OfferAccepted', OFFER_2]]))?.resources, { cpu: '6', memory: '12Gi', pods: '110' });
  });

  it('the provider not answering: not Ready, with its reason and message, since that event', () => {
    assert.deepEqual(desiredNode(viewAfter(9)), {
      ...NODE, resources: { cpu: '4', memory: '8Gi', pods: '110' },
      health: { ready: false, reason: 'ProviderUnreachable', message: 'connect ECONNREFUSED 127.0.0.1:6443' }, readySince: t(9),
    });
  });

  it('an identity the provider refuses: not Ready with that reason', () => {
    assert.deepEqual(desiredNode(viewAfter(8, [['ProviderHealthChanged', { ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403' }]]))?.health, {
      ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403',
    });
  });

  it('the provider answering again: Ready, since that event', () => {
    assert.deepEqual(desiredNode(viewAfter(10)), { ...NODE, resources: { cpu: '4', memory: '8Gi', pods: '110' }, health: { ready: true }, readySince: t(10) });
  });
});
