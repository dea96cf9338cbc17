// Leader election over one coordination.k8s.io/v1 Lease, as client-go's leaderelection does it
// (pure logic: the Lease as read, this replica's identity and the time in, the next step out).
// A candidate takes the Lease only when its record has not changed for the record's lease duration
// as measured on the candidate's own clock (so clocks that disagree do not matter, only their
// rates); a leader counts itself leading only until the renew deadline after its last successful
// renewal began, which is shorter than the lease duration: it stops before anyone could take over.

export interface ElectionTiming {
  /** How long a non-leader waits, from the last change it saw, before it takes the Lease. */
  readonly leaseDurationMs: number;
  /** How long a leader keeps leading after the start of its last successful renewal. */
  readonly renewDeadlineMs: number;
  /** Time between two attempts to acquire or renew. */
  readonly retryPeriodMs: number;
}

/** What election reads and writes of a Lease's spec (plus the version it was read at). */
export interface LeaseRecord {
  readonly holderIdentity: string | undefined;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string | undefined;
  readonly renewTime: string | undefined;
  readonly leaseTransitions: number;
  /** The Lease's metadata.resourceVersion as read: an update must name it (optimistic concurrency). */
  readonly resourceVersion?: string;
}

export interface ElectionState {
  /** The record last seen (holder, times, transitions) and when, on this replica's clock, it was first seen so. */
  readonly observed?: { readonly key: string; readonly at: number };
  /** When this replica's last successful acquire or renewal began; undefined when it does not lead. */
  readonly renewedAt?: number;
}

export type ElectionStep =
  | { readonly kind: 'create'; readonly record: LeaseRecord }
  | { readonly kind: 'acquire'; readonly record: LeaseRecord }
  | { readonly kind: 'renew'; readonly record: LeaseRecord }
  /** Another replica holds the Lease; it may be taken from `until` on if nothing changes meanwhile. */
  | { readonly kind: 'wait'; readonly holder: string; readonly until: number };

export const INITIAL_ELECTION: ElectionState = {};

/** A Lease time (MicroTime: RFC 3339 with six fractional digits). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const keyOf = (r: LeaseRecord): string => JSON.stringify([r.holderIdentity ?? '', r.acquireTime ?? '', r.renewTime ?? '', r.leaseTransitions, r.leaseDurationSeconds]);

/** The state after reading `lease` at `now`: the observation time moves only when the record changed. */
export function observe(state: ElectionState, lease: LeaseRecord | undefined, now: number): ElectionState {
  if (!lease) return { ...state, observed: undefined };
  const key = keyOf(lease);
  if (state.observed?.key === key) return state;
  return { ...state, observed: { key, at: now } };
}

/** What to do next, given the Lease as just read (and observed) at `now`. */
export function nextStep(state: ElectionState, lease: LeaseRecord | undefined, me: string, now: number, timing: ElectionTiming): ElectionStep {
  const durationSeconds = Math.max(1, Math.ceil(timing.leaseDurationMs / 1000));
  const at = microTime(now);
  if (!lease) {
    return { kind: 'create', record: { holderIdentity: me, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at, leaseTransitions: 0 } };
  }
  const version = lease.resourceVersion === undefined ? {} : { resourceVersion: lease.resourceVersion };
  if (lease.holderIdentity === me) {
    return { kind: 'renew', record: { ...lease, leaseDurationSeconds: durationSeconds, renewTime: at, acquireTime: lease.acquireTime ?? at, ...version } };
  }
  const holder = lease.holderIdentity;
  if (holder) {
    const seenAt = state.observed?.at ?? now;
    const until = seenAt + lease.leaseDurationSeconds * 1000;
    if (now < until) return { kind: 'wait', holder, until };
  }
  // Released (no holder) or expired: taken over, one more transition.
  return {
    kind: 'acquire',
    record: { holderIdentity: me, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at, leaseTransitions: lease.leaseTransitions + 1, ...version },
  };
}

/** The state after a successful create, acquire or renewal that began at `startedAt`. */
export function renewed(state: ElectionState, written: LeaseRecord, startedAt: number): ElectionState {
  return { observed: { key: keyOf(written), at: startedAt }, renewedAt: startedAt };
}

/** The state after this replica stopped leading (its deadline passed, or another holds the Lease). */
export function stepDown(state: ElectionState): ElectionState {
  return { ...(state.observed ? { observed: state.observed } : {}) };
}

/** Whether this replica leads at `now`: only until the renew deadline after its last successful renewal began. */
export function isLeading(state: ElectionState, now: number, timing: ElectionTiming): boolean {
  return state.renewedAt !== undefined && now < state.renewedAt + timing.renewDeadlineMs;
}

/** The record that gives the Lease up on a clean stop (client-go's ReleaseOnCancel); undefined when `me` does not hold it. */
export function releaseRecord(lease: LeaseRecord | undefined, me: string, now: number): LeaseRecord | undefined {
  if (!lease || lease.holderIdentity !== me) return undefined;
  const at = microTime(now);
  return { ...lease, holderIdentity: undefined, leaseDurationSeconds: 1, acquireTime: at, renewTime: at };
}

/** Why a timing is refused (client-go's rules), or undefined when it is sound. */
export function timingProblem(t: ElectionTiming): { setting: 'leader-elect-lease-duration' | 'leader-elect-renew-deadline' | 'leader-elect-retry-period'; why: string } | undefined {
  if (!(t.retryPeriodMs > 0)) return { setting: 'leader-elect-retry-period', why: 'must be more than 0' };
  if (!(t.renewDeadlineMs > t.retryPeriodMs * 1.2)) return { setting: 'leader-elect-renew-deadline', why: 'must be more than 1.2 × the retry period (a renewal must have room for a retry)' };
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) return { setting: 'leader-elect-lease-duration', why: 'must be more than the renew deadline (a leader must stop before another may take over)' };
  if (t.leaseDurationMs < 1000) return { setting: 'leader-elect-lease-duration', why: 'must be at least 1s (the Lease counts whole seconds)' };
  return undefined;
}
