// The ForeignCluster status forged from the views of both directions, and the status said while the
// log cannot be reached. Expected objects are written out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgeForeignClusterStatus, forgeWaitingForLog } from '../../../src/projections/kubernetes/forge.js';
import type { IncomingView, OutgoingView } from '../../../src/projections/views/view.js';
import { IN, INCOMING_STEPS, OUT, OUTGOING_STEPS, PIN, envelopes, fold, t, type Step } from './fixtures.js';

const outgoing = fold(envelopes(OUT, OUTGOING_STEPS)) as OutgoingView;
const incoming = fold(envelopes(IN, INCOMING_STEPS)) as IncomingView;
const KEEP = { outgoingDisabled: false, deleting: false };

const OUT_CONDITIONS = [
  { type: 'Authenticated', status: 'True', reason: 'IdentityIssued', message: 'identity valid until 2026-03-01T12:00:00.000Z, tenant namespace peerlog-tenant-alpha-01 at https://127.0.0.1:6443', lastTransitionTime: t(3) },
  { type: 'OutgoingPeering', status: 'True', reason: 'Established', message: 'virtual node peerlog-beta-7f3c offers 4 CPU, 8Gi memory, 110 pods', lastTransitionTime: t(8) },
  { type: 'VirtualNodeReady', status: 'True', reason: 'NodeReady', message: 'node peerlog-beta-7f3c is Ready', lastTransitionTime: t(10) },
];
const IN_CONDITION = { type: 'IncomingPeering', status: 'True', reason: 'Established', message: 'offering 2 CPU, 4Gi memory, 55 pods as offer-alpha-01', lastTransitionTime: t(4) };
const OUT_STATUS = { phase: 'Established', tenantNamespace: 'peerlog-tenant-alpha-01', virtualNode: 'peerlog-beta-7f3c', authFingerprint: PIN };

describe('forgeForeignClusterStatus', () => {
  it('outgoing only: its conditions, phase, tenant namespace, node and the endpoint pin', () => {
    assert.deepEqual(forgeForeignClusterStatus({ outgoing }, KEEP), { conditions: OUT_CONDITIONS, outgoing: OUT_STATUS });
  });

  it('incoming only: its condition, phase and tenant namespace', () => {
    assert.deepEqual(forgeForeignClusterStatus({ incoming }, KEEP), {
      conditions: [IN_CONDITION],
      incoming: { phase: 'Established', tenantNamespace: 'peerlog-tenant-beta-7f3c' },
    });
  });

  it('both directions: outgoing conditions first, then incoming', () => {
    assert.deepEqual(forgeForeignClusterStatus({ outgoing, incoming }, KEEP), {
      conditions: [...OUT_CONDITIONS, IN_CONDITION],
      outgoing: OUT_STATUS,
      incoming: { phase: 'Established', tenantNamespace: 'peerlog-tenant-beta-7f3c' },
    });
  });

  it('an authenticating peering shows no tenant namespace, node or pin yet', () => {
    const early = fold(envelopes(OUT, [['PeeringRequested', { remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta', authUrl: 'https://127.0.0.1:7443', attempt: null }]])) as OutgoingView;
    assert.deepEqual(forgeForeignClusterStatus({ outgoing: early }, KEEP).outgoing, { phase: 'Authenticating' });
  });

  it('unpeering with a drain that a budget blocks: OutgoingPeering says so, with the pod and the budget', () => {
    const waiting = fold(envelopes(OUT, [
      ...OUTGOING_STEPS,
      ['UnpeeringRequested', { force: false, drain: true }],
      ['VirtualNodeCordoned', { nodeName: 'peerlog-beta-7f3c' }],
      ['VirtualNodeDrainWaiting', { nodeName: 'peerlog-beta-7f3c', reason: 'PodDisruptionBudget', remaining: 2, pod: 'web/web-0', budget: 'web-pdb', message: 'evicting web/web-0 would violate PodDisruptionBudget web/web-pdb' }],
    ])) as OutgoingView;
    const status = forgeForeignClusterStatus({ outgoing: waiting }, { outgoingDisabled: true, deleting: false });
    assert.deepEqual(status.conditions[1], {
      type: 'OutgoingPeering', status: 'Unknown', reason: 'PodDisruptionBudget',
      message: 'unpeering: evicting web/web-0 would violate PodDisruptionBudget web/web-pdb', lastTransitionTime: t(11),
    });
    assert.equal(status.outgoing?.phase, 'Unpeering');
    assert.equal(status.outgoing?.virtualNode, 'peerlog-beta-7f3c');
  });

  it('unpeering steps each say what they do', () => {
    const steps: Step[] = [...OUTGOING_STEPS, ['UnpeeringRequested', { force: false, drain: false }]];
    const reasonAfter = (extra: Step[]) =>
      forgeForeignClusterStatus({ outgoing: fold(envelopes(OUT, [...steps, ...extra])) as OutgoingView }, KEEP).conditions.find((c) => c.type === 'OutgoingPeering')!.reason;
    assert.equal(reasonAfter([]), 'Cordoning');
    assert.equal(reasonAfter([['VirtualNodeCordoned', { nodeName: 'peerlog-beta-7f3c' }]]), 'Draining');
    assert.equal(reasonAfter([['VirtualNodeCordoned', { nodeName: 'peerlog-beta-7f3c' }], ['VirtualNodeDrained', { nodeName: 'peerlog-beta-7f3c' }]]), 'DeletingVirtualNode');
    const deleted: Step[] = [['VirtualNodeCordoned', { nodeName: 'peerlog-beta-7f3c' }], ['VirtualNodeDrained', { nodeName: 'peerlog-beta-7f3c' }], ['VirtualNodeDeleted', { nodeName: 'peerlog-beta-7f3c' }]];
    assert.equal(reasonAfter(deleted), 'WithdrawingRequest');
    assert.equal(reasonAfter([...deleted, ['ResourceRequestWithdrawn', { tenantNamespace: 'peerlog-tenant-alpha-01', providerReached: true }]]), 'RemovingIdentity');
    assert.equal(reasonAfter([...deleted, ['ResourceRequestWithdrawn', { tenantNamespace: 'peerlog-tenant-alpha-01', providerReached: true }], ['PeeringTerminated', { force: false }]]), 'Terminated');
  });

  it('forced without reaching the provider: Terminated says what stays there', () => {
    const forced = fold(envelopes(OUT, [
      ...OUTGOING_STEPS,
      ['UnpeeringRequested', { force: true, drain: true }],
      ['VirtualNodeDeleted', { nodeName: 'peerlog-beta-7f3c' }],
      ['ResourceRequestWithdrawn', { tenantNamespace: 'peerlog-tenant-alpha-01', providerReached: false }],
      ['PeeringTerminated', { force: true }],
    ])) as OutgoingView;
    const status = forgeForeignClusterStatus({ outgoing: forced }, KEEP);
    assert.deepEqual(status.conditions.find((c) => c.type === 'OutgoingPeering'), {
      type: 'OutgoingPeering', status: 'False', reason: 'ProviderNotReached',
      message: 'unpeered by force without reaching the provider: what it made for this cluster (request, offer, namespaces, RBAC) stays there; no withdrawal notice could be signed',
      lastTransitionTime: t(14),
    });
    assert.deepEqual(status.outgoing, { phase: 'Terminated', authFingerprint: PIN });
  });

  it('forced with a signed notice: ProviderNotReached names the endpoint it is retried at, then the provider\'s answer', () => {
    const notice = { certFingerprint: 'c'.repeat(64), signedAt: '2025-03-01T12:13:30.000Z', signature: 'c2lnbmVk' };
    const steps = [
      ...OUTGOING_STEPS,
      ['UnpeeringRequested', { force: true, drain: true }],
      ['VirtualNodeDeleted', { nodeName: 'peerlog-beta-7f3c' }],
      ['ResourceRequestWithdrawn', { tenantNamespace: 'peerlog-tenant-alpha-01', providerReached: false, notice }],
      ['PeeringTerminated', { force: true }],
    ];
    const owed = forgeForeignClusterStatus({ outgoing: fold(envelopes(OUT, steps as never)) as OutgoingView }, KEEP);
    assert.deepEqual(owed.conditions.find((c) => c.type === 'OutgoingPeering'), {
      type: 'OutgoingPeering', status: 'False', reason: 'ProviderNotReached',
      message: 'unpeered by force without reaching the provider: what it made for this cluster (request, offer, namespaces, RBAC) stays there until its endpoint https://127.0.0.1:7443 takes the signed withdrawal notice, which is retried',
      lastTransitionTime: t(14),
    });
    const delivered = forgeForeignClusterStatus({ outgoing: fold(envelopes(OUT, [...steps, ['WithdrawalDelivered', { outcome: 'Revoked', message: 'https://127.0.0.1:7443 revoked the identity' }]] as never)) as OutgoingView }, KEEP);
    assert.deepEqual(delivered.conditions.find((c) => c.type === 'OutgoingPeering'), {
      type: 'OutgoingPeering', status: 'False', reason: 'Terminated',
      message: 'unpeered by force; at a later contact the provider ended its half: https://127.0.0.1:7443 revoked the identity',
      // Still False: the transition time stays that of the termination.
      lastTransitionTime: t(14),
    });
  });

  it('no views at all: no conditions', () => {
    assert.deepEqual(forgeForeignClusterStatus({}, KEEP), { conditions: [] });
  });
});

describe('forgeWaitingForLog', () => {
  const previous = [
    { type: 'OutgoingPeering', status: 'False', reason: 'NotPeered', message: 'no outgoing peering', lastTransitionTime: t(1) },
    { type: 'IncomingPeering', status: 'True', reason: 'Established', message: 'offering 2 CPU, 4Gi memory, 55 pods as offer-alpha-01', lastTransitionTime: t(2) },
  ] as const;
  const WAITING = {
    type: 'OutgoingPeering', status: 'Unknown', reason: 'WaitingForLog',
    message: 'the request is recorded and waits in the outbox for the log (Kafka at 127.0.0.1:19092 does not answer); nothing was sent to the provider yet',
  };

  it('replaces OutgoingPeering, stamped now, and keeps the other conditions as they were', () => {
    assert.deepEqual(forgeWaitingForLog(previous, '127.0.0.1:19092', t(9)), [{ ...WAITING, lastTransitionTime: t(9) }, previous[1]]);
  });

  it('an OutgoingPeering already Unknown keeps its transition time', () => {
    const unknown = [{ type: 'OutgoingPeering', status: 'Unknown', reason: 'Authenticating', message: 'x', lastTransitionTime: t(3) }] as const;
    assert.deepEqual(forgeWaitingForLog(unknown, '127.0.0.1:19092', t(9)), [{ ...WAITING, lastTransitionTime: t(3) }]);
  });

  it('with no previous conditions: only the waiting one', () => {
    assert.deepEqual(forgeWaitingForLog([], '127.0.0.1:19092', t(9)), [{ ...WAITING, lastTransitionTime: t(9) }]);
  });
});
