// Kafka adapter: client factory, the per-cluster topic, and translation of kafkajs errors into ours.
import { readFileSync } from 'node:fs';
import kafkajs, { Kafka, logLevel, type Admin, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { PeerlogError, ValidationError } from '../../errors.js';
import type { KafkaSaslSettings, KafkaTlsSettings } from '../../config.js';
import type { Logger } from '../log/index.js';

/** The client's types that code outside the adapters names (the client itself stays here). */
export type { Consumer, Kafka, KafkaMessage } from 'kafkajs';

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

export interface KafkaSecurity {
  readonly kafkaTls: KafkaTlsSettings | undefined;
  readonly kafkaSasl: KafkaSaslSettings | undefined;
}

/**
 * kafkajs's `ssl` and `sasl` options from the settings, the files read now (at start) with `read`.
 * A file that cannot be read fails naming its setting.
 */
export function kafkaSecurityOptions(sec: KafkaSecurity, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const file = (setting: string, path: string) => {
    try { return read(path); } catch (e) {
      throw new ValidationError(`setting ${setting}: cannot read ${path}: ${(e as Error).message}`, { field: setting, code: 'InvalidSetting', cause: e });
    }
  };
  const out: { ssl?: KafkaConfig['ssl']; sasl?: SASLOptions } = {};
  const t = sec.kafkaTls;
  if (t) {
    out.ssl = {
      rejectUnauthorized: true,
      ...(t.ca !== undefined ? { ca: [file('kafka-ca', t.ca)] } : {}),
      ...(t.cert !== undefined ? { cert: file('kafka-cert', t.cert) } : {}),
      ...(t.key !== undefined ? { key: file('kafka-key', t.key) } : {}),
    };
  }
  const a = sec.kafkaSasl;
  if (a) {
    // A password file may end with the newline an editor or `kubectl create secret --from-file` leaves.
    const password = 'value' in a.password ? a.password.value : file('kafka-sasl-password-file', a.password.file).replace(/\r?\n$/, '');
    out.sasl = { mechanism: a.mechanism, username: a.username, password } as SASLOptions;
  }
  return out;
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

/** True for errors of Kafka itself (kafkajs's, or ours for Kafka being away), not of the code around it. */
export function isKafkaError(e: unknown): boolean {
  if (e instanceof KafkaUnavailableError) return true;
  const name = (e as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name.startsWith('KafkaJS');
}

/** The event topic exists with settings that would lose or misplace events: fixed by an operator, not by retrying. */
export class TopicMisconfiguredError extends PeerlogError {
  constructor(message: string) {
    super('TopicMisconfigured', message, { retriable: false });
  }
}

/** How the event topic is made (and what an existing one must have). */
export interface TopicSettings {
  /** A stream's partition follows from its key and the count: the count never changes under a log. */
  readonly partitions: number;
  /** Default: min(3, brokers in the cluster). */
  readonly replicationFactor?: number;
  /** Default: see defaultMinInsyncReplicas. */
  readonly minInsyncReplicas?: number;
  /** For the commands in error messages (`--bootstrap-server`). */
  readonly bootstrap?: string;
}

export const EVENT_TOPIC: TopicSettings = { partitions: 3 };

/**
 * min.insync.replicas for a replication factor: 2 from RF 3 up, so that an event acknowledged
 * (acks=all) is on two brokers while one broker may be down without stopping the relay; 1 below, since
 * with RF 2 a minimum of 2 would stop every append whenever either broker restarts.
 */
export function defaultMinInsyncReplicas(replicationFactor: number): number {
  return replicationFactor >= 3 ? 2 : 1;
}

export interface TopicReport {
  readonly created: boolean;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  /** What is weaker than asked but loses nothing by itself (a lower replication factor). */
  readonly warnings: readonly string[];
}

const TOPIC_CONFIGS = ['retention.ms', 'retention.bytes', 'cleanup.policy', 'min.insync.replicas'] as const;

/**
 * Creates the cluster's event topic if it is missing: infinite retention (the log is the source of
 * truth), the replication factor and min ISR asked (or their defaults) and a fixed partition count,
 * since changing it would move streams between partitions. A topic that exists already (made by
 * hand, or auto-created with the broker's 7-day retention) is refused when it would lose events
 * (finite retention, compaction) or place them elsewhere (another partition count); a replication
 * lower than asked is reported.
 */
export async function ensureEventTopic(admin: Admin, topic: string, settings: TopicSettings = EVENT_TOPIC): Promise<TopicReport> {
  const { brokers } = await admin.describeCluster();
  const rf = settings.replicationFactor ?? Math.min(3, brokers.length);
  if (rf > brokers.length) {
    throw new TopicMisconfiguredError(`replication factor ${rf} (--kafka-replication-factor) is more than the ${brokers.length} broker(s) of the Kafka cluster: lower it, or add brokers`);
  }
  const minIsr = settings.minInsyncReplicas ?? defaultMinInsyncReplicas(rf);
  if (minIsr > rf) {
    throw new TopicMisconfiguredError(`min.insync.replicas ${minIsr} (--kafka-min-insync-replicas) is more than the replication factor ${rf}: no append could ever succeed`);
  }
  let created = false;
  if (!(await admin.listTopics()).includes(topic)) {
    try {
      created = await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic, numPartitions: settings.partitions, replicationFactor: rf,
          configEntries: [
            { name: 'retention.ms', value: '-1' },
            { name: 'retention.bytes', value: '-1' },
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'min.insync.replicas', value: String(minIsr) },
          ],
        }],
      });
    } catch (e) {
      // Made meanwhile by another process: checked below like any existing topic.
      if ((e as { type?: unknown }).type !== 'TOPIC_ALREADY_EXISTS' && !String((e as Error).message).includes('already exists')) throw e;
    }
    if (created) return { created, partitions: settings.partitions, replicationFactor: rf, minInsyncReplicas: minIsr, warnings: [] };
  }
  return checkTopic(admin, topic, settings, rf, minIsr);
}

/** ensureEventTopic on an admin client of its own; logs what is weaker than asked. */
export async function prepareEventTopic(kafka: Kafka, topic: string, settings: TopicSettings = EVENT_TOPIC, log?: Logger): Promise<TopicReport> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const report = await ensureEventTopic(admin, topic, settings);
    for (const w of report.warnings) log?.warn(w);
    return report;
  } finally { await admin.disconnect(); }
}

async function checkTopic(admin: Admin, topic: string, settings: TopicSettings, rf: number, minIsr: number): Promise<TopicReport> {
  const meta = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!;
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: [...TOPIC_CONFIGS] }],
  });
  const configs = new Map((described.resources[0]?.configEntries ?? []).map((c) => [c.configName, c.configValue]));
  const server = settings.bootstrap ?? '<broker>';
  const alter = (config: string) => `kafka-configs.sh --bootstrap-server ${server} --alter --entity-type topics --entity-name ${topic} --add-config ${config}`;
  const problems: string[] = [];
  for (const key of ['retention.ms', 'retention.bytes'] as const) {
    const v = configs.get(key);
    if (v !== undefined && v !== '-1') problems.push(`${key}=${v}, so Kafka deletes events of the log, its source of truth (set it to -1: ${alter(`${key}=-1`)})`);
  }
  const policy = configs.get('cleanup.policy') ?? 'delete';
  if (policy.includes('compact')) problems.push(`cleanup.policy=${policy}, so Kafka keeps only the last event of each stream (set it to delete: ${alter('cleanup.policy=delete')})`);
  const partitions = meta.partitions.length;
  if (partitions !== settings.partitions) {
    problems.push(`${partitions} partition(s), where peerlog places streams by key over exactly ${settings.partitions} (the count cannot change under a log: `
      + `if the topic holds no events of this cluster, delete it, \`kafka-topics.sh --bootstrap-server ${server} --delete --topic ${topic}\`, and peerlog creates it; `
      + `otherwise copy its events into a topic made with ${settings.partitions} partitions)`);
  }
  if (problems.length > 0) throw new TopicMisconfiguredError(`event topic ${topic} is refused: it has ${problems.join('; and ')}`);
  const replicationFactor = Math.min(...meta.partitions.map((p) => p.replicas.length));
  const minInsyncReplicas = Number(configs.get('min.insync.replicas') ?? '1');
  const warnings: string[] = [];
  if (replicationFactor < rf) {
    warnings.push(`event topic ${topic} has replication factor ${replicationFactor}, less than the ${rf} asked: losing a broker can lose events; raise it with kafka-reassign-partitions.sh`);
  }
  if (minInsyncReplicas < minIsr) {
    warnings.push(`event topic ${topic} has min.insync.replicas=${minInsyncReplicas}, less than the ${minIsr} asked: ${alter(`min.insync.replicas=${minIsr}`)}`);
  }
  return { created: false, partitions, replicationFactor, minInsyncReplicas, warnings };
}
