import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStreamCache } from '../../../src/commands/cache.js';

describe('createStreamCache', () => {
  it('keeps the latest state per stream and forgets on delete', () => {
    const cache = createStreamCache(10);
    cache.set('outgoing-a', { state: 's1', version: 1 });
    cache.set('outgoing-a', { state: 's2', version: 2 });
    assert.deepEqual(cache.get('outgoing-a'), { state: 's2', version: 2 });
    cache.delete('outgoing-a');
    assert.equal(cache.get('outgoing-a'), undefined);
    assert.equal(cache.size, 0);
  });

  it('holds at most its bound, dropping the stream used least recently', () => {
    const cache = createStreamCache(2);
    cache.set('a', { state: 0, version: 1 });
    cache.set('b', { state: 0, version: 1 });
    cache.get('a');
    cache.set('c', { state: 0, version: 1 });
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined, 'b was used least recently');
    assert.ok(cache.get('a') && cache.get('c'));
  });
});
