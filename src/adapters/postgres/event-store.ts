// PostgreSQL event store: versioned stream rows guard appends, and the outbox holds every event
// until the relay has published it to Kafka (DESIGN §3).
import type { DataSource, EntityManager } from 'typeorm';
import { ConcurrencyError } from '../../commands/errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { AppendRequest, EventStorePort } from '../../commands/handle.js';
import { sealEvent } from '../../events/hash.js';
import { GENESIS_HASH } from '../../events/constants.js';

export const OUTBOX_CHANNEL = 'peerlog_outbox';


const PG_UNIQUE_VIOLATION = '23505';

export function createEventStore(ds: DataSource): EventStorePort {
  return {
    async load<S>(streamId: string) {
      const rows = await ds.query('select state, version from peerlog_streams where stream_id = $1', [streamId]) as { state: S; version: number }[];
      const row = rows[0];
      return row ? { state: row.state, version: row.version } : undefined;
    },

    async append<S>(req: AppendRequest<S>) {
      if (req.events.length === 0) return [];
      req.events.forEach((e, i) => {
        if (e.streamId !== req.streamId || e.streamVersion !== req.expectedVersion + i + 1) {
          throw new Error(`append to ${req.streamId}: event ${i} has stream ${e.streamId} version ${e.streamVersion}, expected version ${req.expectedVersion + i + 1}`);
        }
      });
      const newVersion = req.expectedVersion + req.events.length;
      try {
        return await ds.transaction(async (tx) => {
          // 1. The version check: only one writer can move a stream from a given version.
          await guardVersion(tx, req, newVersion);
          // 2. The cluster log's hash chain head: taken after the stream guard, in the same order by
          //    every writer, so appends to different streams never deadlock.
          await tx.query(`insert into peerlog_log_head (cluster_id, last_hash, events) values ($1, $2, 0) on conflict do nothing`, [req.clusterId, GENESIS_HASH]);
          const head = (await tx.query('select last_hash, events from peerlog_log_head where cluster_id = $1 for update', [req.clusterId]) as { last_hash: string; events: string }[])[0]!;
          let prev = head.last_hash;
          const sealed: EventEnvelope[] = [];
          for (const e of req.events) {
            const s = sealEvent(e, prev) as EventEnvelope;
            sealed.push(s);
            prev = s.hash;
          }
          // 3. The events, into the outbox, in one statement.
          const params: unknown[] = [];
          const values = sealed.map((e, i) => {
            params.push(e.clusterId, e.streamId, e.streamVersion, e.id, e.type, JSON.stringify(e), e.hash);
            const b = i * 7;
            return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::jsonb, $${b + 7})`;
          });
          await tx.query(`insert into peerlog_outbox (cluster_id, stream_id, stream_version, event_id, type, envelope, hash) values ${values.join(', ')}`, params);
          await tx.query('update peerlog_log_head set last_hash = $2, events = events + $3 where cluster_id = $1', [req.clusterId, prev, sealed.length]);
          await tx.query(`select pg_notify($1, $2)`, [OUTBOX_CHANNEL, req.clusterId]);
          return sealed;
        });
      } catch (e) {
        if ((e as { code?: string }).code === PG_UNIQUE_VIOLATION || e instanceof ConcurrencyError) {
          throw e instanceof ConcurrencyError ? e : new ConcurrencyError(req.streamId, req.expectedVersion, null, { cause: e });
        }
        throw e;
      }
    },
  };
}

async function guardVersion<S>(tx: EntityManager, req: AppendRequest<S>, newVersion: number): Promise<void> {
  const state = JSON.stringify(req.newState);
  if (req.expectedVersion === 0) {
    const r = await tx.query(
      `insert into peerlog_streams (stream_id, stream_type, version, state, updated_at) values ($1, $2, $3, $4::jsonb, now())
       on conflict (stream_id) do nothing returning stream_id`, [req.streamId, req.streamType, newVersion, state]) as unknown[];
    if (r.length === 0) throw new ConcurrencyError(req.streamId, req.expectedVersion, null);
    return;
  }
  const [, count] = await tx.query(
    `update peerlog_streams set version = $3, state = $4::jsonb, updated_at = now() where stream_id = $1 and version = $2`,
    [req.streamId, req.expectedVersion, newVersion, state]) as [unknown, number];
  if (count !== 1) throw new ConcurrencyError(req.streamId, req.expectedVersion, null);
}
