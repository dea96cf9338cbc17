// /metrics after a real peering and one offloaded pod, read with Prometheus's own text parser (a Go
// program on github.com/prometheus/common/expfmt, test/tools/promparse): every family is there with
// its type, and the values agree with what the test reads independently — the step durations with
// the events' times in the outbox (SQL), the virtual node and pod with kubectl, the auth outcomes
// with the requests the test made itself. Bucket bounds are written out here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { rawRequest } from '../../support/auth.js';
import { pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, logFlags, peerlog, startPlane, type Plane } from '../../support/peering.js';
import { parseExposition, promParseBinary, type ParsedExposition, type ParsedMetric } from '../../support/promparse.js';
import { driversOf } from '../../../src/runtime.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const BOUNDS = ['0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '120', '300', '600', '+Inf'];
const PROJECTIONS = ['kubernetes', 'metrics', 'process', 'read-models', 'replication', 'virtual-kubelet'];

async function scrape(p: Plane): Promise<{ status: number; contentType: string | null; text: string }> {
  const r = await fetch(p.cp.metricsUrl!);
  return { status: r.status, contentType: r.headers.get('content-type'), text: await r.text() };
}

const metricOf = (m: ParsedExposition, family: string, labels: Record<string, string>): ParsedMetric | undefined =>
  m[family]?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));

/** A histogram series is well formed: the bounds above, cumulative counts that never fall, +Inf equal to the count. */
function assertHistogram(h: ParsedMetric | undefined, what: string): void {
  assert.ok(h?.buckets, `${what}: no histogram series`);
  assert.deepEqual(h.buckets.map((b) => b.le), BOUNDS, `${what}: bucket bounds`);
  for (let i = 1; i < h.buckets.length; i++) assert.ok(h.buckets[i]!.count >= h.buckets[i - 1]!.count, `${what}: buckets cumulative`);
  assert.equal(h.buckets.at(-1)!.count, h.count, `${what}: +Inf bucket equals the count`);
}

/** The smallest bound a duration falls under, as the test computes it. */
const bucketOf = (seconds: number) => BOUNDS.find((b) => b === '+Inf' || seconds <= Number(b))!;

function pod(ns: string, name: string, providerId: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
    spec: {
      ...pinnedTo(providerId),
      tolerations: [{ key: 'virtual-node.peerlog.dev/not-allowed', operator: 'Exists', effect: 'NoExecute' }],
      containers: [{ name: 'main', image: `registry.example/${name}:1`, resources: { requests: { cpu: '50m', memory: '32Mi' } } }],
    },
  });
}

test('/metrics after a peering and an offloaded pod: every family, read by Prometheus\'s parser, agrees with the log and the clusters', async (t) => {
  // Built first: a cold build of the parser takes a while, and should not eat into the waits below.
  promParseBinary();
  const consumer = await startPlane('alpha', 'mtc', { metricsPort: 0 });
  const provider = await startPlane('beta', 'mtp', { metricsPort: 0 });
  const ns = uniqueName('mtr');
  const remoteNs = `${ns}-${consumer.config.clusterId}`;
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });
  assert.match(consumer.cp.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  // A refusal the test makes itself: a field nobody knows, named to break a label if it leaked into one.
  const odd = await rawRequest(provider.cp.url, '/identity', { body: JSON.stringify({ 'evil"}\nx': 1 }), headers: { 'content-type': 'application/json' } });
  assert.equal(odd.status, 400);

  // 1. Peer, and run one pod on the virtual node.
  const nodeName = `peerlog-${provider.config.clusterId}`;
  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => (consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True' ? true : undefined), 60_000);
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], pod(ns, 'web', provider.config.clusterId)).status, 0);
  await eventually('the pod Running', async () => (consumer.kubectl(['get', 'pod', '-n', ns, 'web', '-o', 'jsonpath={.status.phase}']).stdout === 'Running' ? true : undefined), 60_000);

  // 2. Scrape until the metrics projection has folded those steps (it is a consumer group of its own).
  const consumerMetrics = await eventually('the consumer\'s step histograms', async () => {
    const m = parseExposition((await scrape(consumer)).text);
    const steps = ['CertIssued', 'OfferAccepted', 'VirtualNodeReady'].map((step) => metricOf(m, 'peerlog_peering_step_duration_seconds', { direction: 'outgoing', since: 'PeeringRequested', step }));
    const podStart = metricOf(m, 'peerlog_offloaded_pod_start_duration_seconds', { remote_cluster_id: provider.config.clusterId });
    const running = metricOf(m, 'peerlog_offloaded_pods', { remote_cluster_id: provider.config.clusterId, phase: 'Running' });
    return steps.every((s) => (s?.count ?? 0) >= 1) && (podStart?.count ?? 0) >= 1 && running?.value === 1 ? m : undefined;
  }, 60_000);
  const providerMetrics = await eventually('the provider\'s step histograms', async () => {
    const m = parseExposition((await scrape(provider)).text);
    const cert = metricOf(m, 'peerlog_peering_step_duration_seconds', { direction: 'incoming', since: 'TokenValidated', step: 'CertIssued' });
    return (cert?.count ?? 0) >= 1 ? m : undefined;
  }, 60_000);

  // 3. The answer itself: status, content type, and the families with their types.
  const raw = await scrape(consumer);
  assert.equal(raw.status, 200);
  assert.equal(raw.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const types: Record<string, string> = {
    peerlog_peering_step_duration_seconds: 'HISTOGRAM', peerlog_offloaded_pod_start_duration_seconds: 'HISTOGRAM',
    peerlog_projection_lag_events: 'GAUGE', peerlog_log_end_offset: 'GAUGE', peerlog_outbox_unpublished_events: 'GAUGE',
    peerlog_outbox_oldest_unpublished_age_seconds: 'GAUGE', peerlog_relay_published_events_total: 'COUNTER', peerlog_relay_failures_total: 'COUNTER',
    peerlog_projection_applied_events_total: 'COUNTER', peerlog_projection_dead_letters_total: 'COUNTER', peerlog_auth_identity_requests_total: 'COUNTER',
    peerlog_virtual_nodes: 'GAUGE', peerlog_offloaded_pods: 'GAUGE', peerlog_peerings: 'GAUGE', peerlog_metrics_source_up: 'GAUGE',
  };
  for (const m of [consumerMetrics, providerMetrics]) {
    for (const [name, type] of Object.entries(types)) {
      // A family without samples is not in the exposition: the provider offloads no pods of its own.
      if (m === providerMetrics && (name === 'peerlog_offloaded_pods' || name === 'peerlog_offloaded_pod_start_duration_seconds')) continue;
      assert.equal(m[name]?.type, type, `${name} is a ${type}`);
      assert.ok((m[name]?.help ?? '').length > 0, `${name} has a HELP text`);
    }
    for (const source of ['postgres', 'kafka']) assert.equal(metricOf(m, 'peerlog_metrics_source_up', { source })?.value, 1, `source ${source} up`);
  }

  // 4. Step durations against the log's own timestamps, read from the outbox by SQL.
  const events = await outboxEvents(consumer.cp.runtime);
  const first = (type: string, stream: string) => events.find((e) => e.type === type && e.streamId === stream)!;
  const outgoing = `outgoing-${provider.config.clusterId}`;
  for (const step of ['CertIssued', 'OfferAccepted', 'VirtualNodeReady']) {
    const h = metricOf(consumerMetrics, 'peerlog_peering_step_duration_seconds', { direction: 'outgoing', since: 'PeeringRequested', step });
    assertHistogram(h, step);
    assert.equal(h!.count, 1, `${step}: one peering, timed once`);
    const seconds = (Date.parse(first(step, outgoing).occurredAt) - Date.parse(first('PeeringRequested', outgoing).occurredAt)) / 1000;
    assert.ok(Math.abs(h!.sum! - seconds) < 0.0005, `${step}: sum ${h!.sum} is the log's ${seconds} s`);
    const le = h!.buckets!.find((b) => b.count === 1)!.le;
    assert.equal(le, bucketOf(seconds), `${step}: ${seconds} s lands under le=${bucketOf(seconds)}`);
  }
  const podsStream = `pods-${provider.config.clusterId}`;
  const offloaded = first('PodOffloaded', podsStream);
  const runningAt = events.find((e) => e.type === 'PodStatusReflected' && e.streamId === podsStream && (e.data as { status: { phase: string } }).status.phase === 'Running')!;
  const podStart = metricOf(consumerMetrics, 'peerlog_offloaded_pod_start_duration_seconds', { remote_cluster_id: provider.config.clusterId });
  assertHistogram(podStart, 'pod start');
  assert.equal(podStart!.count, 1);
  assert.ok(Math.abs(podStart!.sum! - (Date.parse(runningAt.occurredAt) - Date.parse(offloaded.occurredAt)) / 1000) < 0.0005, 'pod start sum is the log\'s');
  assertHistogram(metricOf(providerMetrics, 'peerlog_peering_step_duration_seconds', { direction: 'incoming', since: 'TokenValidated', step: 'CertIssued' }), 'provider CertIssued');
  // Not observed yet, yet present at zero: a dashboard has the series from the start.
  const teardown = metricOf(consumerMetrics, 'peerlog_peering_step_duration_seconds', { direction: 'outgoing', since: 'UnpeeringRequested', step: 'PeeringTerminated' });
  assertHistogram(teardown, 'teardown');
  assert.equal(teardown!.count, 0);

  // 5. Gauges of the read models against kubectl: one Ready virtual node, one Running pod.
  assert.equal(metricOf(consumerMetrics, 'peerlog_virtual_nodes', { state: 'Ready' })?.value, 1);
  assert.equal(metricOf(consumerMetrics, 'peerlog_virtual_nodes', { state: 'NotReady' })?.value, 0);
  assert.equal(metricOf(consumerMetrics, 'peerlog_virtual_nodes', { state: 'Draining' })?.value, 0);
  assert.equal(metricOf(providerMetrics, 'peerlog_virtual_nodes', { state: 'Ready' })?.value, 0, 'the provider has no outgoing peering');
  assert.equal(consumer.kubectl(['get', 'pods', '-n', ns, '--field-selector', 'status.phase=Running', '-o', 'name']).stdout.trim().split('\n').length, 1);
  assert.equal(metricOf(consumerMetrics, 'peerlog_offloaded_pods', { remote_cluster_id: provider.config.clusterId, phase: 'Running' })?.value, 1);
  assert.equal(metricOf(consumerMetrics, 'peerlog_peerings', { direction: 'outgoing', phase: 'virtualNodeReady' })?.value, 1);

  // 6. Authentication outcomes: the provider issued one identity, and refused the request above
  //    under a folded reason (the made-up field name is in no label).
  assert.ok((metricOf(providerMetrics, 'peerlog_auth_identity_requests_total', { result: 'issued', reason: 'Identity' })?.value ?? 0) >= 1);
  assert.equal(metricOf(providerMetrics, 'peerlog_auth_identity_requests_total', { result: 'refused', reason: 'unknownField' })?.value, 1);
  assert.ok(!raw.text.includes('evil'), 'the odd field name is nowhere in the exposition');

  // 7. The log: lag per projection and partition is a whole number, at most the partition's end;
  //    the relay's count is at most the events in the outbox and at least those already published.
  const topicPartitions = ['0', '1', '2'];
  for (const [m, p] of [[consumerMetrics, consumer], [providerMetrics, provider]] as const) {
    const endSamples = m.peerlog_log_end_offset!.metrics;
    assert.deepEqual(endSamples.map((s) => s.labels.partition).sort(), topicPartitions);
    for (const projection of PROJECTIONS) {
      for (const partition of topicPartitions) {
        const lag = metricOf(m, 'peerlog_projection_lag_events', { projection, partition })?.value;
        const end = endSamples.find((s) => s.labels.partition === partition)!.value!;
        assert.ok(lag !== undefined && Number.isInteger(lag) && lag >= 0 && lag <= end, `${p.config.clusterId} ${projection}/${partition}: lag ${lag} within 0..${end}`);
      }
    }
    const published = Number((await driversOf(p.cp.runtime).ds.query('select count(*)::int as n from peerlog_outbox where published_at is not null') as { n: number }[])[0]!.n);
    const fresh = parseExposition((await scrape(p)).text);
    const total = Number((await driversOf(p.cp.runtime).ds.query('select count(*)::int as n from peerlog_outbox') as { n: number }[])[0]!.n);
    const relayed = metricOf(fresh, 'peerlog_relay_published_events_total', {})!.value!;
    assert.ok(relayed >= published && relayed <= total, `${p.config.clusterId}: relay published ${relayed}, outbox ${published} published of ${total}`);
    const sumEnds = fresh.peerlog_log_end_offset!.metrics.reduce((a, s) => a + s.value!, 0);
    assert.ok(sumEnds >= published, `${p.config.clusterId}: the topic holds at least the ${published} published events (ends sum to ${sumEnds})`);
    const depth = metricOf(fresh, 'peerlog_outbox_unpublished_events', {})!.value!;
    assert.ok(Number.isInteger(depth) && depth >= 0 && depth <= total - published, `${p.config.clusterId}: outbox depth ${depth}`);
  }
  // Caught up once nothing moves: every lag of the consumer's projections reaches 0.
  await eventually('every projection caught up', async () => {
    const m = parseExposition((await scrape(consumer)).text);
    return m.peerlog_projection_lag_events!.metrics.every((s) => s.value === 0) ? true : undefined;
  }, 30_000);

  // 8. The sample Grafana dashboard asks only for families the endpoint serves.
  const dashboard = readFileSync(join(process.cwd(), 'deploy', 'grafana', 'peerlog-dashboard.json'), 'utf8');
  const asked = [...new Set([...dashboard.matchAll(/peerlog_[a-z_]+/g)].map((x) => x[0].replace(/_bucket$/, '')))].sort();
  assert.ok(asked.length >= 10, `the dashboard names ${asked.length} families`);
  for (const name of asked) assert.ok(name in consumerMetrics || name in providerMetrics, `the dashboard's ${name} is served`);

  // 9. Nothing but GET /metrics is served.
  const base = new URL(consumer.cp.metricsUrl!);
  assert.equal((await fetch(new URL('/other', base))).status, 404);
  assert.equal((await fetch(base, { method: 'POST' })).status, 405);

  // 10. The histograms are the log's: `replay --projection metrics` rebuilds the same views from
  //     offset 0 (read with a runtime of the test's own, once the plane is stopped and nothing writes).
  await consumer.stop();
  const { openRuntime } = await import('../../../src/runtime.js');
  const { createLogger } = await import('../../../src/adapters/log/index.js');
  const rt = await openRuntime(consumer.config, createLogger({ level: 'error' }), { migrate: false });
  try {
    const viewsOf = async () => await driversOf(rt).ds.query(`select stream_id, version, view from peerlog_views where projection = 'metrics' order by stream_id`) as unknown[];
    const before = await viewsOf();
    assert.ok(before.length >= 2, 'views of the outgoing and pods streams');
    const replayed = await peerlog(['replay', '--projection', 'metrics', ...logFlags(consumer)]);
    assert.equal(replayed.status, 0, replayed.stderr);
    assert.deepEqual(await viewsOf(), before);
    const generation = await driversOf(rt).ds.query(`select generation from peerlog_projection_generations where projection = 'metrics'`) as { generation: number }[];
    assert.equal(generation[0]?.generation, 1, 'rebuilt once, from offset 0');
  } finally {
    await rt.close();
  }
});
