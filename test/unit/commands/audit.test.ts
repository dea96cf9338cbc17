// The audit aggregate (signed checkpoints) in given/when/then form, and the bytes a checkpoint signs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditDecider, auditStreamId, type SignCheckpoint } from '../../../src/commands/audit/decider.js';
import { decideOn } from '../../../src/commands/decider.js';
import { checkpointMessage } from '../../../src/events/checkpoint.js';
import { validateEventData } from '../../../src/events/schemas.js';
import type { AuditEvent } from '../../../src/events/catalogue.js';

const H = 'a'.repeat(64);
const sig = 'B'.repeat(85) + 'g';
const sign = (chainLength: number): SignCheckpoint => ({
  type: 'SignCheckpoint', data: { chainLength, head: H, keyId: 'c'.repeat(64), signature: sig },
  metadata: { now: '2026-11-24T08:00:00.000Z', actor: { kind: 'controller', name: 'checkpointer' }, correlationId: 'x', commandId: 'x' },
});
const signed = (chainLength: number): AuditEvent => ({ type: 'CheckpointSigned', data: { chainLength, head: H, keyId: 'c'.repeat(64), signature: sig } });

describe('audit aggregate', () => {
  it('stream id', () => assert.equal(auditStreamId('alpha'), 'audit-alpha'));
  it('given no checkpoint, when the head at 10 is signed, then CheckpointSigned 10', () => {
    assert.deepEqual(decideOn(auditDecider, [], sign(10)), [signed(10)]);
  });
  it('given a checkpoint at 10, a head at 10 or before is already covered: no event', () => {
    assert.deepEqual(decideOn(auditDecider, [signed(10)], sign(10)), []);
    assert.deepEqual(decideOn(auditDecider, [signed(10)], sign(7)), []);
  });
  it('given a checkpoint at 10, when the head at 25 is signed, then CheckpointSigned 25', () => {
    assert.deepEqual(decideOn(auditDecider, [signed(10)], sign(25)), [signed(25)]);
  });
  it('the data schema refuses a signature that is not 64 bytes of base64url, and a chain length of 0', () => {
    assert.throws(() => validateEventData('CheckpointSigned', { ...signed(1).data, signature: 'abc' }), /signature/);
    assert.throws(() => validateEventData('CheckpointSigned', { ...signed(1).data, chainLength: 0 }), /chainLength/);
  });
  it('a checkpoint signs fixed ASCII bytes', () => {
    assert.equal(checkpointMessage('alpha', 42, H).toString('latin1'), `peerlog-checkpoint:v1\nalpha\n42\n${H}\n`);
    assert.throws(() => checkpointMessage('alpha', 0, H), /chainLength/);
  });
});
