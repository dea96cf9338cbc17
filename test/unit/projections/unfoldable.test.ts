import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUnfoldable } from '../../../src/adapters/kafka/projection-runner.js';
import { defaultMinInsyncReplicas } from '../../../src/adapters/kafka/client.js';
import { InternalError, PeerlogError, ValidationError } from '../../../src/errors.js';

test('a fold failure that lies with the event is dead-lettered; one that may pass on a retry fails the batch', () => {
  const cases: [string, unknown, boolean][] = [
    ['unknown stream kind', new ValidationError('"foo-bar" is not a stream id', { code: 'UnknownStream' }), true],
    ['event not of its stream', new PeerlogError('UnexpectedEvent', 'event "OfferIssued" does not belong to this stream'), true],
    ['odd data tripping the code', new TypeError("Cannot read properties of undefined (reading 'x')"), true],
    ['a value PostgreSQL refuses (22P02)', Object.assign(new Error('invalid input syntax'), { code: '22P02' }), true],
    ['a constraint PostgreSQL enforces (23505)', Object.assign(new Error('duplicate key'), { code: '23505' }), true],
    ['a fault of peerlog\'s own', new InternalError('NotInTransaction', 'a statement on a transaction needs the EntityManager of a transaction'), false],
    ['a retriable error of ours', new PeerlogError('KafkaUnavailable', 'away', { retriable: true }), false],
    ['a lost connection', new Error('Connection terminated unexpectedly'), false],
    ['a terminated backend (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), false],
    ['a deadlock (40P01)', Object.assign(new Error('deadlock detected'), { code: '40P01' }), false],
    ['a socket error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
    ['not an error at all', 'oops', false],
  ];
  for (const [what, error, expected] of cases) assert.equal(isUnfoldable(error), expected, what);
});

test('min.insync.replicas defaults to 2 from replication factor 3 up, else 1', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(defaultMinInsyncReplicas), [1, 1, 2, 2, 2]);
});
