// The metrics projection: a consumer group of its own that folds each peering and pods stream into
// its timing view (steps.ts), kept in peerlog_views with its checkpoint in one transaction; /metrics
// sums the views into histograms. No effect: it only keeps what the log says about durations.
import type { Projection, ProjectionBatch, ProjectionTx, ViewRow, ViewStore } from '../ports.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { HistogramSeries, MetricFamily } from '../../metrics/exposition.js';
import { viewKindOf, type ViewKind } from '../views/view.js';
import { emptyStepsView, foldSteps, POD_RUNNING_KEY, STEP_BOUNDS, stepOfKey, type StepHistogram, type StepsView } from './steps.js';

export const METRICS_PROJECTION = 'metrics';
const KINDS: readonly ViewKind[] = ['outgoing', 'incoming', 'pods'];

export function createMetricsProjection(store: ViewStore): Projection {
  return {
    name: METRICS_PROJECTION,
    tables: [],
    follows: (streamId) => viewKindOf(streamId, KINDS) !== undefined,
    appliedVersions: (tx: ProjectionTx, streamIds: readonly string[]) => store.versions(tx, METRICS_PROJECTION, streamIds),
    async apply(tx: ProjectionTx, batch: ProjectionBatch) {
      const continued = batch.streamIds.filter((id) => !batch.firstSeen.has(id));
      const known = continued.length === 0 ? new Map<string, ViewRow<StepsView>>() : await store.load<StepsView>(tx, METRICS_PROJECTION, continued);
      const changed = new Map<string, ViewRow<StepsView>>();
      for (const e of batch.events as Iterable<EventEnvelope>) {
        const ref = viewKindOf(e.streamId, KINDS);
        if (!ref) continue;
        const before = changed.get(e.streamId)?.view ?? known.get(e.streamId)?.view ?? emptyStepsView(ref.kind);
        const view = foldSteps(before, e);
        changed.set(e.streamId, { streamId: e.streamId, streamType: ref.kind, remoteClusterId: ref.remoteClusterId, version: e.streamVersion, view });
      }
      await store.save(tx, METRICS_PROJECTION, [...changed.values()]);
    },
    reset: (tx) => store.clear(tx, METRICS_PROJECTION),
  };
}

function add(a: StepHistogram | undefined, b: StepHistogram): StepHistogram {
  if (!a) return b;
  return { counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: Math.round((a.sum + b.sum) * 1000) / 1000 };
}

export const STEP_FAMILY = 'peerlog_peering_step_duration_seconds';
export const POD_START_FAMILY = 'peerlog_offloaded_pod_start_duration_seconds';

/**
 * The step histograms of every stream's view, summed per (direction, since, step), and the pods'
 * (PodOffloaded to the first Running reflected) per remote cluster. Each timed step appears, at
 * zero, before anything was observed, so a dashboard has its series from the start.
 */
export function stepFamilies(rows: readonly ViewRow<StepsView>[]): MetricFamily[] {
  const zero: StepHistogram = { counts: new Array<number>(STEP_BOUNDS.length + 1).fill(0), sum: 0 };
  const steps = new Map<string, { labels: Record<string, string>; h: StepHistogram }>();
  for (const [direction, since, step] of [
    ['outgoing', 'PeeringRequested', 'CertIssued'], ['outgoing', 'PeeringRequested', 'OfferAccepted'], ['outgoing', 'PeeringRequested', 'VirtualNodeReady'],
    ['outgoing', 'UnpeeringRequested', 'PeeringTerminated'], ['incoming', 'TokenValidated', 'CertIssued'], ['incoming', 'TokenValidated', 'OfferIssued'],
  ] as const) steps.set(`${direction}|${since}|${step}`, { labels: { direction, since, step }, h: zero });
  const pods = new Map<string, { labels: Record<string, string>; h: StepHistogram }>();
  for (const r of rows) {
    for (const [key, h] of Object.entries(r.view.histograms)) {
      if (key === POD_RUNNING_KEY) {
        const at = pods.get(r.remoteClusterId);
        pods.set(r.remoteClusterId, { labels: { remote_cluster_id: r.remoteClusterId }, h: add(at?.h, h) });
        continue;
      }
      const { since, step } = stepOfKey(key);
      const k = `${r.view.kind}|${since}|${step}`;
      const at = steps.get(k);
      steps.set(k, { labels: { direction: r.view.kind, since, step }, h: add(at?.h, h) });
    }
  }
  const series = (m: Map<string, { labels: Record<string, string>; h: StepHistogram }>): HistogramSeries[] =>
    [...m.keys()].sort().map((k) => { const { labels, h } = m.get(k)!; return { labels, counts: h.counts, sum: h.sum }; });
  return [
    { name: STEP_FAMILY, type: 'histogram', bounds: STEP_BOUNDS, series: series(steps),
      help: 'Time from the event a peering step is timed from (label since) to the event that ends it (label step), from the events\' occurredAt in the log.' },
    { name: POD_START_FAMILY, type: 'histogram', bounds: STEP_BOUNDS, series: series(pods),
      help: 'Time from PodOffloaded (the pod bound to the virtual node, its twin made) to the first Running status reflected from the provider, from the log.' },
  ];
}
