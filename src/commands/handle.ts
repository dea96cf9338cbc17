// The generic command handler: read → decide → append with the expected version, retrying on a
// concurrent writer from fresh state a bounded number of times. I/O goes through the ports below;
// the read is skipped for a stream whose state this process appended last (cache.ts).
import type { DomainEvent } from '../events/catalogue.js';
import type { UnsealedEvent } from '../events/envelope.js';
import { forgeUnsealedEvents, toDomainEvent } from '../events/envelope.js';
import { currentSchemaVersion, validateEventData } from '../events/schemas.js';
import type { CommandMetadata } from './command.js';
import type { Decider } from './decider.js';
import { ConcurrencyError } from '../errors.js';

export interface StoredStream<S> {
  readonly state: S;
  readonly version: number;
}

/** States this process appended last, so its next command on such a stream needs no read (cache.ts). */
export interface StreamCache {
  get<S>(streamId: string): StoredStream<S> | undefined;
  set<S>(streamId: string, stored: StoredStream<S>): void;
  delete(streamId: string): void;
  readonly size: number;
}

export interface AppendRequest<S> {
  readonly clusterId: string;
  readonly streamId: string;
  readonly streamType: string;
  /** The version `decide` saw; the append throws ConcurrencyError if the stream has moved since. */
  readonly expectedVersion: number;
  readonly newState: S;
  readonly events: readonly UnsealedEvent[];
}

/** Where streams are kept; implemented by the PostgreSQL adapter. */
export interface EventStorePort {
  load<S>(streamId: string): Promise<StoredStream<S> | undefined>;
  /** Returns the appended events; they are sealed into the cluster log's hash chain on publishing. */
  append<S>(req: AppendRequest<S>): Promise<readonly UnsealedEvent[]>;
}

export interface HandlerPorts {
  readonly store: EventStorePort;
  readonly clusterId: string;
  /** A fresh UUID per call. */
  readonly newId: () => string;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Attempts before a ConcurrencyError reaches the caller (default 8). */
  readonly maxAttempts?: number;
  /** States this process appended, so a command on such a stream skips the read (see cache.ts). */
  readonly cache?: StreamCache;
}

export interface HandledCommand {
  readonly streamId: string;
  /** The stream's version after the command (unchanged when it was already satisfied). */
  readonly version: number;
  readonly events: readonly UnsealedEvent[];
  readonly attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function handleCommand<C extends { readonly metadata: CommandMetadata }, S>(
  ports: HandlerPorts,
  decider: Decider<C, DomainEvent, S>,
  stream: { readonly id: string; readonly type: string },
  command: C,
): Promise<HandledCommand> {
  const max = ports.maxAttempts ?? 8;
  const sleep = ports.sleep ?? defaultSleep;
  const random = ports.random ?? Math.random;
  let last: ConcurrencyError | undefined;
  // A cached state is trusted only through the append's version check: a decision that appends
  // nothing (already satisfied, or refused) is made again on the stored state.
  let cached = ports.cache?.get<S>(stream.id);
  for (let attempt = 1; attempt <= max;) {
    const stored = cached ?? await ports.store.load<S>(stream.id);
    const fromCache = cached !== undefined;
    cached = undefined;
    const state = stored?.state ?? decider.initialState;
    const version = stored?.version ?? 0;
    let decided: readonly DomainEvent[];
    try {
      decided = decider.decide(command, state);
      // Bad command input fails here, naming the field, before anything reaches the log.
      for (const e of decided) validateEventData(e.type, e.data);
    } catch (e) {
      if (fromCache) continue;
      throw e;
    }
    if (decided.length === 0) {
      if (fromCache) continue;
      return { streamId: stream.id, version, events: [], attempts: attempt };
    }
    const unsealed = forgeUnsealedEvents(decided, {
      streamId: stream.id,
      expectedVersion: version,
      clusterId: ports.clusterId,
      occurredAt: command.metadata.now,
      actor: command.metadata.actor,
      correlationId: command.metadata.correlationId,
      causationId: command.metadata.commandId,
      eventIds: decided.map(() => ports.newId()),
      // Data was checked against the current version above: the envelope must say that version.
      schemaVersionOf: currentSchemaVersion,
    });
    // The state is folded from copies of the events, whose data may hold objects of the command's
    // (which its caller may change later): the state kept below is then this handler's alone. The
    // events are a command's worth; the state may be megabytes, and is not copied.
    const own = structuredClone(unsealed).map(toDomainEvent);
    const newState = decider.evolveAll ? decider.evolveAll(state, own) : own.reduce((s, e) => decider.evolve(s, e), state);
    try {
      const events = await ports.store.append({
        clusterId: ports.clusterId, streamId: stream.id, streamType: stream.type, expectedVersion: version, newState, events: unsealed,
      });
      ports.cache?.set(stream.id, { state: newState, version: version + events.length });
      return { streamId: stream.id, version: version + events.length, events, attempts: attempt };
    } catch (e) {
      ports.cache?.delete(stream.id);
      if (!(e instanceof ConcurrencyError)) throw e;
      last = e;
      // A stale cached state is not a race: decide again at once on the stored state.
      if (fromCache) continue;
      // Jittered exponential backoff: racing writers spread out instead of colliding again.
      const base = Math.min(2 ** attempt, 200);
      await sleep(base / 2 + random() * base);
      attempt += 1;
    }
  }
  throw new ConcurrencyError(stream.id, last?.expectedVersion ?? 0, null, { cause: last });
}
