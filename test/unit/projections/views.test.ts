// The per-stream view folded from the log: state, version, conditions stamped with the times of the
// events that changed their status, and readySince. Expected values are written out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventEnvelope } from '../../../src/events/envelope.js';
import { PEERING_KINDS, foldView, viewKindOf, type IncomingView, type OutgoingView, type PeeringView } from '../../../src/projections/views/view.js';
import {
  AUTH_URL, CERT, IDENTITY, IN, INCOMING_STEPS, KEY, NODE, NOT_AFTER, OFFER_1, OUT, OUTGOING_STEPS, REMOTE_ID, REMOTE_STATE,
  envelopes, fold as foldAny, t,
} from './fixtures.js';

/** The fold of a peering stream: never a pods view, so its conditions can be read. */
function fold(events: readonly EventEnvelope[], from?: PeeringView): OutgoingView | IncomingView | undefined {
  const view = foldAny(events, from);
  assert.notEqual(view?.kind, 'pods');
  return view as OutgoingView | IncomingView | undefined;
}

const ISSUED = { type: 'Authenticated', status: 'True', reason: 'IdentityIssued', message: 'identity valid until 2026-03-01T12:00:00.000Z, tenant namespace peerlog-tenant-alpha-01 at https://127.0.0.1:6443' };
const NO_NODE = { type: 'VirtualNodeReady', status: 'False', reason: 'NoVirtualNode', message: 'no virtual node for this peering', lastTransitionTime: t(1) };

describe('foldView, outgoing', () => {
  const all = envelopes(OUT, OUTGOING_STEPS);

  it('while authenticating: Unknown conditions stamped with the first event, no readySince', () => {
    assert.deepEqual(fold(all.slice(0, 2)), {
      kind: 'outgoing', remoteClusterId: REMOTE_ID, version: 2, updatedAt: t(2), readySince: null,
      state: {
        status: 'identityRequested', remote: REMOTE_STATE, publicKeyFingerprint: KEY, csrFingerprint: 'b'.repeat(64),
      },
      conditions: [
        { type: 'Authenticated', status: 'Unknown', reason: 'Authenticating', message: 'asking the provider at https://127.0.0.1:7443 for an identity', lastTransitionTime: t(1) },
        { type: 'OutgoingPeering', status: 'Unknown', reason: 'Authenticating', message: 'peering in progress: Authenticating', lastTransitionTime: t(1) },
        NO_NODE,
      ],
    });
  });

  it('a node created, not Ready: reasons move on, times stay where the status last changed; readySince is the creation', () => {
    const view = fold(all.slice(0, 7));
    assert.deepEqual(view?.conditions, [
      { ...ISSUED, lastTransitionTime: t(3) },
      { type: 'OutgoingPeering', status: 'Unknown', reason: 'VirtualNodeCreated', message: 'peering in progress: VirtualNodeCreated', lastTransitionTime: t(1) },
      { type: 'VirtualNodeReady', status: 'False', reason: 'NodeStarting', message: 'node peerlog-beta-7f3c created, not Ready yet', lastTransitionTime: t(1) },
    ]);
    assert.equal(view?.kind === 'outgoing' && view.readySince, t(7));
  });

  it('the provider unreachable: the node is not Ready since that event, the peering stays established', () => {
    const view = fold(all.slice(0, 9));
    assert.deepEqual(view?.conditions, [
      { ...ISSUED, lastTransitionTime: t(3) },
      { type: 'OutgoingPeering', status: 'True', reason: 'Established', message: 'virtual node peerlog-beta-7f3c offers 4 CPU, 8Gi memory, 110 pods', lastTransitionTime: t(8) },
      { type: 'VirtualNodeReady', status: 'False', reason: 'ProviderUnreachable', message: 'node peerlog-beta-7f3c: connect ECONNREFUSED 127.0.0.1:6443', lastTransitionTime: t(9) },
    ]);
    assert.equal(view?.kind === 'outgoing' && view.readySince, t(9));
  });

  it('the whole sequence: state, version, conditions with the times of the events that changed them, readySince', () => {
    assert.deepEqual(fold(all), {
      kind: 'outgoing', remoteClusterId: REMOTE_ID, version: 10, updatedAt: t(10), readySince: t(10),
      state: {
        status: 'virtualNodeReady', remote: REMOTE_STATE,
        identity: { ...IDENTITY, health: { ready: true, reason: null, message: null } },
        offer: OFFER_1, virtualNode: { nodeName: NODE, ready: true },
      },
      conditions: [
        { ...ISSUED, lastTransitionTime: t(3) },
        { type: 'OutgoingPeering', status: 'True', reason: 'Established', message: 'virtual node peerlog-beta-7f3c offers 4 CPU, 8Gi memory, 110 pods', lastTransitionTime: t(8) },
        { type: 'VirtualNodeReady', status: 'True', reason: 'NodeReady', message: 'node peerlog-beta-7f3c is Ready', lastTransitionTime: t(10) },
      ],
    });
  });

  it('folding the same events again from scratch gives the same view', () => {
    assert.deepEqual(fold(all), fold(envelopes(OUT, OUTGOING_STEPS)));
    assert.deepEqual(fold(all.slice(5)!, fold(all.slice(0, 5))), fold(all));
  });

  it('blocked before anything was sent: False with the blocker\'s reason and message', () => {
    const message = 'secret peerlog/beta-token is not bound to cluster beta-7f3c; nothing was sent';
    assert.deepEqual(fold(envelopes(OUT, [['PeeringBlocked', { reason: 'TokenSecretNotAllowed', message }]])), {
      kind: 'outgoing', remoteClusterId: REMOTE_ID, version: 1, updatedAt: t(1), readySince: null,
      state: { status: 'blocked', reason: 'TokenSecretNotAllowed', message, remote: null },
      conditions: [
        { type: 'Authenticated', status: 'False', reason: 'TokenSecretNotAllowed', message, lastTransitionTime: t(1) },
        { type: 'OutgoingPeering', status: 'False', reason: 'TokenSecretNotAllowed', message: `nothing was sent to the provider: ${message}`, lastTransitionTime: t(1) },
        NO_NODE,
      ],
    });
  });

  it('blocked during an attempt: Unknown turns False at the blocking event', () => {
    const view = fold(envelopes(OUT, [OUTGOING_STEPS[0]!, ['PeeringBlocked', { reason: 'TokenMalformed', message: 'not a peerlog token' }]]));
    assert.deepEqual(view?.conditions, [
      { type: 'Authenticated', status: 'False', reason: 'TokenMalformed', message: 'not a peerlog token', lastTransitionTime: t(2) },
      { type: 'OutgoingPeering', status: 'False', reason: 'TokenMalformed', message: 'nothing was sent to the provider: not a peerlog token', lastTransitionTime: t(2) },
      NO_NODE,
    ]);
  });

  it('authentication failed, endpoint unreachable: ProviderUnreachable, "<authUrl>: <message>"', () => {
    const view = fold(envelopes(OUT, [
      OUTGOING_STEPS[0]!, OUTGOING_STEPS[1]!,
      ['AuthenticationFailed', { reason: 'Unreachable', httpStatus: null, authUrl: AUTH_URL, detail: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:7443' }],
    ]));
    assert.deepEqual(view?.conditions, [
      { type: 'Authenticated', status: 'False', reason: 'ProviderUnreachable', message: 'https://127.0.0.1:7443: connect ECONNREFUSED 127.0.0.1:7443', lastTransitionTime: t(3) },
      { type: 'OutgoingPeering', status: 'False', reason: 'ProviderUnreachable', message: 'authentication failed: https://127.0.0.1:7443: connect ECONNREFUSED 127.0.0.1:7443', lastTransitionTime: t(3) },
      NO_NODE,
    ]);
  });

  it('authentication refused: AuthenticationFailed with the provider\'s words, or its status when a v1 event has none', () => {
    const refused = fold(envelopes(OUT, [
      OUTGOING_STEPS[0]!,
      ['AuthenticationFailed', { reason: 'PolicyRefused', httpStatus: 403, authUrl: AUTH_URL, detail: 'ClusterIdMismatch', message: 'the token is bound to cluster gamma' }],
    ]));
    assert.deepEqual(refused?.conditions.slice(0, 2), [
      { type: 'Authenticated', status: 'False', reason: 'AuthenticationFailed', message: 'the token is bound to cluster gamma', lastTransitionTime: t(2) },
      { type: 'OutgoingPeering', status: 'False', reason: 'AuthenticationFailed', message: 'authentication failed: the token is bound to cluster gamma', lastTransitionTime: t(2) },
    ]);
    const v1 = fold(envelopes(OUT, [
      ['PeeringRequested', { remoteClusterId: REMOTE_ID, remoteClusterName: 'beta', authUrl: AUTH_URL }],
      ['AuthenticationFailed', { reason: 'TokenRejected', httpStatus: 401 }],
    ]));
    assert.deepEqual(v1?.conditions[0], { type: 'Authenticated', status: 'False', reason: 'AuthenticationFailed', message: 'the provider answered 401 (TokenRejected)', lastTransitionTime: t(2) });
  });

  it('an identity the provider refuses: Authenticated turns False with the health reason', () => {
    const view = fold(envelopes(OUT, [...OUTGOING_STEPS.slice(0, 8), ['ProviderHealthChanged', { ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403 to the current identity' }]]));
    assert.deepEqual(view?.conditions, [
      { type: 'Authenticated', status: 'False', reason: 'ProviderUnauthorized', message: 'the provider answered 403 to the current identity', lastTransitionTime: t(9) },
      { type: 'OutgoingPeering', status: 'True', reason: 'Established', message: 'virtual node peerlog-beta-7f3c offers 4 CPU, 8Gi memory, 110 pods', lastTransitionTime: t(8) },
      { type: 'VirtualNodeReady', status: 'False', reason: 'ProviderUnauthorized', message: 'node peerlog-beta-7f3c: the provider answered 403 to the current identity', lastTransitionTime: t(9) },
    ]);
  });
});

describe('foldView, incoming', () => {
  const all = envelopes(IN, INCOMING_STEPS);

  it('in progress: Unknown since the first event', () => {
    assert.deepEqual(fold(all.slice(0, 3))?.conditions, [
      { type: 'IncomingPeering', status: 'Unknown', reason: 'ResourcesRequested', message: 'incoming peering in progress: ResourcesRequested', lastTransitionTime: t(1) },
    ]);
  });

  it('offered: the whole view', () => {
    assert.deepEqual(fold(all), {
      kind: 'incoming', remoteClusterId: REMOTE_ID, version: 4, updatedAt: t(4),
      state: {
        status: 'offered', remote: { clusterId: REMOTE_ID, clusterName: 'beta' },
        identity: { publicKeyFingerprint: KEY, certFingerprint: CERT, serialNumber: '7e', notAfter: NOT_AFTER, tenantNamespace: 'peerlog-tenant-beta-7f3c' },
        requestName: 'alpha-01', offer: { offerName: 'offer-alpha-01', resources: { cpu: '2', memory: '4Gi', pods: '55' } },
      },
      conditions: [
        { type: 'IncomingPeering', status: 'True', reason: 'Established', message: 'offering 2 CPU, 4Gi memory, 55 pods as offer-alpha-01', lastTransitionTime: t(4) },
      ],
    });
  });
});

describe('foldView, other streams', () => {
  it('a pods- stream is not a peering view\'s business', () => {
    const [e] = envelopes('pods-beta-7f3c', [['PodReclaimed', { namespace: 'shop', name: 'web-0', uid: 'u-1', reason: 'Evicted' }]]);
    assert.equal(foldView(undefined, e!), undefined);
    assert.equal(foldView(fold(envelopes(OUT, OUTGOING_STEPS)), e!), undefined);
    assert.equal(foldView(undefined, e!, ['outgoing', 'incoming']), undefined);
    assert.equal(foldView(undefined, e!, PEERING_KINDS), undefined);
  });
});

describe('foldView, pods', () => {
  const PODS = 'pods-beta-7f3c';
  const UID = '6f1c2a9e-0000-4000-8000-000000000001';
  const RUNNING = {
    phase: 'Running', podIp: '10.244.1.7',
    conditions: [{ type: 'Ready', status: 'True', reason: null, message: null, lastTransitionTime: '2025-03-01T12:04:00Z' }],
    containerStatuses: [{ name: 'web', ready: true, restartCount: 0, state: 'running', reason: null, exitCode: null }],
  } as const;
  const steps = envelopes(PODS, [
    ['NamespaceOffloadRequested', { namespace: 'shop', remoteNamespace: 'shop-alpha-01' }],
    ['NamespaceOffloadGranted', { namespace: 'shop', remoteNamespace: 'shop-alpha-01' }],
    ['PodOffloaded', { namespace: 'shop', name: 'web-0', uid: UID, remoteNamespace: 'shop-alpha-01', remoteName: 'web-0', nodeName: NODE, specHash: '3b'.repeat(32) }],
    ['PodStatusReflected', { namespace: 'shop', name: 'web-0', uid: UID, status: RUNNING }],
  ]);
  const foldPods = (events: readonly EventEnvelope[], kinds: Parameters<typeof foldView>[2], from?: PeeringView) =>
    events.reduce<PeeringView | undefined>((v, e) => foldView(v, e, kinds), from);

  it('with pods among the kinds: a PodsView of the aggregate\'s state, version and time, with no conditions', () => {
    assert.deepEqual(foldPods(steps, ['pods']), {
      kind: 'pods', remoteClusterId: REMOTE_ID, version: 4, updatedAt: t(4),
      state: {
        status: 'active',
        namespaces: { shop: { namespace: 'shop', remoteNamespace: 'shop-alpha-01', phase: 'Granted', reason: null, message: null } },
        pods: {
          'shop/web-0': {
            namespace: 'shop', name: 'web-0', uid: UID, remoteNamespace: 'shop-alpha-01', remoteName: 'web-0',
            nodeName: NODE, specHash: '3b'.repeat(32), offloaded: true, status: RUNNING, failure: null,
          },
        },
      },
    });
  });

  it('folds on from a pods view, as from scratch', () => {
    assert.deepEqual(foldPods(steps.slice(2), ['pods'], foldPods(steps.slice(0, 2), ['pods'])), foldPods(steps, ['pods']));
    assert.deepEqual(foldPods(steps.slice(0, 1), ['pods']), {
      kind: 'pods', remoteClusterId: REMOTE_ID, version: 1, updatedAt: t(1),
      state: { status: 'active', pods: {}, namespaces: { shop: { namespace: 'shop', remoteNamespace: 'shop-alpha-01', phase: 'Requested', reason: null, message: null } } },
    });
  });

  it('with every kind: pods and peering streams each fold into their own view', () => {
    const all = ['outgoing', 'incoming', 'pods'] as const;
    assert.equal(foldPods(steps, all)?.kind, 'pods');
    assert.deepEqual(foldPods(envelopes(OUT, OUTGOING_STEPS), all), fold(envelopes(OUT, OUTGOING_STEPS)));
  });

  it('with pods alone: the peering streams are not folded', () => {
    assert.equal(foldPods(envelopes(OUT, OUTGOING_STEPS), ['pods']), undefined);
    assert.equal(foldPods(envelopes(IN, INCOMING_STEPS), ['pods']), undefined);
  });

  it('viewKindOf follows the kinds asked for', () => {
    assert.deepEqual(viewKindOf(PODS, ['pods']), { kind: 'pods', remoteClusterId: REMOTE_ID });
    assert.equal(viewKindOf(PODS), undefined);
    assert.deepEqual(viewKindOf(OUT), { kind: 'outgoing', remoteClusterId: REMOTE_ID });
    assert.equal(viewKindOf(OUT, ['pods']), undefined);
    assert.equal(viewKindOf('sideways-beta', ['outgoing', 'incoming', 'pods']), undefined);
  });
});
