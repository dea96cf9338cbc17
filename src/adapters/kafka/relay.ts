// The outbox relay: seals a cluster's new outbox rows into the log's hash chain, publishes them to
// its Kafka topic in position order, then marks them published. A crash after publishing and
// before marking publishes the same sealed events again; consumers dedupe by (stream id, version).
// One relay per cluster holds a PostgreSQL advisory lock; others stand by. Sealing here, in the
// one serial writer of the log, keeps appends to different streams from queueing on the chain head.
import pg from 'pg';
import type { Kafka, Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { EventEnvelope } from '../../events/envelope.js';
import { toCloudEventHeaders } from '../../events/envelope.js';
import { serializeEvent } from '../../events/schemas.js';
import type { Logger } from '../log/index.js';
import { OUTBOX_CHANNEL } from '../postgres/event-store.js';
import { ensureEventTopic, topicFor, translateKafkaError } from './client.js';
import { sealEvent } from '../../events/hash.js';
import { GENESIS_HASH } from '../../events/constants.js';
import type { UnsealedEvent } from '../../events/envelope.js';

export interface RelayOptions {
  readonly ds: DataSource;
  /** A connection string for the relay's own session (advisory lock and LISTEN). */
  readonly databaseUrl: string;
  readonly kafka: Kafka;
  readonly clusterId: string;
  readonly logger: Logger;
  readonly batchSize?: number;
  readonly idlePollMs?: number;
  /** The CloudEvents `source` of this cluster's events. */
  readonly source?: string;
  /** Test seam: runs after a batch is in Kafka and before it is marked published. */
  readonly afterPublish?: (batch: readonly EventEnvelope[]) => Promise<void>;
}

export interface Relay {
  /** Resolves once the relay holds the lock and runs; rejects if it cannot start. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when nothing of this cluster is left unpublished. */
  drained(timeoutMs?: number): Promise<void>;
  readonly stats: { published: number; batches: number; failures: number };
}

export function createRelay(o: RelayOptions): Relay {
  const topic = topicFor(o.clusterId);
  const batchSize = o.batchSize ?? 500;
  const source = o.source ?? `peerlog://${o.clusterId}`;
  const log = o.logger.child({ component: 'relay', clusterId: o.clusterId, topic });
  const stats = { published: 0, batches: 0, failures: 0 };
  let session: pg.Client | undefined;
  let producer: Producer | undefined;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const sleepOrWake = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => { wake = undefined; resolve(); }, ms);
    wake = () => { clearTimeout(t); wake = undefined; resolve(); };
  });

  async function publishOnce(): Promise<number> {
    const rows = await o.ds.query(
      `select position, envelope, hash from peerlog_outbox where cluster_id = $1 and published_at is null order by position limit $2`,
      [o.clusterId, batchSize]) as { position: string; envelope: EventEnvelope; hash: string | null }[];
    if (rows.length === 0) return 0;
    const batch = await seal(rows);
    if (!producer) {
      const admin = o.kafka.admin();
      await admin.connect();
      try { await ensureEventTopic(admin, topic); } finally { await admin.disconnect(); }
      producer = o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
    }
    await producer.send({
      topic, acks: -1,
      messages: batch.map((e) => ({ key: e.streamId, value: serializeEvent(e), headers: { ...toCloudEventHeaders(e, source) }, timestamp: String(Date.parse(e.occurredAt)) })),
    });
    if (o.afterPublish) await o.afterPublish(batch);
    await o.ds.query(`update peerlog_outbox set published_at = now() where position = any($1::bigint[])`, [rows.map((r) => r.position)]);
    stats.published += rows.length;
    stats.batches += 1;
    return rows.length;
  }

  /** Seals the batch's unsealed rows in order, durably, before anything is published. */
  async function seal(rows: readonly { position: string; envelope: EventEnvelope; hash: string | null }[]): Promise<EventEnvelope[]> {
    const fresh = rows.filter((r) => r.hash === null);
    if (fresh.length === 0) return rows.map((r) => r.envelope);
    return o.ds.transaction(async (tx) => {
      await tx.query('insert into peerlog_log_head (cluster_id, last_hash, events) values ($1, $2, 0) on conflict do nothing', [o.clusterId, GENESIS_HASH]);
      let prev = ((await tx.query('select last_hash from peerlog_log_head where cluster_id = $1 for update', [o.clusterId])) as { last_hash: string }[])[0]!.last_hash;
      const sealed = new Map<string, EventEnvelope>();
      for (const r of fresh) {
        const { prevHash: _p, hash: _h, ...unsealed } = r.envelope as EventEnvelope & Partial<Record<'prevHash' | 'hash', string>>;
        const e = sealEvent(unsealed as UnsealedEvent, prev) as EventEnvelope;
        sealed.set(r.position, e);
        prev = e.hash;
      }
      // One JSON document: as array parameters pg would escape every envelope and PostgreSQL parse it back.
      await tx.query(
        `update peerlog_outbox o set envelope = x.e, hash = x.h from json_to_recordset($1::json) as x(p bigint, e jsonb, h text) where o.position = x.p`,
        [JSON.stringify([...sealed].map(([p, e]) => ({ p, e, h: e.hash })))]);
      await tx.query('update peerlog_log_head set last_hash = $2, events = events + $3 where cluster_id = $1', [o.clusterId, prev, sealed.size]);
      return rows.map((r) => sealed.get(r.position) ?? r.envelope);
    });
  }

  async function run(): Promise<void> {
    let backoff = 100;
    while (!stopping) {
      try {
        const n = await publishOnce();
        backoff = 100;
        if (n < batchSize) await sleepOrWake(o.idlePollMs ?? 1000);
      } catch (e) {
        if (stopping) break;
        stats.failures += 1;
        const err = translateKafkaError('publishing the outbox', e);
        log.warn('relay could not publish; events stay in the outbox and will be retried in order', { error: err, retryInMs: backoff });
        if (producer) { await producer.disconnect().catch(() => undefined); producer = undefined; }
        await sleepOrWake(backoff + Math.floor(Math.random() * backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  return {
    stats,
    async start() {
      session = new pg.Client({ connectionString: o.databaseUrl });
      await session.connect();
      // One relay per cluster log, or two could interleave and break the per-stream order.
      await session.query('select pg_advisory_lock(hashtext($1))', [`peerlog-relay:${o.clusterId}`]);
      await session.query(`listen ${OUTBOX_CHANNEL}`);
      session.on('notification', (n) => { if (n.payload === o.clusterId) wake?.(); });
      log.info('relay started');
      loop = run();
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      await producer?.disconnect().catch(() => undefined);
      await session?.end().catch(() => undefined);
      log.info('relay stopped', { ...stats });
    },
    async drained(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await o.ds.query('select count(*)::int as n from peerlog_outbox where cluster_id = $1 and published_at is null', [o.clusterId]) as { n: number }[];
        if (r[0]!.n === 0) return;
        if (Date.now() > deadline) throw new Error(`outbox of ${o.clusterId} still has ${r[0]!.n} unpublished events after ${timeoutMs} ms`);
        wake?.();
        await new Promise((res) => setTimeout(res, 20));
      }
    },
  };
}
