import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { migrate } from '../../../src/adapters/postgres/datasource.js';
import { openTestRuntime, peeringScript, OUTGOING } from '../../support/core.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;

test('the read-model migrations go down to the positions and indexes an earlier release expects, and back up', async () => {
  const rt = await openTestRuntime('migrations');
  const relay = rt.relay();
  const runner = rt.readModels();
  const indexes = async () => (await driversOf(rt).ds.query(
    `select indexname, indexdef like '%USING brin%' as brin from pg_indexes where schemaname = current_schema() and tablename = 'peerlog_audit' and indexname in ('peerlog_audit_time', 'peerlog_audit_type') order by indexname`,
  ) as { indexname: string; brin: boolean }[]).map((r) => `${r.indexname}${r.brin ? ' (brin)' : ''}`);
  const positions = async () => driversOf(rt).ds.query(`select stream_id, version from peerlog_projection_streams where projection = 'read-models' order by stream_id`);
  try {
    await relay.start();
    for (const r of ['a', 'b']) for (const c of peeringScript(r)) await handleCommand(rt.ports, decider, OUTGOING(r), c);
    await relay.drained();
    await runner.start();
    await runner.caughtUp();
    await runner.stop();
    assert.deepEqual(await indexes(), ['peerlog_audit_time (brin)']);
    assert.deepEqual(await positions(), [], 'the read models keep no positions of the runner\'s');

    await driversOf(rt).ds.undoLastMigration({ transaction: 'each' }); // the offloaded pods' view
    await driversOf(rt).ds.undoLastMigration({ transaction: 'each' }); // the views
    await driversOf(rt).ds.undoLastMigration({ transaction: 'each' });
    assert.deepEqual(await positions(), [{ stream_id: 'outgoing-a', version: 8 }, { stream_id: 'outgoing-b', version: 8 }]);
    await driversOf(rt).ds.undoLastMigration({ transaction: 'each' });
    assert.deepEqual(await indexes(), ['peerlog_audit_time', 'peerlog_audit_type']);

    assert.deepEqual(await migrate(driversOf(rt).ds), ['AuditTimeRange1732000003000', 'ReadModelVersions1732000004000', 'Views1732000005000', 'OffloadedPods1732000006000']);
    assert.deepEqual(await indexes(), ['peerlog_audit_time (brin)']);
    assert.deepEqual(await positions(), []);
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});
