import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newKafkaClusterId, usableKafkaClusterId } from '../../../src/stack/kafka-id.js';

test('a generated Kafka cluster id never starts with "-" (argparse would read it as an option)', () => {
  // 0xf8 0x... encodes to "-" first in base64url; the generator must draw again.
  const draws = [Buffer.from('f82a245d80d24a90b16c5b16c1603bc3', 'hex'), Buffer.from('0123456789abcdef0123456789abcdef', 'hex')];
  assert.equal(draws[0]!.toString('base64url')[0], '-');
  let n = 0;
  const id = newKafkaClusterId(() => draws[n++]!);
  assert.equal(n, 2);
  assert.equal(id, 'ASNFZ4mrze8BI0VniavN7w');
  for (let i = 0; i < 2000; i++) {
    const fresh = newKafkaClusterId();
    assert.match(fresh, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
});

test('a saved id is usable only when it is 16 bytes of base64url that cannot be read as an option', () => {
  assert.equal(usableKafkaClusterId('-xCkYBRfQSqxWs3DAWO7zw'), false);
  assert.equal(usableKafkaClusterId('ASNFZ4mrze8BI0VniavN7w'), true);
  assert.equal(usableKafkaClusterId(''), false);
  assert.equal(usableKafkaClusterId('ASNFZ4mrze8BI0VniavN7'), false, 'too short');
  assert.equal(usableKafkaClusterId('ASNFZ4mrze8BI0VniavN7x'), false, 'not a canonical encoding of 16 bytes');
  assert.equal(usableKafkaClusterId('AAAAAAAAAAAAAAAAAAAAAA'), false, 'the zero id is reserved');
});
