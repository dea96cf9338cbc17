// Tamper checks over a cluster log's records as Kafka holds them: every event's hash, every link of
// the chain, every signed checkpoint. Pure: records in, a verdict out; the reading is the CLI's.
//
// Why the Kafka topic, not the PostgreSQL audit index: the topic is the source of truth (DESIGN §2),
// and the index only holds events whose hash held when they were projected; a verifier that read the
// index would trust the very projection it is meant to check.
//
// How the chain is walked: the relay seals one chain over the whole cluster log, but the topic has
// several partitions (key = stream id), and Kafka keeps order only within a partition. So the walk
// merges the partitions: the next event of the chain is the head of one of them, the one whose
// prevHash is the hash verified last. An intact log always has one; when none has, the log was
// tampered with and `classify` says how, looking at the whole rest of the log. Records whose bytes
// are those of an event already verified are the relay's republishing after a crash (DESIGN §3),
// skipped and counted. Order across partitions is not recorded anywhere, so a "reordering" is within
// one partition; moving a record to another partition changes no event and no link, and is not seen.
//
// Events are checked on their bytes (scanEnvelope, then readLink's hash): the relay writes canonical
// JSON, so one SHA-256 of the value less its "hash" member proves it unchanged since sealing, without
// parsing it. Only checkpoints and records laid out otherwise or failing that are parsed.
import { checkpointMessage } from '../events/checkpoint.js';
import { GENESIS_HASH, isSha256Hex } from '../events/constants.js';
import { computeHash, sha256HexWithout } from '../events/hash.js';
import { parseEventJson } from '../events/schemas.js';
import type { CheckpointSignedData } from '../events/catalogue.js';
import { HASH_MEMBER, scanEnvelope, SPOT, SPOTS } from './envelope-bytes.js';


/** One Kafka record of the log: where it is, and its value as read. */
export interface LogRecord {
  readonly partition: number;
  readonly offset: string;
  readonly value: Uint8Array | null;
}

/** How the chain is broken: an event changed, an event gone, events out of order, an event that is not the cluster's. */
export type BreakReason = 'Altered' | 'Missing' | 'Reordered' | 'Inserted';
/** How a checkpoint fails: its signature, its head, or too many events after the last one. */
export type CheckpointReason = 'BadSignature' | 'CheckpointMismatch' | 'Unsigned';

export interface Finding {
  readonly reason: BreakReason | CheckpointReason;
  readonly partition: number | null;
  readonly offset: string | null;
  readonly eventId: string | null;
  readonly eventType: string | null;
  /** How many events of the chain were verified before it. */
  readonly verified: number;
  readonly message: string;
}

export interface CheckpointRef { readonly chainLength: number; readonly partition: number; readonly offset: string; readonly eventId: string }

export type Verdict =
  | {
      readonly ok: true; readonly events: number; readonly head: string; readonly duplicates: number;
      readonly checkpoints: number; readonly lastCheckpoint: CheckpointRef | null;
      /** Events after the last checkpoint, which no signature covers yet. */
      readonly unsigned: number;
    }
  | { readonly ok: false; readonly failure: 'BrokenChain' | 'BadCheckpoint'; readonly finding: Finding; readonly events: number; readonly head: string };

/** Verifies a signature with the published key named by keyId; undefined when no such key is known. */
export type SignatureCheck = (keyId: string, message: Buffer, signature: Buffer) => boolean | undefined;

export interface VerifierOptions {
  readonly clusterId: string;
  /** Without it checkpoints are not checked (and not counted). */
  readonly verifySignature?: SignatureCheck;
  /** Fail when more events than this follow the last checkpoint (a log whose checkpoints were stripped). */
  readonly maxUnsigned?: number;
  /** Called with each event once verified, in chain order. */
  readonly onEvent?: (record: LogRecord) => void;
}

/** What the walk needs of a record, read off its bytes. */
export interface Link {
  readonly id: string | null;
  readonly type: string | null;
  readonly clusterId: string | null;
  readonly hash: string;
  readonly prevHash: string;
  /** Why the record is not an intact event (unparseable, or its hash does not match its content). */
  readonly problem: string | null;
}

/**
 * The link of one record of cluster `clusterId`'s log. Bytes laid out as the relay writes an event
 * (see scanEnvelope) are checked with one SHA-256 of the value less its "hash" member; anything else,
 * and bytes that fail that, are parsed and hashed the long way, which says what is wrong.
 */
export function readLink(value: Uint8Array | null, clusterId: string): Link {
  if (value === null) return { id: null, type: null, clusterId: null, hash: '', prevHash: '', problem: 'the record has no value' };
  const b = asBuffer(value);
  const spots = new Int32Array(SPOTS);
  if (scanEnvelope(b, Buffer.from(clusterId, 'latin1'), spots, 0) && hashHolds(b, spots[SPOT.hash]!)) {
    const prevHash = b.toString('latin1', spots[SPOT.prevHash]!, spots[SPOT.prevHash]! + 64);
    // The walk takes prevHash bytes only when they equal a hash it verified; a link read whole must hold a hash too.
    if (isSha256Hex(prevHash)) {
      return {
        id: b.toString('latin1', spots[SPOT.id]!, spots[SPOT.idEnd]!),
        type: b.toString('latin1', spots[SPOT.type]!, spots[SPOT.typeEnd]!),
        clusterId, hash: b.toString('latin1', spots[SPOT.hash]! + HASH.length, spots[SPOT.hash]! + HASH.length + 64), prevHash, problem: null,
      };
    }
  }
  return slowLink(b);
}

const HASH = Buffer.from(',"hash":"', 'latin1');
const asBuffer = (v: Uint8Array) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

/** The SHA-256 of `b` less its hash member (from `h`) is the hash that member holds. */
function hashHolds(b: Buffer, h: number): boolean {
  const digest = sha256HexWithout(b, h, h + HASH_MEMBER);
  const at = h + HASH.length;
  for (let k = 0; k < 64; k++) if (digest.charCodeAt(k) !== b[at + k]) return false;
  return true;
}

/** Parses the record and recomputes its hash from the canonical JSON of what it holds. */
function slowLink(b: Buffer): Link {
  let parsed: unknown;
  try { parsed = JSON.parse(b.toString('utf8')); } catch { return { id: null, type: null, clusterId: null, hash: '', prevHash: '', problem: 'the record is not JSON' }; }
  const o = (parsed !== null && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? o[k] as string : null);
  const base = { id: str('id'), type: str('type'), clusterId: str('clusterId'), hash: str('hash') ?? '', prevHash: str('prevHash') ?? '' };
  try {
    const e = parseEventJson(b, { verifyHash: false });
    return { ...base, problem: computeHash(e) === e.hash ? null : 'its hash does not match its content' };
  } catch (e) {
    return { ...base, problem: `it is not a valid event (${(e as Error).message})` };
  }
}

interface Pending { readonly record: LogRecord; readonly link: Link }

export interface LogVerifier {
  /** Adds a partition's next record (records of one partition arrive in offset order). */
  add(record: LogRecord): void;
  /** Verifies as far as the records added allow. 'stuck': the chain cannot go on with what is there (read the rest, then finish). */
  advance(): 'more' | 'stuck' | 'broken';
  /** Records waiting in a partition (for a reader that pauses partitions far ahead). */
  queued(partition: number): number;
  /** Every partition read to its end: the verdict. */
  finish(): Verdict;
}

const RING = 1024;
const GENESIS = Buffer.from(GENESIS_HASH, 'latin1');
/** Value of each lowercase hex digit by its byte. */
const HEX = new Uint8Array(256);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;

/** 64 bytes of `a` from `i` are those of `b` from `j`. */
function same64(a: Uint8Array, i: number, b: Uint8Array, j: number): boolean {
  for (let k = 0; k < 64; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

// What the walk keeps is small on purpose: per verified event its hash (32 bytes) and where it stands
// (partition, offset), no object. What a report needs of a record (its id, type, the link read whole)
// is read again off its bytes when a report is written; the index from hash to position is built only
// when something asks for one (a republished record, a break, a checkpoint's head).
export function createLogVerifier(partitions: readonly number[], o: VerifierOptions): LogVerifier {
  const cluster = Buffer.from(o.clusterId, 'latin1');
  const slots = partitions.length;
  const slotOf = new Map(partitions.map((p, s) => [p, s]));
  const queues: LogRecord[][] = partitions.map(() => []);
  const heads = new Int32Array(slots);
  // Each queue's next record once looked at: 0 not yet, 1 laid out as the relay writes (its places in
  // `spots`, its hash not checked yet), 2 read whole (its link in `links`).
  const state = new Uint8Array(slots);
  const spots = new Int32Array(slots * SPOTS);
  const links: (Link | undefined)[] = new Array<Link | undefined>(slots);
  // The chain's head: where the 64 hex bytes of the hash verified last stand.
  let headBytes: Uint8Array = GENESIS;
  let headAt = 0;
  let headText: string | null = GENESIS_HASH;
  const head = () => (headText ??= asBuffer(headBytes).toString('latin1', headAt, headAt + 64));
  let count = 0;
  let duplicates = 0;
  let checkpoints = 0;
  let lastCheckpoint: CheckpointRef | null = null;
  let failed: Verdict | undefined;
  let hashes = Buffer.alloc(32 * 1024);
  let where: { partition: Uint16Array; offset: Float64Array } = { partition: new Uint16Array(1024), offset: new Float64Array(1024) };
  const recent: (LogRecord | undefined)[] = new Array<LogRecord | undefined>(RING);
  // Open addressing over the first 32 bits of each hash, positions 1-based (0: empty), confirmed on the whole hash.
  let table = new Int32Array(0);
  let indexed = 0;

  const hashAt = (n: number) => hashes.toString('hex', (n - 1) * 32, n * 32);
  const positionOf = (hash: string): number | undefined => {
    if (!isSha256Hex(hash)) return undefined;
    if (table.length === 0 || table.length < count * 2) {
      let size = 1024;
      while (size < count * 4) size *= 2;
      table = new Int32Array(size);
      indexed = 0;
    }
    const mask = table.length - 1;
    for (; indexed < count; indexed++) {
      let i = hashes.readUInt32BE(indexed * 32) & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = indexed + 1;
    }
    for (let i = parseInt(hash.slice(0, 8), 16) & mask; table[i] !== 0; i = (i + 1) & mask) {
      if (hashAt(table[i]!) === hash) return table[i]!;
    }
    return undefined;
  };
  const next = (s: number): LogRecord | undefined => queues[s]![heads[s]!];
  const shift = (s: number) => {
    state[s] = 0;
    links[s] = undefined;
    const h = heads[s]! + 1;
    // Consumed records are dropped in chunks, not one shift at a time.
    if (h >= 4096) { queues[s]!.splice(0, h); heads[s] = 0; } else heads[s] = h;
  };
  /** Slot s's next record looked at: 1 laid out as the relay writes, 2 read whole. */
  const look = (s: number, r: LogRecord): number => {
    if (state[s] === 0) {
      if (r.value !== null && scanEnvelope(r.value, cluster, spots, s * SPOTS)) state[s] = 1;
      else { links[s] = readLink(r.value, o.clusterId); state[s] = 2; }
    }
    return state[s]!;
  };
  /** Slot s's next record read whole (its hash checked). */
  const linkOf = (s: number, r: LogRecord): Link => {
    if (state[s] !== 2) { links[s] = readLink(r.value, o.clusterId); state[s] = 2; }
    return links[s]!;
  };
  const pendingAt = (s: number): Pending | undefined => {
    const r = next(s);
    return r === undefined ? undefined : { record: r, link: linkOf(s, r) };
  };
  const at = (x: Pending) => `partition ${x.record.partition} offset ${x.record.offset}${x.link.id ? ` (event ${x.link.id}${x.link.type ? `, ${x.link.type}` : ''})` : ''}`;
  const fail = (failure: 'BrokenChain' | 'BadCheckpoint', reason: Finding['reason'], x: Pending | null, message: string): 'broken' => {
    failed = {
      ok: false, failure, events: count, head: head(),
      finding: { reason, partition: x?.record.partition ?? null, offset: x?.record.offset ?? null, eventId: x?.link.id ?? null, eventType: x?.link.type ?? null, verified: count, message },
    };
    return 'broken';
  };

  /** Takes record r as the chain's next event, its hash (64 hex bytes, checked) at `bytes[hashAt]`. */
  function push(r: LogRecord, bytes: Uint8Array, hashAt: number): void {
    count += 1;
    if (hashes.length < count * 32) {
      const grown = Buffer.alloc(hashes.length * 2); hashes.copy(grown); hashes = grown;
      const p = new Uint16Array(where.partition.length * 2); p.set(where.partition);
      const f = new Float64Array(where.offset.length * 2); f.set(where.offset);
      where = { partition: p, offset: f };
    }
    const base = (count - 1) * 32;
    for (let k = 0; k < 32; k++) hashes[base + k] = (HEX[bytes[hashAt + 2 * k]!]! << 4) | HEX[bytes[hashAt + 2 * k + 1]!]!;
    where.partition[count - 1] = r.partition;
    where.offset[count - 1] = Number(r.offset);
    recent[count % RING] = r;
    headBytes = bytes;
    headAt = hashAt;
    headText = null;
    o.onEvent?.(r);
  }

  /** Slot s's next record r, read whole, follows the head: the checks of a link, then the chain takes it. */
  function accept(s: number, r: LogRecord, link: Link): 'more' | 'broken' {
    const x = { record: r, link };
    if (link.problem !== null) return fail('BrokenChain', 'Altered', x, `${at(x)} was altered: ${link.problem}`);
    if (link.clusterId !== o.clusterId) return fail('BrokenChain', 'Inserted', x, `${at(x)} belongs to cluster ${String(link.clusterId)}, not to ${o.clusterId}: it was inserted`);
    if (link.type === 'CheckpointSigned' && o.verifySignature) {
      const bad = checkCheckpoint(x);
      if (bad) return bad;
    }
    push(r, Buffer.from(link.hash, 'latin1'), 0);
    shift(s);
    return 'more';
  }

  function checkCheckpoint(x: Pending): 'broken' | undefined {
    let data: CheckpointSignedData;
    try {
      const e = parseEventJson(x.record.value!, { verifyHash: false });
      data = (e as { data: CheckpointSignedData }).data;
    } catch (e) {
      return fail('BadCheckpoint', 'BadSignature', x, `${at(x)} is not a valid checkpoint: ${(e as Error).message}`);
    }
    const n = data.chainLength;
    const ok = o.verifySignature!(data.keyId, checkpointMessage(o.clusterId, n, data.head), Buffer.from(data.signature, 'base64url'));
    if (ok === undefined) return fail('BadCheckpoint', 'BadSignature', x, `checkpoint at ${at(x)} is signed with key ${data.keyId}, which is not the control plane's published key`);
    if (!ok) return fail('BadCheckpoint', 'BadSignature', x, `checkpoint at ${at(x)}: the signature over chain length ${n} and head ${data.head} does not verify (the checkpoint was altered)`);
    if (n > count) return fail('BadCheckpoint', 'CheckpointMismatch', x, `checkpoint at ${at(x)} signs chain length ${n}, but it is event ${count + 1} of the chain`);
    const actual = hashAt(n);
    if (actual !== data.head) {
      return fail('BadCheckpoint', 'CheckpointMismatch', x,
        `checkpoint at ${at(x)} signs head ${data.head} at chain length ${n}, but event ${n} of this log (partition ${where.partition[n - 1]} offset ${where.offset[n - 1]}) is hashed ${actual}: the log was rewritten at or before event ${n}, its hashes recomputed`);
    }
    checkpoints += 1;
    lastCheckpoint = { chainLength: n, partition: x.record.partition, offset: x.record.offset, eventId: x.link.id ?? '' };
    return undefined;
  }

  /** Slot s's next record, if it follows the head: 'more' or 'broken' once taken; undefined when it does not follow. */
  function step(s: number, r: LogRecord): 'more' | 'broken' | undefined {
    if (look(s, r) === 1) {
      const b = r.value!;
      const a = s * SPOTS;
      if (!same64(b, spots[a + SPOT.prevHash]!, headBytes, headAt)) return undefined;
      const h = spots[a + SPOT.hash]!;
      // The usual event: one SHA-256 over its bytes less the hash member, and it is taken.
      if (hashHolds(asBuffer(b), h)) {
        if (spots[a + SPOT.checkpoint] === 1 && o.verifySignature) {
          const bad = checkCheckpoint(pendingAt(s)!);
          if (bad) return bad;
        }
        push(r, b, h + HASH.length);
        shift(s);
        return 'more';
      }
    }
    const link = linkOf(s, r);
    return link.prevHash === head() ? accept(s, r, link) : undefined;
  }

  function advance(): 'more' | 'stuck' | 'broken' {
    if (failed) return 'broken';
    for (;;) {
      let moved = false;
      let waiting = false;
      for (let s = 0; s < slots; s++) {
        const r = next(s);
        if (r === undefined) { waiting = true; continue; }
        const taken = step(s, r);
        if (taken === 'broken') return 'broken';
        if (taken === 'more') { moved = true; break; }
      }
      // Only when no partition goes on: a head that repeats a verified event (the relay republishing).
      if (!moved) {
        for (let s = 0; s < slots; s++) {
          const x = pendingAt(s);
          if (x !== undefined && x.link.problem === null && positionOf(x.link.hash) !== undefined) { shift(s); duplicates += 1; moved = true; break; }
        }
      }
      if (!moved) return waiting ? 'more' : 'stuck';
    }
  }

  /** The log cannot go on from the head: says which record is wrong and how, with the whole rest in view. */
  function classify(): 'broken' {
    const tops: Pending[] = [];
    const topOf = new Map<number, Pending>();
    const rest: Pending[] = [];
    for (let s = 0; s < slots; s++) {
      const top = pendingAt(s);
      if (top === undefined) continue;
      tops.push(top);
      topOf.set(partitions[s]!, top);
      rest.push(top);
      const q = queues[s]!;
      for (let i = heads[s]! + 1; i < q.length; i++) rest.push({ record: q[i]!, link: readLink(q[i]!.value, o.clusterId) });
    }
    const byHash = new Map<string, Pending>();
    const byPrev = new Map<string, Pending[]>();
    for (const x of rest) {
      if (x.link.problem !== null) continue;
      byHash.set(x.link.hash, x);
      byPrev.set(x.link.prevHash, [...(byPrev.get(x.link.prevHash) ?? []), x]);
    }
    // 1. A record that is not an intact event: a copy of another (its hash is another's) or an edit.
    for (const x of tops) {
      if (x.link.problem === null) continue;
      const other = positionOf(x.link.hash) !== undefined || byHash.has(x.link.hash);
      return other
        ? fail('BrokenChain', 'Inserted', x, `${at(x)} was inserted: it claims the hash of another event of the log, and ${x.link.problem}`)
        : fail('BrokenChain', 'Altered', x, `${at(x)} was altered: ${x.link.problem}`);
    }
    // 2. The next event is there, behind records of its partition that do not belong before it.
    const following = byPrev.get(head())?.[0];
    if (following !== undefined) {
      const x = topOf.get(following.record.partition)!;
      if (byHash.has(x.link.prevHash)) return fail('BrokenChain', 'Reordered', x, `${at(x)} was reordered: it stands before ${at(byHash.get(x.link.prevHash)!)}, the event it follows`);
      const k = positionOf(x.link.prevHash);
      if (k !== undefined) return fail('BrokenChain', 'Inserted', x, `${at(x)} was inserted: it claims to follow event ${k} of the chain, which another event follows`);
      if (byPrev.has(x.link.hash)) return fail('BrokenChain', 'Missing', x, `an event is missing before ${at(x)}: the event it follows (hash ${x.link.prevHash}) is not in the log`);
      return fail('BrokenChain', 'Inserted', x, `${at(x)} was inserted: it follows no event of the log and none follows it`);
    }
    // 3. Nothing follows the last verified event.
    for (const x of tops) {
      const k = positionOf(x.link.prevHash);
      if (k !== undefined) {
        // Two events follow event k: one verified already (k + 1), and x. The one nothing follows was inserted.
        const r = recent[(k + 1) % RING];
        const verified = r !== undefined && k + 1 > count - RING ? { record: r, link: readLink(r.value, o.clusterId) } : undefined;
        if (k + 1 === count && verified !== undefined && byPrev.has(x.link.hash)) {
          return fail('BrokenChain', 'Inserted', verified, `${at(verified)} was inserted: it and ${at(x)} both follow event ${k} of the chain, and nothing follows it`);
        }
        return fail('BrokenChain', 'Inserted', x, `${at(x)} was inserted: it follows event ${k} of the chain, which ${verified ? at(verified) : 'another event'} follows already`);
      }
      if (!byHash.has(x.link.prevHash)) {
        return fail('BrokenChain', 'Missing', x, `an event is missing before ${at(x)}: the event it follows (hash ${x.link.prevHash}) is not in the log (it was deleted, or altered and its own hash recomputed)`);
      }
    }
    const x = tops[0]!;
    return fail('BrokenChain', 'Reordered', x, `${at(x)} was reordered: every partition's next record follows an event later in the log`);
  }

  return {
    add(record) {
      const s = slotOf.get(record.partition);
      if (s === undefined) throw new RangeError(`partition ${record.partition} is not one of ${partitions.join(', ')}`);
      queues[s]!.push(record);
    },
    advance,
    queued: (p) => { const s = slotOf.get(p)!; return queues[s]!.length - heads[s]!; },
    finish() {
      if (failed) return failed;
      const state = advance();
      if (state === 'broken') return failed!;
      let left = false;
      for (let s = 0; s < slots; s++) if (next(s) !== undefined) left = true;
      if (left) { classify(); return failed!; }
      const unsigned = count - (lastCheckpoint?.chainLength ?? 0);
      if (o.verifySignature && o.maxUnsigned !== undefined && unsigned > o.maxUnsigned) {
        fail('BadCheckpoint', 'Unsigned', null, `${unsigned} events follow the last signed checkpoint${lastCheckpoint ? ` (chain length ${lastCheckpoint.chainLength})` : ' (there is none)'}, more than the ${o.maxUnsigned} allowed: checkpoints may have been removed`);
        return failed!;
      }
      return { ok: true, events: count, head: head(), duplicates, checkpoints, lastCheckpoint, unsigned };
    },
  };
}
