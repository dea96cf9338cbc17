// The timing fold of the metrics projection: durations between events' occurredAt, by deep equality
// with literal histograms (bounds 0.1 0.25 0.5 1 2.5 5 10 30 60 120 300 600, then +Inf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventEnvelope } from '../../../src/events/envelope.js';
import { emptyStepsView, foldSteps, type StepsView } from '../../../src/projections/metrics/steps.js';
import { stepFamilies } from '../../../src/projections/metrics/index.js';
import type { ViewRow } from '../../../src/projections/ports.js';

let version = 0;
const ev = (type: string, at: string, data: Record<string, unknown> = {}): EventEnvelope => ({ type, occurredAt: `2026-01-01T00:${at}Z`, streamVersion: ++version, data } as unknown as EventEnvelope);
const fold = (view: StepsView, events: EventEnvelope[]) => events.reduce(foldSteps, view);
//                         0.1 .25 .5 1  2.5 5  10 30 60 120 300 600 +Inf
const only = (i: number) => Array.from({ length: 13 }, (_, j) => (j === i ? 1 : 0));

test('outgoing: each step timed once per cycle from the first PeeringRequested, and the teardown from UnpeeringRequested', () => {
  version = 0;
  const view = fold(emptyStepsView('outgoing'), [
    ev('PeeringRequested', '00:00.000'),
    ev('AuthenticationFailed', '00:01.000'),
    ev('PeeringRequested', '00:05.000'), // a retry: the clock keeps the first request
    ev('CertIssued', '00:07.500'), //       7.5 s  → bucket ≤ 10
    ev('OfferAccepted', '00:08.000'), //    8 s    → ≤ 10
    ev('VirtualNodeReady', '00:40.000'), // 40 s   → ≤ 60
    ev('CertIssued', '00:50.000'), //       a second CertIssued in the cycle is not timed again
    ev('UnpeeringRequested', '01:00.000'),
    ev('PeeringTerminated', '01:00.200'), // 0.2 s → ≤ 0.25
    ev('PeeringRequested', '02:00.000'), // a new cycle
    ev('CertIssued', '02:00.050'), //        0.05 s → ≤ 0.1
  ]);
  assert.deepEqual(view, {
    kind: 'outgoing', version: 11, cycle: { startedAt: '2026-01-01T00:02:00.000Z', timed: ['CertIssued'] }, unpeeringSince: null, waiting: {},
    histograms: {
      'PeeringRequested→CertIssued': { counts: [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], sum: 7.55 },
      'PeeringRequested→OfferAccepted': { counts: only(6), sum: 8 },
      'PeeringRequested→VirtualNodeReady': { counts: only(8), sum: 40 },
      'UnpeeringRequested→PeeringTerminated': { counts: only(1), sum: 0.2 },
    },
  });
});

test('incoming: timed from TokenValidated; a step before any start is not timed; a clock that went back counts 0', () => {
  version = 0;
  const view = fold(emptyStepsView('incoming'), [
    ev('OfferIssued', '00:00.000'),
    ev('TokenValidated', '00:10.000'),
    ev('CertIssued', '00:09.000'), //  before its start (skewed clocks): 0 s → ≤ 0.1
    ev('OfferIssued', '10:10.000'), // 600 s → ≤ 600
  ]);
  assert.deepEqual(view.histograms, {
    'TokenValidated→CertIssued': { counts: only(0), sum: 0 },
    'TokenValidated→OfferIssued': { counts: only(11), sum: 600 },
  });
});

test('pods: PodOffloaded to the first Running of that uid; reclaimed or ended before Running is not timed', () => {
  version = 0;
  const pod = (name: string, uid: string) => ({ namespace: 'default', name, uid });
  const view = fold(emptyStepsView('pods'), [
    ev('PodOffloaded', '00:00.000', pod('a', 'u1')),
    ev('PodOffloaded', '00:00.000', pod('b', 'u2')),
    ev('PodStatusReflected', '00:01.000', { ...pod('a', 'u1'), status: { phase: 'Pending' } }),
    ev('PodStatusReflected', '00:03.000', { ...pod('a', 'u1'), status: { phase: 'Running' } }), // 3 s → ≤ 5
    ev('PodStatusReflected', '00:09.000', { ...pod('a', 'u1'), status: { phase: 'Running' } }), // not again
    ev('PodStatusReflected', '00:04.000', { ...pod('b', 'other-uid'), status: { phase: 'Running' } }), // another pod of that name
    ev('PodReclaimed', '00:05.000', pod('b', 'u2')),
    ev('PodOffloaded', '00:06.000', pod('c', 'u3')),
    ev('OffloadingEnded', '00:07.000'),
  ]);
  assert.deepEqual(view, {
    kind: 'pods', version: 9, cycle: null, unpeeringSince: null, waiting: {},
    histograms: { 'PodOffloaded→Running': { counts: only(5), sum: 3 } },
  });
});

test('families: histograms summed across streams, every step present at zero before any is observed', () => {
  const row = (streamId: string, remote: string, view: StepsView): ViewRow<StepsView> => ({ streamId, streamType: view.kind, remoteClusterId: remote, version: 1, view });
  const base = emptyStepsView('outgoing');
  const families = stepFamilies([
    row('outgoing-b', 'b', { ...base, histograms: { 'PeeringRequested→CertIssued': { counts: only(2), sum: 0.4 } } }),
    row('outgoing-c', 'c', { ...base, histograms: { 'PeeringRequested→CertIssued': { counts: only(3), sum: 0.7 } } }),
    row('pods-b', 'b', { ...emptyStepsView('pods'), histograms: { 'PodOffloaded→Running': { counts: only(4), sum: 2 } } }),
  ]);
  const steps = families[0]!;
  assert.equal(steps.type, 'histogram');
  if (steps.type !== 'histogram') return;
  assert.deepEqual(steps.series.map((s) => [s.labels, s.counts.reduce((a, b) => a + b, 0), s.sum]), [
    [{ direction: 'incoming', since: 'TokenValidated', step: 'CertIssued' }, 0, 0],
    [{ direction: 'incoming', since: 'TokenValidated', step: 'OfferIssued' }, 0, 0],
    [{ direction: 'outgoing', since: 'PeeringRequested', step: 'CertIssued' }, 2, 1.1],
    [{ direction: 'outgoing', since: 'PeeringRequested', step: 'OfferAccepted' }, 0, 0],
    [{ direction: 'outgoing', since: 'PeeringRequested', step: 'VirtualNodeReady' }, 0, 0],
    [{ direction: 'outgoing', since: 'UnpeeringRequested', step: 'PeeringTerminated' }, 0, 0],
  ]);
  assert.deepEqual(steps.series[2]!.counts, [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const pods = families[1]!;
  assert.ok(pods.type === 'histogram');
  if (pods.type !== 'histogram') return;
  assert.deepEqual(pods.series, [{ labels: { remote_cluster_id: 'b' }, counts: only(4), sum: 2 }]);
});
