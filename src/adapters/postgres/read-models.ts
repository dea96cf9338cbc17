// The read-model projection: audit index, aggregate states and peerings, written in bulk inside the
// runner's transaction: COPY for the append-only audit index, COPY and one merge for the others.
import type { EntityManager } from './datasource.js';
import type { Projection, ProjectionBatch, ProjectionTx } from '../../projections/ports.js';
import { copyRows, copyText, type CopyColumns, type CopyText } from './copy.js';
import { runStatement, type Statement } from './statements.js';
import { createReadModelForge, type AggregateRow, type AuditRow, type PeeringRow, type StreamFolder, type StreamRows } from '../../projections/read-models/forge.js';

export const READ_MODELS = 'read-models';

// Plain (written unescaped): the fields whose format parseEvent checked, which the audit rows are
// read from (UUIDs, hashes, pattern-checked ids and timestamps, known types and kinds, integers).
const AUDIT_COLUMNS: CopyColumns<AuditRow> = {
  event_id: { plain: (r) => r.eventId }, cluster_id: { plain: (r) => r.clusterId }, occurred_at: { plain: (r) => r.occurredAt },
  type: { plain: (r) => r.type }, stream_id: { plain: (r) => r.streamId }, stream_version: { plain: (r) => r.streamVersion },
  actor_kind: { plain: (r) => r.actorKind }, actor_name: (r) => r.actorName, correlation_id: (r) => r.correlationId,
  causation_id: (r) => r.causationId, hash: { plain: (r) => r.hash }, prev_hash: { plain: (r) => r.prevHash },
};
const AUDIT_COLUMN_LIST = Object.keys(AUDIT_COLUMNS).join(', ');
const PG_UNIQUE_VIOLATION = '23505';

// The statements of every batch, named (see statements.ts). Lists and rows go as one JSON text: as
// array parameters pg would escape every element (states and steps are JSON themselves) and
// PostgreSQL parse each array literal back.
const PRIOR_STATES: Statement = {
  name: 'peerlog-read-models-states',
  text: 'select stream_id, stream_type, version, state from peerlog_aggregates where stream_id = any(array(select json_array_elements_text($1::json)))',
};
/**
 * Where the runner dedupes: the audit index holds every event applied (one backward probe of its
 * (stream_id, stream_version) index per stream), and the aggregate row the last one applied, which
 * also covers an event whose audit row was kept out because another event had taken its id.
 */
const APPLIED_VERSIONS: Statement = {
  name: 'peerlog-read-models-applied-versions',
  text: `select stream_id, version from (
      select s.stream_id, greatest(
        (select max(a.stream_version) from peerlog_audit a where a.stream_id = s.stream_id),
        (select g.version from peerlog_aggregates g where g.stream_id = s.stream_id)) as version
      from json_array_elements_text($1::json) as s(stream_id)) v
    where version is not null`,
};
// Aggregate and peering rows are merged from temp tables of the connection, filled by COPY: for
// rows of JSON documents (states, steps) COPY costs PostgreSQL a fraction of reading a JSON array.
// Emptied first as well: a batch may be applied in two rounds in one transaction (see runner.ts).
const STAGING_TABLES = `create temp table if not exists peerlog_aggregates_in (like peerlog_aggregates) on commit delete rows;
  create temp table if not exists peerlog_peerings_in (like peerlog_peerings) on commit delete rows;
  delete from peerlog_aggregates_in; delete from peerlog_peerings_in`;
const AGGREGATE_COLUMNS: CopyColumns<AggregateRow> = {
  stream_id: (r) => r.streamId, stream_type: (r) => r.streamType, version: (r) => r.version, state: (r) => JSON.stringify(r.state),
};
const PEERING_COLUMNS: CopyColumns<PeeringRow> = {
  cluster_id: (r) => r.clusterId, remote_cluster_id: (r) => r.remoteClusterId, direction: (r) => r.direction,
  remote_cluster_name: (r) => r.remoteClusterName, phase: (r) => r.phase, stream_version: (r) => r.streamVersion,
  last_event_type: (r) => r.lastEventType, steps: (r) => JSON.stringify(r.steps), updated_at: (r) => r.updatedAt,
};
const MERGE_AGGREGATES: Statement = {
  name: 'peerlog-read-models-aggregates',
  text: `insert into peerlog_aggregates (stream_id, stream_type, version, state)
    select stream_id, stream_type, version, state from peerlog_aggregates_in
    on conflict (stream_id) do update set stream_type = excluded.stream_type, version = excluded.version, state = excluded.state`,
};
const MERGE_PEERINGS: Statement = {
  name: 'peerlog-read-models-peerings',
  text: `insert into peerlog_peerings (cluster_id, remote_cluster_id, direction, remote_cluster_name, phase, stream_version, last_event_type, steps, updated_at)
    select cluster_id, remote_cluster_id, direction, remote_cluster_name, phase, stream_version, last_event_type, steps, updated_at
    from peerlog_peerings_in
    on conflict (cluster_id, remote_cluster_id, direction) do update set
      remote_cluster_name = coalesce(excluded.remote_cluster_name, peerlog_peerings.remote_cluster_name),
      phase = excluded.phase, stream_version = excluded.stream_version, last_event_type = excluded.last_event_type,
      steps = peerlog_peerings.steps || excluded.steps, updated_at = excluded.updated_at`,
};

/**
 * Writes a batch's rows. The runner never hands over a (stream, version) twice, and a stream new to
 * the projection has no aggregate or peering row yet, so the usual batch is three COPYs: the audit
 * rows, and the rows of new streams straight into their tables (most of a rebuild's); only rows of
 * streams continued from earlier batches are merged, through temp tables. A conflict means a forged
 * or corrupt log (an event id reused under another (stream, version), a peering row of an unseen
 * stream): then everything goes the careful way, the audit rows keeping the first row of each id
 * as an insert `on conflict do nothing` does, and every other row merged.
 */
async function writeRows(tx: EntityManager, audit: CopyText<AuditRow>, rows: StreamRows, firstSeen: ReadonlySet<string>): Promise<void> {
  const fresh = { aggregates: [] as AggregateRow[], peerings: [] as PeeringRow[] };
  const continued = { aggregates: [] as AggregateRow[], peerings: [] as PeeringRow[] };
  for (const r of rows.aggregates) (firstSeen.has(r.streamId) ? fresh : continued).aggregates.push(r);
  for (const r of rows.peerings) (firstSeen.has(r.streamId) ? fresh : continued).peerings.push(r);
  let merged: StreamRows = continued;
  await tx.query('savepoint peerlog_copy');
  try {
    await audit.copyInto(tx, 'peerlog_audit');
    await copyRows(tx, 'peerlog_aggregates', AGGREGATE_COLUMNS, fresh.aggregates);
    await copyRows(tx, 'peerlog_peerings', PEERING_COLUMNS, fresh.peerings);
    await tx.query('release savepoint peerlog_copy');
  } catch (e) {
    if ((e as { code?: unknown }).code !== PG_UNIQUE_VIOLATION) throw e;
    await tx.query('rollback to savepoint peerlog_copy');
    await tx.query('release savepoint peerlog_copy');
    await tx.query('create temp table if not exists peerlog_audit_staging (like peerlog_audit) on commit drop');
    await tx.query('delete from peerlog_audit_staging');
    await audit.copyInto(tx, 'peerlog_audit_staging');
    await tx.query(`insert into peerlog_audit (${AUDIT_COLUMN_LIST}) select ${AUDIT_COLUMN_LIST} from peerlog_audit_staging on conflict do nothing`);
    merged = rows;
  }
  if (merged.aggregates.length === 0 && merged.peerings.length === 0) return;
  // Made once per connection (`if not exists`, every batch: a rolled-back batch takes them back).
  await tx.query(STAGING_TABLES);
  if (merged.aggregates.length > 0) {
    await copyRows(tx, 'peerlog_aggregates_in', AGGREGATE_COLUMNS, merged.aggregates);
    await runStatement(tx, MERGE_AGGREGATES, []);
  }
  if (merged.peerings.length > 0) {
    await copyRows(tx, 'peerlog_peerings_in', PEERING_COLUMNS, merged.peerings);
    await runStatement(tx, MERGE_PEERINGS, []);
  }
}

export function createReadModelProjection(folder: StreamFolder): Projection {
  return {
    name: READ_MODELS,
    tables: ['peerlog_audit', 'peerlog_aggregates', 'peerlog_peerings'],
    async appliedVersions(ptx: ProjectionTx, streamIds: readonly string[]) {
      const tx = ptx as unknown as EntityManager;
      const rows = await runStatement<{ stream_id: string; version: number }>(tx, APPLIED_VERSIONS, [JSON.stringify(streamIds)]);
      return new Map(rows.map((r) => [r.stream_id, r.version]));
    },
    async apply(ptx: ProjectionTx, batch: ProjectionBatch) {
      const tx = ptx as unknown as EntityManager;
      // Only streams seen before have rows to read back (in a rebuild, those a batch boundary cut).
      const continued = batch.streamIds.filter((id) => !batch.firstSeen.has(id));
      const prior = new Map<string, AggregateRow>();
      if (continued.length > 0) {
        for (const r of await runStatement<{ stream_id: string; stream_type: string; version: number; state: unknown }>(tx, PRIOR_STATES, [JSON.stringify(continued)])) {
          prior.set(r.stream_id, { streamId: r.stream_id, streamType: r.stream_type, version: r.version, state: r.state });
        }
      }
      // One event at a time, from decoding to its audit row's COPY text: none is held past its turn.
      const forge = createReadModelForge(folder, prior);
      const audit = copyText(AUDIT_COLUMNS);
      for (const e of batch.events) audit.add(forge.add(e));
      await writeRows(tx, audit, forge.rows(), batch.firstSeen);
    },
  };
}
