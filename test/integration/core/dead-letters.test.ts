import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { deciders, parseStreamId } from '../../../src/commands/registry.js';
import { toDomainEvent, type EventEnvelope, type UnsealedEvent } from '../../../src/events/envelope.js';
import { sealEvent } from '../../../src/events/hash.js';
import { GENESIS_HASH } from '../../../src/events/constants.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import type { Projection } from '../../../src/adapters/kafka/projection-runner.js';
import { openTestRuntime, peeringScript, OUTGOING } from '../../support/core.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;

function unsealed(clusterId: string, type: string, streamId: string, data: unknown): UnsealedEvent {
  return {
    id: randomUUID(), type, streamId, streamVersion: 1, clusterId, occurredAt: '2026-11-24T08:00:00.000Z',
    actor: { kind: 'cli', name: 'test' }, correlationId: 'c-1', causationId: 'c-1', schemaVersion: 1, data,
  } as UnsealedEvent;
}

/**
 * A projection of the runner's generic kind (its stream versions kept by the runner), folding with
 * the write side's deciders the way the operator's projection names streams: it throws on a stream
 * of unknown kind (parseStreamId) and on an event that does not belong to its stream (evolve).
 */
function foldingProjection(): Projection & { readonly seen: string[] } {
  const states = new Map<string, unknown>();
  const seen: string[] = [];
  return {
    name: 'folds', tables: [], seen,
    async apply(_tx, batch) {
      for (const e of batch.events) {
        const { kind } = parseStreamId(e.streamId);
        const d = deciders[kind] as { initialState: unknown; evolve(s: unknown, e: unknown): unknown };
        states.set(e.streamId, d.evolve(states.get(e.streamId) ?? d.initialState, toDomainEvent(e)));
        seen.push(`${e.streamId}@${e.streamVersion}`);
      }
    },
  };
}

test('events that pass their schema but cannot be folded become dead letters with their offsets; the projections go on', async () => {
  const rt = await openTestRuntime('unfoldable');
  const relay = rt.relay({ idlePollMs: 100 });
  const readModels = rt.readModels();
  const folds = foldingProjection();
  const generic = rt.projection(folds);
  const topic = topicFor(rt.config.clusterId);
  try {
    // 1. Two validly sealed events that no fold accepts: an incoming-side event on an outgoing
    //    stream, and a stream of a kind no release knows (yet).
    const offerOnOutgoing = sealEvent(unsealed(rt.config.clusterId, 'OfferIssued', 'outgoing-x', { offerName: 'x-offer', resources: { cpu: '4', memory: '8Gi', pods: '110' } }), GENESIS_HASH) as EventEnvelope;
    const unknownKind = sealEvent(unsealed(rt.config.clusterId, 'PeeringRequested', 'foo-bar', { remoteClusterId: 'bar', remoteClusterName: 'bar', authUrl: 'https://127.0.0.1:1/bar' }), offerOnOutgoing.hash) as EventEnvelope;
    const admin = driversOf(rt).kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] }] });
    await admin.disconnect();
    const producer = driversOf(rt).kafka.producer();
    await producer.connect();
    // Both into partition 0, the normal stream's events elsewhere or after them: either way each
    // batch holding them must go on past them.
    const sent = await producer.send({ topic, acks: -1, messages: [offerOnOutgoing, unknownKind].map((e) => ({ key: e.streamId, value: JSON.stringify(e), partition: 0 })) });
    await producer.disconnect();
    const base = BigInt(sent[0]!.baseOffset!);

    // 2. Then a normal peering, through the relay.
    await relay.start();
    for (const c of peeringScript('normal')) await handleCommand(rt.ports, decider, OUTGOING('normal'), c);
    await relay.drained();

    await readModels.start();
    await generic.start();
    await readModels.caughtUp(20_000);
    await generic.caughtUp(20_000);

    const dead = await driversOf(rt).ds.query(`select projection, partition, "offset"::text as offset, reason, payload from peerlog_dead_letters order by projection, "offset"`) as
      { projection: string; partition: number; offset: string; reason: string; payload: string }[];
    // The generic projection folds neither event: both are its dead letters, at their offsets.
    const ofFolds = dead.filter((d) => d.projection === 'folds');
    assert.deepEqual(ofFolds.map((d) => [d.partition, d.offset]), [[0, String(base)], [0, String(base + 1n)]]);
    assert.match(ofFolds[0]!.reason, /UnexpectedEvent/);
    assert.match(ofFolds[1]!.reason, /UnknownStream|not a stream id/);
    assert.equal((JSON.parse(ofFolds[0]!.payload) as { id: string }).id, offerOnOutgoing.id, 'the payload is the message as it was read');
    // The read models fold the OfferIssued into nothing (dead letter); a stream of unknown kind
    // has no aggregate to fold into, so it keeps only its audit row there.
    const ofReadModels = dead.filter((d) => d.projection === 'read-models');
    assert.deepEqual(ofReadModels.map((d) => [d.partition, d.offset]), [[0, String(base)]]);
    assert.match(ofReadModels[0]!.reason, /UnexpectedEvent/);
    assert.equal(readModels.stats.deadLetters, 1);
    assert.equal(generic.stats.deadLetters, 2);

    // The normal peering is projected by both.
    const peerings = await driversOf(rt).ds.query('select remote_cluster_id, phase, stream_version from peerlog_peerings order by 1') as unknown[];
    assert.deepEqual(peerings, [{ remote_cluster_id: 'normal', phase: 'virtualNodeReady', stream_version: 8 }]);
    const audit = await driversOf(rt).ds.query(`select stream_id, count(*)::int as n from peerlog_audit group by 1 order by 1`) as unknown[];
    assert.deepEqual(audit, [{ stream_id: 'foo-bar', n: 1 }, { stream_id: 'outgoing-normal', n: 8 }]);
    assert.deepEqual(folds.seen.filter((s) => s.startsWith('outgoing-normal@')).length, 8);
    assert.deepEqual(folds.seen.filter((s) => !s.startsWith('outgoing-normal@')), [], 'nothing of the unfoldable events was applied');
    const versions = await driversOf(rt).ds.query(`select stream_id, version from peerlog_projection_streams where projection = 'folds'`) as unknown[];
    assert.deepEqual(versions, [{ stream_id: 'outgoing-normal', version: 8 }]);
  } finally {
    await generic.stop();
    await readModels.stop();
    await relay.stop();
    await rt.cleanup();
  }
});
