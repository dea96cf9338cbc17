// The /metrics endpoint of one control plane: what each family is read from (the metrics
// projection's views, the read models, the checkpoints against the topic's ends, the outbox, the
// relay's and runners' counts, the authentication endpoint's outcomes) and the server that answers.
import type { PeerlogConfig } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../adapters/log/index.js';
import type { Relay } from '../adapters/kafka/relay.js';
import type { ProjectionRunner } from '../adapters/kafka/projection-runner.js';
import type { IdentityOutcome } from '../adapters/http/auth-server.js';
import { createMetricsServer, METRICS_PATH } from '../adapters/http/metrics.js';
import { topicFor } from '../adapters/kafka/client.js';
import { createCounter, type MetricFamily, type Sample } from '../metrics/exposition.js';
import { createMetricsProjection, METRICS_PROJECTION, stepFamilies } from '../projections/metrics/index.js';
import type { StepsView } from '../projections/metrics/steps.js';
import { offloadedPodPhaseOf, VIRTUAL_NODE_STATES, virtualNodeStateOf } from '../projections/metrics/gauges.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import type { Projection } from '../projections/ports.js';

/** The fields a malformed identity request is refused for: any other reason is a name the caller made up. */
const REQUEST_FIELDS = new Set(['body', 'request', 'clusterId', 'clusterName', 'token', 'csr', 'validitySeconds', 'renewal', 'renewal.certFingerprint', 'renewal.signature']);

/** The `result` and `reason` labels of an identity request's outcome; reasons a caller could choose are folded. */
export function authResultOf(o: IdentityOutcome): { result: string; reason: string } {
  if (o.code === 'OK') return { result: 'issued', reason: o.renewal ? 'Renewal' : 'Identity' };
  if (o.status === 429) return { result: 'rate_limited', reason: 'TooManyAttempts' };
  if (o.status >= 500) return { result: 'failed', reason: o.code };
  if (o.code === 'MalformedRequest' || o.code === 'PayloadTooLarge') return { result: 'refused', reason: REQUEST_FIELDS.has(o.reason) ? o.reason : 'unknownField' };
  return { result: 'refused', reason: o.reason };
}

export interface MetricsEndpoint {
  /** The metrics projection, for the caller to run like the others (it names its runner). */
  readonly projection: Projection;
  /** For the authentication endpoint's `onIdentityOutcome`. */
  readonly onIdentityOutcome: (o: IdentityOutcome) => void;
  /** Starts serving; the URL of /metrics (the port resolved when 0 was asked). */
  listen(sources: { relay: Relay; runners: readonly { name: string; runner: ProjectionRunner }[] }): Promise<string>;
  close(): Promise<void>;
}

export function createMetricsEndpoint(config: PeerlogConfig, rt: Runtime, logger: Logger): MetricsEndpoint {
  const log = logger.child({ component: 'metrics' });
  const auth = createCounter('peerlog_auth_identity_requests_total',
    'Identity requests to the authentication endpoint (POST /identity) by how they ended: result issued, refused, rate_limited or failed, and the reason answered.',
    ['result', 'reason']);
  // At zero from the start, so that rate() and a dashboard have the series before the first request.
  for (const reason of ['Identity', 'Renewal']) auth.inc({ result: 'issued', reason }, 0);
  const { queries, ends } = rt.metricsSources();
  const topic = topicFor(config.clusterId);
  let server: ReturnType<typeof createMetricsServer> | undefined;

  /** One source's families, or none when it fails (logged; `up` says so). */
  async function guarded(source: string, up: Map<string, number>, read: () => Promise<MetricFamily[]>): Promise<MetricFamily[]> {
    try {
      const out = await read();
      if (!up.has(source)) up.set(source, 1);
      return out;
    } catch (e) {
      up.set(source, 0);
      log.warn('metrics source failing; its families are left out of this scrape', { source, error: e });
      return [];
    }
  }

  async function collect(relay: Relay, runners: readonly { name: string; runner: ProjectionRunner }[]): Promise<MetricFamily[]> {
    const up = new Map<string, number>();
    const [steps, database, kafka] = await Promise.all([
      guarded('postgres', up, async () => stepFamilies(await rt.views.all<StepsView>(METRICS_PROJECTION))),
      guarded('postgres', up, async () => {
        const [outbox, phases, outgoing, pods] = await Promise.all([queries.outboxDepth(config.clusterId), queries.peeringPhases(), queries.outgoingStates(), queries.offloadedPods()]);
        const nodes = new Map<string, number>(VIRTUAL_NODE_STATES.map((s) => [s, 0]));
        for (const s of outgoing) { const st = virtualNodeStateOf(s as OutgoingState); if (st) nodes.set(st, nodes.get(st)! + 1); }
        const podCounts = new Map<string, Sample>();
        for (const p of pods) {
          const phase = offloadedPodPhaseOf(p);
          const key = `${p.remoteClusterId}|${phase}`;
          podCounts.set(key, { labels: { remote_cluster_id: p.remoteClusterId, phase }, value: (podCounts.get(key)?.value ?? 0) + p.count });
        }
        return [
          { name: 'peerlog_outbox_unpublished_events', type: 'gauge', help: 'Events in the PostgreSQL outbox not yet published to Kafka by the relay.', samples: [{ labels: {}, value: outbox.unpublished }] },
          { name: 'peerlog_outbox_oldest_unpublished_age_seconds', type: 'gauge', help: 'Age of the oldest event not yet published to Kafka (0 when none waits).', samples: [{ labels: {}, value: outbox.oldestSeconds }] },
          { name: 'peerlog_peerings', type: 'gauge', help: 'Peerings by direction and phase (read model peerlog_peerings).', samples: phases.map((p) => ({ labels: { direction: p.direction, phase: p.phase }, value: p.count })) },
          { name: 'peerlog_virtual_nodes', type: 'gauge', help: 'Virtual nodes of this cluster\'s outgoing peerings by state (Ready, NotReady, Draining), from the read models.', samples: [...nodes].map(([state, value]) => ({ labels: { state }, value })) },
          { name: 'peerlog_offloaded_pods', type: 'gauge', help: 'Pods offloaded through a virtual node by remote cluster and remote phase (NotOffloaded: kept back with a reason), from the read models.', samples: [...podCounts.values()] },
        ] satisfies MetricFamily[];
      }),
      guarded('kafka', up, async () => {
        const [partitionEnds, checkpoints] = await Promise.all([ends.read(), queries.checkpoints(topic)]);
        const at = new Map(checkpoints.map((c) => [`${c.projection}|${c.partition}`, c.nextOffset]));
        const lag: Sample[] = [];
        for (const name of [...runners.map((r) => r.name)].sort()) {
          for (const p of partitionEnds) {
            const behind = p.high - (at.get(`${name}|${p.partition}`) ?? 0n);
            lag.push({ labels: { projection: name, partition: String(p.partition) }, value: Number(behind > 0n ? behind : 0n) });
          }
        }
        return [
          { name: 'peerlog_log_end_offset', type: 'gauge', help: 'The offset the next event of each partition of this cluster\'s event topic will get (its high watermark).', samples: partitionEnds.map((p) => ({ labels: { partition: String(p.partition) }, value: Number(p.high) })) },
          { name: 'peerlog_projection_lag_events', type: 'gauge', help: 'Events of each partition a projection has yet to apply: the log end offset less its checkpoint in PostgreSQL.', samples: lag },
        ] satisfies MetricFamily[];
      }),
    ]);
    const counters: MetricFamily[] = [
      { name: 'peerlog_relay_published_events_total', type: 'counter', help: 'Events this process\'s relay published to Kafka and marked published (0 while another process holds the relay).', samples: [{ labels: {}, value: relay.stats.published }] },
      { name: 'peerlog_relay_failures_total', type: 'counter', help: 'Relay rounds that failed (Kafka or PostgreSQL away) and were retried.', samples: [{ labels: {}, value: relay.stats.failures }] },
      { name: 'peerlog_projection_applied_events_total', type: 'counter', help: 'Events each projection applied in this process (duplicates and dead letters apart).', samples: runners.map((r) => ({ labels: { projection: r.name }, value: r.runner.stats.applied })) },
      { name: 'peerlog_projection_dead_letters_total', type: 'counter', help: 'Events each projection recorded as dead letters in this process.', samples: runners.map((r) => ({ labels: { projection: r.name }, value: r.runner.stats.deadLetters })) },
      auth.family(),
    ];
    const upFamily: MetricFamily = { name: 'peerlog_metrics_source_up', type: 'gauge', help: 'Whether a source of this scrape answered (1) or its families were left out (0).', samples: ['postgres', 'kafka'].map((s) => ({ labels: { source: s }, value: up.get(s) ?? 0 })) };
    return [...steps, ...database, ...kafka, ...counters, upFamily];
  }

  return {
    projection: createMetricsProjection(rt.views),
    onIdentityOutcome: (o) => auth.inc(authResultOf(o)),
    async listen({ relay, runners }) {
      server = createMetricsServer({ host: config.metricsHost, port: config.metricsPort ?? 0, logger, collect: () => collect(relay, runners) });
      const addr = await server.listen();
      return `http://${config.metricsHost.includes(':') ? `[${config.metricsHost}]` : config.metricsHost}:${addr.port}${METRICS_PATH}`;
    },
    async close() {
      await server?.close();
      await ends.close();
    },
  };
}
