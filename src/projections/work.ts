// A keyed, coalescing work queue for level-triggered reconcilers: a key queued twice runs once; a
// key queued while running runs again afterwards; a failure is retried with jittered, capped
// backoff. Keys wait in a FIFO beside a set, so enqueueing and dequeueing cost O(1) however many
// keys are queued.
import type { Logger } from '../adapters/log/index.js';
import { isRetriable } from '../errors.js';

export interface WorkQueue {
  enqueue(key: string): void;
  /** Resolves when nothing is queued or running (for tests and orderly stops). */
  idle(): Promise<void>;
  stop(): Promise<void>;
  /** Keys waiting and keys running right now. */
  readonly size: { readonly queued: number; readonly running: number };
}

export interface WorkQueueOptions {
  readonly concurrency?: number;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Attempts a non-retriable failure gets before the key is dropped (one warning, then nothing until
   * the key is queued again: a watch, the log, the periodic resync). More than one, spread over about
   * half a minute: what a reconcile reads may still be catching up (the RBAC and quota caches of a
   * fresh tenant, or of an apiserver that just restarted, answer 403 for a moment).
   */
  readonly nonRetriableAttempts?: number;
  /** Source of jitter in [0, 1): tests pass a fixed one. */
  readonly random?: () => number;
}

/**
 * Exponential backoff with equal jitter: attempt n waits between half and all of
 * min(base · 2^(n-1), max), so that many failing together do not retry together.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), maxMs);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A FIFO of strings with O(1) push and shift (an array and a moving head, compacted now and then). */
function createFifo() {
  let items: string[] = [];
  let head = 0;
  return {
    push(k: string) { items.push(k); },
    shift(): string | undefined {
      if (head >= items.length) return undefined;
      const k = items[head++]!;
      if (head >= 1024 && head * 2 >= items.length) { items = items.slice(head); head = 0; }
      return k;
    },
    get length() { return items.length - head; },
    clear() { items = []; head = 0; },
  };
}

export function createWorkQueue(handler: (key: string) => Promise<void>, log: Logger, opts: WorkQueueOptions = {}): WorkQueue {
  const concurrency = opts.concurrency ?? 4;
  const baseBackoff = opts.baseBackoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 15_000;
  const nonRetriableAttempts = opts.nonRetriableAttempts ?? 8;
  const random = opts.random ?? Math.random;
  const fifo = createFifo();
  const queued = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  /** The last failure a key was dropped for: the same one again is not logged again. */
  const dropped = new Map<string, string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  let waiters: (() => void)[] = [];

  const settle = () => {
    if (queued.size === 0 && running.size === 0) { const w = waiters; waiters = []; w.forEach((f) => f()); }
  };
  const retryLater = (key: string, delay: number) => {
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => { timers.delete(key); api.enqueue(key); }, delay));
  };
  const failed = (key: string, e: unknown) => {
    const n = (failures.get(key) ?? 0) + 1;
    const error = e as { code?: string; message?: string };
    if (!isRetriable(e) && n >= nonRetriableAttempts) {
      // Given up: the next enqueue (a watch, the log, the periodic resync) tries afresh.
      failures.delete(key);
      const what = `${error.code ?? 'Error'}: ${error.message ?? String(e)}`;
      if (dropped.get(key) !== what) {
        if (dropped.size >= 10_000) dropped.clear();
        dropped.set(key, what);
        log.warn('reconcile failed; not retried until the key is queued again', { key, attempts: n, error: e });
      } else {
        log.debug('reconcile failed again; dropped', { key, attempts: n, error: e });
      }
      return;
    }
    failures.set(key, n);
    const delay = backoffDelay(n, baseBackoff, maxBackoff, random);
    (isRetriable(e) ? log.info : log.debug)('reconcile failed; retrying', { key, attempt: n, retryInMs: delay, error: e });
    if (!stopped) retryLater(key, delay);
  };
  const start = (key: string) => {
    running.add(key);
    Promise.resolve().then(() => handler(key)).then(
      () => { failures.delete(key); dropped.delete(key); clearTimeout(timers.get(key)); timers.delete(key); },
      (e: unknown) => failed(key, e),
    ).finally(() => {
      running.delete(key);
      if (dirty.delete(key) && !stopped) push(key);
      pump();
      settle();
    });
  };
  const push = (key: string) => {
    if (queued.has(key)) return;
    queued.add(key);
    fifo.push(key);
  };
  const pump = () => {
    while (!stopped && running.size < concurrency) {
      const key = fifo.shift();
      if (key === undefined) return;
      queued.delete(key);
      start(key);
    }
  };
  const api: WorkQueue = {
    enqueue(key) {
      if (stopped) return;
      if (running.has(key)) { dirty.add(key); return; }
      push(key);
      pump();
    },
    idle: () => (queued.size === 0 && running.size === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      queued.clear();
      fifo.clear();
      dirty.clear();
      if (running.size > 0) await new Promise<void>((r) => waiters.push(r));
      else settle();
    },
    get size() { return { queued: queued.size, running: running.size }; },
  };
  return api;
}
