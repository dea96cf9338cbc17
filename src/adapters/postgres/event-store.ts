// PostgreSQL event store: versioned stream rows guard appends, and the outbox holds every event
// until the relay has sealed it into the cluster log's hash chain and published it (DESIGN §3).
import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { ConcurrencyError, InternalError } from '../../errors.js';
import type { AppendRequest, EventStorePort } from '../../commands/handle.js';

export const OUTBOX_CHANNEL = 'peerlog_outbox';

const PG_UNIQUE_VIOLATION = '23505';

// One statement, so one round trip and an implicit transaction: the stream row moves from the
// expected version (or is created at version 0) and only then are the events inserted. A racing
// writer blocks on the row lock, then finds the version moved and inserts nothing.
const GUARD_UPDATE = `update peerlog_streams set version = $3, state = $4::jsonb, updated_at = now()
  where stream_id = $1 and version = $2 returning 1`;
const GUARD_CREATE = `insert into peerlog_streams (stream_id, stream_type, version, state, updated_at)
  select $1, $8, $3, $4::jsonb, now() where $2::int = 0 on conflict (stream_id) do nothing returning 1`;

// The events go as one JSON document: as array parameters, pg would escape every envelope and
// PostgreSQL parse each array literal back.
function appendSql(guard: string): string {
  return `with s as (${guard}),
  o as (
    insert into peerlog_outbox (cluster_id, stream_id, stream_version, event_id, type, envelope)
    select $5, $1, x.v, x.id, x.t, x.e from json_to_recordset($6::json) as x(v int, id uuid, t text, e jsonb)
    where exists (select 1 from s)
    returning 1
  )
  select (select count(*) from o)::int as inserted,
         (select pg_notify($7, $5) where exists (select 1 from s)) as notified`;
}

// Named statements: each pooled connection parses and plans them once, not on every command.
const LOAD = { name: 'peerlog-stream-load', text: 'select state, version from peerlog_streams where stream_id = $1' };
const APPEND_UPDATE = { name: 'peerlog-stream-append', text: appendSql(GUARD_UPDATE) };
const APPEND_CREATE = { name: 'peerlog-stream-create', text: appendSql(GUARD_CREATE) };

/** The pg pool under a typeorm DataSource, for the statements above (typeorm cannot name them). */
function poolOf(ds: DataSource): pg.Pool {
  return (ds.driver as unknown as { master: pg.Pool }).master;
}

export function createEventStore(ds: DataSource): EventStorePort {
  const pool = poolOf(ds);
  return {
    async load<S>(streamId: string) {
      const { rows } = await pool.query<{ state: S; version: number }>({ ...LOAD, values: [streamId] });
      const row = rows[0];
      return row ? { state: row.state, version: row.version } : undefined;
    },

    async append<S>(req: AppendRequest<S>) {
      if (req.events.length === 0) return [];
      req.events.forEach((e, i) => {
        if (e.streamId !== req.streamId || e.streamVersion !== req.expectedVersion + i + 1) {
          throw new InternalError('AppendMismatch', `append to ${req.streamId}: event ${i} has stream ${e.streamId} version ${e.streamVersion}, expected version ${req.expectedVersion + i + 1}`);
        }
      });
      const e = req.events;
      const values: unknown[] = [
        req.streamId, req.expectedVersion, req.expectedVersion + e.length, JSON.stringify(req.newState), req.clusterId,
        JSON.stringify(e.map((x) => ({ v: x.streamVersion, id: x.id, t: x.type, e: x }))), OUTBOX_CHANNEL,
      ];
      let inserted: number;
      try {
        const { rows } = req.expectedVersion === 0
          ? await pool.query<{ inserted: number }>({ ...APPEND_CREATE, values: [...values, req.streamType] })
          : await pool.query<{ inserted: number }>({ ...APPEND_UPDATE, values });
        inserted = rows[0]!.inserted;
      } catch (err) {
        if ((err as { code?: string }).code === PG_UNIQUE_VIOLATION) throw new ConcurrencyError(req.streamId, req.expectedVersion, null, { cause: err });
        throw err;
      }
      if (inserted !== e.length) throw new ConcurrencyError(req.streamId, req.expectedVersion, null);
      return e;
    },
  };
}
