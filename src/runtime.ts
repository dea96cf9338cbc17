// Wiring of one cluster's control plane: database (migrated), event store, Kafka, command
// handler ports, the outbox relay and the projection runners, from a validated configuration.
import type { DataSource } from './adapters/postgres/datasource.js';
import type { Kafka } from './adapters/kafka/client.js';
import type { PeerlogConfig } from './config.js';
import type { HandlerPorts } from './commands/handle.js';
import { createCommandBus, type CommandBus } from './commands/bus.js';
import { createStreamCache } from './commands/cache.js';
import { parseEventJson } from './events/index.js';
import { openDataSource, migrate } from './adapters/postgres/datasource.js';
import { createEventStore } from './adapters/postgres/event-store.js';
import { createViewStore, type ViewStore } from './adapters/postgres/views.js';
import { READ_MODEL_ENTITIES } from './adapters/postgres/entities.js';
import { createKafka, prepareEventTopic, topicFor, type TopicReport, type TopicSettings } from './adapters/kafka/client.js';
import { uuidv7 } from './adapters/ids/index.js';
import { createRelay, type Relay, type RelayOptions } from './adapters/kafka/relay.js';
import type { Logger } from './adapters/log/index.js';
import { createProjectionRunner, type Projection, type ProjectionRunner, type RunnerOptions } from './projections/runner.js';
import { createReadModelProjection } from './projections/read-models/index.js';
import { streamFolder } from './projections/read-models/folder.js';

export interface Runtime {
  readonly config: PeerlogConfig;
  readonly ds: DataSource;
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly ports: HandlerPorts;
  /** The views the effect projections fold from the log. */
  readonly views: ViewStore;
  /** Commands to this cluster's peering aggregates, serialised per stream within this process. */
  readonly bus: CommandBus;
  relay(extra?: Partial<RelayOptions>): Relay;
  projection(projection: Projection, extra?: Partial<RunnerOptions>): ProjectionRunner;
  readModels(extra?: Partial<RunnerOptions>): ProjectionRunner;
  /** How this cluster's event topic is made, and what an existing one must have. */
  readonly topic: TopicSettings;
  /** Creates or checks the event topic once, with a client that does not wait long for an absent Kafka. */
  checkTopic(): Promise<TopicReport>;
  close(): Promise<void>;
}

export async function openRuntime(config: PeerlogConfig, logger: Logger): Promise<Runtime> {
  const ds = await openDataSource({ url: config.databaseUrl, schema: config.dbSchema, poolSize: 20, entities: [...READ_MODEL_ENTITIES] });
  try {
    await migrate(ds);
  } catch (e) {
    await ds.destroy();
    throw e;
  }
  const kafka = createKafka(config.kafkaBrokers, `peerlog-${config.clusterId}`, logger.child({ component: 'kafka' }));
  const store = createEventStore(ds);
  const ports: HandlerPorts = { store, clusterId: config.clusterId, newId: () => uuidv7(), cache: createStreamCache() };
  const topic: TopicSettings = {
    partitions: 3, bootstrap: config.kafkaBrokers.join(','),
    ...(config.kafkaReplicationFactor !== undefined ? { replicationFactor: config.kafkaReplicationFactor } : {}),
    ...(config.kafkaMinInsyncReplicas !== undefined ? { minInsyncReplicas: config.kafkaMinInsyncReplicas } : {}),
  };
  const kafkaBrokers = config.kafkaBrokers;
  const rt: Runtime = {
    config, ds, kafka, logger, ports, bus: createCommandBus(ports), topic, views: createViewStore(ds),
    relay: (extra = {}) => createRelay({ ds, databaseUrl: config.databaseUrl, kafka, clusterId: config.clusterId, logger, topic, kafkaBrokers, ...extra }),
    projection: (projection, extra = {}) => createProjectionRunner({
      ds, databaseUrl: config.databaseUrl, kafka, clusterId: config.clusterId, dbSchema: config.dbSchema, projection,
      decode: (value) => parseEventJson(value), logger, topic, kafkaBrokers, ...extra,
    }),
    async checkTopic() {
      const quick = createKafka(config.kafkaBrokers, `peerlog-${config.clusterId}-check`, logger.child({ component: 'kafka' }), { retry: { retries: 1, initialRetryTime: 100 } });
      return prepareEventTopic(quick, topicFor(config.clusterId), topic, logger.child({ component: 'kafka' }));
    },
    readModels: (extra = {}) => rt.projection(createReadModelProjection(streamFolder), extra),
    close: async () => { await ds.destroy(); },
  };
  return rt;
}
