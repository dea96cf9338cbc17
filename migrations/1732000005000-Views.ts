// The views of the projections that drive effects (kubernetes, replication, virtual-kubelet,
// process): per projection and stream, the state folded from the log up to `version`, written in
// the same transaction as the projection's checkpoint. The projection's own rows are also where it
// dedupes, so it keeps no per-stream positions elsewhere.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Views1732000005000 implements MigrationInterface {
  name = 'Views1732000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table peerlog_views (
        projection text not null,
        stream_id text not null,
        stream_type text not null,
        remote_cluster_id text not null,
        version integer not null,
        view jsonb not null,
        updated_at timestamptz not null default now(),
        primary key (projection, stream_id)
      )`);
    await q.query('create index peerlog_views_remote on peerlog_views (projection, remote_cluster_id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('drop table peerlog_views');
  }
}
