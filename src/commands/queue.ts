// Commands on one stream from one process run one after another. The append's version guard still
// protects against other processes; this only keeps a burst of local requests on one stream (a
// flood of failed attempts for one cluster id) from exhausting the handler's retries.
export interface StreamQueue {
  run<T>(streamId: string, work: () => Promise<T>): Promise<T>;
  /** Streams with work queued or running. */
  readonly busy: number;
}

export function createStreamQueue(): StreamQueue {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(streamId: string, work: () => Promise<T>): Promise<T> {
      const prev = tails.get(streamId) ?? Promise.resolve();
      const result = prev.then(work, work);
      const tail = result.catch(() => undefined);
      tails.set(streamId, tail);
      // The last one out removes the entry, so idle streams cost nothing.
      void tail.then(() => { if (tails.get(streamId) === tail) tails.delete(streamId); });
      return result;
    },
    get busy() { return tails.size; },
  };
}
