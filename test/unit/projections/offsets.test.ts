import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareOffsets } from '../../../src/adapters/kafka/projection-runner.js';

describe('compareOffsets', () => {
  it('orders Kafka offsets as numbers, past 2^53 and across lengths', () => {
    assert.ok(compareOffsets('9', '10') < 0);
    assert.ok(compareOffsets('10', '9') > 0);
    assert.equal(compareOffsets('42', '42'), 0);
    assert.ok(compareOffsets('9007199254740993', '9007199254740992') > 0);
    assert.ok(compareOffsets('0', '1') < 0);
    const sorted = ['100', '7', '31', '0', '1000', '99'].sort(compareOffsets);
    assert.deepEqual(sorted, ['0', '7', '31', '99', '100', '1000']);
  });
});
