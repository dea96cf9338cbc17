// Wiring of one cluster's control plane: database (migrated, unless a reader asks it not to be),
// event store, Kafka, command handler ports, the read side's queries, the outbox relay and the
// projection runners, from a validated configuration.
import type { DataSource } from './adapters/postgres/datasource.js';
import type { Kafka } from './adapters/kafka/client.js';
import type { PeerlogConfig } from './config.js';
import { InternalError } from './errors.js';
import type { HandlerPorts } from './commands/handle.js';
import { createCommandBus, type CommandBus } from './commands/bus.js';
import { createStreamCache } from './commands/cache.js';
import { parseEventJson } from './events/index.js';
import { MIGRATION_NAMES, openDataSource, migrate, pendingMigrations } from './adapters/postgres/datasource.js';
import { createCertificateStore, type CertificateStore } from './adapters/postgres/certificates.js';
import { createReadModelQueries } from './adapters/postgres/queries.js';
import type { ReadModelQueries } from './ports.js';
import { SchemaNotMigratedError } from './errors.js';
import { createEventStore } from './adapters/postgres/event-store.js';
import { createViewStore, type ViewStore } from './adapters/postgres/views.js';
import { READ_MODEL_ENTITIES } from './adapters/postgres/entities.js';
import { createKafka, kafkaSecurityOptions, prepareEventTopic, topicFor, type TopicReport, type TopicSettings } from './adapters/kafka/client.js';
import { uuidv7 } from './adapters/ids/index.js';
import { createRelay, type Relay, type RelayOptions } from './adapters/kafka/relay.js';
import type { Logger } from './adapters/log/index.js';
import { createProjectionRunner, resetProjection, type Projection, type ProjectionRunner, type RunnerOptions } from './adapters/kafka/projection-runner.js';
import { createReadModelProjection } from './adapters/postgres/read-models.js';
import { streamFolder } from './projections/read-models/folder.js';
import { createMetricsQueries, type MetricsQueries } from './adapters/postgres/metrics.js';
import { createEndOffsets, type EndOffsets } from './adapters/kafka/offsets.js';

export interface Runtime {
  readonly config: PeerlogConfig;
  /** The read side: read models, a stream's events in the outbox, the hash chain, a ping. */
  readonly queries: ReadModelQueries;
  /** The certificates this cluster signed as a provider. */
  readonly certificates: CertificateStore;
  readonly logger: Logger;
  readonly ports: HandlerPorts;
  /** The views the effect projections fold from the log. */
  readonly views: ViewStore;
  /** Commands to this cluster's peering aggregates, serialised per stream within this process. */
  readonly bus: CommandBus;
  relay(extra?: Partial<RelayOptions>): Relay;
  projection(projection: Projection, extra?: Partial<RunnerOptions>): ProjectionRunner;
  readModels(extra?: Partial<RunnerOptions>): ProjectionRunner;
  /** Empties a projection's tables, checkpoints and dead letters for a rebuild; the new generation. */
  resetProjection(projection: Projection): Promise<number>;
  /** How this cluster's event topic is made, and what an existing one must have. */
  readonly topic: TopicSettings;
  /** Creates or checks the event topic once, with a client that does not wait long for an absent Kafka. */
  checkTopic(): Promise<TopicReport>;
  /** What /metrics reads at each scrape: the database's counts and checkpoints, and the event topic's ends. */
  metricsSources(): { readonly queries: MetricsQueries; readonly ends: EndOffsets };
  close(): Promise<void>;
}

export interface OpenOptions {
  /**
   * Run the pending migrations (default true). Read-only verbs pass false: the schema is then
   * neither created nor changed, and one that lacks a migration is refused (SchemaNotMigrated).
   */
  readonly migrate?: boolean;
}

export async function openRuntime(config: PeerlogConfig, logger: Logger, options: OpenOptions = {}): Promise<Runtime> {
  const migrating = options.migrate ?? true;
  const ds = await openDataSource({
    url: config.databaseUrl, schema: config.dbSchema, poolSize: 20, entities: [...READ_MODEL_ENTITIES], createSchema: migrating,
  });
  try {
    if (migrating) {
      await migrate(ds);
    } else {
      const pending = await pendingMigrations(ds);
      if (pending.length > 0) throw new SchemaNotMigratedError(config.dbSchema, pending, MIGRATION_NAMES.length);
    }
  } catch (e) {
    await ds.destroy();
    throw e;
  }
  // TLS and SASL files are read once, now: a bad one fails the start naming its setting.
  const security = kafkaSecurityOptions(config);
  const kafka = createKafka(config.kafkaBrokers, `peerlog-${config.clusterId}`, logger.child({ component: 'kafka' }), security);
  const store = createEventStore(ds);
  const ports: HandlerPorts = { store, clusterId: config.clusterId, newId: () => uuidv7(), cache: createStreamCache() };
  const topic: TopicSettings = {
    partitions: 3, bootstrap: config.kafkaBrokers.join(','),
    ...(config.kafkaReplicationFactor !== undefined ? { replicationFactor: config.kafkaReplicationFactor } : {}),
    ...(config.kafkaMinInsyncReplicas !== undefined ? { minInsyncReplicas: config.kafkaMinInsyncReplicas } : {}),
  };
  const kafkaBrokers = config.kafkaBrokers;
  const rt: Runtime = {
    config, logger, ports, bus: createCommandBus(ports), topic, views: createViewStore(ds),
    queries: createReadModelQueries(ds), certificates: createCertificateStore(ds),
    resetProjection: (projection) => resetProjection(ds, projection),
    relay: (extra = {}) => createRelay({ ds, databaseUrl: config.databaseUrl, kafka, clusterId: config.clusterId, logger, topic, kafkaBrokers, ...extra }),
    projection: (projection, extra = {}) => createProjectionRunner({
      ds, databaseUrl: config.databaseUrl, kafka, clusterId: config.clusterId, dbSchema: config.dbSchema, projection,
      decode: (value) => parseEventJson(value), logger, topic, kafkaBrokers, ...extra,
    }),
    async checkTopic() {
      const quick = createKafka(config.kafkaBrokers, `peerlog-${config.clusterId}-check`, logger.child({ component: 'kafka' }), { ...security, retry: { retries: 1, initialRetryTime: 100 } });
      return prepareEventTopic(quick, topicFor(config.clusterId), topic, logger.child({ component: 'kafka' }));
    },
    readModels: (extra = {}) => rt.projection(createReadModelProjection(streamFolder), extra),
    metricsSources: () => ({
      queries: createMetricsQueries(ds),
      // A client that gives up at once: a scrape with Kafka away answers the rest without waiting.
      ends: createEndOffsets(createKafka(config.kafkaBrokers, `peerlog-${config.clusterId}-metrics`, logger.child({ component: 'kafka' }), { retry: { retries: 0 } }), topicFor(config.clusterId)),
    }),
    close: async () => { await ds.destroy(); },
  };
  drivers.set(rt, { ds, kafka });
  return rt;
}

/** The drivers behind a runtime, which no port of it hands out. */
export interface Drivers {
  readonly ds: DataSource;
  readonly kafka: Kafka;
}

const drivers = new WeakMap<Runtime, Drivers>();

/**
 * The database and Kafka clients behind `rt`, for what checks peerlog from the outside: tests and
 * benchmarks reading tables and topics directly, as an independent client would. Production code
 * goes through the runtime's ports.
 */
export function driversOf(rt: Runtime): Drivers {
  const d = drivers.get(rt);
  if (!d) throw new InternalError('NoDrivers', 'this runtime was not opened by openRuntime');
  return d;
}
