// Watches of a cluster for the operator: informers started (and retried while they cannot start
// yet), restarted with jittered backoff after an error, and stopped together.
import type { Logger } from '../adapters/log/index.js';
import type { KubeObject, k8s } from '../adapters/kubernetes/client.js';
import { backoffDelay } from '../projections/work.js';

/** Watch restarts back off from 1 s to a minute; a watch that ran this long first starts again from 1 s. */
const WATCH_BACKOFF = { baseMs: 1000, maxMs: 60_000, healthyMs: 60_000 } as const;

type AnyInformer = k8s.Informer<never>;

export interface Watches {
  /** Calls `onChange` for every add, update and delete of `informer`, which is restarted after errors. */
  watch<T extends KubeObject>(name: string, informer: k8s.Informer<T>, onChange: (o: T, verb: 'add' | 'update' | 'delete') => void, wanted?: () => boolean, fields?: Record<string, unknown>): void;
  /** Starts an informer; one that cannot start yet is retried in the background (first list awaited when it works at once). */
  start(name: string, informer: k8s.Informer<KubeObject>, wanted?: () => boolean): Promise<void>;
  readonly stopping: boolean;
  stop(): Promise<void>;
}

export function createWatches(log: Logger): Watches {
  const stoppers: (() => Promise<void> | void)[] = [];
  /** Pending restarts, cleared on stop so that none holds the process open. */
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  /**
   * Starts an informer; if it is no longer wanted once started (the operator stopped, or a new
   * identity replaced the watch, while its list was in flight), stops it again: a stop during the
   * start does not reach the watch the start opens last, which would hold the process open.
   */
  const startInformer = async (informer: AnyInformer, wanted: () => boolean): Promise<void> => {
    await informer.start();
    if (!wanted()) await informer.stop();
  };

  /**
   * Restarts a watch after an error (a failed list, a dropped connection, 401/403 alike) with
   * jittered exponential backoff, so that an apiserver refusing or away is not hammered.
   */
  const restartOnError = (name: string, informer: AnyInformer, wanted: () => boolean, fields: Record<string, unknown>) => {
    let attempt = 0;
    let since = Date.now();
    let pending: NodeJS.Timeout | undefined;
    const failed = (e: unknown): void => {
      // One restart at a time: a second error while one is pending would open a second watch.
      if (!wanted() || pending) return;
      if (Date.now() - since > WATCH_BACKOFF.healthyMs) attempt = 0;
      attempt++;
      const delay = backoffDelay(attempt, WATCH_BACKOFF.baseMs, WATCH_BACKOFF.maxMs);
      const status = (e as { statusCode?: number; status?: number }).statusCode ?? (e as { status?: number }).status;
      log.warn('watch interrupted; restarting', { watch: name, ...fields, attempt, retryInMs: delay, ...(status ? { httpStatus: status } : {}), error: e });
      const timer = setTimeout(() => {
        timers.delete(timer);
        pending = undefined;
        if (!wanted()) return;
        since = Date.now();
        startInformer(informer, wanted).catch(failed);
      }, delay);
      timers.add(timer);
      pending = timer;
    };
    informer.on('error', failed);
  };

  const startRetrying = async (name: string, informer: AnyInformer, ok: () => boolean, delay: number): Promise<void> => {
    try {
      await startInformer(informer, ok);
    } catch (e) {
      if (!ok()) return;
      log.warn('watch cannot start yet; retrying', { watch: name, retryInMs: delay, error: e });
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (ok()) void startRetrying(name, informer, ok, Math.min(delay * 2, 10_000));
      }, delay);
      timers.add(timer);
    }
  };

  const api: Watches = {
    get stopping() { return stopping; },
    watch(name, informer, onChange, wanted = () => !stopping, fields = {}) {
      for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (o) => onChange(o, verb));
      restartOnError(name, informer as unknown as AnyInformer, () => !stopping && wanted(), fields);
      stoppers.push(() => informer.stop());
    },
    start: (name, informer, wanted = () => true) => startRetrying(name, informer as unknown as AnyInformer, () => !stopping && wanted(), 500),
    async stop() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of stoppers.reverse()) await Promise.resolve(s()).catch(() => undefined);
    },
  };
  return api;
}
