// The envelope every event travels in, and the pure forging of envelopes from decided events.
import type { Actor, DomainEvent, EventDataMap, EventType } from './catalogue.js';
import { ValidationError } from '../errors.js';

interface EnvelopeHeader<T extends EventType> {
  readonly id: string;
  readonly type: T;
  readonly streamId: string;
  /** 1-based and contiguous within a stream. */
  readonly streamVersion: number;
  /** The cluster whose log holds the event, not the remote cluster. */
  readonly clusterId: string;
  readonly occurredAt: string;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId: string;
  readonly schemaVersion: number;
  readonly data: EventDataMap[T];
}

/** An envelope before it takes its place in the cluster log's hash chain. */
export type UnsealedEvent<T extends EventType = EventType> = {
  readonly [K in T]: EnvelopeHeader<K>;
}[T];

export type EventEnvelope<T extends EventType = EventType> = {
  readonly [K in T]: EnvelopeHeader<K> & {
    /** Hash of the previous event of the same cluster log; GENESIS_HASH for the first. */
    readonly prevHash: string;
    /** SHA-256 hex of the canonical JSON of this envelope without `hash`. */
    readonly hash: string;
  };
}[T];

/** What the handler knows about the command that caused a batch of events. */
export interface EnvelopeContext {
  readonly streamId: string;
  /** Version of the stream before the batch: 0 for a new stream. */
  readonly expectedVersion: number;
  readonly clusterId: string;
  readonly occurredAt: string;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId: string;
  /** One fresh UUID per event, drawn by the handler so that forging stays pure. */
  readonly eventIds: readonly string[];
  /** Schema version per type; every type is at version 1 today. */
  readonly schemaVersionOf?: (type: EventType) => number;
}

/**
 * Wraps decided events in envelopes numbered after `expectedVersion`. The events of one batch share
 * time, actor and causation: they are the outcome of one command.
 */
export function forgeUnsealedEvents(
  events: readonly DomainEvent[],
  context: EnvelopeContext,
): readonly UnsealedEvent[] {
  if (context.eventIds.length !== events.length) {
    throw new ValidationError(
      `forging ${events.length} events needs as many ids, got ${context.eventIds.length}`,
      { field: 'eventIds' },
    );
  }
  if (!Number.isInteger(context.expectedVersion) || context.expectedVersion < 0) {
    throw new ValidationError(`expectedVersion must be a non-negative integer, got ${context.expectedVersion}`, {
      field: 'expectedVersion',
    });
  }
  return events.map((event, index) => ({
    id: context.eventIds[index] as string,
    type: event.type,
    streamId: context.streamId,
    streamVersion: context.expectedVersion + index + 1,
    clusterId: context.clusterId,
    occurredAt: context.occurredAt,
    actor: context.actor,
    correlationId: context.correlationId,
    causationId: context.causationId,
    schemaVersion: context.schemaVersionOf?.(event.type) ?? 1,
    data: event.data,
  }) as UnsealedEvent);
}

/** The decided part of an envelope, as deciders' evolve functions take it. */
export function toDomainEvent<T extends EventType>(envelope: EventEnvelope<T> | UnsealedEvent<T>): DomainEvent<T> {
  return { type: envelope.type, data: envelope.data } as DomainEvent<T>;
}
