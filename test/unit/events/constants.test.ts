import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isLowercaseUuid, isSha256Hex, SHA256_HEX_PATTERN, UUID_PATTERN } from '../../../src/events/constants.js';
import { sha256Hex } from '../../../src/events/hash.js';

/** A deterministic stream of strings near the shape: right length, one character changed. */
function* nearMisses(valid: readonly string[], seed: number): Generator<string> {
  let x = seed;
  const next = (n: number): number => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
  const alphabet = '0123456789abcdefABCDEFgz-_ \u00e9\u0660\uff10';
  for (const v of valid) {
    yield v;
    yield v.toUpperCase();
    yield v.slice(1);
    yield `${v}0`;
    for (let k = 0; k < 8; k++) {
      const at = next(v.length);
      yield v.slice(0, at) + alphabet[next(alphabet.length)]! + v.slice(at + 1);
    }
  }
}

describe('character-table checks', () => {
  it('isSha256Hex answers as SHA256_HEX_PATTERN does', () => {
    const hashes = Array.from({ length: 300 }, (_, i) => sha256Hex(String(i)));
    for (const s of [...nearMisses(hashes, 7), '', 'a'.repeat(64), 'g'.repeat(64)]) {
      assert.equal(isSha256Hex(s), SHA256_HEX_PATTERN.test(s), JSON.stringify(s));
    }
  });

  it('isLowercaseUuid answers as UUID_PATTERN does', () => {
    const ids = Array.from({ length: 300 }, () => randomUUID());
    for (const s of [...nearMisses(ids, 11), '', '-'.repeat(36), '00000000-0000-0000-0000-000000000000']) {
      assert.equal(isLowercaseUuid(s), UUID_PATTERN.test(s), JSON.stringify(s));
    }
  });
});
