// The rows of the views that effect projections fold from the log (table peerlog_views): read and
// written inside a projection batch's transaction, read outside it by the projection's appliers.
import type { DataSource, EntityManager } from './datasource.js';
import { runStatement, type Statement } from './statements.js';
import type { ProjectionTx, ViewRow, ViewStore } from '../../projections/ports.js';

export type { ViewRow, ViewStore } from '../../projections/ports.js';

/** The typeorm transaction behind a projection's opaque one. */
const txOf = (tx: ProjectionTx): EntityManager => tx as unknown as EntityManager;

const LOAD: Statement = {
  name: 'peerlog-views-load',
  text: `select stream_id, stream_type, remote_cluster_id, version, view from peerlog_views
    where projection = $1 and stream_id = any(array(select json_array_elements_text($2::json)))`,
};
const VERSIONS: Statement = {
  name: 'peerlog-views-versions',
  text: `select stream_id, version from peerlog_views
    where projection = $1 and stream_id = any(array(select json_array_elements_text($2::json)))`,
};
const SAVE: Statement = {
  name: 'peerlog-views-save',
  text: `insert into peerlog_views (projection, stream_id, stream_type, remote_cluster_id, version, view)
    select $1, s, t, r, v, w from json_to_recordset($2::json) as x(s text, t text, r text, v int, w jsonb)
    on conflict (projection, stream_id) do update set version = excluded.version, view = excluded.view, updated_at = now()
    where peerlog_views.version < excluded.version`,
};

interface Raw { stream_id: string; stream_type: string; remote_cluster_id: string; version: number; view: unknown }
const rowOf = <V>(r: Raw): ViewRow<V> => ({ streamId: r.stream_id, streamType: r.stream_type, remoteClusterId: r.remote_cluster_id, version: r.version, view: r.view as V });

export function createViewStore(ds: DataSource): ViewStore {
  return {
    async load<V>(tx: ProjectionTx, projection: string, streamIds: readonly string[]) {
      const out = new Map<string, ViewRow<V>>();
      if (streamIds.length === 0) return out;
      for (const r of await runStatement<Raw>(txOf(tx), LOAD, [projection, JSON.stringify(streamIds)])) out.set(r.stream_id, rowOf<V>(r));
      return out;
    },
    async versions(tx, projection, streamIds) {
      if (streamIds.length === 0) return new Map();
      const rows = await runStatement<{ stream_id: string; version: number }>(txOf(tx), VERSIONS, [projection, JSON.stringify(streamIds)]);
      return new Map(rows.map((r) => [r.stream_id, r.version]));
    },
    async save(tx, projection, rows) {
      if (rows.length === 0) return;
      await runStatement(txOf(tx), SAVE, [projection, JSON.stringify(rows.map((r) => ({ s: r.streamId, t: r.streamType, r: r.remoteClusterId, v: r.version, w: r.view })))]);
    },
    async clear(tx, projection) {
      await txOf(tx).query('delete from peerlog_views where projection = $1', [projection]);
    },
    async ofRemote<V>(projection: string, remoteClusterId: string) {
      const rows = await ds.query('select stream_id, stream_type, remote_cluster_id, version, view from peerlog_views where projection = $1 and remote_cluster_id = $2', [projection, remoteClusterId]) as Raw[];
      return rows.map((r) => rowOf<V>(r));
    },
    async all<V>(projection: string) {
      const rows = await ds.query('select stream_id, stream_type, remote_cluster_id, version, view from peerlog_views where projection = $1 order by stream_id', [projection]) as Raw[];
      return rows.map((r) => rowOf<V>(r));
    },
    async remotes(projection) {
      const rows = await ds.query('select distinct remote_cluster_id from peerlog_views where projection = $1', [projection]) as { remote_cluster_id: string }[];
      return rows.map((r) => r.remote_cluster_id);
    },
    async remotesIn(projection, streamType, statuses) {
      const rows = await ds.query(`select remote_cluster_id from peerlog_views where projection = $1 and stream_type = $2 and view->'state'->>'status' = any($3)`, [projection, streamType, [...statuses]]) as { remote_cluster_id: string }[];
      return rows.map((r) => r.remote_cluster_id);
    },
  };
}
