import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { topicFor, ensureEventTopic } from '../../../src/adapters/kafka/client.js';
import { sealEvent } from '../../../src/events/hash.js';
import { resetProjection, type Projection } from '../../../src/adapters/kafka/projection-runner.js';
import { createReadModelProjection } from '../../../src/adapters/postgres/read-models.js';
import { streamFolder } from '../../../src/projections/read-models/folder.js';
import { openTestRuntime, peeringScript, OUTGOING, outboxEvents, readTopic, tableRows, PEERLOG, cliFlags } from '../../support/core.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;

test('an event of unknown type or bad schema is recorded with its offset and does not stop the projection', async () => {
  const lines: string[] = [];
  const rt = await openTestRuntime('deadletter', lines);
  const relay = rt.relay();
  const runner = rt.readModels();
  try {
    await relay.start();
    for (const c of peeringScript('before')) await handleCommand(rt.ports, decider, OUTGOING('before'), c);
    await relay.drained();
    const good = (await outboxEvents(rt))[0]!;
    const topic = topicFor(rt.config.clusterId);
    const producer = driversOf(rt).kafka.producer();
    await producer.connect();
    const bad = [
      'this is not JSON',
      JSON.stringify({ ...good, id: randomUUID(), streamId: 'outgoing-x', type: 'PeeringExploded' }),
      JSON.stringify({ ...good, id: randomUUID(), streamId: 'outgoing-y', data: { remoteClusterId: 42 } }),
    ];
    // One partition for all three, so their offsets are known exactly.
    const sent = await producer.send({ topic, acks: -1, messages: bad.map((value) => ({ key: 'garbage', value, partition: 0 })) });
    await producer.disconnect();
    for (const c of peeringScript('after')) await handleCommand(rt.ports, decider, OUTGOING('after'), c);
    await relay.drained();

    await runner.start();
    await runner.caughtUp();
    const dead = await driversOf(rt).ds.query('select partition, "offset", reason from peerlog_dead_letters order by "offset"') as { partition: number; offset: string; reason: string }[];
    const first = BigInt(sent[0]!.baseOffset!);
    assert.deepEqual(dead.map((d) => [d.partition, d.offset]), [0n, 1n, 2n].map((i) => [0, String(first + i)]));
    assert.match(dead[0]!.reason, /JSON/);
    assert.match(dead[1]!.reason, /PeeringExploded/);
    assert.match(dead[2]!.reason, /remoteClusterId/);
    const audit = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_audit') as { n: number }[];
    assert.equal(audit[0]!.n, 16, 'every good event before and after the bad ones was applied');
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; offset?: string }).filter((l) => l.msg.startsWith('event refused'));
    assert.deepEqual(logged.map((l) => l.offset), dead.map((d) => d.offset), 'each is reported in the log with its offset');
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});

test('an event id reused by another stream keeps the first audit row and does not stop the projection', async () => {
  const rt = await openTestRuntime('dupid');
  const relay = rt.relay();
  const runner = rt.readModels();
  try {
    await relay.start();
    for (const c of peeringScript('first')) await handleCommand(rt.ports, decider, OUTGOING('first'), c);
    await relay.drained();
    const original = (await outboxEvents(rt))[0]!;
    const { hash: _h, prevHash: _p, ...unsealed } = original;
    // Validly sealed, so it passes the boundary: only its id collides with an event already in the log.
    const reused = sealEvent({ ...unsealed, streamId: 'outgoing-reused' }, original.hash);
    const producer = driversOf(rt).kafka.producer();
    await producer.connect();
    // The original's key, so both land in one partition and the original comes first.
    await producer.send({ topic: topicFor(rt.config.clusterId), acks: -1, messages: [{ key: original.streamId, value: JSON.stringify(reused) }] });
    await producer.disconnect();

    await runner.start();
    await runner.caughtUp();
    const audit = await driversOf(rt).ds.query('select stream_id from peerlog_audit where event_id = $1', [original.id]) as { stream_id: string }[];
    assert.deepEqual(audit, [{ stream_id: original.streamId }], 'one audit row per id: the first');
    const count = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_audit') as { n: number }[];
    assert.equal(count[0]!.n, 8, 'every audit row of the batch besides the reused id was written');
    const aggregates = await driversOf(rt).ds.query('select stream_id, version from peerlog_aggregates order by stream_id') as unknown[];
    assert.deepEqual(aggregates, [{ stream_id: 'outgoing-first', version: 8 }, { stream_id: 'outgoing-reused', version: 1 }]);
    assert.equal(runner.stats.deadLetters, 0);

    // Delivered again, as a republishing relay would: the event has no audit row of its own, and
    // its aggregate row is what tells the runner it was applied.
    const again = driversOf(rt).kafka.producer();
    await again.connect();
    await again.send({ topic: topicFor(rt.config.clusterId), acks: -1, messages: [{ key: original.streamId, value: JSON.stringify(reused) }] });
    await again.disconnect();
    await runner.caughtUp();
    assert.equal(runner.stats.duplicates, 1);
    assert.equal(runner.stats.applied, 9);
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});

test('a batch whose transaction fails is retried from the checkpoint: nothing lost, nothing applied twice, the failure logged once', async () => {
  const lines: string[] = [];
  const rt = await openTestRuntime('batchfail', lines);
  const relay = rt.relay();
  let failed = 0;
  const runner = rt.readModels({
    beforeCommit: async (applied) => {
      // The first batch that holds outgoing-b rolls back, as a lost connection or a full disk would.
      if (failed === 0 && applied.some((e) => e.streamId === 'outgoing-b')) { failed += 1; throw new Error('injected: the database refused the batch'); }
    },
  });
  try {
    await relay.start();
    for (const r of ['a', 'b', 'c', 'd']) for (const c of peeringScript(r)) await handleCommand(rt.ports, decider, OUTGOING(r), c);
    await relay.drained();
    await runner.start();
    await runner.caughtUp();
    assert.equal(failed, 1);
    assert.equal(runner.stats.failures, 1);
    assert.equal(runner.stats.applied, 32, 'every event applied once in the end');
    assert.equal(runner.stats.duplicates, 0, 'the retry started at the checkpoint');
    assert.deepEqual(
      await driversOf(rt).ds.query('select stream_id, version, state from peerlog_aggregates order by stream_id'),
      await driversOf(rt).ds.query('select stream_id, version, state from peerlog_streams order by stream_id'),
    );
    const audit = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_audit') as { n: number }[];
    assert.equal(audit[0]!.n, 32);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'error');
    assert.deepEqual(logged.map((l) => l.msg), ['projection batch failed; resuming from the checkpoint']);
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});

test('rebuilding the read models from offset 0 gives tables equal, row for row, to the live ones', async () => {
  const rt = await openTestRuntime('rebuild');
  const relay = rt.relay();
  let runner = rt.readModels();
  try {
    await relay.start();
    await runner.start();
    const remotes = Array.from({ length: 12 }, (_, i) => `remote-${i}`);
    // Streams advance interleaved, while the projection runs live.
    const scripts = remotes.map((r) => peeringScript(r));
    for (let step = 0; step < scripts[0]!.length; step++) {
      await Promise.all(remotes.map((r, i) => handleCommand(rt.ports, decider, OUTGOING(r), scripts[i]![step]!)));
    }
    await relay.drained();
    await runner.caughtUp();
    const snapshot = async () => ({
      audit: await tableRows(rt, 'peerlog_audit', 'stream_id, stream_version'),
      aggregates: await tableRows(rt, 'peerlog_aggregates', 'stream_id'),
      peerings: await tableRows(rt, 'peerlog_peerings', 'remote_cluster_id, direction'),
    });
    const live = await snapshot();
    assert.equal(live.audit.length, 12 * 8);
    await runner.stop();

    const generation = await resetProjection(driversOf(rt).ds, createReadModelProjection(streamFolder));
    assert.equal(generation, 1);
    assert.deepEqual((await snapshot()).audit, [], 'the reset emptied the tables');
    runner = rt.readModels();
    await runner.start();
    await runner.caughtUp();
    assert.deepEqual(await snapshot(), live);
    assert.deepEqual(
      await driversOf(rt).ds.query('select stream_id, stream_type, version, state from peerlog_aggregates order by stream_id'),
      await driversOf(rt).ds.query('select stream_id, stream_type, version, state from peerlog_streams order by stream_id'),
      'the aggregate table is derivable from the log',
    );
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});

test('a projection whose rows keep no stream versions is deduped by the runner\'s own, across batches, restarts, odd keys and a stopped reading', async () => {
  const rt = await openTestRuntime('ownversions');
  const relay = rt.relay();
  const seen: string[] = [];
  const projection: Projection = {
    name: 'seen-by-test', tables: [],
    async apply(_tx, batch) { for (const e of batch.events) seen.push(`${e.streamId}@${e.streamVersion}`); },
  };
  let runner = rt.projection(projection);
  try {
    await relay.start();
    for (const c of peeringScript('a')) await handleCommand(rt.ports, decider, OUTGOING('a'), c);
    await relay.drained();
    await runner.start();
    await runner.caughtUp();
    await runner.stop();
    // Every event of outgoing-a delivered a second time, then a new stream's.
    const producer = driversOf(rt).kafka.producer();
    await producer.connect();
    await producer.send({ topic: topicFor(rt.config.clusterId), acks: -1, messages: (await outboxEvents(rt)).map((e) => ({ key: e.streamId, value: JSON.stringify(e) })) });
    await producer.disconnect();
    for (const c of peeringScript('b')) await handleCommand(rt.ports, decider, OUTGOING('b'), c);
    await relay.drained();
    runner = rt.projection(projection);
    await runner.start();
    await runner.caughtUp();
    assert.equal(runner.stats.duplicates, 8);
    assert.deepEqual(seen, [...Array.from({ length: 8 }, (_, i) => `outgoing-a@${i + 1}`), ...Array.from({ length: 8 }, (_, i) => `outgoing-b@${i + 1}`)]);
    assert.deepEqual(
      await driversOf(rt).ds.query('select stream_id, version from peerlog_projection_streams where projection = $1 order by stream_id', [projection.name]),
      [{ stream_id: 'outgoing-a', version: 8 }, { stream_id: 'outgoing-b', version: 8 }],
    );
    await runner.stop();

    // A projection that stops reading a batch's events still has them all decoded, deduped and
    // counted; and a message key that cannot be a stream id (a NUL byte) holds nothing up.
    const odd = driversOf(rt).kafka.producer();
    await odd.connect();
    const again = (await outboxEvents(rt))[0]!;
    // Into outgoing-a's own partition, so that it is read after that stream's events, not beside them.
    const [aPartition] = (await readTopic(rt.config.kafkaBrokers, topicFor(rt.config.clusterId), 16)).filter((m) => m.key === 'outgoing-a').map((m) => m.partition);
    await odd.send({ topic: topicFor(rt.config.clusterId), acks: -1, messages: [{ key: '\u0000odd', value: JSON.stringify(again), partition: aPartition! }] });
    await odd.disconnect();
    let reads = 0;
    runner = rt.projection({ name: 'reads-one', tables: [], async apply(_tx, batch) { for (const _e of batch.events) { reads += 1; break; } } });
    await runner.start();
    await runner.caughtUp();
    assert.ok(reads > 0);
    assert.deepEqual([runner.stats.applied, runner.stats.duplicates, runner.stats.failures], [16, 9, 0]);
    assert.deepEqual(
      await driversOf(rt).ds.query('select stream_id, version from peerlog_projection_streams where projection = $1 order by stream_id', ['reads-one']),
      [{ stream_id: 'outgoing-a', version: 8 }, { stream_id: 'outgoing-b', version: 8 }],
    );
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});

test('ensureEventTopic is idempotent', async () => {
  const rt = await openTestRuntime('topic');
  const admin = driversOf(rt).kafka.admin();
  await admin.connect();
  try {
    await ensureEventTopic(admin, topicFor(rt.config.clusterId));
    await ensureEventTopic(admin, topicFor(rt.config.clusterId));
    const meta = await admin.fetchTopicMetadata({ topics: [topicFor(rt.config.clusterId)] });
    assert.equal(meta.topics[0]!.partitions.length, 3);
  } finally {
    await admin.disconnect();
    await rt.cleanup();
  }
});

test('`peerlog replay` rebuilds the read models to the same rows and reports what it replayed', async () => {
  const rt = await openTestRuntime('replaycli');
  const relay = rt.relay();
  const runner = rt.readModels();
  try {
    await relay.start();
    await runner.start();
    for (const r of ['one', 'two']) for (const c of peeringScript(r)) await handleCommand(rt.ports, decider, OUTGOING(r), c);
    await relay.drained();
    await runner.caughtUp();
    const live = await tableRows(rt, 'peerlog_peerings', 'remote_cluster_id');
    const busy = spawnSync(PEERLOG, ['replay', ...cliFlags(rt.config)], { encoding: 'utf8' });
    assert.notEqual(busy.status, 0, 'refused while the live projection holds its lock');
    assert.match(busy.stderr, /being run by another process/);
    await runner.stop();

    const r = spawnSync(PEERLOG, ['replay', ...cliFlags(rt.config)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^replayed 16 events \(0 duplicates skipped, 0 dead letters\)/);
    assert.deepEqual(await tableRows(rt, 'peerlog_peerings', 'remote_cluster_id'), live);

    const h = spawnSync(PEERLOG, ['history', 'two', '-o', 'json', ...cliFlags(rt.config)], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    const history = JSON.parse(h.stdout) as { clusterId: string; status: { outgoing: { phase: string } }; events: { type: string; version: number }[] };
    assert.deepEqual([history.clusterId, history.status.outgoing.phase], ['two', 'Established']);
    assert.deepEqual(history.events.map((e) => e.type), ['PeeringRequested', 'IdentityRequested', 'CertIssued', 'ResourceRequested',
      'OfferReceived', 'OfferAccepted', 'VirtualNodeCreated', 'VirtualNodeReady']);
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});
