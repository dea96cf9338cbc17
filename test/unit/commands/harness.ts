// Given/when/then for deciders: given a history, when a command, then exactly these events, none,
// or a typed error. Every emitted event is also checked against its schema, so a decider cannot
// produce what the log would refuse.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandMetadata } from '../../../src/commands/command.js';
import { foldEvents, type Decider } from '../../../src/commands/decider.js';
import { PeerlogError } from '../../../src/errors.js';
import type { DomainEvent } from '../../../src/events/catalogue.js';
import { validateEventData } from '../../../src/events/schemas.js';

export const NOW = '2025-03-01T12:00:00.000Z';

export const metadata: CommandMetadata = {
  now: NOW,
  actor: { kind: 'controller', name: 'peerlog-test' },
  correlationId: 'corr-1',
  commandId: 'cmd-1',
};

type ErrorClass = abstract new (...args: never[]) => PeerlogError;

export type Outcome<E> =
  | { readonly kind: 'events'; readonly events: readonly E[] }
  | { readonly kind: 'throws'; readonly error: ErrorClass; readonly code: string };

export function emits<E>(...events: readonly E[]): Outcome<E> {
  return { kind: 'events', events };
}

export const nothing: Outcome<never> = { kind: 'events', events: [] };

export function throws(error: ErrorClass, code: string): Outcome<never> {
  return { kind: 'throws', error, code };
}

export interface Case<C, E> {
  readonly when: C;
  readonly then: Outcome<E>;
  /** What distinguishes this case from the command's other cases in the same state. */
  readonly label?: string;
}

export function when<C>(command: C, label?: string): { then<E>(outcome: Outcome<E>): Case<C, E> } {
  return { then: (outcome) => (label === undefined ? { when: command, then: outcome } : { when: command, then: outcome, label }) };
}

export interface Given<E, Status extends string> {
  readonly status: Status;
  readonly history: readonly E[];
}

/** Rows keyed by state label, columns by command type: the compiler refuses a missing cell. */
export type Matrix<C extends { readonly type: string }, E, L extends string> = {
  readonly [K in L]: { readonly [T in C['type']]: Case<C, E> | readonly Case<C, E>[] };
};

/** Runs one command against a history, as the handler does. */
export function run<C, E, S>(decider: Decider<C, E, S>, history: readonly E[], command: C): readonly E[] {
  return decider.decide(command, foldEvents(decider, history));
}

export function assertOutcome<C, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
  history: readonly E[],
  command: C,
  outcome: Outcome<E>,
): void {
  if (outcome.kind === 'events') {
    const events = run(decider, history, command);
    assert.deepEqual(events, outcome.events);
    for (const event of events) validateEventData(event.type, event.data);
    return;
  }
  assert.throws(
    () => run(decider, history, command),
    (error: unknown) => {
      assert.ok(error instanceof outcome.error, `expected ${outcome.error.name}, got ${String(error)}`);
      assert.equal((error as PeerlogError).code, outcome.code);
      assert.equal((error as PeerlogError).retriable, false);
      return true;
    },
  );
}

/**
 * Declares the whole command × state matrix of a decider. `statuses` lists every status of the
 * state union (a Record, so the compiler keeps it complete) and the run fails if a status has no row.
 */
export function decideMatrix<
  C extends { readonly type: string },
  E extends DomainEvent,
  S extends { readonly status: string },
  L extends string,
>(
  name: string,
  decider: Decider<C, E, S>,
  statuses: { readonly [K in S['status']]: true },
  givens: { readonly [K in L]: Given<E, S['status']> },
  matrix: Matrix<C, E, L>,
): void {
  describe(name, () => {
    it('has a row for every status of the state', () => {
      const covered = new Set(Object.values<Given<E, S['status']>>(givens).map((g) => g.status));
      assert.deepEqual([...covered].sort(), Object.keys(statuses).sort());
    });
    for (const label of Object.keys(givens) as L[]) {
      const given = givens[label];
      describe(`given ${label}`, () => {
        it(`the history folds to status ${given.status}`, () => {
          assert.equal(foldEvents(decider, given.history).status, given.status);
        });
        for (const [type, cell] of Object.entries<Case<C, E> | readonly Case<C, E>[]>(matrix[label])) {
          const cases: readonly Case<C, E>[] = Array.isArray(cell) ? cell : [cell as Case<C, E>];
          for (const c of cases) {
            const expectation =
              c.then.kind === 'throws'
                ? `throws ${c.then.error.name} ${c.then.code}`
                : c.then.events.length === 0
                  ? 'emits nothing'
                  : `emits ${c.then.events.map((e) => e.type).join(', ')}`;
            it(`when ${type}${c.label === undefined ? '' : ` (${c.label})`} then ${expectation}`, () => {
              assert.equal(c.when.type, type, 'case filed under the wrong command');
              assertOutcome(decider, given.history, c.when, c.then);
            });
          }
        }
      });
    }
  });
}
