// The elector's loop over a Lease store in memory, on mocked timers and a literal clock: a leader
// whose renewals fail stops its leader-only work the instant its renew deadline passes (before any
// other replica could take the Lease), a write at a stale version loses, and a clean stop gives
// the Lease up.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createElector } from '../../../src/leader/elector.js';
import type { LeaseRecord } from '../../../src/leader/election.js';
import type { LeaseStore } from '../../../src/adapters/kubernetes/lease.js';
import type { Logger } from '../../../src/adapters/log/index.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as unknown as Logger;
const T = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** A Lease kept in memory with resourceVersion checks; `failing` makes every call throw (apiserver away). */
function memoryStore() {
  let lease: LeaseRecord | undefined;
  let rv = 0;
  const s = {
    failing: false,
    writes: [] as string[],
    get lease() { return lease; },
    set(r: LeaseRecord) { lease = { ...r, resourceVersion: String(++rv) }; },
    store: {
      async get() { if (s.failing) throw new Error('unreachable'); return lease; },
      async create(r: LeaseRecord) {
        if (s.failing) throw new Error('unreachable');
        if (lease) throw Object.assign(new Error('exists'), { status: 409 });
        s.set(r); s.writes.push(`create ${r.holderIdentity}`); return lease!;
      },
      async update(r: LeaseRecord) {
        if (s.failing) throw new Error('unreachable');
        if (r.resourceVersion !== lease?.resourceVersion) throw Object.assign(new Error('conflict'), { status: 409 });
        s.set(r); s.writes.push(`update ${r.holderIdentity ?? '(none)'}`); return lease!;
      },
    } satisfies LeaseStore,
  };
  return s;
}

/** Lets the elector's promises settle between timer ticks. */
const settle = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

function clock(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 1_796_299_200_000;
  return {
    now: () => now,
    async advance(ms: number) { for (let i = 0; i < ms; i += 100) { now += 100; t.mock.timers.tick(100); await settle(); } },
  };
}

describe('elector', () => {
  it('creates the Lease, leads, and stops leading the instant the renew deadline passes without a renewal', async (t) => {
    const c = clock(t);
    const m = memoryStore();
    const events: string[] = [];
    const e = createElector({
      store: m.store, identity: 'a', timing: T, logger: quiet, now: c.now,
      onStartedLeading: () => { events.push(`started at +${c.now() - 1_796_299_200_000}`); },
      onStoppedLeading: () => { events.push(`stopped at +${c.now() - 1_796_299_200_000}`); },
    });
    e.start();
    await settle();
    assert.deepEqual(events, ['started at +0']);
    assert.equal(e.leading(), true);
    await c.advance(4_000);
    // Renewed at +2 s and +4 s; then the apiserver goes away.
    assert.equal(m.lease?.renewTime, '2026-12-03T12:00:04.000000Z');
    m.failing = true;
    await c.advance(9_900);
    assert.equal(e.leading(), true, 'still within 10 s of the renewal that began at +4 s');
    await c.advance(200);
    assert.deepEqual(events, ['started at +0', 'stopped at +14000']);
    assert.equal(e.leading(), false);
    // A follower that saw the +4 s renewal could take over from +19 s on: 5 s after this one stopped.
    t.mock.timers.reset();
    await e.stop();
  });

  it('stops leading at the deadline even while a renewal hangs (the fence does not wait for the request)', async (t) => {
    const c = clock(t);
    const m = memoryStore();
    const events: string[] = [];
    let hang = false;
    const store: LeaseStore = { ...m.store, get: () => (hang ? new Promise<never>(() => undefined) : m.store.get()) };
    const e = createElector({
      store, identity: 'a', timing: T, logger: quiet, now: c.now,
      onStartedLeading: () => { events.push('started'); }, onStoppedLeading: () => { events.push(`stopped at +${c.now() - 1_796_299_200_000}`); },
    });
    e.start();
    await settle();
    hang = true;
    await c.advance(10_100);
    assert.deepEqual(events, ['started', 'stopped at +10000']);
    t.mock.timers.reset();
  });

  it('waits while another replica renews, and takes over a Lease left unrenewed for the lease duration', async (t) => {
    const c = clock(t);
    const m = memoryStore();
    m.set({ holderIdentity: 'b', leaseDurationSeconds: 15, acquireTime: 'x', renewTime: 'x', leaseTransitions: 0 });
    const events: string[] = [];
    const e = createElector({
      store: m.store, identity: 'a', timing: T, logger: quiet, now: c.now,
      onStartedLeading: () => { events.push(`started at +${c.now() - 1_796_299_200_000}`); }, onStoppedLeading: () => { events.push('stopped'); },
    });
    e.start();
    await settle();
    assert.equal(e.holder(), 'b');
    await c.advance(14_000);
    assert.deepEqual(events, [], 'b\'s Lease has not lapsed yet');
    await c.advance(4_000);
    assert.equal(m.lease?.holderIdentity, 'a');
    assert.equal(m.lease?.leaseTransitions, 1);
    assert.equal(events.length, 1);
    t.mock.timers.reset();
    await e.stop();
  });

  it('gives its Lease up on a clean stop', async (t) => {
    clock(t);
    const m = memoryStore();
    const e = createElector({ store: m.store, identity: 'a', timing: T, logger: quiet, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    e.start();
    await settle();
    t.mock.timers.reset();
    await e.stop();
    assert.deepEqual(m.writes, ['create a', 'update (none)']);
    assert.equal(m.lease?.holderIdentity, undefined);
    assert.equal(m.lease?.leaseDurationSeconds, 1);
  });
});
