// The audit index's secondary indexes, for what is asked of it and what it costs to keep.
// - Time: rows arrive in about time order (each partition in log order), so occurred_at climbs
//   with the table's pages and a BRIN index
//   (a few pages for millions of rows) narrows a time range about as well as a B-tree would, while
//   adding next to nothing to each insert; autosummarize keeps ranges just filled summarized. A
//   B-tree on it took about a quarter of a rebuild's COPY time.
// - Type: two dozen values, so a B-tree on it is rarely better than a scan for one type over a
//   whole log, and its inserts into long runs of duplicates cost as much as the time index's. A
//   type is asked for within a stream or a time range, which the other indexes narrow.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditTimeRange1732000003000 implements MigrationInterface {
  name = 'AuditTimeRange1732000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('drop index peerlog_audit_type');
    await q.query('drop index peerlog_audit_time');
    await q.query('create index peerlog_audit_time on peerlog_audit using brin (occurred_at) with (autosummarize = on)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('drop index peerlog_audit_time');
    await q.query('create index peerlog_audit_time on peerlog_audit (occurred_at)');
    await q.query('create index peerlog_audit_type on peerlog_audit (type)');
  }
}
