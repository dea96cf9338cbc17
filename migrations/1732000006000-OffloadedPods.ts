// The read model of offloaded pods: one row per pod a virtual node runs in a provider (or keeps back
// with a reason), read from the pods aggregates the read-models projection folds into
// peerlog_aggregates. A view, not a table: it is rebuilt with them (replay, offset 0) by nature, and
// can never disagree with the folded state.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OffloadedPods1732000006000 implements MigrationInterface {
  name = 'OffloadedPods1732000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create view peerlog_offloaded_pods as
      select
        substr(a.stream_id, length('pods-') + 1) as remote_cluster_id,
        p.value->>'namespace' as namespace,
        p.value->>'name' as name,
        p.value->>'uid' as uid,
        p.value->>'remoteNamespace' as remote_namespace,
        p.value->>'remoteName' as remote_name,
        p.value->>'nodeName' as node_name,
        coalesce((p.value->>'offloaded')::boolean, true) as offloaded,
        p.value->'status'->>'phase' as phase,
        p.value->'status'->>'podIp' as pod_ip,
        p.value->'failure'->>'reason' as failure_reason,
        p.value->'failure'->>'message' as failure_message,
        a.version as stream_version
      from peerlog_aggregates a, jsonb_each(coalesce(a.state->'pods', '{}'::jsonb)) p
      where a.stream_type = 'pods'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('drop view peerlog_offloaded_pods');
  }
}
