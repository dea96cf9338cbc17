// A fresh cluster log for one test: its own cluster id, so its own topic and PostgreSQL schema.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type PeerlogConfig } from '../../src/config.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { dropSchema } from '../../src/adapters/postgres/datasource.js';
import { topicFor } from '../../src/adapters/kafka/client.js';
import { createLogger, silentLogger, type Logger } from '../../src/adapters/log/index.js';
import type { CommandMetadata } from '../../src/commands/command.js';
import type { OutgoingCommand } from '../../src/commands/outgoing/commands.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { parseEvent } from '../../src/events/index.js';
import { stackEnv, uniqueName, eventually } from './env.js';
import { driversOf } from '../../src/runtime.js';

export function testConfig(prefix: string): PeerlogConfig {
  const env = stackEnv();
  const clusterId = uniqueName(prefix);
  return loadConfig({ clusterId, kafkaBrokers: env.kafkaBrokers.join(','), databaseUrl: env.databaseUrl, dbSchema: `t_${clusterId.replace(/-/g, '_')}` });
}

export function testLogger(lines?: string[]): Logger {
  if (lines) return createLogger({ level: 'debug', write: (l) => { lines.push(l); } });
  return process.env.PEERLOG_TEST_LOGS ? createLogger({ level: 'debug' }) : silentLogger;
}

export async function openTestRuntime(prefix: string, lines?: string[]): Promise<Runtime & { cleanup(): Promise<void> }> {
  const config = testConfig(prefix);
  const rt = await openRuntime(config, testLogger(lines));
  return Object.assign(rt, {
    async cleanup() {
      await rt.close();
      await dropSchema(config.databaseUrl, config.dbSchema);
      const admin = driversOf(rt).kafka.admin();
      await admin.connect();
      try { await admin.deleteTopics({ topics: [topicFor(config.clusterId)] }); } catch { /* never created */ }
      await admin.disconnect();
    },
  });
}

export function meta(n = 0): CommandMetadata {
  return {
    now: new Date(Date.UTC(2026, 10, 24, 8, 0, 0) + n * 1000).toISOString(),
    actor: { kind: 'cli', name: 'test' },
    correlationId: randomUUID(),
    commandId: randomUUID(),
  };
}

/** The consumer's commands of one peering up to a Ready virtual node, with offer generation `g`. */
export function peeringScript(remote: string): OutgoingCommand[] {
  return [
    { type: 'RequestPeering', data: { remoteClusterId: remote, remoteClusterName: remote, authUrl: `https://127.0.0.1:1/${remote}` }, metadata: meta(1) },
    { type: 'RequestIdentity', data: { publicKeyFingerprint: 'a'.repeat(64), csrFingerprint: 'b'.repeat(64) }, metadata: meta(2) },
    { type: 'RecordCertificate', data: { certFingerprint: 'c'.repeat(64), notAfter: '2027-11-24T08:00:00.000Z', tenantNamespace: `peerlog-tenant-${remote}`, apiServerUrl: 'https://127.0.0.1:6443' }, metadata: meta(3) },
    { type: 'RequestResources', data: {}, metadata: meta(4) },
    ...offerPair(remote, 1, 5),
    { type: 'CreateVirtualNode', data: { nodeName: `peerlog-${remote}` }, metadata: meta(7) },
    { type: 'MarkVirtualNodeReady', data: {}, metadata: meta(8) },
  ] as OutgoingCommand[];
}

export function offerPair(remote: string, generation: number, at: number): OutgoingCommand[] {
  return [
    { type: 'ReceiveOffer', data: { offerName: `offer-${remote}`, generation, resources: { cpu: `${generation}`, memory: '8Gi', pods: '110' } }, metadata: meta(at) },
    { type: 'AcceptOffer', data: { offerName: `offer-${remote}`, generation }, metadata: meta(at + 1) },
  ] as OutgoingCommand[];
}

export const OUTGOING = (remote: string) => ({ id: `outgoing-${remote}`, type: 'outgoing' });

/** Reads every message of a topic from the beginning (raw, as Kafka holds them). */
export async function readTopic(brokers: readonly string[], topic: string, expectAtLeast: number): Promise<{ partition: number; offset: string; key: string; value: string; headers: Record<string, string> }[]> {
  const kafka = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('reader') });
  const out: { partition: number; offset: string; key: string; value: string; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ partition, offset: message.offset, key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', headers });
    },
  });
  try {
    await eventually(`${expectAtLeast} messages in ${topic}`, async () => (out.length >= expectAtLeast ? true : undefined), 30_000);
    // Whatever else is there arrives within the next fetches.
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export function envelopes(messages: readonly { value: string }[]): EventEnvelope[] {
  return messages.map((m) => parseEvent(JSON.parse(m.value)));
}

export async function outboxEvents(rt: Runtime): Promise<EventEnvelope[]> {
  const rows = await driversOf(rt).ds.query('select envelope from peerlog_outbox order by position') as { envelope: EventEnvelope }[];
  return rows.map((r) => r.envelope);
}

/** A table's rows in a stable order, for row-by-row comparison. */
export async function tableRows(rt: Runtime, table: string, orderBy: string): Promise<unknown[]> {
  return driversOf(rt).ds.query(`select * from ${table} order by ${orderBy}`) as Promise<unknown[]>;
}

/** The `peerlog` binary of this checkout. */
export const PEERLOG = fileURLToPath(new URL('../../../bin/peerlog', import.meta.url));

/** The flags that point a log-reading verb at a test log. */
export function cliFlags(c: { clusterId: string; kafkaBrokers: readonly string[]; databaseUrl: string; dbSchema: string }): string[] {
  return ['--cluster-id', c.clusterId, '--kafka-brokers', c.kafkaBrokers.join(','), '--database-url', c.databaseUrl, '--db-schema', c.dbSchema];
}
