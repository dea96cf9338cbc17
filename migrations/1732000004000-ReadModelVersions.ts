// The read models dedupe by their own rows (the audit index and the aggregate versions), so the
// runner's per-stream positions for them are no longer kept: the stale ones go. Going back down
// writes them again from the audit index, which is what a release that dedupes by them expects.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ReadModelVersions1732000004000 implements MigrationInterface {
  name = 'ReadModelVersions1732000004000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`delete from peerlog_projection_streams where projection = 'read-models'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      insert into peerlog_projection_streams (projection, stream_id, version)
      select 'read-models', stream_id, max(version) from (
        select stream_id, stream_version as version from peerlog_audit
        union all select stream_id, version from peerlog_aggregates) v
      group by stream_id
      on conflict (projection, stream_id) do update set version = excluded.version`);
  }
}
