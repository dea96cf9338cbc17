// Failed authentication attempts per source, as a token bucket: a source may fail `burst` times in a
// row, then one more time per `refillSeconds`. Successes cost nothing. Pure but for the clock passed in.

export interface FailureLimiterOptions {
  readonly burst: number;
  readonly refillSeconds: number;
  readonly now?: () => number;
  /** Sources tracked at most; the longest-idle are forgotten first (they are the fullest buckets). */
  readonly maxSources?: number;
}

export interface FailureLimiter {
  /** Seconds until `source` may try again, or 0 when it may try now. */
  retryAfter(source: string): number;
  recordFailure(source: string): void;
  /**
   * Reserves one attempt for a request about to be handled: 0 when granted, else the seconds to
   * wait. Reserving first means concurrent requests from one source cannot all pass the check.
   */
  take(source: string): number;
  /** Gives back an attempt taken by a request that succeeded: successes cost nothing. */
  refund(source: string): void;
  readonly size: number;
}

interface Bucket { tokens: number; at: number }

export function createFailureLimiter(opts: FailureLimiterOptions): FailureLimiter {
  const now = opts.now ?? Date.now;
  const max = opts.maxSources ?? 100_000;
  const rate = 1 / (opts.refillSeconds * 1000);
  const buckets = new Map<string, Bucket>();
  const refill = (b: Bucket, t: number): Bucket => ({ tokens: Math.min(opts.burst, b.tokens + (t - b.at) * rate), at: t });
  return {
    retryAfter(source) {
      const b = buckets.get(source);
      if (!b) return 0;
      const cur = refill(b, now());
      return cur.tokens >= 1 ? 0 : Math.ceil((1 - cur.tokens) / rate / 1000);
    },
    recordFailure(source) {
      const t = now();
      const cur = refill(buckets.get(source) ?? { tokens: opts.burst, at: t }, t);
      buckets.delete(source);
      buckets.set(source, { tokens: Math.max(0, cur.tokens - 1), at: t });
      // Map order is insertion order and each failure re-inserts: the first entries are the idlest.
      while (buckets.size > max) buckets.delete(buckets.keys().next().value!);
    },
    take(source) {
      const wait = this.retryAfter(source);
      if (wait > 0) return wait;
      this.recordFailure(source);
      return 0;
    },
    refund(source) {
      const b = buckets.get(source);
      if (b) b.tokens = Math.min(opts.burst, b.tokens + 1);
    },
    get size() { return buckets.size; },
  };
}
