import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { stackEnv, uniqueName, eventually } from '../../support/env.js';

test('kafkajs: create a topic, produce with acks=all, consume the same messages back', async () => {
  const env = stackEnv();
  const kafka = new Kafka({ clientId: 'peerlog-test', brokers: env.kafkaBrokers, logLevel: logLevel.NOTHING });
  const topic = uniqueName('stack-kafka');
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  assert.equal(created, true);
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.equal(meta.topics[0]?.partitions.length, 3);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = Array.from({ length: 50 }, (_, i) => ({ key: `stream-${i % 5}`, value: JSON.stringify({ n: i }) }));
  await producer.send({ topic, acks: -1, messages: sent });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName('stack-kafka-group') });
  const received: { key: string; n: number; partition: number }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      received.push({ key: message.key!.toString(), n: (JSON.parse(message.value!.toString()) as { n: number }).n, partition });
    },
  });
  await eventually('all 50 messages back', async () => (received.length >= 50 ? true : undefined));
  await consumer.disconnect();

  assert.deepEqual(received.map((r) => r.n).sort((a, b) => a - b), sent.map((_, i) => i));
  // One key stays in one partition, in the order it was produced.
  for (let k = 0; k < 5; k++) {
    const ofKey = received.filter((r) => r.key === `stream-${k}`);
    assert.equal(new Set(ofKey.map((r) => r.partition)).size, 1);
    assert.deepEqual(ofKey.map((r) => r.n), ofKey.map((r) => r.n).sort((a, b) => a - b));
  }
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});
