// Event ids: UUIDv7 (RFC 9562), time-ordered, so that indexes keyed by event id (the audit index's
// primary key) grow at their right edge as the log does instead of splitting pages at random.
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let poolAt = pool.length;
let lastMs = -1;
let counter = 0;

function random(bytes: number): Buffer {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + bytes);
  poolAt += bytes;
  return out;
}

/**
 * A UUIDv7 for the millisecond `nowMs`: 48 bits of Unix time, a 12-bit counter (rand_a, RFC 9562
 * §6.2 method 1) started at random each millisecond, and 62 random bits. Ids from one process are
 * strictly increasing: a clock that steps back, or more than the counter holds in a millisecond,
 * borrows the next millisecond.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    // The top bit left clear leaves at least 2048 ids of room in the millisecond.
    counter = random(2).readUInt16BE(0) & 0x7ff;
  } else {
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      counter = random(2).readUInt16BE(0) & 0x7ff;
    }
  }
  const tail = random(8);
  const time = lastMs.toString(16).padStart(12, '0');
  const versionAndCounter = (0x7000 | counter).toString(16);
  const variant = ((tail[0]! & 0x3f) | 0x80).toString(16) + tail.toString('hex', 1, 2);
  return `${time.slice(0, 8)}-${time.slice(8)}-${versionAndCounter}-${variant}-${tail.toString('hex', 2, 8)}`;
}
