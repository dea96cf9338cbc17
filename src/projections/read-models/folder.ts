// The StreamFolder of the read models, built from the decider registry: a read model folds events
// with exactly the evolve functions the write side uses, so both agree on every aggregate's state.
import { deciders, parseStreamId, type StreamKind } from '../../commands/registry.js';
import { toDomainEvent, type EventEnvelope } from '../../events/envelope.js';
import type { StreamFolder } from './forge.js';

function kindOf(streamId: string): StreamKind | undefined {
  try { return parseStreamId(streamId).kind; } catch { return undefined; }
}

export const streamFolder: StreamFolder = {
  kindOf,
  initialState: (kind) => deciders[kind as StreamKind].initialState,
  evolve: (kind, state, event: EventEnvelope) => deciders[kind as StreamKind].evolve(state, toDomainEvent(event)),
  evolveAll(kind, state, events: readonly EventEnvelope[]) {
    const d = deciders[kind as StreamKind];
    return d.evolveAll ? d.evolveAll(state, events.map(toDomainEvent)) : events.reduce((s, e) => d.evolve(s, toDomainEvent(e)), state);
  },
  statusOf: (state) => String((state as { status?: unknown }).status ?? 'unknown'),
  remoteOf: (streamId) => parseStreamId(streamId).remoteClusterId,
};
