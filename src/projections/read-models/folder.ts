// The StreamFolder of the read models, built from the deciders: a read model folds events with
// exactly the evolve functions the write side uses, so both agree on every aggregate's state.
import { STREAM_PREFIXES } from '../../commands/constants.js';
import type { Decider } from '../../commands/decider.js';
import { outgoingDecider } from '../../commands/outgoing/decider.js';
import { toDomainEvent, type EventEnvelope } from '../../events/envelope.js';
import type { StreamFolder } from './forge.js';

type AnyDecider = Decider<unknown, unknown, unknown>;

const DECIDERS: Readonly<Record<string, AnyDecider>> = {
  outgoing: outgoingDecider as unknown as AnyDecider,
};

function kindOf(streamId: string): string | undefined {
  for (const [kind, prefix] of Object.entries(STREAM_PREFIXES)) {
    if (streamId.startsWith(prefix) && DECIDERS[kind]) return kind;
  }
  return undefined;
}

export const streamFolder: StreamFolder = {
  kindOf,
  initialState: (kind) => DECIDERS[kind]!.initialState,
  evolve: (kind, state, event: EventEnvelope) => DECIDERS[kind]!.evolve(state, toDomainEvent(event)),
  statusOf: (state) => String((state as { status?: unknown }).status ?? 'unknown'),
  remoteOf: (streamId) => {
    const kind = kindOf(streamId);
    return kind ? streamId.slice(STREAM_PREFIXES[kind as keyof typeof STREAM_PREFIXES].length) : streamId;
  },
};
