import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { openTestRuntime, peeringScript, OUTGOING, outboxEvents, readTopic, envelopes, tableRows } from '../../support/core.js';
import { startCrasher } from '../../support/crash.js';
import { eventually } from '../../support/env.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;

test('the relay dies after publishing and before marking: events are in Kafka twice and in every read model once', async () => {
  const rt = await openTestRuntime('relaycrash');
  const relay = rt.relay();
  const runner = rt.readModels();
  try {
    for (const remote of ['r1', 'r2', 'r3']) for (const c of peeringScript(remote)) await handleCommand(rt.ports, decider, OUTGOING(remote), c);
    const stored = await outboxEvents(rt);

    const crasher = startCrasher('relay', rt.config);
    assert.equal(await crasher.exited, 'SIGKILL');
    const unmarked = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_outbox where published_at is null') as { n: number }[];
    assert.equal(unmarked[0]!.n, stored.length, 'the dead relay marked nothing');

    await relay.start();
    await relay.drained();
    const msgs = await readTopic(rt.config.kafkaBrokers, topicFor(rt.config.clusterId), stored.length * 2);
    assert.equal(msgs.length, stored.length * 2, 'every event published twice');
    const ids = envelopes(msgs).map((e) => e.id);
    for (const e of stored) assert.equal(ids.filter((id) => id === e.id).length, 2);

    await runner.start();
    await runner.caughtUp();
    const audit = await driversOf(rt).ds.query('select event_id from peerlog_audit order by stream_id, stream_version') as { event_id: string }[];
    assert.equal(audit.length, stored.length, 'audit index holds each event once');
    assert.equal(runner.stats.duplicates, stored.length, 'the second copies were recognised by (stream, version)');
    const aggregates = await driversOf(rt).ds.query('select stream_id, version, state from peerlog_aggregates order by stream_id');
    const streams = await driversOf(rt).ds.query('select stream_id, version, state from peerlog_streams order by stream_id');
    assert.deepEqual(aggregates, streams, 'aggregate read model = write-side state');
    const peerings = await driversOf(rt).ds.query('select remote_cluster_id, phase, stream_version from peerlog_peerings order by 1') as unknown[];
    assert.deepEqual(peerings, ['r1', 'r2', 'r3'].map((r) => ({ remote_cluster_id: r, phase: 'virtualNodeReady', stream_version: 8 })));
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});

test('a projection killed mid-batch resumes from its checkpoint: nothing lost, nothing applied twice', async () => {
  const rt = await openTestRuntime('projcrash');
  const relay = rt.relay();
  const runner = rt.readModels();
  try {
    await relay.start();
    for (const c of peeringScript('early')) await handleCommand(rt.ports, decider, OUTGOING('early'), c);
    await relay.drained();

    const crasher = startCrasher('projection', rt.config, { PEERLOG_CRASH_STREAM: 'outgoing-late' });
    // The first batch commits with its checkpoint...
    await eventually('the crashing projection to commit the early events', async () => {
      const r = await driversOf(rt).ds.query(`select count(*)::int as n from peerlog_audit`) as { n: number }[];
      return r[0]!.n === 8 ? true : undefined;
    });
    const before = await tableRows(rt, 'peerlog_checkpoints', 'partition');
    // ...then the process dies inside the transaction of the next one.
    for (const c of peeringScript('late')) await handleCommand(rt.ports, decider, OUTGOING('late'), c);
    await relay.drained();
    assert.equal(await crasher.exited, 'SIGKILL');
    assert.deepEqual(await tableRows(rt, 'peerlog_checkpoints', 'partition'), before, 'the dead batch moved no checkpoint');
    const partial = await driversOf(rt).ds.query(`select count(*)::int as n from peerlog_audit where stream_id = 'outgoing-late'`) as { n: number }[];
    assert.equal(partial[0]!.n, 0, 'and left none of its rows');

    await runner.start();
    await runner.caughtUp();
    const audit = await driversOf(rt).ds.query('select stream_id, stream_version from peerlog_audit order by 1, 2') as { stream_id: string; stream_version: number }[];
    assert.equal(audit.length, 16);
    assert.equal(runner.stats.duplicates, 0, 'resumed after the checkpoint: nothing re-applied');
    assert.deepEqual(
      await driversOf(rt).ds.query('select stream_id, version, state from peerlog_aggregates order by stream_id'),
      await driversOf(rt).ds.query('select stream_id, version, state from peerlog_streams order by stream_id'),
    );
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});
