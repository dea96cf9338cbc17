// bench/events: the write path and the read-model rebuild, each against the raw tools in the same run.
//   1. commands/s: N peering commands through handleCommand (PostgreSQL append + outbox) and the relay
//      until Kafka holds them all, versus producing the same events straight to Kafka with kafkajs
//      (acks=all, one send per command: what a handler appending directly to Kafka would do), at the
//      same concurrency.
//   2. rebuild: the read-model projection from offset 0 over E events, versus a raw kafkajs consumer
//      that bulk-loads every message into one table (one COPY per batch, each of the partitions
//      consumed concurrently on a connection of its own, as the projection does).
//   3. audit verify: `peerlog audit verify`'s walk (its Kafka reader and verifier) over A events of a
//      topic from offset 0, versus the same reader computing a raw SHA-256 of each record's bytes; and
//      the same two over records already in memory (the verifier's own cost against hashing alone).
//   4. history: `peerlog history <name>`'s read of one peering among P (default 100,000) whose whole
//      events (8 each) are in the log: the outbox query, the fold into status, timeline and phases,
//      and the JSON printed, for S random peerings one at a time (p50, p99; target p99 <= 100 ms).
// Usage: npm run bench:events -- [--streams 500] [--concurrency 16] [--rebuild-events 1000000] [--audit-events 1000000] [--rounds 5]
//        [--history-peerings 100000] [--history-samples 300] [--only write|rebuild|audit|history]
import { Kafka, logLevel } from 'kafkajs';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig, type PeerlogConfig } from '../../src/config.js';
import { openRuntime } from '../../src/runtime.js';
import { silentLogger } from '../../src/adapters/log/index.js';
import { dropSchema } from '../../src/adapters/postgres/datasource.js';
import { ensureEventTopic, topicFor } from '../../src/adapters/kafka/client.js';
import { handleCommand } from '../../src/commands/handle.js';
import { outgoingDecider } from '../../src/commands/outgoing/decider.js';
import { serializeEvent, toCloudEventHeaders, type EventEnvelope } from '../../src/events/index.js';
import { stackEnv } from '../../src/stack/config.js';
import { loadLayout } from '../../src/stack/config.js';
import { driversOf } from '../../src/runtime.js';
import { hash as nodeHash } from 'node:crypto';
import { createLogVerifier, type LogRecord } from '../../src/audit/verify.js';
import { readTopic as readWholeTopic, topicPartitions } from '../../src/adapters/kafka/log-reader.js';
import { createKafka } from '../../src/adapters/kafka/client.js';
import { peeringHistoryOf } from '../../src/cli/history.js';
import { forgeLog, script } from './log.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const STREAMS = arg('streams', 500);
const CONCURRENCY = arg('concurrency', 16);
const REBUILD_EVENTS = arg('rebuild-events', 1_000_000);
const AUDIT_EVENTS = arg('audit-events', 1_000_000);
/**
 * Each measure is taken this many times, ours and raw back to back. The ratio printed is the median
 * of the rounds' own ratios: the machine's speed drifts between rounds (by a third on the 2-core
 * development VM), and a round's pair shares its moment, where medians of each side may come from
 * different rounds. The medians of each side are printed as the rates.
 */
const ROUNDS = arg('rounds', 5);
const HISTORY_PEERINGS = arg('history-peerings', 100_000);
const HISTORY_SAMPLES = arg('history-samples', 300);
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (ONLY !== undefined && !['write', 'rebuild', 'audit', 'history'].includes(ONLY)) throw new Error(`--only ${ONLY}: expected write, rebuild, audit or history`);
const env = stackEnv(loadLayout());
const brokers = (process.env.KAFKA_BROKERS ?? env.KAFKA_BROKERS!).split(',');
const databaseUrl = process.env.DATABASE_URL ?? env.DATABASE_URL!;

/** Runs `work(i)` for i in [0, n) with at most `c` in flight. */
async function pool(n: number, c: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(c, n) }, async () => { while (next < n) await work(next++); }));
}

async function benchWritePath(): Promise<{ ours: number; raw: number; commands: number }> {
  const clusterId = `bench-w-${Date.now().toString(36)}`;
  const config = loadConfig({ clusterId, kafkaBrokers: brokers.join(','), databaseUrl, dbSchema: clusterId.replace(/-/g, '_') });
  const rt = await openRuntime(config, silentLogger);
  const relay = rt.relay();
  const commands = STREAMS * 8;
  try {
    await relay.start();
    const t0 = performance.now();
    await pool(STREAMS, CONCURRENCY, async (s) => {
      for (const c of script(`r${s}`)) await handleCommand(rt.ports, outgoingDecider as never, { id: `outgoing-r${s}`, type: 'outgoing' }, c);
    });
    await relay.drained(600_000);
    const ours = commands / ((performance.now() - t0) / 1000);

    // Raw: the same envelopes, one acks=all send per command, same concurrency, to a fresh topic.
    const rawTopic = `${topicFor(clusterId)}.raw`;
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await ensureEventTopic(admin, rawTopic);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const rows = await driversOf(rt).ds.query('select envelope from peerlog_outbox order by position') as { envelope: EventEnvelope }[];
    const perStream = new Map<string, EventEnvelope[]>();
    for (const r of rows) perStream.set(r.envelope.streamId, [...(perStream.get(r.envelope.streamId) ?? []), r.envelope]);
    const streams = [...perStream.values()];
    const t1 = performance.now();
    await pool(streams.length, CONCURRENCY, async (i) => {
      for (const e of streams[i]!) {
        await producer.send({ topic: rawTopic, acks: -1, messages: [{ key: e.streamId, value: serializeEvent(e), headers: { ...toCloudEventHeaders(e, 'bench') } }] });
      }
    });
    const raw = commands / ((performance.now() - t1) / 1000);
    await producer.disconnect();
    await admin.deleteTopics({ topics: [rawTopic, topicFor(clusterId)] });
    await admin.disconnect();
    return { ours, raw, commands };
  } finally {
    await relay.stop();
    await rt.close();
    await dropSchema(databaseUrl, config.dbSchema);
  }
}

async function benchRebuild(): Promise<{ ours: number; raw: number; ratio: number; events: number }> {
  const clusterId = `bench-r-${Date.now().toString(36)}`;
  const config = loadConfig({ clusterId, kafkaBrokers: brokers.join(','), databaseUrl, dbSchema: clusterId.replace(/-/g, '_') });
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = topicFor(clusterId);
  await ensureEventTopic(admin, topic);
  const streams = Math.ceil(REBUILD_EVENTS / 8);
  process.stderr.write(`  producing ${streams * 8} events (${streams} peerings) to ${topic}...\n`);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let chunk: { key: string; value: string }[] = [];
  let produced = 0;
  for (const events of forgeLog(clusterId, streams, 'p')) {
    for (const e of events) chunk.push({ key: e.streamId, value: serializeEvent(e) });
    if (chunk.length >= 1_000) { await producer.send({ topic, acks: -1, messages: chunk }); produced += chunk.length; chunk = []; }
  }
  if (chunk.length) { await producer.send({ topic, acks: -1, messages: chunk }); produced += chunk.length; }
  await producer.disconnect();

  const rounds: { ours: number; raw: number }[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      rounds.push({ ours: await rebuildOurs(config, round, produced), raw: await rebuildRaw(kafka, config, topic, round, produced) });
      process.stderr.write(`  round ${round}: peerlog ${fmt(rounds.at(-1)!.ours)} events/s, raw ${fmt(rounds.at(-1)!.raw)} events/s, ratio ${pct(rounds.at(-1)!)}\n`);
    }
    return { ...summary(rounds), events: produced };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** The read-model projection from offset 0, into a schema of its own for the round. */
async function rebuildOurs(base: PeerlogConfig, round: number, produced: number): Promise<number> {
  const config = { ...base, dbSchema: `${base.dbSchema}_${round}` };
  const rt = await openRuntime(config, silentLogger);
  try {
    const runner = rt.readModels();
    const t0 = performance.now();
    await runner.start();
    await runner.caughtUp(1_800_000);
    const rate = produced / ((performance.now() - t0) / 1000);
    await runner.stop();
    const audit = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_audit') as { n: number }[];
    if (audit[0]!.n !== produced) throw new Error(`rebuild produced ${audit[0]!.n} audit rows for ${produced} events`);
    return rate;
  } finally {
    await rt.close();
    await dropSchema(databaseUrl, config.dbSchema);
  }
}

/** Raw: consume the same topic with a consumer group of the round's and COPY each batch into one table. */
async function rebuildRaw(kafka: Kafka, base: PeerlogConfig, topic: string, round: number, produced: number): Promise<number> {
  const schema = `${base.dbSchema}_raw_${round}`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  try {
    await pool.query(`create schema ${schema}`);
    await pool.query(`create table ${schema}.raw_events (stream_id text, "offset" bigint, payload jsonb)`);
    const consumer = kafka.consumer({ groupId: `${base.clusterId}-raw-${round}`, maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 32 * 1024 * 1024, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let consumed = 0;
    const t1 = performance.now();
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch }) => {
          let text = '';
          // COPY text format: only the backslashes of the JSON need escaping (JSON has no raw tab or newline).
          for (const m of batch.messages) text += `${m.key!.toString()}\t${m.offset}\t${m.value!.toString().replace(/\\/g, '\\\\')}\n`;
          const client = await pool.connect();
          try {
            const copy = client.query(copyFrom(`copy ${schema}.raw_events from stdin`));
            copy.end(text);
            await finished(copy);
          } finally {
            client.release();
          }
          consumed += batch.messages.length;
          if (consumed >= produced) resolve();
        },
      });
    });
    await done;
    const rate = produced / ((performance.now() - t1) / 1000);
    await consumer.disconnect();
    return rate;
  } finally {
    await pool.query(`drop schema if exists ${schema} cascade`).catch(() => undefined);
    await pool.end();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (r: { readonly ours: number; readonly raw: number }) => `${(r.ours / r.raw * 100).toFixed(0)}%`;
/** The medians of each side, and the median of the rounds' ratios (see ROUNDS). */
function summary(rounds: readonly { readonly ours: number; readonly raw: number }[]): { ours: number; raw: number; ratio: number } {
  return { ours: median(rounds.map((r) => r.ours)), raw: median(rounds.map((r) => r.raw)), ratio: median(rounds.map((r) => r.ours / r.raw)) };
}
/** A topic of `events` sealed events, produced as the relay would (key = stream id). */
async function produceLog(clusterId: string, events: number): Promise<{ topic: string; produced: number; kafka: Kafka }> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = topicFor(clusterId);
  await ensureEventTopic(admin, topic);
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let chunk: { key: string; value: string }[] = [];
  let produced = 0;
  for (const batch of forgeLog(clusterId, Math.ceil(events / 8), 'a')) {
    for (const e of batch) chunk.push({ key: e.streamId, value: serializeEvent(e) });
    if (chunk.length >= 1_000) { await producer.send({ topic, acks: -1, messages: chunk }); produced += chunk.length; chunk = []; }
  }
  if (chunk.length) { await producer.send({ topic, acks: -1, messages: chunk }); produced += chunk.length; }
  await producer.disconnect();
  return { topic, produced, kafka };
}

async function benchAudit(): Promise<{ ours: number; raw: number; ratio: number; memOurs: number; memRaw: number; memRatio: number; events: number }> {
  const clusterId = `bench-a-${Date.now().toString(36)}`;
  process.stderr.write(`  producing ${Math.ceil(AUDIT_EVENTS / 8) * 8} events to ${topicFor(clusterId)}...\n`);
  const { topic, produced, kafka } = await produceLog(clusterId, AUDIT_EVENTS);
  const reader = createKafka(brokers, 'bench-audit');
  const rounds: { ours: number; raw: number }[] = [];
  const mem: { ours: number; raw: number }[] = [];
  // Records kept for the in-memory pair, at most 200k (the values of a million would not fit beside the rest).
  const kept: LogRecord[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const ends = await topicPartitions(reader, topic);
      // Ours: the walk `peerlog audit verify` makes (no checkpoints in this log: the hash and link checks).
      const t0 = performance.now();
      const v = createLogVerifier(ends.map((e) => e.partition), { clusterId });
      let stuck = false;
      await readWholeTopic(reader, topic, ends, {
        onRecord: (r) => v.add(r), afterBatch: () => { if (v.advance() !== 'more') stuck = true; },
        pauseWhen: (p) => !stuck && v.queued(p) > 100_000, resumeWhen: (p) => stuck || v.queued(p) < 50_000,
      });
      const verdict = v.finish();
      const ours = produced / ((performance.now() - t0) / 1000);
      if (!verdict.ok || verdict.events !== produced) throw new Error(`audit verify of the bench log: ${JSON.stringify(verdict)}`);
      // Raw: the same reader, one SHA-256 per record's bytes.
      let n = 0;
      let sink = 0;
      const t1 = performance.now();
      await readWholeTopic(reader, topic, ends, {
        onRecord: (r) => { sink ^= nodeHash('sha256', r.value!, 'hex').charCodeAt(0); n += 1; if (round === 1 && kept.length < 200_000) kept.push(r); },
      });
      const raw = produced / ((performance.now() - t1) / 1000);
      if (n !== produced || sink < 0) throw new Error(`raw read ${n} of ${produced}`);
      rounds.push({ ours, raw });
      // In memory: the verifier alone over the kept records, and SHA-256 alone over the same bytes.
      const t2 = performance.now();
      const w = createLogVerifier([0, 1, 2], { clusterId });
      for (const r of kept) w.add(r);
      w.advance();
      const memOursRate = kept.length / ((performance.now() - t2) / 1000);
      const t3 = performance.now();
      for (const r of kept) sink ^= nodeHash('sha256', r.value!, 'hex').charCodeAt(0);
      const memRawRate = kept.length / ((performance.now() - t3) / 1000);
      mem.push({ ours: memOursRate, raw: memRawRate });
      process.stderr.write(`  round ${round}: audit verify ${fmt(ours)} events/s, raw read + SHA-256 ${fmt(raw)} events/s, ratio ${pct(rounds.at(-1)!)}; in memory (${kept.length}) ${fmt(memOursRate)} vs ${fmt(memRawRate)} events/s, ratio ${pct(mem.at(-1)!)}\n`);
    }
    const k = summary(rounds);
    const m = summary(mem);
    return { ...k, memOurs: m.ours, memRaw: m.raw, memRatio: m.ratio, events: produced };
  } finally {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * The log of P peerings written straight into a fresh schema's outbox (sealed, published: as the
 * relay leaves it), then `peerlog history`'s read of random ones, each timed alone.
 */
async function benchHistory(): Promise<{ p50: number; p99: number; max: number; events: number }> {
  const clusterId = `bench-h-${Date.now().toString(36)}`;
  const config = loadConfig({ clusterId, kafkaBrokers: brokers.join(','), databaseUrl, dbSchema: clusterId.replace(/-/g, '_') });
  const rt = await openRuntime(config, silentLogger);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, options: `-c search_path=${config.dbSchema}` });
  try {
    process.stderr.write(`  writing ${HISTORY_PEERINGS * 8} events (${HISTORY_PEERINGS} peerings) into ${config.dbSchema}.peerlog_outbox...\n`);
    let text = '';
    let events = 0;
    const client = await pool.connect();
    try {
      const flush = async () => {
        const copy = client.query(copyFrom('copy peerlog_outbox (cluster_id, stream_id, stream_version, event_id, type, envelope, hash, published_at) from stdin'));
        copy.end(text);
        await finished(copy);
        text = '';
      };
      for (const stream of forgeLog(clusterId, HISTORY_PEERINGS, 'h')) {
        for (const e of stream) {
          text += `${clusterId}\t${e.streamId}\t${e.streamVersion}\t${e.id}\t${e.type}\t${JSON.stringify(e).replace(/\\/g, '\\\\')}\t${e.hash}\t${e.occurredAt}\n`;
          events++;
        }
        if (text.length > 8_000_000) await flush();
      }
      if (text) await flush();
      await client.query('analyze peerlog_outbox');
    } finally {
      client.release();
    }
    const times: number[] = [];
    for (let i = 0; i < HISTORY_SAMPLES; i++) {
      const remote = `h${Math.floor(Math.random() * HISTORY_PEERINGS)}`;
      const t0 = performance.now();
      const view = await peeringHistoryOf(rt.queries, remote, remote);
      const out = JSON.stringify(view, null, 2);
      times.push(performance.now() - t0);
      if (!view || view.events.length !== 8 || view.status.outgoing.phase !== 'Established' || out.length === 0) throw new Error(`history of ${remote}: ${view ? `${view.events.length} events, ${view.status.outgoing.phase}` : 'none'}`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
    return { p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1]!, events };
  } finally {
    await pool.end();
    await rt.close();
    await dropSchema(databaseUrl, config.dbSchema);
  }
}

if (ONLY === undefined || ONLY === 'write') {
  process.stderr.write(`bench/events: write path (${STREAMS * 8} commands, concurrency ${CONCURRENCY}, ${ROUNDS} rounds)...\n`);
  const rounds: { ours: number; raw: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    rounds.push(await benchWritePath());
    process.stderr.write(`  round ${round}: peerlog ${fmt(rounds.at(-1)!.ours)} commands/s, raw ${fmt(rounds.at(-1)!.raw)} msgs/s, ratio ${pct(rounds.at(-1)!)}\n`);
  }
  const w = summary(rounds);
  process.stdout.write(`write path   peerlog ${fmt(w.ours)} commands/s   raw kafkajs produce ${fmt(w.raw)} msgs/s   ratio ${(w.ratio * 100).toFixed(0)}% (target >= 50%)\n`);
}
if (ONLY === undefined || ONLY === 'history') {
  process.stderr.write(`bench/events: history of one peering among ${HISTORY_PEERINGS} (${HISTORY_SAMPLES} samples)...\n`);
  const h = await benchHistory();
  process.stdout.write(`history      one peering among ${fmt(HISTORY_PEERINGS)} (${fmt(h.events)} events)   p50 ${h.p50.toFixed(1)} ms   p99 ${h.p99.toFixed(1)} ms   max ${h.max.toFixed(1)} ms (target p99 <= 100 ms)\n`);
}
if (ONLY === undefined || ONLY === 'rebuild') {
  process.stderr.write(`bench/events: rebuild (${REBUILD_EVENTS} events, ${ROUNDS} rounds)...\n`);
  const r = await benchRebuild();
  process.stdout.write(`rebuild      peerlog ${fmt(r.ours)} events/s   raw consume + bulk insert ${fmt(r.raw)} events/s   ratio ${(r.ratio * 100).toFixed(0)}% (target >= 50%, and >= 50,000 events/s)\n`);
}
if (ONLY === undefined || ONLY === 'audit') {
  process.stderr.write(`bench/events: audit verify (${AUDIT_EVENTS} events, ${ROUNDS} rounds)...\n`);
  const a = await benchAudit();
  process.stdout.write(`audit verify peerlog ${fmt(a.ours)} events/s   raw read + SHA-256 ${fmt(a.raw)} events/s   ratio ${(a.ratio * 100).toFixed(0)}% (target >= 50%)\n`);
  process.stdout.write(`  in memory  peerlog ${fmt(a.memOurs)} events/s   raw SHA-256 ${fmt(a.memRaw)} events/s   ratio ${(a.memRatio * 100).toFixed(0)}%\n`);
}
process.exit(0);
