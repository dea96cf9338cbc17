// The leader elector of one replica of `peerlog serve`: every retry period it reads the Lease and
// creates, renews or takes it over as election.ts says, through a LeaseStore port (optimistic
// concurrency: a write at a stale resourceVersion fails). Leadership starts when a write succeeds
// and ends the moment the renew deadline passes without another success — a timer fences it, so a
// renewal that hangs cannot keep this replica leading past the deadline — or when another replica
// is seen holding the Lease. A clean stop gives the Lease up so that a follower takes over at once.
import type { Logger } from '../adapters/log/index.js';
import type { LeaseStore } from '../adapters/kubernetes/lease.js';
import {
  INITIAL_ELECTION, isLeading, nextStep, observe, releaseRecord, renewed, stepDown,
  type ElectionState, type ElectionTiming,
} from './election.js';

export interface ElectorOptions {
  readonly store: LeaseStore;
  /** This replica's identity in the Lease's holderIdentity (unique per process). */
  readonly identity: string;
  readonly timing: ElectionTiming;
  readonly logger: Logger;
  /** Called when this replica starts leading; its failure is logged, leadership stays. */
  onStartedLeading(): void | Promise<void>;
  /** Called synchronously the moment this replica stops leading (fencing): stop leader-only work. */
  onStoppedLeading(reason: string): void;
  readonly now?: () => number;
}

export interface Elector {
  readonly identity: string;
  start(): void;
  /** Whether this replica leads now (false from the instant its renew deadline passed). */
  leading(): boolean;
  /** The holder last seen in the Lease (this replica's identity while it leads). */
  holder(): string | undefined;
  /** Stops electing; a leader stops leading, then gives the Lease up. */
  stop(): Promise<void>;
}

export function createElector(o: ElectorOptions): Elector {
  const log = o.logger.child({ component: 'leader-election', identity: o.identity });
  const now = o.now ?? Date.now;
  let state: ElectionState = INITIAL_ELECTION;
  let leader = false;
  let seen: string | undefined;
  let stopped = false;
  let roundTimer: NodeJS.Timeout | undefined;
  let fenceTimer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const lose = (reason: string) => {
    if (!leader) return;
    leader = false;
    state = stepDown(state);
    clearTimeout(fenceTimer);
    log.warn('stopped leading', { reason });
    try { o.onStoppedLeading(reason); } catch (e) { log.error('stopping the leader\'s work failed', { error: e }); }
  };

  const armFence = () => {
    clearTimeout(fenceTimer);
    if (state.renewedAt === undefined) return;
    const left = state.renewedAt + o.timing.renewDeadlineMs - now();
    fenceTimer = setTimeout(() => {
      if (!isLeading(state, now(), o.timing)) lose(`the Lease was not renewed within the renew deadline (${o.timing.renewDeadlineMs} ms)`);
      else armFence();
    }, Math.max(0, left));
  };

  async function once(): Promise<void> {
    const startedAt = now();
    let step: ReturnType<typeof nextStep> | undefined;
    try {
      const lease = await o.store.get();
      if (stopped) return;
      state = observe(state, lease, startedAt);
      step = nextStep(state, lease, o.identity, startedAt, o.timing);
      if (step.kind === 'wait') {
        if (seen !== step.holder) log.info('another replica leads', { holder: step.holder });
        seen = step.holder;
        lose(`another replica holds the Lease (${step.holder})`);
        return;
      }
      const written = step.kind === 'create' ? await o.store.create(step.record) : await o.store.update(step.record);
      if (stopped) return;
      // Counted from when the round began: the Lease may have been written late in it.
      state = renewed(state, written, startedAt);
      seen = o.identity;
      if (!isLeading(state, now(), o.timing)) { lose('the renewal took longer than the renew deadline'); return; }
      armFence();
      if (!leader) {
        leader = true;
        log.info('started leading', { transitions: written.leaseTransitions, took: step.kind });
        await Promise.resolve().then(() => o.onStartedLeading()).catch((e: unknown) => log.error('starting the leader\'s work failed', { error: e }));
      }
    } catch (e) {
      // A conflict (another replica wrote first) or the apiserver away: tried again next round;
      // a leader past its deadline has already been fenced by its timer, or is here.
      (leader ? log.warn : log.debug)('leader election round failed', { step: step?.kind, error: e });
      if (leader && !isLeading(state, now(), o.timing)) lose('the Lease could not be renewed within the renew deadline');
    }
  }

  const schedule = () => {
    if (stopped) return;
    // Followers spread their attempts a little (client-go's jitter of up to 1.2 × the period).
    const delay = leader ? o.timing.retryPeriodMs : o.timing.retryPeriodMs * (1 + Math.random() * 0.2);
    roundTimer = setTimeout(() => { round = once().finally(schedule); }, delay);
  };

  return {
    identity: o.identity,
    start() { round = once().finally(schedule); },
    leading: () => leader && isLeading(state, now(), o.timing),
    holder: () => seen,
    async stop() {
      stopped = true;
      clearTimeout(roundTimer);
      await round.catch(() => undefined);
      const wasLeader = leader;
      lose('this replica stops');
      if (!wasLeader) return;
      try {
        const record = releaseRecord(await o.store.get(), o.identity, now());
        if (record) { await o.store.update(record); log.info('gave the Lease up'); }
      } catch (e) {
        log.warn('could not give the Lease up; another replica takes it once it expires', { error: e });
      }
    },
  };
}
