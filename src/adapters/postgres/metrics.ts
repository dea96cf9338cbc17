// What /metrics reads from PostgreSQL, at each scrape: the outbox's backlog, the projections'
// checkpoints, and the read models' peerings, outgoing states and offloaded pods. Read only.
import type { DataSource } from './datasource.js';

export interface OutboxDepth {
  /** Rows not yet published to Kafka (sealed or not). */
  readonly unpublished: number;
  /** Age in seconds of the oldest such row (0 when none), by the database's clock. */
  readonly oldestSeconds: number;
}

export interface CheckpointRow { readonly projection: string; readonly partition: number; readonly nextOffset: bigint }

export interface MetricsQueries {
  outboxDepth(clusterId: string): Promise<OutboxDepth>;
  checkpoints(topic: string): Promise<readonly CheckpointRow[]>;
  /** Peerings by direction and phase (read model peerlog_peerings). */
  peeringPhases(): Promise<readonly { direction: string; phase: string; count: number }[]>;
  /** The state of every outgoing aggregate (read model peerlog_aggregates). */
  outgoingStates(): Promise<readonly unknown[]>;
  /** Offloaded pods by offloaded flag and remote phase (read model peerlog_offloaded_pods). */
  offloadedPods(): Promise<readonly { remoteClusterId: string; offloaded: boolean; phase: string | null; count: number }[]>;
}

export function createMetricsQueries(ds: DataSource): MetricsQueries {
  return {
    async outboxDepth(clusterId) {
      // The partial index on unpublished rows keeps this small whatever the outbox holds.
      const r = await ds.query(
        `select count(*)::int as n, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
         from peerlog_outbox where published_at is null and cluster_id = $1`, [clusterId]) as { n: number; age: number }[];
      return { unpublished: r[0]?.n ?? 0, oldestSeconds: Math.max(0, r[0]?.age ?? 0) };
    },
    async checkpoints(topic) {
      const rows = await ds.query('select projection, partition, next_offset from peerlog_checkpoints where topic = $1', [topic]) as { projection: string; partition: number; next_offset: string }[];
      return rows.map((r) => ({ projection: r.projection, partition: r.partition, nextOffset: BigInt(r.next_offset) }));
    },
    async peeringPhases() {
      return await ds.query('select direction, phase, count(*)::int as count from peerlog_peerings group by direction, phase order by direction, phase') as { direction: string; phase: string; count: number }[];
    },
    async outgoingStates() {
      const rows = await ds.query(`select state from peerlog_aggregates where stream_type = 'outgoing'`) as { state: unknown }[];
      return rows.map((r) => r.state);
    },
    async offloadedPods() {
      const rows = await ds.query(
        `select remote_cluster_id, offloaded, phase, count(*)::int as count from peerlog_offloaded_pods
         group by remote_cluster_id, offloaded, phase order by 1, 2, 3`) as { remote_cluster_id: string; offloaded: boolean; phase: string | null; count: number }[];
      return rows.map((r) => ({ remoteClusterId: r.remote_cluster_id, offloaded: r.offloaded, phase: r.phase, count: r.count }));
    },
  };
}
