// A keyed, coalescing work queue for level-triggered reconcilers: a key queued twice runs once; a
// key queued while running runs again afterwards; a failure is retried with capped backoff.
import type { Logger } from '../adapters/log/index.js';
import { isRetriable } from '../commands/errors.js';

export interface WorkQueue {
  enqueue(key: string): void;
  /** Resolves when nothing is queued or running (for tests and orderly stops). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function createWorkQueue(handler: (key: string) => Promise<void>, log: Logger, opts: { maxBackoffMs?: number; concurrency?: number } = {}): WorkQueue {
  const maxBackoff = opts.maxBackoffMs ?? 15_000;
  const concurrency = opts.concurrency ?? 4;
  const queued = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  let waiters: (() => void)[] = [];

  const settle = () => {
    if (queued.size === 0 && running.size === 0) { const w = waiters; waiters = []; w.forEach((f) => f()); }
  };
  const pump = () => {
    for (const key of [...queued]) {
      if (stopped || running.size >= concurrency) return;
      if (running.has(key)) continue;
      queued.delete(key);
      running.add(key);
      handler(key).then(
        () => { failures.delete(key); },
        (e: unknown) => {
          const n = (failures.get(key) ?? 0) + 1;
          failures.set(key, n);
          const delay = Math.min(250 * 2 ** (n - 1), maxBackoff);
          (isRetriable(e) ? log.info : log.warn)('reconcile failed; retrying', { key, attempt: n, retryInMs: delay, error: e });
          if (!stopped) {
            clearTimeout(timers.get(key));
            timers.set(key, setTimeout(() => { timers.delete(key); api.enqueue(key); }, delay));
          }
        },
      ).finally(() => {
        running.delete(key);
        if (dirty.delete(key) && !stopped) queued.add(key);
        pump();
        settle();
      });
    }
  };
  const api: WorkQueue = {
    enqueue(key) {
      if (stopped) return;
      if (running.has(key)) { dirty.add(key); return; }
      queued.add(key);
      pump();
    },
    idle: () => (queued.size === 0 && running.size === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      queued.clear();
      dirty.clear();
      if (running.size > 0) await new Promise<void>((r) => waiters.push(r));
    },
  };
  return api;
}
