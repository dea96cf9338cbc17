// The operator's work queue: coalescing, re-run of a key queued while it runs, bounded concurrency,
// jittered backoff for retriable failures, non-retriable ones dropped after a few attempts with one
// warning, and O(1) work per enqueue (100k keys go through in order, each once).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/adapters/log/index.js';
import { DomainError, PeerlogError } from '../../../src/errors.js';
import { backoffDelay, createWorkQueue } from '../../../src/projections/work.js';

function capture() {
  const lines: { level: string; msg: string; key?: string; retryInMs?: number }[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as (typeof lines)[number]) }) };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

/** Lets every pending promise callback run (microtasks only). */
async function flush(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

const transient = () => new PeerlogError('Blip', 'the database blinked', { retriable: true });
const forGood = () => new DomainError('Refused', 'never works as given');

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with equal jitter between half and all of it', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 250, 15_000, () => 0)), [125, 250, 500, 1000, 2000, 4000, 7500]);
    assert.deepEqual([1, 2, 3, 8, 20].map((n) => backoffDelay(n, 250, 15_000, () => 0.999999)), [250, 500, 1000, 15_000, 15_000]);
    assert.equal(backoffDelay(3, 1000, 60_000, () => 0.5), 3000);
  });
});

describe('createWorkQueue', () => {
  it('runs 100k distinct keys each once, in the order they were queued', async () => {
    const seen: string[] = [];
    const { logger } = capture();
    const q = createWorkQueue(async (k) => { seen.push(k); }, logger, { concurrency: 1 });
    const keys = Array.from({ length: 100_000 }, (_, i) => `incoming:c${i}`);
    for (const k of keys) q.enqueue(k);
    // Queued already: coalesced. The first is running by now, so it runs once more at the end.
    for (const k of keys) q.enqueue(k);
    await q.idle();
    assert.equal(seen.length, 100_001);
    assert.deepEqual(seen, [...keys, keys[0]]);
    assert.deepEqual(q.size, { queued: 0, running: 0 });
  });

  it('holds 100k keys queued behind busy workers and counts them', async () => {
    const gate = deferred();
    const { logger } = capture();
    let runs = 0;
    const q = createWorkQueue(async () => { runs++; await gate.promise; }, logger, { concurrency: 2 });
    for (let i = 0; i < 100_000; i++) q.enqueue(`k${i}`);
    assert.deepEqual(q.size, { queued: 99_998, running: 2 });
    gate.resolve();
    await q.idle();
    assert.equal(runs, 100_000);
  });

  it('coalesces a key queued several times into one run', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const { logger } = capture();
    const q = createWorkQueue(async (k) => { seen.push(k); if (k === 'first') await gate.promise; }, logger, { concurrency: 1 });
    q.enqueue('first');
    for (let i = 0; i < 5; i++) q.enqueue('b');
    q.enqueue('c');
    q.enqueue('b');
    gate.resolve();
    await q.idle();
    assert.deepEqual(seen, ['first', 'b', 'c']);
  });

  it('runs a key queued while it runs once more afterwards, never twice at once', async () => {
    const gates = [deferred(), deferred()];
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const { logger } = capture();
    const q = createWorkQueue(async () => {
      running++; maxRunning = Math.max(maxRunning, running);
      await gates[runs++]?.promise;
      running--;
    }, logger);
    q.enqueue('a');
    await flush();
    q.enqueue('a');
    q.enqueue('a');
    assert.deepEqual(q.size, { queued: 0, running: 1 }, 'the re-run waits, not queued beside the running one');
    gates[0]!.resolve();
    await flush();
    gates[1]!.resolve();
    await q.idle();
    assert.equal(runs, 2);
    assert.equal(maxRunning, 1);
  });

  it('runs at most `concurrency` keys at once', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const { logger } = capture();
    const q = createWorkQueue(async () => { running++; maxRunning = Math.max(maxRunning, running); await gate.promise; running--; }, logger, { concurrency: 3 });
    for (let i = 0; i < 10; i++) q.enqueue(`k${i}`);
    await flush();
    assert.equal(running, 3);
    gate.resolve();
    await q.idle();
    assert.equal(maxRunning, 3);
  });

  it('retries a retriable failure with growing, jittered delays until it succeeds', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { lines, logger } = capture();
    let calls = 0;
    const q = createWorkQueue(async () => { calls++; if (calls <= 3) throw transient(); }, logger, { random: () => 0 });
    q.enqueue('outgoing:beta');
    await flush();
    assert.equal(calls, 1);
    t.mock.timers.tick(124);
    await flush();
    assert.equal(calls, 1, 'not before 125 ms');
    t.mock.timers.tick(1);
    await flush();
    assert.equal(calls, 2);
    t.mock.timers.tick(250);
    await flush();
    assert.equal(calls, 3);
    t.mock.timers.tick(500);
    await flush();
    assert.equal(calls, 4);
    await q.idle();
    assert.deepEqual(lines.filter((l) => l.msg === 'reconcile failed; retrying').map((l) => [l.level, l.retryInMs]), [['info', 125], ['info', 250], ['info', 500]]);
  });

  it('drops a non-retriable failure after a few attempts with one warning, and tries afresh when queued again', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { lines, logger } = capture();
    let calls = 0;
    const q = createWorkQueue(async () => { calls++; throw forGood(); }, logger, { random: () => 0, nonRetriableAttempts: 3 });
    q.enqueue('rr:ns/peerlog-request');
    for (let i = 0; i < 10; i++) { await flush(); t.mock.timers.tick(60_000); }
    await flush();
    assert.equal(calls, 3, 'three attempts, then nothing');
    const warnings = () => lines.filter((l) => l.level === 'warn');
    assert.equal(warnings().length, 1);
    assert.equal(warnings()[0]!.msg, 'reconcile failed; not retried until the key is queued again');

    // Queued again (a watch, the log, the resync): three more attempts; the same failure is not warned twice.
    q.enqueue('rr:ns/peerlog-request');
    for (let i = 0; i < 10; i++) { await flush(); t.mock.timers.tick(60_000); }
    await flush();
    assert.equal(calls, 6);
    assert.equal(warnings().length, 1);
    await q.idle();
  });

  it('a success clears a pending retry', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { logger } = capture();
    let calls = 0;
    const q = createWorkQueue(async () => { calls++; if (calls === 1) throw transient(); }, logger, { random: () => 0 });
    q.enqueue('a');
    await flush();
    q.enqueue('a'); // woken before the retry is due, and succeeds
    await flush();
    assert.equal(calls, 2);
    t.mock.timers.tick(60_000);
    await flush();
    assert.equal(calls, 2, 'the retry timer was cleared');
  });

  it('stop waits for running work, drops what is queued and accepts nothing more', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const { logger } = capture();
    const q = createWorkQueue(async (k) => { seen.push(k); await gate.promise; }, logger, { concurrency: 1 });
    q.enqueue('a');
    q.enqueue('b');
    let stopped = false;
    const stopping = q.stop().then(() => { stopped = true; });
    await flush();
    assert.equal(stopped, false);
    q.enqueue('c');
    gate.resolve();
    await stopping;
    assert.deepEqual(seen, ['a']);
  });
});
