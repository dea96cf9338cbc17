import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { sealEvent } from '../../../src/events/hash.js';
import type { EventEnvelope, UnsealedEvent } from '../../../src/events/envelope.js';
import { openTestRuntime, peeringScript, OUTGOING, outboxEvents, PEERLOG, cliFlags } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;
const GENESIS = '0'.repeat(64);

/** Canonical JSON as the README defines it (keys sorted, no whitespace), written here independently. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

test('two relays on one log, the first losing its lock session while it keeps running: one chain, each event sealed once', async () => {
  const appName = uniqueName('sealers');
  const savedAppName = process.env.PGAPPNAME;
  // Every session of this process is named, so that the test finds its own relay's session
  // (whatever name the relay gives its own), and gets an error handler: a relay without one would
  // take the test process down when its session is terminated; with one, it keeps running.
  process.env.PGAPPNAME = appName;
  const connect = pg.Client.prototype.connect;
  pg.Client.prototype.connect = function patched(this: pg.Client, ...args: unknown[]) {
    if (this.listenerCount('error') === 0) this.on('error', () => undefined);
    return (connect as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof connect;
  const rt = await openTestRuntime('sealers');
  const first = rt.relay({ idlePollMs: 20, batchSize: 50 });
  const second = rt.relay({ idlePollMs: 20, batchSize: 50 });
  let secondStarted: Promise<void> | undefined;
  try {
    await first.start();
    // The second stands by on the lock.
    secondStarted = second.start();
    const remotes = Array.from({ length: 125 }, (_, i) => `r${i}`);
    let appended = 0;
    const appending = (async () => {
      for (const r of remotes) for (const c of peeringScript(r)) { await handleCommand(rt.ports, decider, OUTGOING(r), c); appended += 1; }
    })();
    await eventually('some events to be published', async () => (appended >= 80 ? true : undefined));
    // The first relay's lock session (the one that LISTENs: the second waits for the lock, before its LISTEN).
    const admin = new pg.Client({ connectionString: rt.config.databaseUrl, application_name: 'test-admin' });
    await admin.connect();
    try {
      const killed = await admin.query(
        `select pg_terminate_backend(pid) as ok from pg_stat_activity
         where (application_name = $1 or application_name like $2) and query like 'listen%' and pid <> pg_backend_pid()`,
        [appName, `%${rt.config.clusterId}%`]);
      assert.equal(killed.rowCount, 1, 'one lock session terminated');
    } finally {
      await admin.end();
    }
    await secondStarted;
    await appending;
    assert.equal(appended, 1000);
    await second.drained(60_000);

    const head = await driversOf(rt).ds.query('select last_hash, events::int as events from peerlog_log_head where cluster_id = $1', [rt.config.clusterId]) as { last_hash: string; events: number }[];
    const count = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_outbox where cluster_id = $1', [rt.config.clusterId]) as { n: number }[];
    assert.equal(count[0]!.n, 1000);
    assert.equal(head[0]!.events, 1000, 'every event sealed once');
    // The chain over the sealed rows in position order, recomputed here.
    const rows = await driversOf(rt).ds.query('select envelope, hash from peerlog_outbox where cluster_id = $1 order by position', [rt.config.clusterId]) as { envelope: EventEnvelope; hash: string }[];
    let prev = GENESIS;
    for (const [i, r] of rows.entries()) {
      const { hash: _h, ...rest } = r.envelope;
      assert.equal(r.envelope.prevHash, prev, `row ${i} follows the row before it`);
      const expected = createHash('sha256').update(canonical(rest), 'utf8').digest('hex');
      assert.equal(r.envelope.hash, expected, `row ${i}'s hash covers its content`);
      assert.equal(r.hash, expected);
      prev = expected;
    }
    assert.equal(head[0]!.last_hash, prev, 'the head is the last row');
    // The first stopped publishing and waits for the lock the second now holds; readiness says so.
    await eventually('the first relay to report its lost session', async () => (first.state().startsWith('lost its database session') ? true : undefined));
    assert.equal(second.state(), 'ok');
  } finally {
    pg.Client.prototype.connect = connect;
    if (savedAppName === undefined) delete process.env.PGAPPNAME; else process.env.PGAPPNAME = savedAppName;
    await first.stop();
    await second.stop();
    await rt.cleanup();
  }
});

/** A sealed copy of `e` on another stream, following `prevHash`: valid by itself, wrong in the chain. */
function forged(e: EventEnvelope, streamId: string, prevHash: string, idTail: string, occurredAt = e.occurredAt): EventEnvelope {
  const { hash: _h, prevHash: _p, ...rest } = e;
  // The same time as the event it forks from and a higher id: it comes second in the report.
  return sealEvent({ ...rest, id: `${e.id.slice(0, -12)}${idTail}`, occurredAt, streamId } as UnsealedEvent, prevHash) as EventEnvelope;
}

test('`peerlog history` and `peerlog replay` verify the chain as they read the log back: a fork and a broken link are named', async () => {
  const rt = await openTestRuntime('chaincheck');
  const relay = rt.relay();
  const runner = rt.readModels();
  try {
    await relay.start();
    for (const c of peeringScript('good')) await handleCommand(rt.ports, decider, OUTGOING('good'), c);
    await relay.drained();
    await runner.start();
    await runner.caughtUp();
    const ok = spawnSync(PEERLOG, ['history', '-o', 'json', ...cliFlags(rt.config)], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);

    const stored = await outboxEvents(rt);
    const send = async (e: EventEnvelope) => {
      const producer = driversOf(rt).kafka.producer();
      await producer.connect();
      await producer.send({ topic: topicFor(rt.config.clusterId), acks: -1, messages: [{ key: e.streamId, value: JSON.stringify(e) }] });
      await producer.disconnect();
    };
    // An event that follows one whose hash no event of the log has (an event removed).
    const orphan = forged(stored[0]!, 'outgoing-orphan', 'f'.repeat(64), 'eeeeeeeeeeee');
    await send(orphan);
    await runner.caughtUp();
    const h = spawnSync(PEERLOG, ['history', ...cliFlags(rt.config)], { encoding: 'utf8' });
    assert.equal(h.status, 4, h.stderr);
    assert.match(h.stdout, /outgoing good/, 'the history is still printed');
    assert.match(h.stderr, new RegExp(`BrokenChain: the hash chain is broken at event ${orphan.id} \\(outgoing-orphan v1\\)`));
    const j = spawnSync(PEERLOG, ['history', '-o', 'json', ...cliFlags(rt.config)], { encoding: 'utf8' });
    assert.equal(j.status, 4);
    const { chain } = JSON.parse(j.stdout) as { chain: { valid: boolean; reason: string; eventId: string } };
    assert.deepEqual([chain.valid, chain.reason, chain.eventId], [false, 'BrokenLink', orphan.id]);
    assert.deepEqual((JSON.parse(ok.stdout) as { chain: unknown }).chain, { valid: true, events: 8 }, 'the log before the orphan verified');

    // A second event after the third: two writers sealed the log. Replay reads it all back again.
    const fork = forged(stored[0]!, 'outgoing-fork', stored[2]!.hash, 'ffffffffffff', stored[3]!.occurredAt);
    await send(fork);
    await runner.stop();
    const r = spawnSync(PEERLOG, ['replay', '--timeout', '60', ...cliFlags(rt.config)], { encoding: 'utf8' });
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stdout, /replayed 10 events/);
    assert.match(r.stderr, /BrokenChain: the hash chain forks: /);
    assert.ok(r.stderr.includes(`event ${stored[3]!.id} (outgoing-good v4)`) && r.stderr.includes(`event ${fork.id} (outgoing-fork v1)`), r.stderr);
    assert.ok(r.stderr.includes(`both follow the event hashed ${stored[2]!.hash}`), r.stderr);
  } finally {
    await runner.stop();
    await relay.stop();
    await rt.cleanup();
  }
});
