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

/** A dotted-quad IPv4 address, no leading zeros. */
export const IPV4_PATTERN = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The bucket a client address is limited in. One IPv6 host usually holds a whole /64 (privacy
 * addresses, SLAAC), so per-address buckets would not bind: IPv6 is limited per /64. An
 * IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 client) is that IPv4 address.
 */
export function sourceKey(address: string): string {
  if (IPV4_PATTERN.test(address)) return address;
  const words = parseIpv6(address);
  if (words === null) return address;
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}`;
  }
  return `${formatIpv6([...words.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/** The eight 16-bit words of an IPv6 address (an embedded IPv4 tail allowed), or null. */
export function parseIpv6(text: string): number[] | null {
  const address = text.split('%')[0]!;
  if (address.length === 0 || address.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(address)) return null;
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const words = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        if (!IPV4_PATTERN.test(g)) return null;
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push(a * 256 + b, c * 256 + d);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) {
        out.push(parseInt(g, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  if (head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Eight words as the RFC 5952 text: lowercase, no leading zeros, the longest zero run as '::'. */
export function formatIpv6(words: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
