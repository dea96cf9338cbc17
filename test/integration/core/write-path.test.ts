import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { ConcurrencyError, PeerlogError } from '../../../src/errors.js';
import { foldEvents } from '../../../src/commands/decider.js';
import { toDomainEvent } from '../../../src/events/envelope.js';
import { canonicalJson, verifyChain } from '../../../src/events/hash.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { openTestRuntime, peeringScript, offerPair, OUTGOING, outboxEvents, readTopic, envelopes } from '../../support/core.js';
import { openRuntime } from '../../../src/runtime.js';
import { silentLogger } from '../../../src/adapters/log/index.js';
import type { OutgoingCommand } from '../../../src/commands/outgoing/commands.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;

test('100 concurrent commands racing on one stream: contiguous versions, no duplicates, only valid transitions', async () => {
  const rt = await openTestRuntime('race');
  try {
    const remote = 'beta';
    const commands = [...peeringScript(remote)];
    for (let g = 2; commands.length < 100; g++) commands.push(...offerPair(remote, g, 10 + g * 2));
    assert.equal(commands.length, 100);

    const outcomes = await Promise.allSettled(commands.map((c) => handleCommand(rt.ports, decider, OUTGOING(remote), c)));
    const accepted = outcomes.filter((o) => o.status === 'fulfilled' && o.value.events.length > 0);
    for (const o of outcomes) {
      if (o.status === 'rejected') {
        assert.ok(o.reason instanceof PeerlogError, `only typed errors: ${String(o.reason)}`);
        assert.ok(!(o.reason instanceof ConcurrencyError), 'retries absorbed every conflict');
      }
    }

    // The relay seals the events into the cluster log's hash chain as it publishes them.
    const relay = rt.relay();
    await relay.start();
    await relay.drained();
    await relay.stop();
    const events = await outboxEvents(rt);
    assert.ok(events.length >= 1);
    assert.deepEqual(events.map((e) => e.streamVersion), events.map((_, i) => i + 1), 'versions 1..n without gaps');
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no duplicate event');
    // Each accepted command wrote a contiguous slice of its own; together they are the whole stream.
    const slices = accepted.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof handleCommand>>>).value.events.map((e) => e.streamVersion));
    assert.deepEqual(slices.flat().sort((a, b) => a - b), events.map((e) => e.streamVersion));

    // Only valid transitions: replaying the stream, every event is what some command decided on
    // the state just before it (the decider refuses anything else).
    let state = outgoingDecider.initialState;
    for (const e of events) {
      const candidates = commands.filter((c) => {
        try {
          const d = outgoingDecider.decide(c, state);
          return d.length > 0 && d[0]!.type === e.type && canonicalJson(d[0]!.data) === canonicalJson(e.data);
        } catch { return false; }
      });
      assert.ok(candidates.length > 0, `event v${e.streamVersion} ${e.type} follows from no command in state ${state.status}`);
      state = outgoingDecider.evolve(state, toDomainEvent(e) as never);
    }
    const row = (await driversOf(rt).ds.query('select version, state from peerlog_streams where stream_id = $1', [OUTGOING(remote).id]) as { version: number; state: unknown }[])[0]!;
    assert.equal(row.version, events.length);
    assert.deepEqual(row.state, JSON.parse(JSON.stringify(foldEvents(outgoingDecider, events.map((e) => toDomainEvent(e) as never)))));
    assert.equal(verifyChain(events).valid, true, 'the cluster log\'s hash chain holds');
  } finally {
    await rt.cleanup();
  }
});

test('with one attempt only, a racing writer surfaces a retriable ConcurrencyError and nothing is half-written', async () => {
  const rt = await openTestRuntime('conflict');
  try {
    const remote = 'gamma';
    const [first] = peeringScript(remote);
    // Every racer reads the stream before any of them writes (a barrier on the real store's load).
    let loaded = 0;
    let release!: () => void;
    const barrier = new Promise<void>((r) => { release = r; });
    const store = {
      load: async <S>(id: string) => { const s = await rt.ports.store.load<S>(id); if (++loaded === 20) release(); await barrier; return s; },
      append: rt.ports.store.append,
    };
    const ports = { ...rt.ports, store, maxAttempts: 1 };
    // Twenty copies of one command, all decided on the empty stream: one creates it, 19 lose.
    const racers = Array.from({ length: 20 }, () => first!);
    const outcomes = await Promise.allSettled(racers.map((c) => handleCommand(ports, decider, OUTGOING(remote), c as never)));
    const conflicts = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ConcurrencyError);
    const won = outcomes.filter((o) => o.status === 'fulfilled' && o.value.events.length > 0);
    assert.equal(won.length, 1, 'exactly one writer created the stream');
    assert.equal(conflicts.length, 19);
    for (const c of conflicts) assert.equal((c as PromiseRejectedResult).reason.retriable, true);
    assert.equal(outcomes.filter((o) => o.status === 'rejected').length, conflicts.length, 'no other error');
    const events = await outboxEvents(rt);
    assert.equal(events.length, 1);
  } finally {
    await rt.cleanup();
  }
});

test('the relay publishes the outbox in order with CloudEvents headers, key = stream id', async () => {
  const rt = await openTestRuntime('relay');
  const relay = rt.relay();
  try {
    for (const remote of ['r1', 'r2', 'r3']) {
      for (const c of peeringScript(remote)) await handleCommand(rt.ports, decider, OUTGOING(remote), c);
    }
    await relay.start();
    await relay.drained();
    const stored = await outboxEvents(rt);
    const msgs = await readTopic(rt.config.kafkaBrokers, topicFor(rt.config.clusterId), stored.length);
    assert.equal(msgs.length, stored.length);
    const got = envelopes(msgs);
    for (const remote of ['r1', 'r2', 'r3']) {
      const ofStream = got.filter((e) => e.streamId === `outgoing-${remote}`);
      assert.deepEqual(ofStream.map((e) => e.streamVersion), ofStream.map((_, i) => i + 1), `${remote} in order`);
      assert.equal(new Set(msgs.filter((m) => m.key === `outgoing-${remote}`).map((m) => m.partition)).size, 1);
    }
    const m = msgs[0]!;
    const e = got[0]!;
    assert.equal(m.key, e.streamId);
    assert.deepEqual(
      { id: m.headers.ce_id, type: m.headers.ce_type, subject: m.headers.ce_subject, specversion: m.headers.ce_specversion, time: m.headers.ce_time },
      { id: e.id, type: e.type, subject: e.streamId, specversion: '1.0', time: e.occurredAt },
    );
    assert.ok(m.headers.ce_source);
    // Each value is the event's canonical JSON, the text its hash covers, so readers check the hash
    // on the bytes themselves.
    for (const [i, msg] of msgs.entries()) assert.equal(msg.value, canonicalJson(got[i]!), `message ${i} is canonical JSON`);
    const cfg = await driversOf(rt).kafka.admin();
    await cfg.connect();
    const described = await cfg.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topicFor(rt.config.clusterId), configNames: ['retention.ms'] }] });
    await cfg.disconnect();
    assert.equal(described.resources[0]!.configEntries[0]!.configValue, '-1', 'infinite retention');
  } finally {
    await relay.stop();
    await rt.cleanup();
  }
});

test('a state cached by one process and moved on by another is never decided on: stale appends, no-ops and refusals are checked against the stored stream', async () => {
  const a = await openTestRuntime('cache');
  // Another process on the same database: a cache of its own.
  const b = await openRuntime(a.config, silentLogger);
  try {
    const [requestPeering, requestIdentity, recordCertificate, requestResources] = peeringScript('beta') as [OutgoingCommand, OutgoingCommand, OutgoingCommand, OutgoingCommand];
    const stream = OUTGOING('beta');
    assert.equal((await handleCommand(a.ports, decider, stream, requestPeering)).version, 1);
    assert.equal(a.ports.cache?.get(stream.id)?.version, 1, 'A remembers what it appended');

    // B moves the stream on: A's cache now holds version 1 of a stream at version 2.
    assert.equal((await handleCommand(b.ports, decider, stream, requestIdentity)).version, 2);

    // On A's stale state RecordCertificate is refused (no identity requested yet); on the stored
    // state it is valid, and A appends it.
    const recorded = await handleCommand(a.ports, decider, stream, recordCertificate);
    assert.deepEqual([recorded.version, recorded.events.map((e) => e.type), recorded.attempts], [3, ['CertIssued'], 1]);

    // B moves on again; on A's stale state (version 3) RequestResources appends, the version
    // check refuses it, and A decides again on the stored state, where it is already satisfied.
    await handleCommand(b.ports, decider, stream, requestResources);
    const again = await handleCommand(a.ports, decider, stream, requestResources);
    assert.deepEqual([again.version, again.events.length, again.attempts], [4, 0, 1]);

    // A no-op on a cached state is confirmed on the stored one: the answer names version 4, not 1.
    const requested = outgoingDecider.evolve(outgoingDecider.initialState, { type: 'PeeringRequested', data: requestPeering.data } as never);
    a.ports.cache?.set(stream.id, { state: requested, version: 1 });
    const noop = await handleCommand(a.ports, decider, stream, requestPeering);
    assert.deepEqual([noop.version, noop.events.length], [4, 0]);

    // A command that appends on a stale cached state and is refused on the stored one is refused.
    a.ports.cache?.set(stream.id, { state: outgoingDecider.initialState, version: 0 });
    await assert.rejects(handleCommand(a.ports, decider, stream, { ...requestPeering, data: { ...requestPeering.data, authUrl: 'https://127.0.0.1:2/elsewhere' } } as never), PeerlogError);

    const events = await outboxEvents(a);
    assert.deepEqual(events.map((e) => [e.streamVersion, e.type]), [[1, 'PeeringRequested'], [2, 'IdentityRequested'], [3, 'CertIssued'], [4, 'ResourceRequested']]);

    // What the cache holds is its own: changing the command's data afterwards changes nothing.
    const [receiveOffer] = offerPair('beta', 1, 5) as [OutgoingCommand & { data: { resources: Record<string, string> } }];
    await handleCommand(a.ports, decider, stream, receiveOffer);
    (receiveOffer.data.resources as Record<string, string>)['cpu'] = '999';
    assert.deepEqual(a.ports.cache?.get(stream.id)?.state, (await a.ports.store.load(stream.id))!.state);
  } finally {
    await b.close();
    await a.cleanup();
  }
});
