import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConcurrencyError,
  ConflictError,
  DomainError,
  InvalidTransitionError,
  PeerlogError,
  ValidationError,
  isPeerlogError,
  isRetriable,
} from '../../../src/errors.js';
import { decideOn, foldEvents } from '../../../src/commands/decider.js';
import {
  deciderFor,
  deciders,
  parseStreamId,
  streamIdOf,
  streamKindOfCommand,
} from '../../../src/commands/registry.js';
import { incomingDecider } from '../../../src/commands/incoming/decider.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { podsDecider } from '../../../src/commands/pods/decider.js';
import * as commands from '../../../src/commands/index.js';
import { metadata } from './harness.js';

describe('stream registry', () => {
  it('forges and parses stream ids for every aggregate', () => {
    for (const kind of ['outgoing', 'incoming', 'pods'] as const) {
      const streamId = streamIdOf(kind, 'beta-7f3c');
      assert.equal(streamId, `${kind}-beta-7f3c`);
      assert.deepEqual(parseStreamId(streamId), { kind, remoteClusterId: 'beta-7f3c', streamId });
    }
  });

  it('maps each stream id prefix to its decider', () => {
    assert.equal(deciderFor('outgoing-beta'), outgoingDecider);
    assert.equal(deciderFor('incoming-alpha'), incomingDecider);
    assert.equal(deciderFor('pods-beta'), podsDecider);
    assert.deepEqual(Object.keys(deciders).sort(), ['incoming', 'outgoing', 'pods']);
  });

  it('refuses unknown prefixes and malformed cluster ids', () => {
    for (const bad of ['sideways-beta', 'outgoing-', 'outgoing-beta/../x', 'beta']) {
      assert.throws(
        () => parseStreamId(bad),
        (error: unknown) => error instanceof ValidationError && error.code === 'UnknownStream' && error.field === 'streamId',
        bad,
      );
    }
    assert.throws(() => streamIdOf('outgoing', 'not a cluster'), ValidationError);
  });

  it('routes every command type to its aggregate', () => {
    assert.equal(streamKindOfCommand('RequestPeering'), 'outgoing');
    assert.equal(streamKindOfCommand('IssueCertificate'), 'incoming');
    for (const type of ['RequestNamespaceOffload', 'RecordNamespaceAnswer', 'OffloadPods', 'RecordPodOffloadFailure', 'ReflectPodStatus', 'ReclaimPods']) {
      assert.equal(streamKindOfCommand(type), 'pods', type);
    }
    // The provider keeps the namespaces it makes for a consumer on that consumer's incoming stream.
    assert.equal(streamKindOfCommand('ReceiveNamespaceOffload'), 'incoming');
    assert.equal(streamKindOfCommand('RecordRemoteNamespace'), 'incoming');
    // The singular commands of the first pods aggregate are gone.
    for (const gone of ['OffloadPod', 'ReclaimPod']) {
      assert.throws(() => streamKindOfCommand(gone), (e: unknown) => e instanceof ValidationError && e.code === 'UnknownCommand', gone);
    }
    assert.throws(() => streamKindOfCommand('toString'), (e: unknown) => e instanceof ValidationError && e.code === 'UnknownCommand');
  });

  it('the erased decider refuses a command of another aggregate instead of mis-deciding', () => {
    const decider = deciderFor('pods-beta');
    assert.throws(
      () => decider.decide({ type: 'RequestPeering', data: {}, metadata } as never, decider.initialState),
      (error: unknown) => error instanceof ValidationError && error.code === 'UnknownCommand',
    );
  });

  it('a generic caller can read → decide → evolve through the registry alone', () => {
    const decider = deciderFor('outgoing-beta');
    const command = {
      type: 'RequestPeering',
      data: { remoteClusterId: 'beta', remoteClusterName: 'beta', authUrl: 'https://127.0.0.1:7443' },
      metadata,
    } as const;
    const events = decideOn(decider, [], command);
    assert.deepEqual(events.map((e) => e.type), ['PeeringRequested']);
    const state = foldEvents(decider, events) as { status: string };
    assert.equal(state.status, 'peeringRequested');
    assert.deepEqual(decideOn(decider, events, command), []);
  });

  it('the package index exposes the deciders, the registry and the errors', () => {
    assert.equal(commands.outgoingDecider, outgoingDecider);
    assert.equal(commands.outgoing.outgoingDecider, outgoingDecider);
    assert.equal(commands.deciderFor, deciderFor);
    assert.equal(commands.PeerlogError, PeerlogError);
    assert.equal(commands.DEFAULT_OFFER_UPDATE_THRESHOLD_PERCENT, 5);
  });
});

describe('error hierarchy', () => {
  it('every domain error is a non-retriable PeerlogError with a code', () => {
    const errors: PeerlogError[] = [
      new ValidationError('bad', { field: 'x' }),
      new DomainError('Rule', 'refused'),
      new InvalidTransitionError('AcceptOffer', 'empty', 'no offer'),
      new ConflictError('IdentityConflict', 'other key'),
    ];
    for (const error of errors) {
      assert.ok(error instanceof PeerlogError && error instanceof Error);
      assert.equal(error.retriable, false);
      assert.equal(isRetriable(error), false);
      assert.ok(error.code.length > 0);
      assert.equal(error.name, error.constructor.name);
    }
    assert.ok(new ConflictError('IdentityConflict', 'x') instanceof DomainError);
    assert.ok(new InvalidTransitionError('A', 'b', 'c') instanceof DomainError);
  });

  it('InvalidTransitionError names the command and the status', () => {
    const error = new InvalidTransitionError('AcceptOffer', 'empty', 'there is no offer to accept');
    assert.equal(error.code, 'InvalidTransition');
    assert.equal(error.message, 'AcceptOffer is not allowed while empty: there is no offer to accept');
    assert.equal(error.command, 'AcceptOffer');
    assert.equal(error.status, 'empty');
  });

  it('ConcurrencyError is retriable and keeps its cause', () => {
    const cause = new Error('unique violation');
    const error = new ConcurrencyError('outgoing-beta', 3, 4, { cause });
    assert.equal(error.retriable, true);
    assert.equal(isRetriable(error), true);
    assert.equal(error.code, 'ConcurrencyConflict');
    assert.equal(error.cause, cause);
    assert.equal(error.message, 'stream outgoing-beta moved on: expected version 3, found 4');
  });

  it('unknown errors are neither PeerlogErrors nor retriable', () => {
    assert.equal(isPeerlogError(new Error('x')), false);
    assert.equal(isRetriable(new Error('x')), false);
    assert.equal(isRetriable('a string'), false);
  });
});
