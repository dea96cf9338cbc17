// Per-partition work queues between the Kafka fetch loop and the projection's transactions. The
// consumer hands a batch over and fetches the next while the last one is still being written, so
// the log's reading, the events' decoding and PostgreSQL's writing overlap instead of taking turns.
// Batches of one partition are applied one after another, in the order handed over; a bounded
// depth keeps memory flat (the fetch loop waits when a partition is that far ahead).

export interface PartitionPipeline<T> {
  /**
   * Queues `item` for `partition`; resolves once it is queued (waiting while the partition already
   * has `depth` items waiting), or at once, dropping it, after the pipeline is closed.
   * `whileWaiting` runs about every `waitTickMs` while it waits (the consumer's heartbeat).
   */
  push(partition: number, item: T, whileWaiting?: () => Promise<void>): Promise<void>;
  /**
   * Stops taking items, drops those not started and resolves once the items being worked on are
   * done. After a failure the pipeline closes itself; `closed` then resolves with the error.
   */
  close(): Promise<void>;
  /** Resolves when the pipeline closes: with the work's error if one closed it, else undefined. */
  readonly closed: Promise<unknown>;
}

export interface PipelineOptions<T> {
  /** Items that may wait per partition besides the one being worked on. */
  readonly depth: number;
  readonly work: (partition: number, item: T) => Promise<void>;
  readonly waitTickMs?: number;
}

interface Lane<T> {
  readonly waiting: T[];
  running?: Promise<void>;
  /** Pushes waiting for room in this lane. */
  readonly room: Array<() => void>;
}

export function createPartitionPipeline<T>(o: PipelineOptions<T>): PartitionPipeline<T> {
  const lanes = new Map<number, Lane<T>>();
  let isClosed = false;
  let settle!: (error: unknown) => void;
  const closed = new Promise<unknown>((resolve) => { settle = resolve; });

  const lane = (partition: number): Lane<T> => {
    let l = lanes.get(partition);
    if (!l) lanes.set(partition, l = { waiting: [], room: [] });
    return l;
  };

  const shut = (error: unknown): void => {
    if (isClosed) return;
    isClosed = true;
    for (const l of lanes.values()) {
      l.waiting.length = 0;
      for (const wake of [...l.room]) wake();
    }
    settle(error);
  };

  /** Resolves when the lane has room, the pipeline closes, or a wait tick passes. */
  const roomIn = (l: Lane<T>): Promise<void> => new Promise<void>((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      const at = l.room.indexOf(wake);
      if (at >= 0) l.room.splice(at, 1);
      resolve();
    };
    const timer = setTimeout(wake, o.waitTickMs ?? 1000);
    l.room.push(wake);
  });

  async function drain(partition: number, l: Lane<T>): Promise<void> {
    while (!isClosed && l.waiting.length > 0) {
      const item = l.waiting.shift()!;
      l.room[0]?.();
      try {
        await o.work(partition, item);
      } catch (error) {
        shut(error);
      }
    }
    l.running = undefined;
  }

  return {
    closed,
    async push(partition, item, whileWaiting) {
      const l = lane(partition);
      while (!isClosed && l.waiting.length >= o.depth) {
        await roomIn(l);
        if (!isClosed && l.waiting.length >= o.depth && whileWaiting) await whileWaiting();
      }
      if (isClosed) return;
      l.waiting.push(item);
      l.running ??= drain(partition, l);
    },
    async close() {
      shut(undefined);
      await Promise.all([...lanes.values()].map((l) => l.running));
    },
  };
}
