// Kafka adapter: client factory, the per-cluster topic, and translation of kafkajs errors into ours.
import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { PeerlogError } from '../../commands/errors.js';
import type { Logger } from '../log/index.js';

export function topicFor(clusterId: string): string {
  return `peerlog.${clusterId}.events`;
}

export function createKafka(brokers: readonly string[], clientId: string, logger?: Logger, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }) => {
      if (!logger) return;
      // kafkajs's own errors and warnings surface through our error handling, where they are
      // logged once with context; its log lines stay at debug.
      if (level > logLevel.WARN) return;
      const { message, ...rest } = log;
      logger.debug(`kafkajs: ${message}`, { namespace, ...rest });
    },
    ...extra,
  });
}

/** Kafka is unreachable or refused a request that may succeed later. */
export class KafkaUnavailableError extends PeerlogError {
  constructor(message: string, cause: unknown) {
    super('KafkaUnavailable', message, { cause, retriable: true });
  }
}

export function translateKafkaError(what: string, e: unknown): PeerlogError {
  if (e instanceof PeerlogError) return e;
  const err = e as { name?: string; message?: string; retriable?: boolean };
  return new KafkaUnavailableError(`${what}: ${err.name ?? 'Error'}: ${err.message ?? String(e)}`, e);
}

/**
 * Creates the cluster's event topic if it is missing: infinite retention (the log is the source of
 * truth) and a fixed partition count, since changing it would move streams between partitions.
 */
export async function ensureEventTopic(admin: Admin, topic: string, partitions = 3): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{
      topic, numPartitions: partitions, replicationFactor: 1,
      configEntries: [
        { name: 'retention.ms', value: '-1' },
        { name: 'retention.bytes', value: '-1' },
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'min.insync.replicas', value: '1' },
      ],
    }],
  });
}
