// Reads a topic whole, every partition from offset 0 to where it ended when the read began, for
// `peerlog audit`. A consumer group of its own (random id, deleted after) so no projection's
// checkpoint moves; records reach `onRecord` per partition in offset order. `pauseWhen` lets the
// caller hold back a partition that runs far ahead of the others (the chain walk buffers it).
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { translateKafkaError } from './client.js';
import { PeerlogError } from '../../errors.js';

/** The topic asked for does not exist: a usage mistake, not a Kafka outage. */
export class TopicNotFoundError extends PeerlogError {
  constructor(topic: string) { super('TopicNotFound', `topic ${topic} does not exist`, { retriable: false }); }
}

export interface TopicRecord { readonly partition: number; readonly offset: string; readonly value: Buffer | null }

export interface ReadOptions {
  readonly onRecord: (record: TopicRecord) => void;
  /** Called after each batch: true to pause the partition until `resumeWhen` says so. */
  readonly pauseWhen?: (partition: number) => boolean;
  readonly resumeWhen?: (partition: number) => boolean;
  /** Called after each batch (the walk advances here). */
  readonly afterBatch?: () => void;
}

/** The topic's partitions (ascending), for a reader to lay out its queues before records arrive. */
export async function topicPartitions(kafka: Kafka, topic: string): Promise<{ partition: number; end: bigint }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new TopicNotFoundError(topic);
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, end: BigInt(o.high) })).sort((a, b) => a.partition - b.partition);
  } catch (e) {
    throw e instanceof TopicNotFoundError ? e : translateKafkaError(`reading the partitions of ${topic}`, e);
  } finally { await admin.disconnect(); }
}

export async function readTopic(kafka: Kafka, topic: string, ends: readonly { partition: number; end: bigint }[], o: ReadOptions): Promise<void> {
  const left = new Set(ends.filter((e) => e.end > 0n).map((e) => e.partition));
  if (left.size === 0) return;
  const endOf = new Map(ends.map((e) => [e.partition, e.end]));
  const groupId = `peerlog-audit-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 32 * 1024 * 1024, maxWaitTimeInMs: 100 });
  const paused = new Set<number>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch }) => {
          const end = endOf.get(batch.partition) ?? 0n;
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= end) break;
            o.onRecord({ partition: batch.partition, offset: m.offset, value: m.value });
          }
          const last = batch.messages.at(-1);
          if (last && BigInt(last.offset) + 1n >= end) left.delete(batch.partition);
          o.afterBatch?.();
          for (const p of [...paused]) if (o.resumeWhen?.(p) ?? true) { paused.delete(p); consumer.resume([{ topic, partitions: [p] }]); }
          if (left.has(batch.partition) && o.pauseWhen?.(batch.partition)) { paused.add(batch.partition); consumer.pause([{ topic, partitions: [batch.partition] }]); }
          if (left.size === 0) resolve();
        },
      }).catch(reject);
    });
  } catch (e) {
    throw translateKafkaError(`reading ${topic}`, e);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect().then(() => admin.deleteGroups([groupId])).catch(() => undefined).finally(() => admin.disconnect().catch(() => undefined));
  }
}
