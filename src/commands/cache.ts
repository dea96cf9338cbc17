// The state and version this process last appended for each stream, so that its next command on
// that stream needs no read first. A stale entry (another process appended since) cannot slip
// through: the append's version check refuses it, and the handler then decides again on fresh state.
// The port it implements is the handler's (handle.ts), which never imports this file.
import type { StoredStream, StreamCache } from './handle.js';

export type { StreamCache };

/** A least-recently-used cache of at most `max` streams. */
export function createStreamCache(max = 10_000): StreamCache {
  const entries = new Map<string, StoredStream<unknown>>();
  return {
    get<S>(streamId: string) {
      const hit = entries.get(streamId);
      if (hit === undefined) return undefined;
      entries.delete(streamId);
      entries.set(streamId, hit);
      return hit as StoredStream<S>;
    },
    set(streamId, stored) {
      entries.delete(streamId);
      entries.set(streamId, stored);
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
    delete(streamId) { entries.delete(streamId); },
    get size() { return entries.size; },
  };
}
