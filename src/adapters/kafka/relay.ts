// The outbox relay: seals a cluster's new outbox rows into the log's hash chain, publishes them to
// its Kafka topic in position order, then marks them published. A crash after publishing and
// before marking publishes the same sealed events again; consumers dedupe by (stream id, version).
// One relay per cluster holds a PostgreSQL advisory lock; others stand by. Sealing here, in the
// one serial writer of the log, keeps appends to different streams from queueing on the chain head.
// A relay that loses its lock session stops publishing and takes the lock again; and sealing is
// one sealer at a time by construction (below), so two relays that both believe they hold the lock
// (a session half-open) cannot fork the chain.
import type { Kafka, Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { EventEnvelope } from '../../events/envelope.js';
import { toCloudEventHeaders } from '../../events/cloudevents.js';
import { serializeEvent } from '../../events/schemas.js';
import type { Logger } from '../log/index.js';
import { OUTBOX_CHANNEL } from '../postgres/event-store.js';
import { isKafkaError, prepareEventTopic, topicFor, translateKafkaError, type TopicSettings } from './client.js';
import { applicationName, openLockSession, type LockSession } from '../postgres/lock.js';
import { PeerlogError, TimeoutError } from '../../errors.js';
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
  /** How the topic is made, if missing, and what an existing one must have. */
  readonly topic?: TopicSettings;
  /** The brokers, for what readiness says the relay waits for. */
  readonly kafkaBrokers?: readonly string[];
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
  /** 'ok', or a short sentence of what the relay waits for (no secrets: unauthenticated callers see it). */
  state(): string;
}

const LOCK_BACKOFF_MS = { initial: 200, max: 10_000 } as const;

/**
 * The seal lock tried ($1); only if it is held, the cluster's ($2) chain head made at genesis ($3)
 * if missing, row-locked and read (an upsert that changes nothing locks the row as FOR UPDATE would).
 */
const HEAD_UNDER_SEAL_LOCK = `with l as (select pg_try_advisory_xact_lock(hashtext($1)) as ok),
  h as (
    insert into peerlog_log_head (cluster_id, last_hash, events) select $2, $3, 0 from l where l.ok
    on conflict (cluster_id) do update set last_hash = peerlog_log_head.last_hash
    returning last_hash
  )
  select (select ok from l) as ok, (select last_hash from h) as last_hash`;

/**
 * The sealed rows ($1: one JSON document, as array parameters pg would escape every envelope and
 * PostgreSQL parse it back) and the cluster's ($2) chain head moved to $3, $4 events on, in one statement.
 */
const SEAL_ROWS_AND_HEAD = `with sealed as (
    update peerlog_outbox o set envelope = x.e, hash = x.h from json_to_recordset($1::json) as x(p bigint, e jsonb, h text) where o.position = x.p
  )
  update peerlog_log_head set last_hash = $3, events = events + $4 where cluster_id = $2`;

export function createRelay(o: RelayOptions): Relay {
  const topic = topicFor(o.clusterId);
  const batchSize = o.batchSize ?? 500;
  const source = o.source ?? `peerlog://${o.clusterId}`;
  const log = o.logger.child({ component: 'relay', clusterId: o.clusterId, topic });
  const stats = { published: 0, batches: 0, failures: 0 };
  const where = o.kafkaBrokers ? ` at ${o.kafkaBrokers.join(',')}` : '';
  let lock: LockSession | undefined;
  const aborts = new AbortController();
  let producer: Producer | undefined;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let state = 'starting';

  /** A notification that came while the relay was publishing: the next sleep must not wait for another. */
  let notified = false;
  const notify = (): void => { notified = true; wake?.(); };
  const sleepOrWake = (ms: number) => new Promise<void>((resolve) => {
    if (notified) { notified = false; resolve(); return; }
    const t = setTimeout(() => { wake = undefined; resolve(); }, ms);
    wake = () => { clearTimeout(t); wake = undefined; notified = false; resolve(); };
  });

  /** Positions in Kafka whose marking is under way: not read again meanwhile (a failed mark gives them back). */
  const marking = new Set<string>();
  const marks = new Set<Promise<void>>();

  /**
   * Marks a batch published without holding up the next one: the next round reads the outbox while
   * this runs, leaving these rows out. A mark that fails leaves them unpublished in the table, and
   * a later round publishes them again, as after a crash between publishing and marking.
   */
  function markPublished(positions: readonly string[], count: number): void {
    for (const p of positions) marking.add(p);
    const done: Promise<void> = o.ds.query(`update peerlog_outbox set published_at = now() where position = any($1::bigint[])`, [positions]).then(
      () => { stats.published += count; stats.batches += 1; },
      (e: unknown) => {
        stats.failures += 1;
        log.warn('relay could not mark a published batch; its events will be published again (consumers dedupe)', { error: e, events: count });
      },
    ).finally(() => {
      for (const p of positions) marking.delete(p);
      marks.delete(done);
    });
    marks.add(done);
  }

  async function publishOnce(): Promise<number> {
    const rows = await o.ds.query(
      `select position, envelope, hash from peerlog_outbox where cluster_id = $1 and published_at is null and position <> all($3::bigint[]) order by position limit $2`,
      [o.clusterId, batchSize, [...marking]]) as { position: string; envelope: EventEnvelope; hash: string | null }[];
    if (rows.length === 0) return 0;
    const batch = await seal(rows);
    if (batch === undefined) {
      log.debug('another sealer is sealing this log; this round is left to it');
      return 0;
    }
    // The lock may have gone while sealing: a relay without it publishes nothing more.
    if (lock?.isLost()) return 0;
    if (!producer) {
      await prepareEventTopic(o.kafka, topic, o.topic, log);
      producer = o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
    }
    await producer.send({
      topic, acks: -1,
      messages: batch.map((e) => ({ key: e.streamId, value: serializeEvent(e), headers: { ...toCloudEventHeaders(e, source) }, timestamp: String(Date.parse(e.occurredAt)) })),
    });
    if (o.afterPublish) await o.afterPublish(batch);
    markPublished(rows.map((r) => String(r.position)), rows.length);
    return rows.length;
  }

  /**
   * Seals the batch's unsealed rows in order, durably, before anything is published. One sealer at
   * a time by construction: the transaction takes the cluster's seal lock (or leaves the round to
   * the sealer holding it) and the chain head, and reads the rows to seal again under both, since
   * another relay may have sealed some since they were listed. Answers undefined when another
   * sealer is at work.
   */
  async function seal(rows: readonly { position: string; envelope: EventEnvelope; hash: string | null }[]): Promise<EventEnvelope[] | undefined> {
    const listed = rows.filter((r) => r.hash === null);
    if (listed.length === 0) return rows.map((r) => r.envelope);
    return o.ds.transaction(async (tx) => {
      // The seal lock, then the chain head (made if missing) locked and read, in one statement: the
      // head is reached only once the lock is held, so a second sealer never waits on it.
      const got = (await tx.query(HEAD_UNDER_SEAL_LOCK, [`peerlog-seal:${o.clusterId}`, o.clusterId, GENESIS_HASH])) as { ok: boolean; last_hash: string | null }[];
      if (!got[0]!.ok) return undefined;
      let prev = got[0]!.last_hash!;
      // Only positions: an unsealed row changes only by being sealed, so its listed envelope holds.
      const still = new Set(((await tx.query(
        `select position from peerlog_outbox where position = any(array(select json_array_elements_text($1::json))::bigint[]) and hash is null order by position for update`,
        [JSON.stringify(listed.map((r) => r.position))])) as { position: string }[]).map((r) => String(r.position)));
      const sealed = new Map<string, EventEnvelope>();
      for (const r of listed.filter((x) => still.has(String(x.position)))) {
        const { prevHash: _p, hash: _h, ...unsealed } = r.envelope as EventEnvelope & Partial<Record<'prevHash' | 'hash', string>>;
        const e = sealEvent(unsealed as UnsealedEvent, prev) as EventEnvelope;
        sealed.set(String(r.position), e);
        prev = e.hash;
      }
      if (sealed.size > 0) {
        await tx.query(SEAL_ROWS_AND_HEAD, [JSON.stringify([...sealed].map(([p, e]) => ({ p, e, h: e.hash }))), o.clusterId, prev, sealed.size]);
      }
      // Rows another sealer sealed since they were listed: published as it sealed them.
      const theirs = listed.filter((r) => !sealed.has(String(r.position))).map((r) => r.position);
      if (theirs.length > 0) {
        for (const r of (await tx.query(`select position, envelope from peerlog_outbox where position = any(array(select json_array_elements_text($1::json))::bigint[])`,
          [JSON.stringify(theirs)])) as { position: string; envelope: EventEnvelope }[]) sealed.set(String(r.position), r.envelope);
      }
      return rows.map((r) => sealed.get(String(r.position)) ?? r.envelope);
    });
  }

  /** Publishes until stopped or until the lock session is lost. */
  async function run(held: LockSession): Promise<void> {
    let backoff = 100;
    while (!stopping && !held.isLost()) {
      try {
        // Cleared before the outbox is read: a notification from here on means rows it may miss.
        notified = false;
        const n = await publishOnce();
        backoff = 100;
        state = 'ok';
        if (n < batchSize) await sleepOrWake(o.idlePollMs ?? 1000);
      } catch (e) {
        if (stopping) break;
        stats.failures += 1;
        if (e instanceof PeerlogError && e.code === 'TopicMisconfigured') {
          state = 'event topic refused (see the log); events wait in the outbox';
          log.error('relay cannot publish: the event topic is refused; events stay in the outbox', { error: e, retryInMs: 30_000 });
          if (producer) { await producer.disconnect().catch(() => undefined); producer = undefined; }
          await sleepOrWake(30_000);
          continue;
        }
        const err = translateKafkaError('publishing the outbox', e);
        state = isKafkaError(e) ? `waiting for Kafka${where}; events wait in the outbox` : 'failing; events wait in the outbox (see the log)';
        log.warn('relay could not publish; events stay in the outbox and will be retried in order', { error: err, retryInMs: backoff });
        if (producer) { await producer.disconnect().catch(() => undefined); producer = undefined; }
        await sleepOrWake(backoff + Math.floor(Math.random() * backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** The relay's lock, with LISTEN on the same session: waits while another relay holds it. */
  async function takeLock(): Promise<LockSession> {
    const held = (await openLockSession({
      databaseUrl: o.databaseUrl, key: `peerlog-relay:${o.clusterId}`, wait: true,
      applicationName: applicationName('peerlog', o.clusterId, 'relay'), signal: aborts.signal,
    }))!;
    try {
      held.client.on('notification', (n) => { if (n.payload === o.clusterId) notify(); });
      await held.client.query(`listen ${OUTBOX_CHANNEL}`);
    } catch (e) {
      await held.release();
      throw e;
    }
    void held.lost.then(() => wake?.());
    return held;
  }

  /** Runs the relay; on losing the lock session, stops publishing, takes the lock again and goes on. */
  async function supervise(): Promise<void> {
    while (!stopping) {
      const held = lock!;
      await run(held);
      if (stopping) return;
      const error = await held.lost;
      state = 'lost its database session; taking the lock again (events wait in the outbox)';
      log.error('relay lost its PostgreSQL session (its lock and LISTEN): stopped publishing; taking the lock again', { error });
      await held.release();
      lock = undefined;
      for (let delay: number = LOCK_BACKOFF_MS.initial; !stopping; delay = Math.min(delay * 2, LOCK_BACKOFF_MS.max)) {
        await sleepOrWake(delay + Math.floor(Math.random() * delay));
        if (stopping) return;
        try {
          lock = await takeLock();
          state = 'ok';
          log.info('relay holds its lock again; publishing');
          break;
        } catch (e) {
          if (stopping) return;
          log.warn('relay cannot take its lock yet; retrying', { error: e, retryInMs: delay * 2 });
        }
      }
    }
  }

  return {
    stats,
    state: () => state,
    async start() {
      // One relay per cluster log, or two could interleave and break the per-stream order.
      state = 'waiting for the relay lock (another relay may hold it)';
      lock = await takeLock();
      state = 'ok';
      log.info('relay started');
      loop = supervise();
    },
    async stop() {
      stopping = true;
      aborts.abort();
      wake?.();
      await loop;
      // Published batches are marked before the session goes, or the next relay publishes them again.
      await Promise.all([...marks]);
      await producer?.disconnect().catch(() => undefined);
      await lock?.release();
      log.info('relay stopped', { ...stats });
    },
    async drained(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await o.ds.query('select count(*)::int as n from peerlog_outbox where cluster_id = $1 and published_at is null', [o.clusterId]) as { n: number }[];
        if (r[0]!.n === 0) return;
        if (Date.now() > deadline) throw new TimeoutError('OutboxNotDrained', `outbox of ${o.clusterId} still has ${r[0]!.n} unpublished events after ${timeoutMs} ms`);
        wake?.();
        await new Promise((res) => setTimeout(res, 20));
      }
    },
  };
}
