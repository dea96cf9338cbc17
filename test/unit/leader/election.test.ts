// Leader election's pure steps, given a Lease and a time: create, renew, wait, take over, the
// renew deadline that fences a leader, release, and the timing rules. Times are literal ms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  INITIAL_ELECTION, isLeading, microTime, nextStep, observe, releaseRecord, renewed, stepDown, timingProblem,
  type ElectionState, type LeaseRecord,
} from '../../../src/leader/election.js';

const T = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
// 2026-12-03T12:00:00.000Z
const T0 = 1_796_299_200_000;

const held = (holder: string | undefined, renewTime: string, rv = '41'): LeaseRecord => ({
  holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: '2026-12-03T11:59:00.000000Z', renewTime, leaseTransitions: 3, resourceVersion: rv,
});

describe('microTime', () => {
  it('writes six fractional digits, as a Lease MicroTime', () => {
    assert.equal(microTime(T0 + 123), '2026-12-03T12:00:00.123000Z');
  });
});

describe('nextStep', () => {
  it('creates the Lease when there is none, holding it from now', () => {
    assert.deepEqual(nextStep(INITIAL_ELECTION, undefined, 'a', T0, T), {
      kind: 'create',
      record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2026-12-03T12:00:00.000000Z', renewTime: '2026-12-03T12:00:00.000000Z', leaseTransitions: 0 },
    });
  });

  it('renews its own Lease at the version read, keeping the acquire time and transitions', () => {
    const lease = held('a', '2026-12-03T11:59:58.000000Z');
    assert.deepEqual(nextStep(observe(INITIAL_ELECTION, lease, T0), lease, 'a', T0, T), {
      kind: 'renew',
      record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2026-12-03T11:59:00.000000Z', renewTime: '2026-12-03T12:00:00.000000Z', leaseTransitions: 3, resourceVersion: '41' },
    });
  });

  it('waits while another holds a Lease it saw change less than the lease duration ago', () => {
    const lease = held('b', '2026-12-03T11:59:58.000000Z');
    const s = observe(INITIAL_ELECTION, lease, T0);
    assert.deepEqual(nextStep(s, lease, 'a', T0 + 14_999, T), { kind: 'wait', holder: 'b', until: T0 + 15_000 });
  });

  it('takes over a Lease unchanged for the lease duration, at its version, with one more transition', () => {
    const lease = held('b', '2026-12-03T11:59:58.000000Z');
    const s = observe(observe(INITIAL_ELECTION, lease, T0), lease, T0 + 15_000);
    assert.deepEqual(nextStep(s, lease, 'a', T0 + 15_000, T), {
      kind: 'acquire',
      record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2026-12-03T12:00:15.000000Z', renewTime: '2026-12-03T12:00:15.000000Z', leaseTransitions: 4, resourceVersion: '41' },
    });
  });

  it('counts from when the record last changed, on its own clock, not from the renew time written in it', () => {
    // The holder's clock is an hour behind: its renewTime looks stale, yet it renewed 2 s ago.
    const first = held('b', '2026-12-03T10:59:58.000000Z', '41');
    const second = held('b', '2026-12-03T11:00:00.000000Z', '42');
    const s = observe(observe(INITIAL_ELECTION, first, T0), second, T0 + 2_000);
    assert.deepEqual(nextStep(s, second, 'a', T0 + 16_000, T), { kind: 'wait', holder: 'b', until: T0 + 17_000 });
  });

  it('takes a released Lease (no holder) at once', () => {
    const lease = { ...held(undefined, '2026-12-03T11:59:59.000000Z'), leaseDurationSeconds: 1 };
    const s = observe(INITIAL_ELECTION, lease, T0);
    assert.equal(nextStep(s, lease, 'a', T0, T).kind, 'acquire');
  });

  it('uses the lease duration the record names when waiting', () => {
    const lease = { ...held('b', '2026-12-03T11:59:58.000000Z'), leaseDurationSeconds: 60 };
    const s = observe(INITIAL_ELECTION, lease, T0);
    assert.deepEqual(nextStep(s, lease, 'a', T0 + 59_000, T), { kind: 'wait', holder: 'b', until: T0 + 60_000 });
  });
});

describe('observe', () => {
  it('keeps the first time it saw a record unchanged', () => {
    const lease = held('b', '2026-12-03T11:59:58.000000Z');
    const s1 = observe(INITIAL_ELECTION, lease, T0);
    const s2 = observe(s1, { ...lease, resourceVersion: '99' }, T0 + 5_000);
    assert.equal(s2.observed?.at, T0);
  });
  it('forgets what it saw when the Lease is gone', () => {
    assert.equal(observe(observe(INITIAL_ELECTION, held('b', 'x'), T0), undefined, T0 + 1).observed, undefined);
  });
});

describe('isLeading: the renew deadline fences a leader', () => {
  const lease = held('a', '2026-12-03T12:00:00.000000Z');
  const s: ElectionState = renewed(INITIAL_ELECTION, lease, T0);
  it('leads until the renew deadline after the start of its last renewal', () => {
    assert.equal(isLeading(s, T0, T), true);
    assert.equal(isLeading(s, T0 + 9_999, T), true);
    assert.equal(isLeading(s, T0 + 10_000, T), false);
  });
  it('stops leading before any other replica may take over (deadline < lease duration from the same instant)', () => {
    // Another replica saw the record change no earlier than the renewal began (T0).
    const other = observe(INITIAL_ELECTION, lease, T0);
    const firstTakeover = (nextStep(other, lease, 'b', T0, T) as { until: number }).until;
    assert.equal(firstTakeover, T0 + 15_000);
    assert.equal(isLeading(s, firstTakeover - 5_000, T), false);
  });
  it('does not lead before any renewal, nor after stepping down', () => {
    assert.equal(isLeading(INITIAL_ELECTION, T0, T), false);
    assert.equal(isLeading(stepDown(s), T0 + 1, T), false);
  });
});

describe('releaseRecord', () => {
  it('gives up its own Lease: no holder, 1 s, at the version read', () => {
    assert.deepEqual(releaseRecord(held('a', '2026-12-03T11:59:58.000000Z'), 'a', T0), {
      holderIdentity: undefined, leaseDurationSeconds: 1, acquireTime: '2026-12-03T12:00:00.000000Z', renewTime: '2026-12-03T12:00:00.000000Z', leaseTransitions: 3, resourceVersion: '41',
    });
  });
  it('leaves another holder\'s Lease alone', () => {
    assert.equal(releaseRecord(held('b', 'x'), 'a', T0), undefined);
    assert.equal(releaseRecord(undefined, 'a', T0), undefined);
  });
});

describe('timingProblem', () => {
  it('accepts client-go\'s defaults 15s/10s/2s', () => {
    assert.equal(timingProblem(T), undefined);
  });
  it('refuses a renew deadline not below the lease duration', () => {
    assert.equal(timingProblem({ ...T, renewDeadlineMs: 15_000 })?.setting, 'leader-elect-lease-duration');
  });
  it('refuses a retry period with no room in the renew deadline', () => {
    assert.equal(timingProblem({ ...T, retryPeriodMs: 9_000 })?.setting, 'leader-elect-renew-deadline');
    assert.equal(timingProblem({ ...T, retryPeriodMs: 0 })?.setting, 'leader-elect-retry-period');
  });
});
