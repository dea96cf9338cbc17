import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import type { DomainEvent } from '../../../src/events/catalogue.js';
import { GENESIS_HASH } from '../../../src/events/constants.js';
import { forgeUnsealedEvents, toDomainEvent } from '../../../src/events/envelope.js';
import { sealEvents, verifyChain } from '../../../src/events/hash.js';
import { parseEvent } from '../../../src/events/schemas.js';

const decided: readonly DomainEvent[] = [
  { type: 'UnpeeringRequested', data: { force: false } },
  { type: 'VirtualNodeDrained', data: { nodeName: 'peerlog-beta' } },
];

const context = {
  streamId: 'outgoing-beta',
  expectedVersion: 4,
  clusterId: 'alpha-01',
  occurredAt: '2025-03-01T12:00:00.000Z',
  actor: { kind: 'cli', name: 'peerlog unpeer' },
  correlationId: 'corr-9',
  causationId: 'cmd-9',
  eventIds: ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2'],
} as const;

describe('forgeUnsealedEvents', () => {
  it('numbers a batch after the expected version and shares the command context', () => {
    assert.deepEqual(forgeUnsealedEvents(decided, context), [
      {
        id: context.eventIds[0],
        type: 'UnpeeringRequested',
        streamId: 'outgoing-beta',
        streamVersion: 5,
        clusterId: 'alpha-01',
        occurredAt: context.occurredAt,
        actor: context.actor,
        correlationId: 'corr-9',
        causationId: 'cmd-9',
        schemaVersion: 1,
        data: { force: false },
      },
      {
        id: context.eventIds[1],
        type: 'VirtualNodeDrained',
        streamId: 'outgoing-beta',
        streamVersion: 6,
        clusterId: 'alpha-01',
        occurredAt: context.occurredAt,
        actor: context.actor,
        correlationId: 'corr-9',
        causationId: 'cmd-9',
        schemaVersion: 1,
        data: { nodeName: 'peerlog-beta' },
      },
    ]);
  });

  it('forged and sealed events pass the boundary check and the chain check', () => {
    const log = sealEvents(forgeUnsealedEvents(decided, context), GENESIS_HASH);
    for (const event of log) assert.deepEqual(parseEvent(JSON.parse(JSON.stringify(event))), event);
    assert.ok(verifyChain(log).valid);
    assert.deepEqual(log.map(toDomainEvent), decided);
  });

  it('refuses a batch without an id per event, or a negative version', () => {
    assert.throws(() => forgeUnsealedEvents(decided, { ...context, eventIds: [] }), (e: unknown) => e instanceof ValidationError && e.field === 'eventIds');
    assert.throws(() => forgeUnsealedEvents(decided, { ...context, expectedVersion: -1 }), ValidationError);
  });
});
