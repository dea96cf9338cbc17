import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDataSource, migrate, dropSchema } from '../../../src/adapters/postgres/datasource.js';
import { stackEnv, uniqueSchema } from '../../support/env.js';

test('typeorm + pg: connect, run the migrations, write and read a row', async () => {
  const env = stackEnv();
  const schema = uniqueSchema('stack_pg');
  const ds = await openDataSource({ url: env.databaseUrl, schema });
  try {
    const ran = await migrate(ds);
    assert.ok(ran.includes('EventStore1732000000000'), `migrations run: ${ran.join(', ')}`);
    assert.deepEqual(await migrate(ds), [], 'a second run applies nothing');
    const tables = await ds.query(`select table_name from information_schema.tables where table_schema = $1 order by 1`, [schema]) as { table_name: string }[];
    assert.deepEqual(tables.map((t) => t.table_name).filter((t) => t.startsWith('peerlog_streams')), ['peerlog_streams']);

    await ds.query(`insert into peerlog_streams (stream_id, stream_type, version, state, updated_at) values ($1, $2, $3, $4, now())`,
      ['outgoing-beta', 'outgoing', 1, JSON.stringify({ status: 'Requested' })]);
    const rows = await ds.query(`select stream_id, version, state from peerlog_streams`) as { stream_id: string; version: number; state: unknown }[];
    assert.deepEqual(rows, [{ stream_id: 'outgoing-beta', version: 1, state: { status: 'Requested' } }]);
    // The primary key refuses a second row for one stream.
    await assert.rejects(ds.query(`insert into peerlog_streams (stream_id, stream_type, version, state, updated_at) values ('outgoing-beta', 'outgoing', 2, '{}', now())`), /duplicate key/);
  } finally {
    await ds.destroy();
    await dropSchema(env.databaseUrl, schema);
  }
});
