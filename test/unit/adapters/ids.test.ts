import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uuidv7 } from '../../../src/adapters/ids/index.js';
import { UUID_PATTERN } from '../../../src/events/constants.js';

describe('uuidv7', () => {
  it('is a lowercase UUID of version 7 and the RFC 9562 variant, led by the time in milliseconds', () => {
    const at = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
    const id = uuidv7(at);
    assert.match(id, UUID_PATTERN);
    assert.equal(id[14], '7');
    assert.ok('89ab'.includes(id[19]!));
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
  });

  it('ids keep increasing within a millisecond, past the counter, and when the clock steps back', () => {
    const at = Date.UTC(2027, 0, 1);
    const ids = [...Array.from({ length: 5000 }, () => uuidv7(at)), uuidv7(at - 60_000), uuidv7(at + 1)];
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]} at ${i}`);
    assert.equal(new Set(ids).size, ids.length);
  });
});
