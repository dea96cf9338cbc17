// The timeline of one peering, folded from the events of its streams (outgoing-, incoming- and
// pods-<remote>): each event with its step, actor, outcome and reason, and the phases of each
// peer/unpeer cycle with their durations. Pure: the same events give the same timeline.
import type { EventEnvelope } from '../../events/envelope.js';
import type { Actor, EventType } from '../../events/catalogue.js';

export type Direction = 'outgoing' | 'incoming';
export type PhaseName = 'authentication' | 'negotiation' | 'virtualNode' | 'offloading' | 'teardown';

/** Every phase, in the order a cycle goes through them (a provider has no virtual node phase). */
export const PHASES: readonly PhaseName[] = ['authentication', 'negotiation', 'virtualNode', 'offloading', 'teardown'];

/** What an event says about its step: done, refused or failed, or still waiting on something. */
export type Outcome = 'succeeded' | 'failed' | 'waiting';

export interface TimelineEvent {
  readonly time: string;
  readonly streamId: string;
  readonly version: number;
  readonly type: EventType;
  readonly direction: Direction;
  readonly actor: Actor;
  readonly outcome: Outcome;
  /** The reason the event gives (a refusal, a failure, what a drain waits for); null when none. */
  readonly reason: string | null;
  /** The cycle (1-based, per direction) and its phase the event happened in; null before any cycle. */
  readonly cycle: number | null;
  readonly phase: PhaseName | null;
}

/**
 * How a phase ended: completed (the next phase began), failed (its last step failed and nothing
 * followed yet), interrupted (unpeering or a new request cut it short), ongoing (still running).
 */
export type PhaseOutcome = 'completed' | 'failed' | 'interrupted' | 'ongoing';

export interface Phase {
  readonly name: PhaseName;
  readonly start: string;
  /** null while the phase runs. */
  readonly end: string | null;
  readonly durationMs: number | null;
  readonly outcome: PhaseOutcome;
}

export interface Cycle {
  readonly direction: Direction;
  readonly number: number;
  readonly start: string;
  /** When the cycle ended (PeeringTerminated, IdentityRevoked); null while it runs. */
  readonly end: string | null;
  readonly durationMs: number | null;
  readonly phases: readonly Phase[];
}

export interface Timeline {
  readonly events: readonly TimelineEvent[];
  /** Oldest first, outgoing cycles before incoming ones. */
  readonly cycles: readonly Cycle[];
}

const FAILED: ReadonlySet<string> = new Set<EventType>([
  'PeeringBlocked', 'AuthenticationFailed', 'IdentityRenewalFailed', 'OfferRefused', 'TokenRejected', 'PodOffloadFailed',
  'NamespaceOffloadRefused', 'RemoteNamespaceRefused',
]);
const WAITING: ReadonlySet<string> = new Set<EventType>(['VirtualNodeDrainWaiting']);

/** The reason an event's data carries, if it is one of those that give one. */
function reasonOf(e: EventEnvelope): string | null {
  const d = e.data as { reason?: unknown };
  return typeof d.reason === 'string' ? d.reason : null;
}

/** Where an event moves its direction's phases: the phase it opens, and how it ends the open one. */
type Move =
  | { readonly kind: 'open'; readonly phase: PhaseName; readonly newCycle: boolean; readonly ending: PhaseOutcome }
  | { readonly kind: 'fail' }
  | { readonly kind: 'close' }
  | { readonly kind: 'none' };

const NONE: Move = { kind: 'none' };

function moveOf(e: EventEnvelope, open: Phase | undefined, cycleOpen: boolean): Move {
  const at = open?.name;
  switch (e.type) {
    // consumer
    case 'PeeringRequested':
      // A request outside a cycle begins one; inside, it starts authentication over (a retry, a new endpoint).
      return { kind: 'open', phase: 'authentication', newCycle: !cycleOpen, ending: 'interrupted' };
    case 'PeeringBlocked':
    case 'AuthenticationFailed':
      return at === 'authentication' ? { kind: 'fail' } : NONE;
    case 'CertIssued':
      return at === 'authentication' ? { kind: 'open', phase: 'negotiation', newCycle: false, ending: 'completed' } : NONE;
    case 'OfferAccepted':
      return at === 'negotiation' ? { kind: 'open', phase: 'virtualNode', newCycle: false, ending: 'completed' } : NONE;
    case 'VirtualNodeReady':
      return at === 'virtualNode' ? { kind: 'open', phase: 'offloading', newCycle: false, ending: 'completed' } : NONE;
    case 'UnpeeringRequested':
      return cycleOpen && at !== 'teardown' ? { kind: 'open', phase: 'teardown', newCycle: false, ending: at === 'offloading' ? 'completed' : 'interrupted' } : NONE;
    case 'PeeringTerminated':
      return cycleOpen ? { kind: 'close' } : NONE;
    // provider
    case 'TokenValidated':
      return at === undefined || !cycleOpen ? { kind: 'open', phase: 'authentication', newCycle: !cycleOpen, ending: 'interrupted' } : NONE;
    case 'OfferIssued':
      return at === 'negotiation' ? { kind: 'open', phase: 'offloading', newCycle: false, ending: 'completed' } : NONE;
    case 'OfferWithdrawn':
      return cycleOpen && at !== 'teardown' ? { kind: 'open', phase: 'teardown', newCycle: false, ending: at === 'offloading' ? 'completed' : 'interrupted' } : NONE;
    case 'IdentityRevoked':
      return cycleOpen ? { kind: 'close' } : NONE;
    default:
      return NONE;
  }
}

const ms = (from: string, to: string) => Date.parse(to) - Date.parse(from);

interface Building {
  number: number;
  start: string;
  end: string | null;
  phases: Phase[];
}

/** Ends the running phase of `c` at `time`. */
function endPhase(c: Building, time: string, outcome: PhaseOutcome): void {
  const last = c.phases[c.phases.length - 1];
  if (!last || last.end !== null) return;
  c.phases[c.phases.length - 1] = { ...last, end: time, durationMs: ms(last.start, time), outcome };
}

function directionOf(streamId: string): Direction | 'pods' | undefined {
  if (streamId.startsWith('outgoing-')) return 'outgoing';
  if (streamId.startsWith('incoming-')) return 'incoming';
  if (streamId.startsWith('pods-')) return 'pods';
  return undefined;
}

/** Orders events of several streams as they happened; a stream's own order breaks ties. */
export function byTime(a: EventEnvelope, b: EventEnvelope): number {
  return a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1
    : a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.streamVersion - b.streamVersion;
}

/**
 * The timeline of one remote cluster's peering from its events (any order; each stream's own order
 * is kept). A pods stream belongs to the outgoing direction: its events fall in the outgoing cycle.
 */
export function buildTimeline(all: readonly EventEnvelope[]): Timeline {
  const events = [...all].sort(byTime);
  const cycles: Record<Direction, Building[]> = { outgoing: [], incoming: [] };
  const out: TimelineEvent[] = [];
  for (const e of events) {
    const kind = directionOf(e.streamId);
    if (!kind) continue;
    const direction: Direction = kind === 'pods' ? 'outgoing' : kind;
    const list = cycles[direction];
    let current = list[list.length - 1];
    const cycleOpen = current !== undefined && current.end === null;
    const open = cycleOpen ? current!.phases.find((p) => p.end === null) : undefined;
    const move = kind === 'pods' ? NONE : moveOf(e, open, cycleOpen);
    let failedHere = false;
    switch (move.kind) {
      case 'open':
        if (move.newCycle) {
          current = { number: list.length + 1, start: e.occurredAt, end: null, phases: [] };
          list.push(current);
        } else endPhase(current!, e.occurredAt, move.ending);
        current!.phases.push({ name: move.phase, start: e.occurredAt, end: null, durationMs: null, outcome: 'ongoing' });
        break;
      case 'fail':
        failedHere = true;
        break;
      case 'close':
        endPhase(current!, e.occurredAt, 'completed');
        current!.end = e.occurredAt;
        break;
      case 'none':
        break;
    }
    const inCycle = current !== undefined && (current.end === null || move.kind === 'close');
    const phaseNow = inCycle ? (current!.phases.find((p) => p.end === null) ?? current!.phases[current!.phases.length - 1]) : undefined;
    out.push({
      time: e.occurredAt, streamId: e.streamId, version: e.streamVersion, type: e.type, direction, actor: e.actor,
      outcome: FAILED.has(e.type) ? 'failed' : WAITING.has(e.type) ? 'waiting' : 'succeeded', reason: reasonOf(e),
      cycle: inCycle ? current!.number : null, phase: phaseNow?.name ?? null,
    });
    // A failed authentication ends its phase as failed: a later request opens it again.
    if (failedHere) endPhase(current!, e.occurredAt, 'failed');
  }
  const finish = (direction: Direction) => cycles[direction].map((c): Cycle => ({
    direction, number: c.number, start: c.start, end: c.end, durationMs: c.end === null ? null : ms(c.start, c.end), phases: c.phases,
  }));
  return { events: out, cycles: [...finish('outgoing'), ...finish('incoming')] };
}

/** The events that had happened at `asOf` (ISO time): of each stream, the versions up to the first later one. */
export function eventsAsOf(events: readonly EventEnvelope[], asOf: string): EventEnvelope[] {
  const cut = Date.parse(asOf);
  const stopped = new Set<string>();
  const kept: EventEnvelope[] = [];
  for (const e of [...events].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.streamVersion - b.streamVersion))) {
    if (stopped.has(e.streamId)) continue;
    if (Date.parse(e.occurredAt) > cut) { stopped.add(e.streamId); continue; }
    kept.push(e);
  }
  return kept;
}
