// How long each step of a peering and of an offloaded pod took, folded from the log: the time
// between two events' occurredAt, never a clock of this process, so a rebuild from offset 0 gives
// the same histograms. Pure: one view per stream, holding the histograms of what ended on it and
// the starts still waiting for their end.
import type { EventEnvelope } from '../../events/envelope.js';
import { bucketIndex } from '../../metrics/exposition.js';

/** Upper bounds, in seconds, of the step histograms' buckets: from sub-second steps to a stuck peering. */
export const STEP_BOUNDS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The steps timed, as (the event that ends it, the event it is timed from), per stream kind. A
 * peering's clock starts at the first PeeringRequested (TokenValidated for the provider) of a
 * cycle, so retries after a refusal count in; a cycle ends with PeeringTerminated (IdentityRevoked).
 */
export const PEERING_STEPS = {
  outgoing: { start: 'PeeringRequested', steps: ['CertIssued', 'OfferAccepted', 'VirtualNodeReady'], end: 'PeeringTerminated' },
  incoming: { start: 'TokenValidated', steps: ['CertIssued', 'OfferIssued'], end: 'IdentityRevoked' },
} as const;
/** Teardown: from UnpeeringRequested to PeeringTerminated, on the consumer's stream. */
export const UNPEERING = { start: 'UnpeeringRequested', step: 'PeeringTerminated' } as const;

export interface StepHistogram {
  /** Per bucket of STEP_BOUNDS, then the +Inf bucket; not cumulative. */
  readonly counts: readonly number[];
  readonly sum: number;
}

/** One stream's timing view. Keys of `histograms` are `<since>→<step>` (peerings) or `pod→Running`. */
export interface StepsView {
  readonly kind: 'outgoing' | 'incoming' | 'pods';
  readonly version: number;
  /** The open peering cycle: when it started and the steps already timed in it. */
  readonly cycle: { readonly startedAt: string; readonly timed: readonly string[] } | null;
  /** When the unpeering under way was asked for (outgoing only). */
  readonly unpeeringSince: string | null;
  /** Pods offloaded and not yet seen Running: `<namespace>/<name>/<uid>` → PodOffloaded's time. */
  readonly waiting: Readonly<Record<string, string>>;
  readonly histograms: Readonly<Record<string, StepHistogram>>;
}

export const POD_RUNNING_KEY = 'PodOffloaded→Running';

export function emptyStepsView(kind: StepsView['kind']): StepsView {
  return { kind, version: 0, cycle: null, unpeeringSince: null, waiting: {}, histograms: {} };
}

/** Seconds from `from` to `to` (RFC 3339); never negative, should two writers' clocks disagree. */
export function secondsBetween(from: string, to: string): number {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
}

function observe(h: StepHistogram | undefined, seconds: number): StepHistogram {
  const counts = h ? [...h.counts] : new Array<number>(STEP_BOUNDS.length + 1).fill(0);
  counts[bucketIndex(STEP_BOUNDS, seconds)]! += 1;
  // Rounded to the millisecond the timestamps carry, so sums stay exact across folds.
  return { counts, sum: Math.round(((h?.sum ?? 0) + seconds) * 1000) / 1000 };
}

interface PodRef { readonly namespace?: unknown; readonly name?: unknown; readonly uid?: unknown }
const podKeyOf = (d: PodRef): string => `${String(d.namespace)}/${String(d.name)}/${String(d.uid)}`;

/** Folds one event of a stream of `view.kind` into its timing view. */
export function foldSteps(view: StepsView, e: EventEnvelope): StepsView {
  const at = e.occurredAt;
  const next = { ...view, version: e.streamVersion };
  if (view.kind === 'pods') {
    const d = e.data as PodRef & { status?: { phase?: unknown } };
    const key = podKeyOf(d);
    switch (e.type) {
      case 'PodOffloaded':
        if (Object.hasOwn(view.waiting, key)) return next;
        return { ...next, waiting: { ...view.waiting, [key]: at } };
      case 'PodStatusReflected': {
        if (d.status?.phase !== 'Running' || !Object.hasOwn(view.waiting, key)) return next;
        const { [key]: since, ...waiting } = view.waiting;
        return { ...next, waiting, histograms: { ...view.histograms, [POD_RUNNING_KEY]: observe(view.histograms[POD_RUNNING_KEY], secondsBetween(since!, at)) } };
      }
      case 'PodReclaimed': {
        if (!Object.hasOwn(view.waiting, key)) return next;
        const { [key]: _gone, ...waiting } = view.waiting;
        return { ...next, waiting };
      }
      case 'OffloadingEnded':
        return { ...next, waiting: {} };
      default:
        return next;
    }
  }
  const spec = PEERING_STEPS[view.kind];
  if (e.type === spec.start && view.cycle === null) return { ...next, cycle: { startedAt: at, timed: [] } };
  let out: StepsView = next;
  if ((spec.steps as readonly string[]).includes(e.type) && view.cycle !== null && !view.cycle.timed.includes(e.type)) {
    const key = `${spec.start}→${e.type}`;
    out = { ...out, cycle: { ...view.cycle, timed: [...view.cycle.timed, e.type] }, histograms: { ...out.histograms, [key]: observe(out.histograms[key], secondsBetween(view.cycle.startedAt, at)) } };
  }
  if (view.kind === 'outgoing') {
    if (e.type === UNPEERING.start && view.unpeeringSince === null) out = { ...out, unpeeringSince: at };
    if (e.type === UNPEERING.step && view.unpeeringSince !== null) {
      const key = `${UNPEERING.start}→${UNPEERING.step}`;
      out = { ...out, unpeeringSince: null, histograms: { ...out.histograms, [key]: observe(out.histograms[key], secondsBetween(view.unpeeringSince, at)) } };
    }
  }
  if (e.type === spec.end) out = { ...out, cycle: null, unpeeringSince: null };
  return out;
}

/** A histogram's key split back into the event it is timed from and the one that ends it. */
export function stepOfKey(key: string): { since: string; step: string } {
  const i = key.indexOf('→');
  return { since: key.slice(0, i), step: key.slice(i + 1) };
}
