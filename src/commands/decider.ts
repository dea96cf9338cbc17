// The Decider shape every aggregate follows, and helpers the deciders share.
import { ERROR_CODES, PeerlogError, ValidationError } from '../errors.js';

/**
 * `decide` and `evolve` are pure: everything that varies (time, ids, keys, fingerprints, offered
 * figures) arrives inside the command. Methods, not function-typed properties, so that a concrete
 * decider can stand in for the registry's erased `AnyDecider` (method parameters are bivariant).
 */
export interface Decider<C, E, S> {
  readonly initialState: S;
  /** Events that make the command true; [] when it already is; throws a PeerlogError when it cannot be. */
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
  /**
   * Optional: the same as folding `evolve` over the events, for an aggregate whose state is large
   * (copied once per fold rather than once per event).
   */
  evolveAll?(state: S, events: readonly E[]): S;
  /** Nothing of the aggregate remains; its row may be archived and a new lifecycle starts from scratch. */
  isTerminal(state: S): boolean;
}

export function foldEvents<C, E, S>(decider: Decider<C, E, S>, events: Iterable<E>, from: S = decider.initialState): S {
  if (decider.evolveAll) return decider.evolveAll(from, [...events]);
  let state = from;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

/** Runs a command against a history: the unit of every decider test and of the generic handler. */
export function decideOn<C, E, S>(decider: Decider<C, E, S>, history: Iterable<E>, command: C): readonly E[] {
  return decider.decide(command, foldEvents(decider, history));
}

/** Exhaustiveness for commands: at run time a foreign command ends here, from the erased registry. */
export function unknownCommand(command: never): never {
  const type = (command as { type?: unknown } | null)?.type;
  throw new ValidationError(`unknown command ${JSON.stringify(type ?? null)}`, {
    code: ERROR_CODES.UnknownCommand,
    field: 'type',
  });
}

/** Exhaustiveness for events: a foreign event in a stream is a programming error, not a user one. */
export function unexpectedEvent(event: never): never {
  const type = (event as { type?: unknown } | null)?.type;
  throw new PeerlogError(ERROR_CODES.UnexpectedEvent, `event ${JSON.stringify(type ?? null)} does not belong to this stream`);
}

/** Exhaustiveness for statuses: a state from an older build or a corrupted row. */
export function unknownStatus(state: never): never {
  const status = (state as { status?: unknown } | null)?.status;
  throw new PeerlogError(ERROR_CODES.UnknownStatus, `unknown aggregate status ${JSON.stringify(status ?? null)}`);
}

/** Instants compare as instants, whatever their textual precision. */
export function isAfter(later: string, earlier: string): boolean {
  return Date.parse(later) > Date.parse(earlier);
}
