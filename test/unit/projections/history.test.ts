// The history of a peering folded from its events: phases per peer/unpeer cycle, the status as of
// an instant, --as-of times, and the HTML page. Expected values are written out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventEnvelope } from '../../../src/events/envelope.js';
import {
  buildTimeline, eventsAsOf, escapeHtml, formatDuration, parseAsOf, peeringStatus, renderHistoryHtml, renderPhasesSvg,
} from '../../../src/projections/history/index.js';
import { AUTH_URL, CERT, CSR, KEY, NODE, NOT_AFTER, OFFER_1, PIN, REMOTE_ID, TENANT, API_SERVER, t, type Step } from './fixtures.js';

const OUT = `outgoing-${REMOTE_ID}`;
const PODS = `pods-${REMOTE_ID}`;
const IN = `incoming-${REMOTE_ID}`;
const USER = { kind: 'user', name: 'alice' } as const;
const OPERATOR = { kind: 'controller', name: 'peerlog-operator' } as const;
const REMOTE = { kind: 'remote-cluster', name: REMOTE_ID } as const;

/** One event at minute `minute` (t(minute)). */
function ev(streamId: string, version: number, minute: number, [type, data]: Step, actor: { kind: string; name: string } = OPERATOR): EventEnvelope {
  return {
    id: `00000000-0000-4000-8000-${String(minute * 100 + version).padStart(12, '0')}`, type, data, streamId, streamVersion: version,
    clusterId: 'alpha-01', occurredAt: t(minute), actor, correlationId: 'c', causationId: 'c', schemaVersion: 1, prevHash: '0'.repeat(64), hash: '0'.repeat(64),
  } as EventEnvelope;
}

const POD = { namespace: 'web', name: 'web-1', uid: 'u-1' };
const RUNNING = { phase: 'Running', podIp: '10.0.0.7', conditions: [], containerStatuses: [] } as const;

/** A peering with offloaded pods, unpeered, then requested again and refused once. */
const LOG: EventEnvelope[] = [
  ev(OUT, 1, 1, ['PeeringRequested', { remoteClusterId: REMOTE_ID, remoteClusterName: 'beta', authUrl: AUTH_URL, attempt: '1/1' }], USER),
  ev(OUT, 2, 2, ['IdentityRequested', { publicKeyFingerprint: KEY, csrFingerprint: CSR, authFingerprint: PIN }]),
  ev(OUT, 3, 3, ['CertIssued', { side: 'consumer', certFingerprint: CERT, notAfter: NOT_AFTER, tenantNamespace: TENANT, apiServerUrl: API_SERVER }]),
  ev(OUT, 4, 4, ['ResourceRequested', { tenantNamespace: TENANT }]),
  ev(OUT, 5, 6, ['OfferReceived', OFFER_1], REMOTE),
  ev(OUT, 6, 7, ['OfferAccepted', OFFER_1]),
  ev(OUT, 7, 8, ['VirtualNodeCreated', { nodeName: NODE, resources: OFFER_1.resources }]),
  ev(OUT, 8, 10, ['VirtualNodeReady', { nodeName: NODE }]),
  ev(PODS, 1, 11, ['PodOffloaded', { ...POD, remoteNamespace: 'web-alpha-01', remoteName: 'web-1', nodeName: NODE, specHash: 'h' }]),
  ev(PODS, 2, 12, ['PodStatusReflected', { ...POD, status: RUNNING }]),
  ev(OUT, 9, 20, ['UnpeeringRequested', { force: false, drain: true }], { kind: 'cli', name: 'bob' }),
  ev(OUT, 10, 21, ['VirtualNodeCordoned', { nodeName: NODE }]),
  ev(OUT, 11, 22, ['VirtualNodeDrainWaiting', { nodeName: NODE, reason: 'PodDisruptionBudget', remaining: 1, pod: 'web/web-1', budget: 'web-pdb', message: 'evicting web/web-1 would violate PodDisruptionBudget web/web-pdb' }]),
  ev(PODS, 3, 23, ['PodReclaimed', { ...POD, reason: 'Evicted' }]),
  ev(OUT, 12, 24, ['VirtualNodeDrained', { nodeName: NODE }]),
  ev(OUT, 13, 25, ['VirtualNodeDeleted', { nodeName: NODE }]),
  ev(OUT, 14, 26, ['ResourceRequestWithdrawn', { tenantNamespace: TENANT, providerReached: true }]),
  ev(OUT, 15, 27, ['PeeringTerminated', { force: false }]),
  ev(OUT, 16, 40, ['PeeringRequested', { remoteClusterId: REMOTE_ID, remoteClusterName: 'beta', authUrl: AUTH_URL, attempt: '2/1' }], USER),
  ev(OUT, 17, 41, ['AuthenticationFailed', { reason: 'TokenRejected', httpStatus: 401, authUrl: AUTH_URL, detail: 'TokenMismatch', message: 'bad token' }]),
  // The provider side of the other direction, interleaved.
  ev(IN, 1, 5, ['TokenValidated', { remoteClusterId: REMOTE_ID, remoteClusterName: 'beta' }], REMOTE),
  ev(IN, 2, 9, ['CertIssued', { side: 'provider', publicKeyFingerprint: KEY, certFingerprint: CERT, serialNumber: '7e', notAfter: NOT_AFTER, tenantNamespace: 'peerlog-tenant-beta-7f3c' }], REMOTE),
];

const MIN = 60_000;

describe('buildTimeline', () => {
  const tl = buildTimeline(LOG);

  it('phases per cycle: a whole peer/unpeer cycle, a second cycle whose authentication failed, the provider\'s cycle still authenticating... then negotiating', () => {
    assert.deepEqual(tl.cycles, [
      {
        direction: 'outgoing', number: 1, start: t(1), end: t(27), durationMs: 26 * MIN, phases: [
          { name: 'authentication', start: t(1), end: t(3), durationMs: 2 * MIN, outcome: 'completed' },
          { name: 'negotiation', start: t(3), end: t(7), durationMs: 4 * MIN, outcome: 'completed' },
          { name: 'virtualNode', start: t(7), end: t(10), durationMs: 3 * MIN, outcome: 'completed' },
          { name: 'offloading', start: t(10), end: t(20), durationMs: 10 * MIN, outcome: 'completed' },
          { name: 'teardown', start: t(20), end: t(27), durationMs: 7 * MIN, outcome: 'completed' },
        ],
      },
      {
        direction: 'outgoing', number: 2, start: t(40), end: null, durationMs: null, phases: [
          { name: 'authentication', start: t(40), end: t(41), durationMs: MIN, outcome: 'failed' },
        ],
      },
      {
        direction: 'incoming', number: 1, start: t(5), end: null, durationMs: null, phases: [
          { name: 'authentication', start: t(5), end: t(9), durationMs: 4 * MIN, outcome: 'completed' },
          { name: 'negotiation', start: t(9), end: null, durationMs: null, outcome: 'ongoing' },
        ],
      },
    ]);
  });

  it('each event with its actor, outcome, reason, cycle and phase, in time order', () => {
    assert.deepEqual(tl.events.map((e) => [e.time, e.type, `${e.actor.kind}:${e.actor.name}`, e.outcome, e.reason, e.direction, e.cycle, e.phase]), [
      [t(1), 'PeeringRequested', 'user:alice', 'succeeded', null, 'outgoing', 1, 'authentication'],
      [t(2), 'IdentityRequested', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'authentication'],
      [t(3), 'CertIssued', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'negotiation'],
      [t(4), 'ResourceRequested', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'negotiation'],
      [t(5), 'TokenValidated', 'remote-cluster:beta-7f3c', 'succeeded', null, 'incoming', 1, 'authentication'],
      [t(6), 'OfferReceived', 'remote-cluster:beta-7f3c', 'succeeded', null, 'outgoing', 1, 'negotiation'],
      [t(7), 'OfferAccepted', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'virtualNode'],
      [t(8), 'VirtualNodeCreated', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'virtualNode'],
      [t(9), 'CertIssued', 'remote-cluster:beta-7f3c', 'succeeded', null, 'incoming', 1, 'negotiation'],
      [t(10), 'VirtualNodeReady', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'offloading'],
      [t(11), 'PodOffloaded', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'offloading'],
      [t(12), 'PodStatusReflected', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'offloading'],
      [t(20), 'UnpeeringRequested', 'cli:bob', 'succeeded', null, 'outgoing', 1, 'teardown'],
      [t(21), 'VirtualNodeCordoned', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'teardown'],
      [t(22), 'VirtualNodeDrainWaiting', 'controller:peerlog-operator', 'waiting', 'PodDisruptionBudget', 'outgoing', 1, 'teardown'],
      [t(23), 'PodReclaimed', 'controller:peerlog-operator', 'succeeded', 'Evicted', 'outgoing', 1, 'teardown'],
      [t(24), 'VirtualNodeDrained', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'teardown'],
      [t(25), 'VirtualNodeDeleted', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'teardown'],
      [t(26), 'ResourceRequestWithdrawn', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'teardown'],
      [t(27), 'PeeringTerminated', 'controller:peerlog-operator', 'succeeded', null, 'outgoing', 1, 'teardown'],
      [t(40), 'PeeringRequested', 'user:alice', 'succeeded', null, 'outgoing', 2, 'authentication'],
      [t(41), 'AuthenticationFailed', 'controller:peerlog-operator', 'failed', 'TokenRejected', 'outgoing', 2, 'authentication'],
    ]);
  });

  it('a retry after a failed authentication opens the phase again in the same cycle', () => {
    const retried = buildTimeline([...LOG, ev(OUT, 18, 45, ['PeeringRequested', { remoteClusterId: REMOTE_ID, remoteClusterName: 'beta', authUrl: AUTH_URL, attempt: '3/1' }], USER)]);
    assert.deepEqual(retried.cycles[1]!.phases, [
      { name: 'authentication', start: t(40), end: t(41), durationMs: MIN, outcome: 'failed' },
      { name: 'authentication', start: t(45), end: null, durationMs: null, outcome: 'ongoing' },
    ]);
  });

  it('events before any cycle (a stranger\'s bad token) belong to none', () => {
    const stray = buildTimeline([ev(IN, 1, 1, ['TokenRejected', { reason: 'TokenMismatch' }], REMOTE)]);
    assert.deepEqual(stray, {
      cycles: [],
      events: [{ time: t(1), streamId: IN, version: 1, type: 'TokenRejected', direction: 'incoming', actor: REMOTE, outcome: 'failed', reason: 'TokenMismatch', cycle: null, phase: null }],
    });
  });
});

describe('eventsAsOf and peeringStatus', () => {
  it('at 12:12:30 the peering is Established with one pod Running', () => {
    const at = eventsAsOf(LOG, '2025-03-01T12:12:30.000Z');
    assert.deepEqual(at.map((e) => `${e.streamId}@${e.streamVersion}`), [
      `${IN}@1`, `${IN}@2`, ...[1, 2, 3, 4, 5, 6, 7, 8].map((v) => `${OUT}@${v}`), `${PODS}@1`, `${PODS}@2`,
    ]);
    assert.deepEqual(peeringStatus('beta', REMOTE_ID, at), {
      name: 'beta', clusterId: REMOTE_ID, clusterName: 'beta',
      outgoing: {
        enabled: 'Enabled', phase: 'Established', tenantNamespace: TENANT, virtualNode: NODE, authFingerprint: PIN,
        offloadedPods: { total: 1, running: 1, pending: 0, succeeded: 0, failed: 0, keptBack: 0 },
      },
      incoming: { phase: 'Authenticated', tenantNamespace: 'peerlog-tenant-beta-7f3c' },
      conditions: [
        { type: 'Authenticated', status: 'True', reason: 'IdentityIssued', message: `identity valid until ${NOT_AFTER}, tenant namespace ${TENANT} at ${API_SERVER}`, lastTransitionTime: t(3) },
        { type: 'OutgoingPeering', status: 'True', reason: 'Established', message: `virtual node ${NODE} offers 4 CPU, 8Gi memory, 110 pods`, lastTransitionTime: t(10) },
        { type: 'VirtualNodeReady', status: 'True', reason: 'NodeReady', message: `node ${NODE} is Ready`, lastTransitionTime: t(10) },
        { type: 'IncomingPeering', status: 'Unknown', reason: 'Authenticated', message: 'incoming peering in progress: Authenticated', lastTransitionTime: t(5) },
      ],
    });
  });

  it('at 12:30 the outgoing side is Terminated and Disabled, without a virtual node', () => {
    const s = peeringStatus('beta', REMOTE_ID, eventsAsOf(LOG, '2025-03-01T12:30:00.000Z'));
    assert.deepEqual(s.outgoing, { enabled: 'Disabled', phase: 'Terminated', authFingerprint: PIN });
    assert.deepEqual(s.conditions.filter((c) => c.type === 'OutgoingPeering'), [
      { type: 'OutgoingPeering', status: 'False', reason: 'Terminated', message: 'no outgoing peering', lastTransitionTime: t(27) },
    ]);
  });

  it('before the first event there is nothing; an instant between two events keeps the earlier one only', () => {
    assert.deepEqual(eventsAsOf(LOG, '2025-03-01T11:00:00.000Z'), []);
    assert.deepEqual(peeringStatus('beta', REMOTE_ID, []), { name: 'beta', clusterId: REMOTE_ID, clusterName: REMOTE_ID, outgoing: { enabled: 'Disabled' }, incoming: {}, conditions: [] });
    assert.deepEqual(eventsAsOf(LOG, t(1)).map((e) => e.type), ['PeeringRequested']);
  });
});

describe('parseAsOf', () => {
  const now = new Date('2025-03-01T12:00:00.000Z');
  it('takes RFC 3339 times (offsets, fractions cut to milliseconds) and durations ago', () => {
    assert.deepEqual([
      parseAsOf('2025-03-01T10:00:00Z', now),
      parseAsOf('2025-03-01T12:00:00.250+02:00', now),
      parseAsOf('2025-03-01t10:00:00.123999z', now),
      parseAsOf('10m', now),
      parseAsOf('1h30m', now),
      parseAsOf('90', now),
    ], ['2025-03-01T10:00:00.000Z', '2025-03-01T10:00:00.250Z', '2025-03-01T10:00:00.123Z', '2025-03-01T11:50:00.000Z', '2025-03-01T10:30:00.000Z', '2025-03-01T11:58:30.000Z']);
  });
  it('refuses anything else, naming the forms', () => {
    for (const bad of ['yesterday', '2025-03-01', '2025-03-01 10:00:00Z', '-5m', '2025-13-01T10:00:00Z']) {
      assert.throws(() => parseAsOf(bad, now), /--as-of: .* is neither an RFC 3339 time nor a duration \(expected an RFC 3339 time/, bad);
    }
  });
});

describe('the HTML page', () => {
  it('formats durations as kubectl does', () => {
    assert.deepEqual([0, 850, 12_345, 245_000, 7_380_000, 273_600_000].map(formatDuration), ['0ms', '850ms', '12.3s', '4m5s', '2h3m', '3d4h']);
  });

  it('draws one bar per phase on one axis; a running phase reaches the end of the axis', () => {
    const svg = renderPhasesSvg([
      { direction: 'outgoing', number: 1, start: t(0), end: null, durationMs: null, phases: [
        { name: 'authentication', start: t(0), end: t(1), durationMs: MIN, outcome: 'completed' },
        { name: 'negotiation', start: t(1), end: null, durationMs: null, outcome: 'ongoing' },
      ] },
    ], t(4));
    assert.equal(svg, '<svg width="960" height="68" viewBox="0 0 960 68" role="img" aria-label="phases of each cycle">'
      + '<text x="130" y="14">2025-03-01T12:00:00.000Z</text><text x="950" y="14" text-anchor="end">2025-03-01T12:04:00.000Z</text>'
      + '<text x="4" y="38">outgoing #1</text>'
      + '<g class="phase" data-phase="authentication" data-cycle="outgoing-1"><rect x="130" y="24" width="205" height="20" fill="#4e79a7"/><title>authentication: 1m0s (completed)</title></g>'
      + '<g class="phase" data-phase="negotiation" data-cycle="outgoing-1"><rect x="335" y="24" width="615" height="20" fill="#f28e2b"/><title>negotiation: 3m0s so far (ongoing)</title></g>'
      + '</svg>');
  });

  it('is one self-contained page: no script, no URL, text escaped', () => {
    const page = renderHistoryHtml({ name: '<b>&', clusterId: REMOTE_ID, until: t(50), timeline: buildTimeline(LOG) });
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.ok(page.startsWith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>peerlog history: &lt;b&gt;&amp;</title>'));
    assert.doesNotMatch(page, /<script|https?:|src=|href=|url\(|@import/i);
    assert.deepEqual([...page.matchAll(/<g class="phase" data-phase="(\w+)" data-cycle="([\w-]+)"/g)].map((m) => `${m[2]}:${m[1]}`), [
      'outgoing-1:authentication', 'outgoing-1:negotiation', 'outgoing-1:virtualNode', 'outgoing-1:offloading', 'outgoing-1:teardown',
      'outgoing-2:authentication', 'incoming-1:authentication', 'incoming-1:negotiation',
    ]);
    assert.equal([...page.matchAll(/<tr class="(succeeded|failed|waiting)">/g)].length, LOG.length);
  });
});
