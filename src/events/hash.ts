// Tamper evidence: each event's hash covers its whole envelope and the previous event's hash, so
// editing, removing or reordering any event of a cluster log breaks every later link.
import { hash } from 'node:crypto';
import type { EventEnvelope, UnsealedEvent } from './envelope.js';
import { GENESIS_HASH, SHA256_HEX_PATTERN } from './constants.js';
import { ValidationError } from '../errors.js';

/**
 * JSON with object keys sorted by UTF-16 code units and no whitespace. For the values events hold
 * (strings, finite numbers, booleans, null, arrays, plain objects) this matches RFC 8785 (JCS),
 * because JSON.stringify already writes numbers and strings the way JCS asks.
 * Keys whose value is undefined are dropped, as JSON.stringify does, so an optional field left
 * unset and one absent hash alike.
 */
export function canonicalJson(value: unknown): string {
  // Values whose keys already stand in canonical order (what parseEvent returns) are written by the
  // native JSON.stringify, which then gives the same text; the walk that proves it builds no string.
  if (inCanonicalOrder(value)) return JSON.stringify(value);
  try {
    return write(value);
  } catch (e) {
    if (!(e instanceof Unhashable)) throw e;
    const path = `$${e.path.reverse().join('')}`;
    throw new ValidationError(`cannot hash ${e.what} at ${path}`, { field: path });
  }
}

/**
 * True when JSON.stringify(value) is the canonical JSON of value: only plain objects, arrays,
 * strings, booleans, null and finite numbers, and every object's keys in ascending UTF-16 order as
 * enumerated (array-index keys enumerate numerically, so `{"10":…,"9":…}` is refused here and
 * sorted by `write`). Both writers leave undefined members out and write undefined items as null.
 */
function inCanonicalOrder(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          // JSON.stringify writes an undefined item as null, and so does `write`.
          if (item !== undefined && !inCanonicalOrder(item)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      let previous: string | undefined;
      for (const key in value) {
        if (!Object.prototype.hasOwnProperty.call(value, key)) return false;
        if (previous !== undefined && !(previous < key)) return false;
        previous = key;
        const item: unknown = (value as Record<string, unknown>)[key];
        if (item !== undefined && !inCanonicalOrder(item)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Thrown by `write` with the path built on the way out: every projection hashes every event it
 * reads, so the writer builds no path strings unless a value cannot be hashed.
 */
class Unhashable {
  readonly path: string[] = [];
  constructor(readonly what: string) {}
}

function write(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Unhashable('a non-finite number');
      return JSON.stringify(value);
    case 'object': {
      let out = '';
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          out += `${i === 0 ? '' : ','}${item === undefined ? 'null' : within(i, item)}`;
        }
        return `[${out}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      // A Date, Map or class instance has no own data to write: hashing it as {} would lose it.
      if (proto !== Object.prototype && proto !== null) throw new Unhashable(`a ${(value as object).constructor?.name ?? 'non-plain'} object`);
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record).sort()) {
        const item = record[key];
        if (item === undefined) continue;
        out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${within(key, item)}`;
      }
      return `{${out}}`;
    }
    default:
      throw new Unhashable(`a ${typeof value}`);
  }
}

/** `write` of an array item (by index) or an object field (by key). */
function within(step: number | string, value: unknown): string {
  try {
    return write(value);
  } catch (e) {
    if (e instanceof Unhashable) e.path.push(typeof step === 'number' ? `[${step}]` : `.${step}`);
    throw e;
  }
}

/** SHA-256 hex over the canonical JSON of the envelope without its own `hash`. */
export function computeHash(envelope: UnsealedEvent & { readonly prevHash: string; readonly hash?: string }): string {
  const { hash: _ignored, ...rest } = envelope;
  return sha256Hex(canonicalJson(rest));
}

/** SHA-256 hex of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

let scratch = Buffer.alloc(64 * 1024);

/** SHA-256 hex of `bytes` less the range [start, end), without a copy of the text on the heap. */
export function sha256HexWithout(bytes: Uint8Array, start: number, end: number): string {
  if (scratch.length < bytes.length) scratch = Buffer.alloc(Math.max(bytes.length, scratch.length * 2));
  // The whole text, then its tail moved over the range: no view of `bytes` is made.
  scratch.set(bytes, 0);
  scratch.copyWithin(start, end, bytes.length);
  return hash('sha256', scratch.subarray(0, bytes.length - (end - start)), 'hex');
}

export function sealEvent<E extends UnsealedEvent>(unsealed: E, prevHash: string): E & { readonly prevHash: string; readonly hash: string } {
  if (!SHA256_HEX_PATTERN.test(prevHash)) {
    throw new ValidationError('prevHash must be 64 lowercase hex characters', { field: 'prevHash' });
  }
  // Rebuilt without any stray hash fields the caller may have carried along.
  const { prevHash: _p, hash: _h, ...header } = unsealed as E & { prevHash?: unknown; hash?: unknown };
  const linked = { ...(header as unknown as E), prevHash };
  return { ...linked, hash: computeHash(linked) };
}

/** Seals a batch in order, each event chained to the one before it. */
export function sealEvents(unsealed: readonly UnsealedEvent[], prevHash: string): readonly EventEnvelope[] {
  const sealed: EventEnvelope[] = [];
  let previous = prevHash;
  for (const event of unsealed) {
    const envelope = sealEvent(event, previous) as EventEnvelope;
    sealed.push(envelope);
    previous = envelope.hash;
  }
  return sealed;
}

export type ChainBreak = 'HashMismatch' | 'BrokenLink' | 'ClusterMismatch';

export type ChainVerification =
  | { readonly valid: true; readonly lastHash: string; readonly count: number }
  | {
      readonly valid: false;
      readonly index: number;
      readonly eventId: string;
      readonly reason: ChainBreak;
      readonly message: string;
    };

/**
 * Checks events in cluster-log order. `prevHash` is where the slice starts (GENESIS_HASH for a whole
 * log); the returned `lastHash` lets a reader verify a log in pages.
 */
export function verifyChain(
  events: readonly EventEnvelope[],
  options: { readonly prevHash?: string } = {},
): ChainVerification {
  let previous = options.prevHash ?? GENESIS_HASH;
  const clusterId = events[0]?.clusterId;
  for (const [index, event] of events.entries()) {
    if (event.clusterId !== clusterId) {
      return broken(index, event, 'ClusterMismatch', `event belongs to cluster ${event.clusterId}, the log to ${String(clusterId)}`);
    }
    if (event.prevHash !== previous) {
      return broken(index, event, 'BrokenLink', 'prevHash does not match the previous event (an event was removed, inserted or reordered)');
    }
    if (computeHash(event) !== event.hash) {
      return broken(index, event, 'HashMismatch', 'hash does not match the content (the event was modified)');
    }
    previous = event.hash;
  }
  return { valid: true, lastHash: previous, count: events.length };
}

function broken(index: number, event: EventEnvelope, reason: ChainBreak, message: string): ChainVerification {
  return { valid: false, index, eventId: event.id, reason, message: `event ${index} (${event.id}): ${message}` };
}
