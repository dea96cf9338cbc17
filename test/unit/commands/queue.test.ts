// createStreamQueue lives in src/commands but serialises the authentication endpoint's work per
// cluster id (src/auth/wire.ts); its tests sit with the auth tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStreamQueue } from '../../../src/commands/queue.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (microtasks only, no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('createStreamQueue', () => {
  it('runs work on one stream strictly one after another', async () => {
    const queue = createStreamQueue();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const results = gates.map((gate, i) => queue.run('incoming-beta', async () => {
      log.push(`start ${i}`);
      await gate.promise;
      log.push(`end ${i}`);
      return i;
    }));

    await settle();
    assert.deepEqual(log, ['start 0'], 'only the first job runs');
    gates[2]!.resolve();
    gates[1]!.resolve();
    await settle();
    assert.deepEqual(log, ['start 0'], 'later jobs wait for the first even when ready to finish');
    gates[0]!.resolve();
    assert.deepEqual(await Promise.all(results), [0, 1, 2]);
    assert.deepEqual(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('runs work on different streams concurrently', async () => {
    const queue = createStreamQueue();
    const log: string[] = [];
    const a = deferred();
    const b = deferred();
    const ra = queue.run('incoming-alpha', async () => { log.push('start a'); await a.promise; log.push('end a'); return 'a'; });
    const rb = queue.run('incoming-beta', async () => { log.push('start b'); await b.promise; log.push('end b'); return 'b'; });

    await settle();
    assert.deepEqual(log, ['start a', 'start b']);
    assert.equal(queue.busy, 2);
    b.resolve();
    assert.equal(await rb, 'b', 'b finishes while a still runs');
    assert.deepEqual(log, ['start a', 'start b', 'end b']);
    a.resolve();
    assert.equal(await ra, 'a');
  });

  it('passes a rejection to its caller and runs the next job anyway', async () => {
    const queue = createStreamQueue();
    const gate = deferred();
    const failing = queue.run('outgoing-beta', async () => { await gate.promise; throw new Error('boom'); });
    let nextStarted = false;
    const next = queue.run('outgoing-beta', async () => { nextStarted = true; return 'ok'; });

    await settle();
    assert.equal(nextStarted, false);
    gate.resolve();
    await assert.rejects(failing, /boom/);
    assert.equal(await next, 'ok');
    assert.equal(nextStarted, true);
  });

  it('runs the next job after one that throws synchronously', async () => {
    const queue = createStreamQueue();
    const failing = queue.run('pods-beta', () => { throw new Error('sync boom'); });
    const next = queue.run('pods-beta', async () => 'ok');
    await assert.rejects(failing, /sync boom/);
    assert.equal(await next, 'ok');
  });

  it('counts busy streams and returns to 0 once all work is done', async () => {
    const queue = createStreamQueue();
    assert.equal(queue.busy, 0);
    const a = deferred();
    const b = deferred();
    const jobs = [
      queue.run('s1', () => a.promise),
      queue.run('s1', async () => undefined),
      queue.run('s2', () => b.promise),
    ];
    assert.equal(queue.busy, 2, 'two streams, however many jobs');
    a.resolve();
    await jobs[1];
    await settle();
    assert.equal(queue.busy, 1);
    b.reject(new Error('failed'));
    await assert.rejects(jobs[2]!, /failed/);
    await settle();
    assert.equal(queue.busy, 0, 'a failed job does not keep its stream busy');
  });

  it('keeps a stream busy while a job queued after the current one is pending', async () => {
    const queue = createStreamQueue();
    const first = deferred();
    const second = deferred();
    const r1 = queue.run('s', () => first.promise);
    const r2 = queue.run('s', () => second.promise);
    first.resolve();
    await r1;
    await settle();
    assert.equal(queue.busy, 1);
    second.resolve();
    await r2;
    await settle();
    assert.equal(queue.busy, 0);
  });
});
