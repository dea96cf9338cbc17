// The log verifier over in-memory records: an intact log, each single tampering, recomputed hashes
// caught by checkpoints. Offsets and ids below are the literal ones the fixture lays out.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify as cryptoVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLogVerifier, type LogRecord, type Verdict } from '../../../src/audit/verify.js';
import { GENESIS_HASH } from '../../../src/events/constants.js';
import { sealEvent } from '../../../src/events/hash.js';
import { serializeEvent } from '../../../src/events/schemas.js';
import type { EventEnvelope, UnsealedEvent } from '../../../src/events/envelope.js';

const CLUSTER = 'alpha';
const keys = generateKeyPairSync('ed25519');
const KEY_ID = 'e'.repeat(64);
const verifySignature = (keyId: string, message: Buffer, signature: Buffer) =>
  keyId !== KEY_ID ? undefined : cryptoVerify(null, message, keys.publicKey, signature);

/** Event i: id 00000000-0000-4000-8000-<i as 12 digits>, in stream outgoing-s<i % 3>. */
const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function unsealed(i: number, over: Partial<Record<string, unknown>> = {}): UnsealedEvent {
  return {
    id: idOf(i), type: 'VirtualNodeReady', streamId: `outgoing-s${i % 3}`, streamVersion: Math.floor(i / 3) + 1, clusterId: CLUSTER,
    occurredAt: '2026-11-24T08:00:00.000Z', actor: { kind: 'controller', name: 'test' }, correlationId: 'c', causationId: 'c',
    schemaVersion: 1, data: { nodeName: `peerlog-n${i}` }, ...over,
  } as UnsealedEvent;
}

/** The signed checkpoint of (chain length, head), as event `i` of stream audit-alpha. */
function checkpoint(i: number, version: number, chainLength: number, head: string, signedHead = head): UnsealedEvent {
  const signature = sign(null, Buffer.from(`peerlog-checkpoint:v1\n${CLUSTER}\n${chainLength}\n${signedHead}\n`), keys.privateKey).toString('base64url');
  return unsealed(i, { type: 'CheckpointSigned', streamId: `audit-${CLUSTER}`, streamVersion: version, data: { chainLength, head, keyId: KEY_ID, signature } });
}

/** Seals the events in order and lays event i on partition i % 3 (a checkpoint on partition 0). */
function layout(events: readonly UnsealedEvent[]): { chain: EventEnvelope[]; records: LogRecord[][] } {
  let prev = GENESIS_HASH;
  const chain = events.map((u) => { const e = sealEvent(u, prev) as EventEnvelope; prev = e.hash; return e; });
  const records: LogRecord[][] = [[], [], []];
  for (const e of chain) {
    const p = e.type === 'CheckpointSigned' ? 0 : Number(e.id.slice(-12)) % 3;
    records[p]!.push({ partition: p, offset: String(records[p]!.length), value: Buffer.from(serializeEvent(e)) });
  }
  return { chain, records };
}

/** Twelve events: partition 0 holds 0, 3, 6, 9; partition 1 holds 1, 4, 7, 10; partition 2 holds 2, 5, 8, 11. */
const plain = () => layout(Array.from({ length: 12 }, (_, i) => unsealed(i)));

function verify(records: readonly LogRecord[][], options: { keys?: boolean; maxUnsigned?: number } = {}): Verdict {
  const v = createLogVerifier([0, 1, 2], { clusterId: CLUSTER, verifySignature: options.keys === false ? undefined : verifySignature, maxUnsigned: options.maxUnsigned });
  // Partitions arrive in turns, as a consumer's fetches bring them.
  const longest = Math.max(...records.map((r) => r.length));
  for (let i = 0; i < longest; i++) for (const r of records) { if (r[i]) v.add(r[i]!); v.advance(); }
  return v.finish();
}

const renumber = (rs: LogRecord[]) => rs.map((r, i) => ({ ...r, offset: String(i) }));
const brokenAt = (v: Verdict) => (v.ok ? v : { failure: v.failure, reason: v.finding.reason, partition: v.finding.partition, offset: v.finding.offset, eventId: v.finding.eventId });

describe('audit verify over a log', () => {
  it('an intact log: OK with its count and head; a republished batch is skipped, not a break', () => {
    const { chain, records } = plain();
    const v = verify(records, { keys: false });
    assert.deepEqual(v, { ok: true, events: 12, head: chain[11]!.hash, duplicates: 0, checkpoints: 0, lastCheckpoint: null, unsigned: 12 });
    // The relay republished partition 1's first two records after a crash.
    const again = [records[0]!, renumber([...records[1]!.slice(0, 2), ...records[1]!.slice(0, 2), ...records[1]!.slice(2)]), records[2]!];
    const w = verify(again, { keys: false });
    assert.equal(w.ok && w.duplicates, 2);
    assert.equal(w.ok && w.events, 12);
  });

  it('an altered event is named: partition 1 offset 2 is event 7', () => {
    const { records } = plain();
    const r = records[1]![2]!;
    records[1]![2] = { ...r, value: Buffer.from(Buffer.from(r.value!).toString().replace('peerlog-n7', 'peerlog-nX')) };
    assert.deepEqual(brokenAt(verify(records)), { failure: 'BrokenChain', reason: 'Altered', partition: 1, offset: '2', eventId: idOf(7) });
  });

  it('a deleted event: the event after the gap is named (event 5 deleted, event 6 at partition 0 offset 2 misses it)', () => {
    const { records } = plain();
    records[2] = renumber(records[2]!.filter((_, i) => i !== 1));
    assert.deepEqual(brokenAt(verify(records)), { failure: 'BrokenChain', reason: 'Missing', partition: 0, offset: '2', eventId: idOf(6) });
  });

  it('two events swapped in a partition: the first out of place is named (event 7 now at partition 1 offset 1)', () => {
    const { records } = plain();
    const p = records[1]!;
    records[1] = renumber([p[0]!, p[2]!, p[1]!, p[3]!]);
    assert.deepEqual(brokenAt(verify(records)), { failure: 'BrokenChain', reason: 'Reordered', partition: 1, offset: '1', eventId: idOf(7) });
  });

  it('an inserted event, linked and hashed like the others: it is named (partition 2 offset 1)', () => {
    const { chain, records } = plain();
    // Forged to follow event 4, ahead of the real event 5 that follows it too.
    const forged = sealEvent(unsealed(99, { streamId: 'outgoing-s2' }), chain[4]!.hash) as EventEnvelope;
    const p = records[2]!;
    records[2] = renumber([p[0]!, { partition: 2, offset: '', value: Buffer.from(serializeEvent(forged)) }, ...p.slice(1)]);
    assert.deepEqual(brokenAt(verify(records)), { failure: 'BrokenChain', reason: 'Inserted', partition: 2, offset: '1', eventId: idOf(99) });
  });

  it('an inserted copy of an event with another id (hash not recomputed) is named as inserted', () => {
    const { records } = plain();
    const copy = Buffer.from(Buffer.from(records[0]![1]!.value!).toString().replace(idOf(3), idOf(98)));
    records[0] = renumber([...records[0]!.slice(0, 2), { partition: 0, offset: '', value: copy }, ...records[0]!.slice(2)]);
    assert.deepEqual(brokenAt(verify(records)), { failure: 'BrokenChain', reason: 'Inserted', partition: 0, offset: '2', eventId: idOf(98) });
  });

  describe('signed checkpoints', () => {
    /** Events 0..5, a checkpoint over them (event 12, partition 0 offset 2), events 6..11, a checkpoint over the 13 before it. */
    function signed(rewrite?: (u: UnsealedEvent, i: number) => UnsealedEvent) {
      const first = Array.from({ length: 6 }, (_, i) => unsealed(i));
      const sealed = layout(first).chain;
      const cp1 = checkpoint(12, 1, 6, sealed[5]!.hash);
      const rest = Array.from({ length: 6 }, (_, i) => unsealed(i + 6));
      const all = [...first, cp1, ...rest];
      const head13 = layout(all).chain[12]!.hash;
      const events = [...all, checkpoint(13, 2, 13, head13)];
      return layout(rewrite ? events.map(rewrite) : events);
    }

    it('an intact signed log: OK, both checkpoints verified, nothing unsigned after the last', () => {
      const { chain, records } = signed();
      assert.deepEqual(verify(records), {
        ok: true, events: 14, head: chain[13]!.hash, duplicates: 0, checkpoints: 2, unsigned: 1,
        lastCheckpoint: { chainLength: 13, partition: 0, offset: '5', eventId: idOf(13) },
      });
    });

    it('an event altered and every later hash recomputed: the chain holds, the first checkpoint over it is named', () => {
      // Event 3 altered, then the whole log sealed again from there: every link and hash is right.
      const { records } = signed((u, i) => (i === 3 ? { ...u, data: { nodeName: 'peerlog-evil' } } as UnsealedEvent : u));
      const v = verify(records);
      assert.deepEqual(brokenAt(v), { failure: 'BadCheckpoint', reason: 'CheckpointMismatch', partition: 0, offset: '2', eventId: idOf(12) });
      // Without the key the same log passes: only the signatures catch it.
      assert.equal(verify(records, { keys: false }).ok, true);
    });

    it('a checkpoint whose head was changed (and the log sealed again) fails its signature', () => {
      const forgedHead = signed().chain[4]!.hash;
      const again = signed((u, i) => (i === 6 ? { ...u, data: { ...(u.data as object), chainLength: 5, head: forgedHead } } as UnsealedEvent : u));
      assert.deepEqual(brokenAt(verify(again.records)), { failure: 'BadCheckpoint', reason: 'BadSignature', partition: 0, offset: '2', eventId: idOf(12) });
    });

    it('checkpoints stripped and the log sealed again: more unsigned events than allowed fail', () => {
      const { records } = layout(Array.from({ length: 12 }, (_, i) => unsealed(i)));
      assert.deepEqual(brokenAt(verify(records, { maxUnsigned: 10 })), { failure: 'BadCheckpoint', reason: 'Unsigned', partition: null, offset: null, eventId: null });
      assert.equal(verify(records, { maxUnsigned: 12 }).ok, true);
    });
  });
});
