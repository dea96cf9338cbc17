// The Prometheus text format, checked against literal expected text written from the format's
// rules (HELP escapes \ and line feed, label values also ", histograms cumulative up to +Inf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketIndex, createCounter, formatExposition } from '../../../src/metrics/exposition.js';

test('counters and gauges: HELP and TYPE lines, then one line per sample, label values escaped', () => {
  const text = formatExposition([
    { name: 'peerlog_things_total', help: 'Things done.', type: 'counter', samples: [
      { labels: { result: 'ok' }, value: 3 },
      { labels: { result: 'say "no"\\ then\nstop' }, value: 1.5 },
    ] },
    { name: 'peerlog_depth', help: 'Depth with a \\ backslash\nand a "second" line.', type: 'gauge', samples: [{ labels: {}, value: 0 }] },
  ]);
  assert.equal(text, [
    '# HELP peerlog_things_total Things done.',
    '# TYPE peerlog_things_total counter',
    'peerlog_things_total{result="ok"} 3',
    'peerlog_things_total{result="say \\"no\\"\\\\ then\\nstop"} 1.5',
    '# HELP peerlog_depth Depth with a \\\\ backslash\\nand a "second" line.',
    '# TYPE peerlog_depth gauge',
    'peerlog_depth 0',
    '',
  ].join('\n'));
});

test('a histogram: cumulative buckets with le, +Inf equal to the count, then _sum and _count', () => {
  const text = formatExposition([{
    name: 'peerlog_step_seconds', help: 'Steps.', type: 'histogram', bounds: [0.5, 1, 2.5],
    series: [
      // 1 at or under 0.5, none in (0.5, 1], 2 in (1, 2.5], 1 above 2.5
      { labels: { step: 'CertIssued' }, counts: [1, 0, 2, 1], sum: 9.25 },
      { labels: { step: 'None' }, counts: [0, 0, 0, 0], sum: 0 },
    ],
  }]);
  assert.equal(text, [
    '# HELP peerlog_step_seconds Steps.',
    '# TYPE peerlog_step_seconds histogram',
    'peerlog_step_seconds_bucket{step="CertIssued",le="0.5"} 1',
    'peerlog_step_seconds_bucket{step="CertIssued",le="1"} 1',
    'peerlog_step_seconds_bucket{step="CertIssued",le="2.5"} 3',
    'peerlog_step_seconds_bucket{step="CertIssued",le="+Inf"} 4',
    'peerlog_step_seconds_sum{step="CertIssued"} 9.25',
    'peerlog_step_seconds_count{step="CertIssued"} 4',
    'peerlog_step_seconds_bucket{step="None",le="0.5"} 0',
    'peerlog_step_seconds_bucket{step="None",le="1"} 0',
    'peerlog_step_seconds_bucket{step="None",le="2.5"} 0',
    'peerlog_step_seconds_bucket{step="None",le="+Inf"} 0',
    'peerlog_step_seconds_sum{step="None"} 0',
    'peerlog_step_seconds_count{step="None"} 0',
    '',
  ].join('\n'));
});

test('special values are written as Prometheus reads them', () => {
  const text = formatExposition([{ name: 'g', help: '', type: 'gauge', samples: [
    { labels: { v: 'inf' }, value: Infinity }, { labels: { v: 'minf' }, value: -Infinity }, { labels: { v: 'nan' }, value: NaN }, { labels: { v: 'big' }, value: 1e21 },
  ] }]);
  assert.equal(text, '# HELP g \n# TYPE g gauge\ng{v="inf"} +Inf\ng{v="minf"} -Inf\ng{v="nan"} NaN\ng{v="big"} 1e+21\n');
  assert.equal(formatExposition([]), '');
});

test('names that Prometheus cannot read, a reserved label, bad bounds and duplicates are programming errors', () => {
  assert.throws(() => formatExposition([{ name: 'peerlog-x', help: '', type: 'gauge', samples: [] }]), /MetricNameInvalid|not a Prometheus metric name/);
  assert.throws(() => formatExposition([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { 'a-b': '1' }, value: 1 }] }]), /not a Prometheus label name/);
  assert.throws(() => formatExposition([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { __name: '1' }, value: 1 }] }]), /not a Prometheus label name/);
  assert.throws(() => formatExposition([{ name: 'h', help: '', type: 'histogram', bounds: [1, 1], series: [] }]), /increasing/);
  assert.throws(() => formatExposition([{ name: 'h', help: '', type: 'histogram', bounds: [1], series: [{ labels: {}, counts: [1], sum: 1 }] }]), /one more expected/);
  assert.throws(() => formatExposition([{ name: 'h', help: '', type: 'histogram', bounds: [1], series: [{ labels: { le: '1' }, counts: [1, 0], sum: 1 }] }]), /le is the bucket's/);
  assert.throws(() => formatExposition([{ name: 'x', help: '', type: 'gauge', samples: [] }, { name: 'x', help: '', type: 'gauge', samples: [] }]), /given twice/);
});

test('an observation goes to the first bound it does not exceed', () => {
  assert.equal(bucketIndex([0.5, 1, 2.5], 0), 0);
  assert.equal(bucketIndex([0.5, 1, 2.5], 0.5), 0);
  assert.equal(bucketIndex([0.5, 1, 2.5], 0.51), 1);
  assert.equal(bucketIndex([0.5, 1, 2.5], 2.5), 2);
  assert.equal(bucketIndex([0.5, 1, 2.5], 3), 3);
});

test('a counter adds up by label set, and past its series limit counts new label sets as other', () => {
  const c = createCounter('peerlog_x_total', 'X.', ['result', 'reason'], 2);
  c.inc({ result: 'issued', reason: 'Identity' });
  c.inc({ result: 'issued', reason: 'Identity' }, 2);
  c.inc({ result: 'refused', reason: 'TokenMismatch' });
  c.inc({ result: 'refused', reason: 'odd1' });
  c.inc({ result: 'refused', reason: 'odd2' });
  assert.equal(formatExposition([c.family()]), [
    '# HELP peerlog_x_total X.',
    '# TYPE peerlog_x_total counter',
    'peerlog_x_total{result="issued",reason="Identity"} 3',
    'peerlog_x_total{result="refused",reason="TokenMismatch"} 1',
    'peerlog_x_total{result="other",reason="other"} 2',
    '',
  ].join('\n'));
});
