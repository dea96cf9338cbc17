import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import { GENESIS_HASH } from '../../../src/events/constants.js';
import type { EventEnvelope } from '../../../src/events/envelope.js';
import { canonicalJson, computeHash, sealEvent, sealEvents, verifyChain } from '../../../src/events/hash.js';
import { sampleLog, unsealed } from './samples.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, 1], c: null } }), '{"a":{"c":null,"d":[3,1]},"b":1}');
  });

  it('is independent of insertion order', () => {
    assert.equal(canonicalJson({ x: 1, y: 'é', z: true }), canonicalJson({ z: true, y: 'é', x: 1 }));
  });

  it('sorts by UTF-16 code units and escapes as JSON does (RFC 8785)', () => {
    assert.equal(canonicalJson({ é: 1, Z: 2, a: 3, '\n': 4 }), '{"\\n":4,"Z":2,"a":3,"é":1}');
    assert.equal(canonicalJson([1e21, 0.1, -0]), '[1e+21,0.1,0]');
  });

  it('drops undefined object members, as JSON does', () => {
    assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
  });

  it('refuses values JSON cannot carry faithfully', () => {
    assert.throws(() => canonicalJson({ n: Number.NaN }), ValidationError);
    assert.throws(() => canonicalJson({ n: Infinity }), ValidationError);
    assert.throws(() => canonicalJson({ f: () => 1 }), ValidationError);
    assert.throws(() => canonicalJson({ b: 1n }), ValidationError);
  });
});

/** The definition, written plainly: keys sorted by code units at every depth, then JSON. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort().filter((k) => record[k] !== undefined);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A seeded generator of JSON-like values with keys in any order, integer-like keys among them. */
function randomValue(seed: number): unknown {
  let x = seed;
  const next = (n: number): number => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
  const KEYS = ['a', 'b', 'Z', 'é', '10', '9', '0', 'hash', 'data', 'ab', 'a\nb', ''];
  const make = (depth: number): unknown => {
    switch (next(depth > 2 ? 4 : 7)) {
      case 0: return next(2) === 0 ? null : next(1000) - 500;
      case 1: return ['x', 'é', 'tab\t', '"q"', '\u0000', ''][next(6)];
      case 2: return next(2) === 0;
      case 3: return next(3) === 0 ? undefined : 0.5;
      case 4: return Array.from({ length: next(4) }, () => make(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = next(5); i > 0; i--) o[KEYS[next(KEYS.length)]!] = make(depth + 1);
        return o;
      }
    }
  };
  return { root: make(0), other: make(0) };
}

describe('canonicalJson against its definition', () => {
  it('gives the same text for 2,000 random values, whether or not their keys already stand sorted', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const value = randomValue(seed);
      assert.equal(canonicalJson(value), reference(value), `seed ${seed}`);
    }
  });

  it('writes integer-like keys in code-unit order, not the numeric order objects enumerate them in', () => {
    assert.equal(canonicalJson({ 9: 'a', 10: 'b' }), '{"10":"b","9":"a"}');
    assert.equal(canonicalJson({ a: { 9: 1, 10: 2 } }), '{"a":{"10":2,"9":1}}');
  });

  it('leaves out undefined members and writes undefined items as null, sorted or not', () => {
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
    assert.equal(canonicalJson({ b: undefined, a: 1 }), '{"a":1}');
    assert.equal(canonicalJson([undefined, 1]), '[null,1]');
  });

  it('refuses what is not plain data even where keys are sorted', () => {
    assert.throws(() => canonicalJson({ a: new Date(0) }), ValidationError);
    assert.throws(() => canonicalJson({ a: 1, b: Number.NaN }), ValidationError);
    assert.throws(() => canonicalJson(undefined), ValidationError);
  });
});

describe('hash chain', () => {
  it('the hash is SHA-256 over the canonical envelope without the hash', () => {
    const event = sealEvent(unsealed('VirtualNodeReady', { nodeName: 'peerlog-beta' }), GENESIS_HASH);
    const { hash, ...rest } = event;
    assert.equal(hash, createHash('sha256').update(canonicalJson(rest)).digest('hex'));
    assert.equal(computeHash(event), hash);
    assert.match(hash, /^[0-9a-f]{64}$/);
  });

  it('sealing chains to the previous hash and ignores a stale hash carried by the input', () => {
    const first = sealEvent(unsealed('VirtualNodeReady', { nodeName: 'peerlog-beta' }), GENESIS_HASH);
    const second = sealEvent({ ...unsealed('VirtualNodeDrained', { nodeName: 'peerlog-beta' }), hash: 'f'.repeat(64) } as never, first.hash);
    assert.equal((second as { prevHash: string }).prevHash, first.hash);
    assert.equal(computeHash(second as never), (second as { hash: string }).hash);
  });

  it('refuses a malformed prevHash', () => {
    assert.throws(() => sealEvent(unsealed('VirtualNodeReady', { nodeName: 'n' }), 'nope'), ValidationError);
  });

  it('a whole log verifies, and can be verified in pages', () => {
    const log = sampleLog();
    const whole = verifyChain(log);
    assert.deepEqual(whole, { valid: true, lastHash: log[log.length - 1]!.hash, count: log.length });
    const firstPage = verifyChain(log.slice(0, 10));
    assert.ok(firstPage.valid);
    assert.deepEqual(verifyChain(log.slice(10), { prevHash: firstPage.lastHash }), whole.valid ? { ...whole, count: log.length - 10 } : whole);
    assert.deepEqual(verifyChain([]), { valid: true, lastHash: GENESIS_HASH, count: 0 });
  });

  it('sealEvents chains a batch from the given hash', () => {
    const batch = sealEvents(
      [unsealed('VirtualNodeReady', { nodeName: 'a' }), unsealed('VirtualNodeDrained', { nodeName: 'a' })],
      GENESIS_HASH,
    );
    assert.equal(batch[1]!.prevHash, batch[0]!.hash);
    assert.ok(verifyChain(batch).valid);
  });

  const tampering: ReadonlyArray<readonly [string, (log: EventEnvelope[]) => EventEnvelope[], number, string]> = [
    [
      'edited data',
      (log) => log.map((e, i) => (i === 5 ? ({ ...e, data: { ...e.data, force: true } } as EventEnvelope) : e)),
      5,
      'HashMismatch',
    ],
    ['an edited actor', (log) => log.map((e, i) => (i === 3 ? { ...e, actor: { kind: 'cli', name: 'x' } } : e)), 3, 'HashMismatch'],
    [
      'an edit re-hashed to cover its tracks',
      (log) =>
        log.map((e, i) => {
          if (i !== 4) return e;
          const edited = { ...e, correlationId: 'forged' };
          return { ...edited, hash: computeHash(edited) };
        }),
      5,
      'BrokenLink',
    ],
    ['a removed event', (log) => log.filter((_, i) => i !== 7), 7, 'BrokenLink'],
    ['swapped events', (log) => [log[1]!, log[0]!, ...log.slice(2)], 0, 'BrokenLink'],
    ['an event from another cluster log', (log) => log.map((e, i) => (i === 2 ? { ...e, clusterId: 'gamma' } : e)), 2, 'ClusterMismatch'],
  ];

  for (const [what, tamper, index, reason] of tampering) {
    it(`detects ${what} at the first broken event`, () => {
      const log = tamper([...sampleLog()]);
      const result = verifyChain(log);
      assert.equal(result.valid, false);
      if (result.valid) return;
      assert.equal(result.reason, reason);
      assert.equal(result.index, index);
      assert.equal(result.eventId, log[index]!.id);
    });
  }
});
