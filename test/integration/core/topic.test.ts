import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { startControlPlane } from '../../../src/control-plane.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { dropSchema } from '../../../src/adapters/postgres/datasource.js';
import type { PeerlogConfig } from '../../../src/config.js';
import { clusterConfig } from '../../support/auth.js';
import { openTestRuntime, testLogger } from '../../support/core.js';
import { stackEnv } from '../../support/env.js';

// An independent client: the test's own view of the topic, not the code under test's.
const kafka = () => new Kafka({ brokers: stackEnv().kafkaBrokers, logLevel: logLevel.NOTHING });

async function withAdmin<T>(work: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka().admin();
  await admin.connect();
  try { return await work(admin); } finally { await admin.disconnect(); }
}

/** Starts a control plane that must be refused; answers the error (a start that succeeds is stopped and fails the test). */
async function refusedStart(config: PeerlogConfig): Promise<Error> {
  try {
    const cp = await startControlPlane(config, testLogger());
    await cp.stop();
  } catch (e) {
    return e as Error;
  } finally {
    await dropSchema(config.databaseUrl, config.dbSchema);
    await withAdmin(async (a) => { if ((await a.listTopics()).includes(topicFor(config.clusterId))) await a.deleteTopics({ topics: [topicFor(config.clusterId)] }); });
  }
  assert.fail('the control plane started');
}

test('an existing event topic with a finite retention.ms refuses the start, saying how to fix it', async () => {
  const config = clusterConfig('beta', 'topicret');
  const topic = topicFor(config.clusterId);
  await withAdmin((a) => a.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] }] }));
  const e = await refusedStart(config);
  assert.match(e.message, /cannot start \(kafka\)/);
  assert.match(e.message, new RegExp(`event topic ${topic.replace(/\./g, '\\.')} is refused: it has retention\\.ms=60000`));
  assert.match(e.message, new RegExp(`kafka-configs\\.sh --bootstrap-server ${config.kafkaBrokers[0]} --alter --entity-type topics --entity-name ${topic.replace(/\./g, '\\.')} --add-config retention\\.ms=-1`));
  // The broker's default retention.bytes is -1: only what is wrong is named.
  assert.doesNotMatch(e.message, /retention\.bytes/);
  assert.equal((e as { retriable?: boolean }).retriable, false);
});

test('an existing event topic with one partition refuses the start', async () => {
  const config = clusterConfig('beta', 'topicpart');
  const topic = topicFor(config.clusterId);
  await withAdmin((a) => a.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] }] }));
  const e = await refusedStart(config);
  assert.match(e.message, /it has 1 partition\(s\), where peerlog places streams by key over exactly 3/);
  assert.match(e.message, /kafka-topics\.sh --bootstrap-server \S+ --delete --topic/);
});

test('a replication factor above the brokers of the cluster refuses the start', async () => {
  const config = clusterConfig('beta', 'topicrf', { kafkaReplicationFactor: 3 });
  const e = await refusedStart(config);
  assert.match(e.message, /replication factor 3 \(--kafka-replication-factor\) is more than the 1 broker\(s\) of the Kafka cluster/);
});

test('by default the event topic gets replication factor min(3, brokers) = 1 on the one-broker stack, min ISR 1 and infinite retention', async () => {
  const rt = await openTestRuntime('topicdef');
  try {
    const report = await rt.checkTopic();
    assert.equal(report.created, true);
    const topic = topicFor(rt.config.clusterId);
    const meta = await withAdmin((a) => a.fetchTopicMetadata({ topics: [topic] }));
    assert.deepEqual(meta.topics[0]!.partitions.map((p) => p.replicas.length).sort(), [1, 1, 1]);
    const configs = await withAdmin((a) => a.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'retention.bytes', 'min.insync.replicas', 'cleanup.policy'] }] }));
    const got = Object.fromEntries(configs.resources[0]!.configEntries.map((c) => [c.configName, c.configValue]));
    assert.deepEqual(got, { 'retention.ms': '-1', 'retention.bytes': '-1', 'min.insync.replicas': '1', 'cleanup.policy': 'delete' });
    // Checked again, as at every start: the topic it made passes.
    assert.deepEqual((await rt.checkTopic()).warnings, []);
  } finally {
    await rt.cleanup();
  }
});
