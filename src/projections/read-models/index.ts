// The read-model projection: audit index, aggregate states and peerings, written in bulk (one
// statement per table per batch) inside the runner's transaction.
import type { EntityManager } from 'typeorm';
import type { EventEnvelope } from '../../events/envelope.js';
import type { Projection } from '../runner.js';
import { forgeReadModelRows, type AggregateRow, type StreamFolder } from './forge.js';

export const READ_MODELS = 'read-models';

export function createReadModelProjection(folder: StreamFolder): Projection {
  return {
    name: READ_MODELS,
    tables: ['peerlog_audit', 'peerlog_aggregates', 'peerlog_peerings'],
    async apply(tx: EntityManager, events: readonly EventEnvelope[]) {
      const streamIds = [...new Set(events.map((e) => e.streamId))];
      const prior = new Map<string, AggregateRow>();
      for (const r of await tx.query('select stream_id, stream_type, version, state from peerlog_aggregates where stream_id = any($1)', [streamIds]) as { stream_id: string; stream_type: string; version: number; state: unknown }[]) {
        prior.set(r.stream_id, { streamId: r.stream_id, streamType: r.stream_type, version: r.version, state: r.state });
      }
      const names = new Map<string, string | null>();
      for (const r of await tx.query(`select direction || '-' || remote_cluster_id as stream_id, remote_cluster_name from peerlog_peerings where direction || '-' || remote_cluster_id = any($1)`, [streamIds]) as { stream_id: string; remote_cluster_name: string | null }[]) {
        names.set(r.stream_id, r.remote_cluster_name);
      }
      const rows = forgeReadModelRows(folder, events, prior, names);
      const a = rows.audit;
      await tx.query(
        `insert into peerlog_audit (event_id, cluster_id, occurred_at, type, stream_id, stream_version, actor_kind, actor_name, correlation_id, causation_id, hash, prev_hash)
         select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
         on conflict do nothing`,
        [a.map((r) => r.eventId), a.map((r) => r.clusterId), a.map((r) => r.occurredAt), a.map((r) => r.type), a.map((r) => r.streamId),
          a.map((r) => r.streamVersion), a.map((r) => r.actorKind), a.map((r) => r.actorName), a.map((r) => r.correlationId),
          a.map((r) => r.causationId), a.map((r) => r.hash), a.map((r) => r.prevHash)]);
      const g = rows.aggregates;
      if (g.length > 0) {
        await tx.query(
          `insert into peerlog_aggregates (stream_id, stream_type, version, state)
           select * from unnest($1::text[], $2::text[], $3::int[], $4::jsonb[])
           on conflict (stream_id) do update set stream_type = excluded.stream_type, version = excluded.version, state = excluded.state`,
          [g.map((r) => r.streamId), g.map((r) => r.streamType), g.map((r) => r.version), g.map((r) => JSON.stringify(r.state))]);
      }
      const p = rows.peerings;
      if (p.length > 0) {
        await tx.query(
          `insert into peerlog_peerings (cluster_id, remote_cluster_id, direction, remote_cluster_name, phase, stream_version, last_event_type, steps, updated_at)
           select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::jsonb[], $9::timestamptz[])
           on conflict (cluster_id, remote_cluster_id, direction) do update set
             remote_cluster_name = coalesce(excluded.remote_cluster_name, peerlog_peerings.remote_cluster_name),
             phase = excluded.phase, stream_version = excluded.stream_version, last_event_type = excluded.last_event_type,
             steps = peerlog_peerings.steps || excluded.steps, updated_at = excluded.updated_at`,
          [p.map((r) => r.clusterId), p.map((r) => r.remoteClusterId), p.map((r) => r.direction), p.map((r) => r.remoteClusterName),
            p.map((r) => r.phase), p.map((r) => r.streamVersion), p.map((r) => r.lastEventType), p.map((r) => JSON.stringify(r.steps)),
            p.map((r) => r.updatedAt)]);
      }
    },
  };
}
