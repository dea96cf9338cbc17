// The end of the event topic's partitions (the offset the next event will get), for /metrics: one
// admin client kept connected between scrapes, asked with a short timeout so that a scrape with
// Kafka away answers the rest at once.
import type { Kafka } from './client.js';
import { KafkaUnavailableError } from './client.js';
import { TimeoutError } from '../../errors.js';

export interface PartitionEnd { readonly partition: number; readonly high: bigint }

export interface EndOffsets {
  /** Every partition's high watermark; throws KafkaUnavailable or TimeoutError when Kafka does not answer. */
  read(): Promise<readonly PartitionEnd[]>;
  close(): Promise<void>;
}

export function createEndOffsets(kafka: Kafka, topic: string, timeoutMs = 2000): EndOffsets {
  let admin: ReturnType<Kafka['admin']> | undefined;
  let connecting: Promise<void> | undefined;
  const drop = async () => { const a = admin; admin = undefined; connecting = undefined; await a?.disconnect().catch(() => undefined); };
  return {
    async read() {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new TimeoutError('KafkaOffsetsTimeout', `Kafka did not give the ends of ${topic} within ${timeoutMs} ms`)), timeoutMs); });
      try {
        if (!admin) { admin = kafka.admin(); connecting = admin.connect(); }
        await Promise.race([connecting, deadline]);
        const ends = await Promise.race([admin.fetchTopicOffsets(topic), deadline]);
        return ends.map((e) => ({ partition: e.partition, high: BigInt(e.high) }));
      } catch (e) {
        // A connection in a bad state is made afresh at the next scrape.
        await drop();
        if (e instanceof TimeoutError) throw e;
        throw new KafkaUnavailableError(`cannot read the ends of ${topic}: ${(e as Error).message}`, e);
      } finally {
        clearTimeout(timer);
      }
    },
    close: drop,
  };
}
