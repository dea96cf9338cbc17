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
// Events are checked on their bytes (see readLink): the relay writes canonical JSON, so one SHA-256
// of the value less its "hash" member proves it unchanged since sealing, without parsing it. Only
// checkpoints and records that fail this are parsed.
import { checkpointMessage } from '../events/checkpoint.js';
import { GENESIS_HASH } from '../events/constants.js';
import { computeHash, sha256HexWithout } from '../events/hash.js';
import { parseEventJson } from '../events/schemas.js';
import type { CheckpointSignedData } from '../events/catalogue.js';


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
  readonly onEvent?: (link: Link, record: LogRecord) => void;
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

const enc = (s: string) => Buffer.from(s, 'latin1');
const HASH = enc(',"hash":"');
const ID = enc(',"id":"');
const PREV = enc(',"prevHash":"');
const TYPE = enc(',"type":"');
const CLUSTER = enc(',"clusterId":"');

/**
 * The link of one record. In canonical JSON the top-level keys stand in order (actor, causationId,
 * clusterId, correlationId, data, hash, id, occurredAt, prevHash, schemaVersion, streamId,
 * streamVersion, type) and nothing after `data` holds an object, so the last `,"hash":"` is the
 * envelope's own (a quote inside a string is escaped, so no string can hold the pattern). Text
 * laid out otherwise is parsed and hashed the long way.
 */
export function readLink(value: Uint8Array | null): Link {
  if (value === null) return { id: null, type: null, clusterId: null, hash: '', prevHash: '', problem: 'the record has no value' };
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const n = b.length;
  // The checks below read fixed places of canonical text; any miss sends the record the long way.
  if (n > 200 && b[0] === 0x7b && b[2] === 0x61 && b[n - 1] === 0x7d && b[n - 2] === 0x22) {
    const h = b.lastIndexOf(HASH);
    const i = h + HASH.length + 65; // `,"id":"` right after the hash's closing quote
    if (h > 0 && b[h + HASH.length + 64] === 0x22 && b[i] === 0x2c && b[i + 2] === 0x69 && b[i + 3] === 0x64 && b[i + 4] === 0x22) {
      const p = b.indexOf(PREV, i + ID.length);
      const c = b.indexOf(CLUSTER);
      let t = n - 3;
      while (t > p && b[t] !== 0x22) t -= 1;
      if (p > 0 && c > 0 && c < h && b[p + PREV.length + 64] === 0x22 && t - TYPE.length > p && b[t - TYPE.length + 3] === 0x74) {
        const hash = b.toString('latin1', h + HASH.length, h + HASH.length + 64);
        if (sha256HexWithout(b, h, i) === hash) {
          return {
            id: b.toString('latin1', i + ID.length, b.indexOf(0x22, i + ID.length)),
            type: b.toString('latin1', t + 1, n - 2),
            clusterId: b.toString('latin1', c + CLUSTER.length, b.indexOf(0x22, c + CLUSTER.length)),
            hash,
            prevHash: b.toString('latin1', p + PREV.length, p + PREV.length + 64),
            problem: null,
          };
        }
      }
    }
  }
  return slowLink(b);
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

export function createLogVerifier(partitions: readonly number[], o: VerifierOptions): LogVerifier {
  const queues = new Map<number, Pending[]>(partitions.map((p) => [p, []]));
  const heads = new Map<number, number>(partitions.map((p) => [p, 0]));
  let head = GENESIS_HASH;
  let count = 0;
  let duplicates = 0;
  let checkpoints = 0;
  let lastCheckpoint: CheckpointRef | null = null;
  let failed: Verdict | undefined;
  // The chain so far: each position's hash (32 bytes) and where it is, and an index from a hash's
  // first 48 bits to its position (confirmed against the full hash).
  let hashes = Buffer.alloc(32 * 1024);
  let where: { partition: Uint16Array; offset: Float64Array } = { partition: new Uint16Array(1024), offset: new Float64Array(1024) };
  const index = new Map<number, number>();
  const recent: (Pending | undefined)[] = new Array(RING);

  const key = (hash: string) => parseInt(hash.slice(0, 12), 16);
  const hashAt = (n: number) => hashes.toString('hex', (n - 1) * 32, n * 32);
  const positionOf = (hash: string): number | undefined => {
    if (hash.length !== 64) return undefined;
    const n = index.get(key(hash));
    return n !== undefined && hashAt(n) === hash ? n : undefined;
  };
  const peek = (p: number): Pending | undefined => queues.get(p)![heads.get(p)!];
  const shift = (p: number) => {
    const q = queues.get(p)!;
    const h = heads.get(p)! + 1;
    // Consumed records are dropped in chunks, not one shift at a time.
    if (h >= 4096) { q.splice(0, h); heads.set(p, 0); } else heads.set(p, h);
  };
  const at = (x: Pending) => `partition ${x.record.partition} offset ${x.record.offset}${x.link.id ? ` (event ${x.link.id}${x.link.type ? `, ${x.link.type}` : ''})` : ''}`;
  const fail = (failure: 'BrokenChain' | 'BadCheckpoint', reason: Finding['reason'], x: Pending | null, message: string): 'broken' => {
    failed = {
      ok: false, failure, events: count, head,
      finding: { reason, partition: x?.record.partition ?? null, offset: x?.record.offset ?? null, eventId: x?.link.id ?? null, eventType: x?.link.type ?? null, verified: count, message },
    };
    return 'broken';
  };

  function accept(x: Pending): 'more' | 'broken' {
    if (x.link.problem !== null) return fail('BrokenChain', 'Altered', x, `${at(x)} was altered: ${x.link.problem}`);
    if (x.link.clusterId !== o.clusterId) return fail('BrokenChain', 'Inserted', x, `${at(x)} belongs to cluster ${String(x.link.clusterId)}, not to ${o.clusterId}: it was inserted`);
    if (x.link.type === 'CheckpointSigned' && o.verifySignature) {
      const bad = checkCheckpoint(x);
      if (bad) return bad;
    }
    count += 1;
    if (hashes.length < count * 32) {
      const grown = Buffer.alloc(hashes.length * 2); hashes.copy(grown); hashes = grown;
      const p = new Uint16Array(where.partition.length * 2); p.set(where.partition);
      const f = new Float64Array(where.offset.length * 2); f.set(where.offset);
      where = { partition: p, offset: f };
    }
    hashes.write(x.link.hash, (count - 1) * 32, 'hex');
    where.partition[count - 1] = x.record.partition;
    where.offset[count - 1] = Number(x.record.offset);
    index.set(key(x.link.hash), count);
    recent[count % RING] = x;
    head = x.link.hash;
    o.onEvent?.(x.link, x.record);
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

  function advance(): 'more' | 'stuck' | 'broken' {
    if (failed) return 'broken';
    for (;;) {
      let moved = false;
      let waiting = false;
      for (const p of partitions) {
        const x = peek(p);
        if (x === undefined) { waiting = true; continue; }
        if (x.link.prevHash === head) {
          shift(p);
          if (accept(x) === 'broken') return 'broken';
          moved = true;
          break;
        }
      }
      // Only when no partition goes on: a head that repeats a verified event (the relay republishing).
      if (!moved) {
        for (const p of partitions) {
          const x = peek(p);
          if (x !== undefined && x.link.problem === null && positionOf(x.link.hash) !== undefined) { shift(p); duplicates += 1; moved = true; break; }
        }
      }
      if (!moved) return waiting ? 'more' : 'stuck';
    }
  }

  /** The log cannot go on from `head`: says which record is wrong and how, with the whole rest in view. */
  function classify(): 'broken' {
    const rest: Pending[] = [];
    for (const p of partitions) rest.push(...queues.get(p)!.slice(heads.get(p)!));
    const byHash = new Map<string, Pending>();
    const byPrev = new Map<string, Pending[]>();
    for (const x of rest) {
      if (x.link.problem !== null) continue;
      byHash.set(x.link.hash, x);
      byPrev.set(x.link.prevHash, [...(byPrev.get(x.link.prevHash) ?? []), x]);
    }
    const tops = partitions.map(peek).filter((x): x is Pending => x !== undefined);
    // 1. A record that is not an intact event: a copy of another (its hash is another's) or an edit.
    for (const x of tops) {
      if (x.link.problem === null) continue;
      const other = positionOf(x.link.hash) !== undefined || byHash.has(x.link.hash);
      return other
        ? fail('BrokenChain', 'Inserted', x, `${at(x)} was inserted: it claims the hash of another event of the log, and ${x.link.problem}`)
        : fail('BrokenChain', 'Altered', x, `${at(x)} was altered: ${x.link.problem}`);
    }
    // 2. The next event is there, behind records of its partition that do not belong before it.
    const next = byPrev.get(head)?.[0];
    if (next !== undefined) {
      const x = peek(next.record.partition)!;
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
        const verified = recent[(k + 1) % RING];
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
      const q = queues.get(record.partition);
      if (q === undefined) throw new RangeError(`partition ${record.partition} is not one of ${partitions.join(', ')}`);
      q.push({ record, link: readLink(record.value) });
    },
    advance,
    queued: (p) => queues.get(p)!.length - heads.get(p)!,
    finish() {
      if (failed) return failed;
      const state = advance();
      if (state === 'broken') return failed!;
      const left = partitions.some((p) => peek(p) !== undefined);
      if (left) { classify(); return failed!; }
      const unsigned = count - (lastCheckpoint?.chainLength ?? 0);
      if (o.verifySignature && o.maxUnsigned !== undefined && unsigned > o.maxUnsigned) {
        fail('BadCheckpoint', 'Unsigned', null, `${unsigned} events follow the last signed checkpoint${lastCheckpoint ? ` (chain length ${lastCheckpoint.chainLength})` : ' (there is none)'}, more than the ${o.maxUnsigned} allowed: checkpoints may have been removed`);
        return failed!;
      }
      return { ok: true, events: count, head, duplicates, checkpoints, lastCheckpoint, unsigned };
    },
  };
}
