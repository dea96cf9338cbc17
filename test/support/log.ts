// Reads a control plane's write side straight from PostgreSQL (pg, not peerlog's runtime), for tests
// whose control plane runs in another process or is stopped.
import pg from 'pg';
import type { PeerlogConfig } from '../../src/config.js';

export interface OutboxRow {
  readonly position: number;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  readonly published: boolean;
}

/** A connection whose search_path is the plane's schema; close it with end(). */
export async function logClient(config: Pick<PeerlogConfig, 'databaseUrl' | 'dbSchema'>): Promise<pg.Client> {
  if (!/^[a-z_][a-z0-9_]*$/.test(config.dbSchema)) throw new Error(`unexpected schema name ${config.dbSchema}`);
  const client = new pg.Client({ connectionString: config.databaseUrl, options: `-c search_path=${config.dbSchema}` });
  await client.connect();
  return client;
}

/** The outbox rows of one stream (or all), in append order; none when the schema has no outbox yet. */
export async function outboxRows(client: pg.Client, streamId?: string): Promise<OutboxRow[]> {
  const exists = await client.query<{ t: string | null }>(`select to_regclass('peerlog_outbox')::text as t`);
  if (!exists.rows[0]?.t) return [];
  const r = await client.query<{ position: string; stream_id: string; stream_version: number; type: string; published_at: Date | null }>(
    `select position, stream_id, stream_version, type, published_at from peerlog_outbox ${streamId ? 'where stream_id = $1' : ''} order by position`,
    streamId ? [streamId] : [],
  );
  return r.rows.map((x) => ({ position: Number(x.position), streamId: x.stream_id, streamVersion: x.stream_version, type: x.type, published: x.published_at !== null }));
}
