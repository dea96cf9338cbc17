import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFailureLimiter, sourceKey } from '../../../src/auth/rate-limit.js';
import type { FailureLimiterOptions } from '../../../src/auth/rate-limit.js';

/** A limiter on a clock the test moves by hand. */
function limiter(opts: Omit<FailureLimiterOptions, 'now'>) {
  const clock = { ms: 1_700_000_000_000 };
  const l = createFailureLimiter({ ...opts, now: () => clock.ms });
  const advance = (seconds: number): void => { clock.ms += seconds * 1000; };
  return { l, advance };
}

function fail(l: ReturnType<typeof createFailureLimiter>, source: string, times: number): void {
  for (let i = 0; i < times; i++) l.recordFailure(source);
}

describe('createFailureLimiter', () => {
  it('lets an unknown source try', () => {
    const { l } = limiter({ burst: 3, refillSeconds: 10 });
    assert.equal(l.retryAfter('10.0.0.1'), 0);
    assert.equal(l.size, 0);
  });

  it('allows a burst of failures, then asks to wait refillSeconds', () => {
    const { l } = limiter({ burst: 3, refillSeconds: 10 });
    for (let i = 1; i < 3; i++) {
      l.recordFailure('a');
      assert.equal(l.retryAfter('a'), 0, `after ${i} failure(s)`);
    }
    l.recordFailure('a');
    assert.equal(l.retryAfter('a'), 10);
  });

  it('gives retryAfter in whole seconds, rounded up', () => {
    const { l, advance } = limiter({ burst: 1, refillSeconds: 60 });
    l.recordFailure('a');
    assert.equal(l.retryAfter('a'), 60);
    advance(0.5);
    assert.equal(l.retryAfter('a'), 60);
    advance(29.5);
    assert.equal(l.retryAfter('a'), 30);
    advance(29.9);
    assert.equal(l.retryAfter('a'), 1);
  });

  it('refills one attempt per refillSeconds', () => {
    const { l, advance } = limiter({ burst: 3, refillSeconds: 10 });
    fail(l, 'a', 3);
    advance(4);
    assert.equal(l.retryAfter('a'), 6);
    advance(6);
    assert.equal(l.retryAfter('a'), 0);
    l.recordFailure('a');
    assert.equal(l.retryAfter('a'), 10, 'the refilled attempt is spent again');
  });

  it('refills no more than the burst however long the source was idle', () => {
    const { l, advance } = limiter({ burst: 3, refillSeconds: 10 });
    fail(l, 'a', 3);
    advance(24 * 3600);
    fail(l, 'a', 2);
    assert.equal(l.retryAfter('a'), 0);
    l.recordFailure('a');
    assert.equal(l.retryAfter('a'), 10);
  });

  it('keeps failing sources at zero rather than in debt', () => {
    const { l, advance } = limiter({ burst: 2, refillSeconds: 10 });
    fail(l, 'a', 10);
    assert.equal(l.retryAfter('a'), 10);
    advance(10);
    assert.equal(l.retryAfter('a'), 0);
  });

  it('keeps sources independent', () => {
    const { l } = limiter({ burst: 2, refillSeconds: 10 });
    fail(l, 'a', 2);
    assert.equal(l.retryAfter('a'), 10);
    assert.equal(l.retryAfter('b'), 0);
    l.recordFailure('b');
    assert.equal(l.retryAfter('b'), 0);
    assert.equal(l.size, 2);
  });

  it('forgets the longest-idle sources beyond maxSources', () => {
    const { l, advance } = limiter({ burst: 1, refillSeconds: 60, maxSources: 2 });
    l.recordFailure('a');
    advance(1);
    l.recordFailure('b');
    advance(1);
    l.recordFailure('a'); // 'a' failed again: now 'b' is the idlest
    advance(1);
    l.recordFailure('c');
    assert.equal(l.size, 2);
    assert.equal(l.retryAfter('b'), 0, 'b was forgotten');
    assert.ok(l.retryAfter('a') > 0);
    assert.ok(l.retryAfter('c') > 0);
  });

  it('never tracks more than maxSources', () => {
    const { l } = limiter({ burst: 1, refillSeconds: 60, maxSources: 5 });
    for (let i = 0; i < 20; i++) l.recordFailure(`s${i}`);
    assert.equal(l.size, 5);
    assert.ok(l.retryAfter('s19') > 0);
    assert.equal(l.retryAfter('s14'), 0);
  });
});

describe('take and refund', () => {
  it('reserves attempts before they are handled, so concurrent requests cannot exceed the burst', () => {
    const limiter = createFailureLimiter({ burst: 2, refillSeconds: 10, now: () => 0 });
    assert.equal(limiter.take('a'), 0);
    assert.equal(limiter.take('a'), 0);
    assert.ok(limiter.take('a') > 0, 'the third concurrent attempt waits');
  });

  it('gives a successful attempt back', () => {
    const limiter = createFailureLimiter({ burst: 1, refillSeconds: 10, now: () => 0 });
    assert.equal(limiter.take('a'), 0);
    limiter.refund('a');
    assert.equal(limiter.take('a'), 0);
    assert.ok(limiter.take('a') > 0);
  });
});

describe('sourceKey', () => {
  it('keeps an IPv4 address as it is', () => {
    assert.equal(sourceKey('198.51.100.7'), '198.51.100.7');
  });
  it('takes an IPv4-mapped IPv6 address as its IPv4 address', () => {
    assert.equal(sourceKey('::ffff:198.51.100.7'), '198.51.100.7');
    assert.equal(sourceKey('::FFFF:c633:6407'), '198.51.100.7');
    assert.equal(sourceKey('0:0:0:0:0:ffff:198.51.100.7'), '198.51.100.7');
  });
  it('buckets IPv6 by /64, however the address is written', () => {
    for (const a of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:9', '2001:db8:1:2::1%eth0']) {
      assert.equal(sourceKey(a), '2001:db8:1:2::/64', a);
    }
    assert.equal(sourceKey('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.equal(sourceKey('::1'), '::/64');
    assert.equal(sourceKey('fe80::1'), 'fe80::/64');
    assert.equal(sourceKey('2001:db8::'), '2001:db8::/64');
    assert.equal(sourceKey('1:2:3:4:5:6:7:8'), '1:2:3:4::/64');
  });
  it('leaves anything that is no IP address as it is (one bucket of its own)', () => {
    for (const a of ['unknown', '', '2001:db8::1::2', '1.2.3.256', '1:2:3:4:5:6:7:8:9']) assert.equal(sourceKey(a), a);
  });
  it('makes two addresses of one /64 share a bucket, and another /64 not', () => {
    const { l } = limiter({ burst: 2, refillSeconds: 60 });
    fail(l, sourceKey('2001:db8:1:2::1'), 1);
    fail(l, sourceKey('2001:db8:1:2::2'), 1);
    assert.ok(l.take(sourceKey('2001:db8:1:2:abcd::9')) > 0);
    assert.equal(l.take(sourceKey('2001:db8:1:3::1')), 0);
  });
});
