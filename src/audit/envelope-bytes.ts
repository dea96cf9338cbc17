// Where the fields of an event stand in its canonical JSON bytes, found in one pass with no string
// made: the verifier's fast path. Anything not laid out exactly as the relay writes it (canonicalJson:
// top-level keys in order, no whitespace, header strings plain printable ASCII) is refused here and
// goes the long way (JSON.parse, the schema, the canonical JSON written again).
import { EVENT_SCHEMAS } from '../events/schemas.js';

/** Slots of `scanEnvelope`'s output, from `at`. */
export const SPOT = { hash: 0, id: 1, idEnd: 2, prevHash: 3, type: 4, typeEnd: 5, checkpoint: 6 } as const;
export const SPOTS = 8;
/** Bytes of `,"hash":"<64 hex>"`: what the hash does not cover, from SPOT.hash. */
export const HASH_MEMBER = 74;

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const OPEN = bytes('{"actor":{');
const CAUSATION = bytes(',"causationId":"');
const CLUSTER = bytes('","clusterId":"');
const CORRELATION = bytes('","correlationId":"');
const DATA = bytes('","data":{');
const HASH = bytes(',"hash":"');
const ID = bytes('","id":"');
const OCCURRED = bytes('","occurredAt":"');
const PREV = bytes('","prevHash":"');
const SCHEMA = bytes('","schemaVersion":');
const STREAM = bytes(',"streamId":"');
const VERSION = bytes('","streamVersion":');
const TYPE = bytes(',"type":"');

interface KnownType { readonly name: Uint8Array; readonly versions: ReadonlySet<number>; readonly checkpoint: boolean }
const typeKey = (length: number, first: number, last: number) => (length << 16) | (first << 8) | last;
/** Event types and their schema versions, by (length, first byte, last byte), to be told apart with no string made. */
const TYPES = new Map<number, KnownType[]>();
for (const [name, versions] of Object.entries(EVENT_SCHEMAS)) {
  const k = typeKey(name.length, name.charCodeAt(0), name.charCodeAt(name.length - 1));
  TYPES.set(k, [...(TYPES.get(k) ?? []), { name: bytes(name), versions: new Set(Object.keys(versions).map(Number)), checkpoint: name === 'CheckpointSigned' }]);
}

/** `lit` stands in `b` at `at`. */
function has(b: Uint8Array, at: number, lit: Uint8Array): boolean {
  if (at + lit.length > b.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[at + k] !== lit[k]) return false;
  return true;
}

/** The closing quote of a string whose text starts at `at`, all of it printable ASCII bar `"` and `\`; -1 otherwise. */
function plainString(b: Uint8Array, at: number): number {
  for (let k = at; k < b.length; k++) {
    const c = b[k]!;
    if (c === 0x22) return k;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return -1;
  }
  return -1;
}

/** The opening quote of a string that closes at `end`, all of it printable ASCII bar `"` and `\\`; -1 otherwise. */
function plainStringBack(b: Uint8Array, end: number): number {
  for (let k = end - 1; k >= 0; k--) {
    const c = b[k]!;
    if (c === 0x22) return k;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return -1;
  }
  return -1;
}

/** The first digit of a positive integer as JSON writes it (no sign, no leading zero, at most 15 digits) that ends before `end`; -1 otherwise. */
function positiveBack(b: Uint8Array, end: number): number {
  let k = end;
  while (k > 0 && end - k < 15 && b[k - 1]! >= 0x30 && b[k - 1]! <= 0x39) k -= 1;
  return k === end || b[k] === 0x30 || (b[k - 1]! >= 0x30 && b[k - 1]! <= 0x39) ? -1 : k;
}

/** The value of the digits [from, to). */
function digits(b: Uint8Array, from: number, to: number): number {
  let v = 0;
  for (let k = from; k < to; k++) v = v * 10 + (b[k]! - 0x30);
  return v;
}

/**
 * Reads the places of an event's fields off its bytes into `out` from `at` (see SPOT), when the bytes
 * are laid out as the relay writes an event of cluster `cluster` (its bytes), of a known type and
 * schema version. False for anything else, another cluster's event included: such records go the
 * long way. The header is read forward up to `data`, and backward from the last byte down to the
 * hash member, so `data` itself, which the hash covers, is not read. Nothing is verified here but
 * the layout; the hash is the caller's to check.
 */
export function scanEnvelope(b: Uint8Array, cluster: Uint8Array, out: Int32Array, at: number): boolean {
  const n = b.length;
  if (!has(b, 0, OPEN)) return false;
  // 1. The actor: string members only.
  let k = OPEN.length;
  for (;;) {
    if (b[k] !== 0x22) return false;
    k = plainString(b, k + 1);
    if (k < 0 || b[k + 1] !== 0x3a || b[k + 2] !== 0x22) return false;
    k = plainString(b, k + 3);
    if (k < 0) return false;
    k += 1;
    if (b[k] === 0x7d) break;
    if (b[k] !== 0x2c) return false;
    k += 1;
  }
  // 2. The header before data; the cluster id must be this log's.
  if (!has(b, k + 1, CAUSATION)) return false;
  k = plainString(b, k + 1 + CAUSATION.length);
  if (k < 0 || !has(b, k, CLUSTER)) return false;
  k += CLUSTER.length;
  if (!has(b, k, cluster) || b[k + cluster.length] !== 0x22) return false;
  k += cluster.length;
  if (!has(b, k, CORRELATION)) return false;
  k = plainString(b, k + CORRELATION.length);
  if (k < 0 || !has(b, k, DATA)) return false;
  const data = k + DATA.length - 1;
  // 3. The header after data, from the last byte back: type, streamVersion, streamId, schemaVersion.
  if (b[n - 1] !== 0x7d || b[n - 2] !== 0x22) return false;
  const typeEnd = n - 2;
  k = plainStringBack(b, typeEnd);
  const type = k + 1;
  if (k < 0 || type === typeEnd || !has(b, k - TYPE.length + 1, TYPE)) return false;
  k = positiveBack(b, k - TYPE.length + 1);
  if (k < 0 || !has(b, k - VERSION.length, VERSION)) return false;
  k = plainStringBack(b, k - VERSION.length);
  if (k < 0 || !has(b, k - STREAM.length + 1, STREAM)) return false;
  const schemaEnd = k - STREAM.length + 1;
  const schema = positiveBack(b, schemaEnd);
  if (schema < 0 || !has(b, schema - SCHEMA.length, SCHEMA)) return false;
  // 4. prevHash (64 bytes: the walk takes them only equal to a hash it verified), occurredAt, id, the hash member.
  const prev = schema - SCHEMA.length - 64;
  if (!has(b, prev - PREV.length, PREV)) return false;
  k = plainStringBack(b, prev - PREV.length);
  if (k < 0 || !has(b, k - OCCURRED.length + 1, OCCURRED)) return false;
  const idEnd = k - OCCURRED.length + 1;
  k = plainStringBack(b, idEnd);
  const id = k + 1;
  if (k < 0 || !has(b, k - ID.length + 1, ID)) return false;
  const h = k - ID.length + 1 - 64 - HASH.length;
  // data is an object that closes right before the hash member.
  if (h - 1 <= data || !has(b, h, HASH) || b[h - 1] !== 0x7d) return false;
  // 5. A type the catalogue knows, at a schema version it has.
  const known = TYPES.get(typeKey(typeEnd - type, b[type]!, b[typeEnd - 1]!));
  let found: KnownType | undefined;
  if (known !== undefined) for (const t of known) if (has(b, type, t.name)) found = t;
  if (found === undefined || !found.versions.has(digits(b, schema, schemaEnd))) return false;
  out[at + SPOT.hash] = h;
  out[at + SPOT.id] = id;
  out[at + SPOT.idEnd] = idEnd;
  out[at + SPOT.prevHash] = prev;
  out[at + SPOT.type] = type;
  out[at + SPOT.typeEnd] = typeEnd;
  out[at + SPOT.checkpoint] = found.checkpoint ? 1 : 0;
  return true;
}
