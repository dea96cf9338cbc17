// The projection runner: one Kafka consumer group per projection; each partition batch is applied
// in one PostgreSQL transaction together with its checkpoint, deduplicated by (stream id, version),
// so a batch applied twice, a crash mid-batch, or a rebuild from offset 0 all give the same rows.
// The consumer fetches ahead while batches are written (see pipeline.ts); Kafka's committed offset
// follows the checkpoint, never leads it, so a consumer started afresh resumes at or before it.
import type { Consumer, Kafka, KafkaMessage } from './client.js';
import type { DataSource, EntityManager } from '../postgres/datasource.js';
import type { EventEnvelope } from '../../events/envelope.js';
import { STREAM_ID_MAX, STREAM_ID_PATTERN } from '../../events/constants.js';
import type { Logger } from '../log/index.js';
import { isKafkaError, prepareEventTopic, topicFor, type TopicSettings } from './client.js';
import { applicationName, openLockSession, type LockSession } from '../postgres/lock.js';
import { createPartitionPipeline, type PartitionPipeline } from './pipeline.js';
import type { Projection, ProjectionTx } from '../../projections/ports.js';

export type { Projection, ProjectionBatch, ProjectionTx } from '../../projections/ports.js';

/** The projection's view of the batch's transaction. */
const asTx = (tx: EntityManager): ProjectionTx => tx as unknown as ProjectionTx;
import { runStatement, type Statement } from '../postgres/statements.js';
import { InternalError, PeerlogError, ProjectionLockedError, TimeoutError } from '../../errors.js';

export interface RunnerOptions {
  readonly ds: DataSource;
  readonly databaseUrl: string;
  readonly kafka: Kafka;
  readonly clusterId: string;
  /** The PostgreSQL schema holding the projection's tables: part of its lock and consumer group. */
  readonly dbSchema: string;
  readonly projection: Projection;
  /** Validates a message value (UTF-8 JSON) into an envelope; throws on anything else. */
  readonly decode: (value: Uint8Array) => EventEnvelope;
  readonly logger: Logger;
  /** A session already holding the projection's lock (replay takes it before resetting). */
  readonly heldLock?: LockSession;
  /** How the topic is made, if missing, and what an existing one must have. */
  readonly topic?: TopicSettings;
  /** The brokers, for what readiness says the projection waits for. */
  readonly kafkaBrokers?: readonly string[];
  /** Test seam: runs inside the batch transaction after the events are applied, before commit. */
  readonly beforeCommit?: (applied: readonly EventEnvelope[]) => Promise<void>;
}

export interface ProjectionRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once every partition's checkpoint has reached the topic's end as of this call. */
  caughtUp(timeoutMs?: number): Promise<void>;
  readonly stats: { applied: number; duplicates: number; deadLetters: number; batches: number; failures: number };
  /** 'ok', or a short sentence of what the projection waits for (no secrets: unauthenticated callers see it). */
  state(): string;
}

interface Decoded { readonly offset: string; readonly envelope?: EventEnvelope; readonly error?: string; readonly raw?: string }
/** A message not decoded yet, or one decoded in an earlier round. */
type Pending = KafkaMessage | Decoded;

export async function currentGeneration(ds: DataSource | EntityManager, projection: string): Promise<number> {
  const r = await ds.query('select generation from peerlog_projection_generations where projection = $1', [projection]) as { generation: number }[];
  return r[0]?.generation ?? 0;
}

/**
 * Empties a projection's tables and bookkeeping and moves it to a new generation (a new consumer
 * group that starts at offset 0). The caller must hold the projection's lock.
 */
export async function resetProjection(ds: DataSource, projection: Projection): Promise<number> {
  return ds.transaction(async (tx) => {
    if (projection.tables.length > 0) await tx.query(`truncate ${projection.tables.join(', ')}`);
    if (projection.reset) await projection.reset(asTx(tx));
    await tx.query('delete from peerlog_checkpoints where projection = $1', [projection.name]);
    await tx.query('delete from peerlog_projection_streams where projection = $1', [projection.name]);
    await tx.query('delete from peerlog_dead_letters where projection = $1', [projection.name]);
    const r = await tx.query(
      `insert into peerlog_projection_generations (projection, generation) values ($1, 1)
       on conflict (projection) do update set generation = peerlog_projection_generations.generation + 1 returning generation`,
      [projection.name]) as { generation: number }[];
    return r[0]!.generation;
  });
}

const EMPTY = new Uint8Array(0);

// The statements of every batch, named (see statements.ts). Lists go as one JSON text: as array
// parameters pg would escape every element and PostgreSQL parse each array literal back.
/** Creates the partition's checkpoint if need be and locks it for the batch's transaction. */
const LOCK_CHECKPOINT: Statement = {
  name: 'peerlog-checkpoint-lock',
  text: `insert into peerlog_checkpoints (projection, topic, partition, next_offset) values ($1, $2, $3, 0)
    on conflict (projection, topic, partition) do update set next_offset = peerlog_checkpoints.next_offset
    returning next_offset`,
};
const MOVE_CHECKPOINT: Statement = {
  name: 'peerlog-checkpoint-move',
  text: 'update peerlog_checkpoints set next_offset = $4, updated_at = now() where projection = $1 and topic = $2 and partition = $3',
};
const STREAM_VERSIONS: Statement = {
  name: 'peerlog-stream-versions',
  text: 'select stream_id, version from peerlog_projection_streams where projection = $1 and stream_id = any(array(select json_array_elements_text($2::json)))',
};
/**
 * Never backwards: a stream's events all share a partition, but a message keyed otherwise lands in
 * another, whose batch may commit a lower version after this one's higher.
 */
const MOVE_STREAM_VERSIONS: Statement = {
  name: 'peerlog-stream-versions-move',
  text: `insert into peerlog_projection_streams (projection, stream_id, version)
    select $1, s, v from json_to_recordset($2::json) as t(s text, v int)
    on conflict (projection, stream_id) do update set version = greatest(peerlog_projection_streams.version, excluded.version)`,
};

/** Byte equality of two short buffers (message keys), without a call into the runtime. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function rawOf(m: KafkaMessage): string {
  return m.value?.toString('utf8') ?? '';
}

/**
 * Whether a projection's failure lies with the events it was handed, so that applying them again
 * fails the same way: our non-retriable errors (an unknown stream kind, an event that does not
 * belong to its stream's state), a programming error tripped by odd data, and PostgreSQL refusing
 * the data itself (SQLSTATE classes 22 and 23). Anything else (a lost connection, a timeout, a
 * deadlock, a retriable error of ours) fails the batch, which is then tried again.
 */
export function isUnfoldable(e: unknown): boolean {
  // A fault of peerlog's own (a statement outside its transaction) says nothing about the events.
  if (e instanceof InternalError) return false;
  if (e instanceof PeerlogError) return !e.retriable;
  if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Orders two Kafka offsets (non-negative decimal strings) without parsing them. */
export function compareOffsets(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const RESTART_BACKOFF_MS = { initial: 200, max: 30_000 } as const;

export function lockKey(dbSchema: string, projection: string): string {
  return `peerlog-projection:${dbSchema}:${projection}`;
}

/** Holds the projection's advisory lock on a session of its own until released (or lost). */
export async function acquireProjectionLock(databaseUrl: string, dbSchema: string, projection: string): Promise<LockSession> {
  const session = await openLockSession({
    databaseUrl, key: lockKey(dbSchema, projection), wait: false, applicationName: applicationName('peerlog', dbSchema, 'projection', projection),
  });
  if (!session) {
    throw new ProjectionLockedError(`projection ${projection} in schema ${dbSchema} is being run by another process (a running \`peerlog serve\` or replay); stop it first`);
  }
  return session;
}

/** What a projection that could not start waits for, in a few words. */
function waitingFor(e: unknown, where: string): string {
  if (e instanceof ProjectionLockedError) return 'waiting for its lock (another process runs this projection)';
  if ((e as { code?: unknown }).code === 'TopicMisconfigured') return 'event topic refused (see the log)';
  if (isKafkaError(e)) return `waiting for Kafka${where}`;
  return 'waiting for the database (see the log)';
}

export function createProjectionRunner(o: RunnerOptions): ProjectionRunner {
  const topic = topicFor(o.clusterId);
  const name = o.projection.name;
  const log = o.logger.child({ component: 'projection', projection: name, clusterId: o.clusterId });
  const stats = { applied: 0, duplicates: 0, deadLetters: 0, batches: 0, failures: 0 };
  let consumer: Consumer | undefined;
  let pipeline: PartitionPipeline<readonly KafkaMessage[]> | undefined;
  let lock: LockSession | undefined = o.heldLock;
  const where = o.kafkaBrokers ? ` at ${o.kafkaBrokers.join(',')}` : '';
  let state = 'starting';
  let running = false;
  let generation = 0;
  let stopping = false;
  let restarting: Promise<void> | undefined;
  let backoffMs: number = RESTART_BACKOFF_MS.initial;
  /** The partition whose batch failed last, until one of its batches commits. */
  let failing: number | undefined;
  let stopped!: () => void;
  const whenStopped = new Promise<void>((resolve) => { stopped = resolve; });

  function decodeOne(m: KafkaMessage): Decoded {
    try {
      return { offset: m.offset, envelope: o.decode(m.value ?? EMPTY) };
    } catch (e) {
      return { offset: m.offset, error: (e as Error).message, raw: m.value?.toString('utf8') ?? '' };
    }
  }

  /** The last version this projection applied of each of `streamIds` that it applied any of. */
  async function versionsOf(tx: EntityManager, streamIds: readonly string[]): Promise<Map<string, number>> {
    const known = new Map<string, number>();
    if (streamIds.length === 0) return known;
    if (o.projection.appliedVersions) {
      for (const [id, v] of await o.projection.appliedVersions(asTx(tx), streamIds)) known.set(id, v);
    } else {
      const rows = await runStatement<{ stream_id: string; version: number }>(tx, STREAM_VERSIONS, [name, JSON.stringify(streamIds)]);
      for (const r of rows) known.set(r.stream_id, r.version);
    }
    return known;
  }

  /**
   * The streams of a batch's messages, from their keys (a stream's events are keyed by its id), read
   * before anything is decoded. Read as latin1, since a stream id is ASCII: a key that is not a
   * stream id names no stream, and an event no key names waits for the second round. A key equal
   * to the one before it, as the events of one command are, is not read again.
   */
  function keysOf(messages: readonly KafkaMessage[]): string[] {
    const keys = new Set<string>();
    let last: Buffer | undefined;
    for (const m of messages) {
      const key = m.key;
      if (!key || (last !== undefined && sameBytes(key, last))) continue;
      last = key;
      // Only what could be a stream id goes to PostgreSQL: any other key (a NUL byte would fail
      // the statement, and so every retry of the batch) names no stream.
      const id = key.toString('latin1');
      if (id.length <= STREAM_ID_MAX && STREAM_ID_PATTERN.test(id)) keys.add(id);
    }
    return [...keys];
  }

  /** Applies the batch's new events with its checkpoint; returns the next offset, if it moved. */
  async function applyBatch(partition: number, messages: readonly KafkaMessage[]): Promise<bigint | undefined> {
    try {
      return await applyBatchOnce(partition, messages, false);
    } catch (e) {
      if (!isUnfoldable(e)) throw e;
      // An event of the batch cannot be folded: the batch again, in a transaction that sets it apart.
      return applyBatchOnce(partition, messages, true);
    }
  }

  /**
   * One transaction of a batch. Unguarded (the usual case), an event that cannot be folded fails
   * the whole transaction, which spares every batch two savepoint statements; guarded, such an
   * event is retried alone and recorded as a dead letter (see applyMessages).
   */
  async function applyBatchOnce(partition: number, messages: readonly KafkaMessage[], guarded: boolean): Promise<bigint | undefined> {
    const counts = { applied: 0, duplicates: 0, deadLetters: 0 };
    const touched = new Set<string>();
    const next = await o.ds.transaction(async (tx) => {
      const cp = (await runStatement<{ next_offset: string }>(tx, LOCK_CHECKPOINT, [name, topic, partition]))[0]!.next_offset;
      const fresh = messages.filter((m) => compareOffsets(m.offset, cp) >= 0);
      if (fresh.length === 0) return undefined;
      // The whole batch at once: applying it in slices measured slower (more statements), for
      // less than it saved in garbage collection.
      const applied = await applyMessages(tx, partition, fresh, counts, guarded, touched);
      if (o.beforeCommit) await o.beforeCommit(applied);
      const after = BigInt(fresh[fresh.length - 1]!.offset) + 1n;
      await runStatement(tx, MOVE_CHECKPOINT, [name, topic, partition, after.toString()]);
      return after;
    });
    if (next !== undefined) {
      stats.applied += counts.applied;
      stats.duplicates += counts.duplicates;
      stats.deadLetters += counts.deadLetters;
      stats.batches += 1;
      if (o.projection.afterCommit && touched.size > 0) o.projection.afterCommit([...touched]);
    }
    return next;
  }

  /** Decodes, dedupes and applies a batch's new messages inside its transaction; returns what it applied (for beforeCommit). */
  async function applyMessages(
    tx: EntityManager, partition: number, messages: readonly KafkaMessage[],
    counts: { applied: number; duplicates: number; deadLetters: number },
    guarded: boolean,
    touched?: Set<string>,
  ): Promise<readonly EventEnvelope[]> {
    const dead: Decoded[] = [];
    const applied: EventEnvelope[] = [];
    /** Each stream the batch moved on, at the version it moved to. */
    const moved = new Map<string, number>();
    const keepMoved = !o.projection.appliedVersions;
    // A stream's events are keyed by its id, so the versions to dedupe by are read before anything
    // is decoded. An event whose stream is not among the keys (a message written by hand) waits
    // for a second round, with its stream's version read then.
    let pending: readonly Pending[] = messages;
    let streamIds = keysOf(messages);
    while (pending.length > 0) {
      // Every stream of the round, at the version last applied (0: none): one lookup per event.
      const known = new Map<string, number>();
      for (const id of streamIds) known.set(id, 0);
      for (const [id, v] of await versionsOf(tx, streamIds)) known.set(id, v);
      const round = pending;
      const before = { ...counts, dead: dead.length, applied: applied.length, moved: new Map(moved) };
      let strays: Decoded[] = [];
      let at = new Map(known);
      /** Sorts a message of the round: the envelope to apply, or undefined (dead, stray, duplicate). */
      const admit = (p: Pending): { d: Decoded; e: EventEnvelope } | undefined => {
        const d = 'value' in p ? decodeOne(p) : p;
        const e = d.envelope;
        if (e === undefined) { dead.push(d); return undefined; }
        if (o.projection.follows && !o.projection.follows(e.streamId)) return undefined;
        const v = at.get(e.streamId);
        if (v === undefined) { strays.push('value' in p ? { ...d, raw: rawOf(p) } : d); return undefined; }
        if (e.streamVersion <= v) { counts.duplicates += 1; return undefined; }
        if (e.streamVersion !== v + 1) {
          log.warn('gap in stream versions: applying anyway', { streamId: e.streamId, expected: v + 1, got: e.streamVersion });
        }
        return { d, e };
      };
      const accept = (e: EventEnvelope): void => {
        at.set(e.streamId, e.streamVersion);
        if (keepMoved) moved.set(e.streamId, e.streamVersion);
        counts.applied += 1;
        touched?.add(e.streamId);
        if (o.beforeCommit) applied.push(e);
      };
      function* fresh(): Generator<EventEnvelope> {
        for (const p of round) {
          const x = admit(p);
          if (x === undefined) continue;
          accept(x.e);
          yield x.e;
        }
      }
      const events = fresh();
      // Handed over without the generator's `return`, which a `break` would call and so end it.
      const once: Iterable<EventEnvelope> = { [Symbol.iterator]: () => ({ next: () => events.next() }) };
      const firstSeen = new Set(streamIds.filter((id) => known.get(id) === 0));
      if (guarded) await tx.query('savepoint peerlog_round');
      try {
        await o.projection.apply(asTx(tx), { streamIds, firstSeen, events: once });
        // Whatever the projection left unread is still decoded, deduped and counted.
        for (const _ of events) { /* drained */ }
        if (guarded) await tx.query('release savepoint peerlog_round');
      } catch (e) {
        // Unguarded, the transaction is rolled back and the caller applies the batch again guarded.
        if (!guarded || !isUnfoldable(e)) throw e;
        // An event the projection cannot fold (one that passed its schema but belongs to no stream
        // the projection knows, or not in that state): the round again, an event at a time, each
        // in a savepoint of its own, and those that fail alone become dead letters.
        await tx.query('rollback to savepoint peerlog_round');
        await tx.query('release savepoint peerlog_round');
        counts.applied = before.applied; counts.duplicates = before.duplicates; counts.deadLetters = before.deadLetters;
        dead.length = before.dead;
        applied.length = before.applied;
        moved.clear();
        for (const [id, v] of before.moved) moved.set(id, v);
        strays = [];
        at = new Map(known);
        for (const p of round) {
          const x = admit(p);
          if (x === undefined) continue;
          const id = x.e.streamId;
          await tx.query('savepoint peerlog_event');
          try {
            await o.projection.apply(asTx(tx), { streamIds: [id], firstSeen: at.get(id) === 0 ? new Set([id]) : new Set(), events: [x.e] });
            await tx.query('release savepoint peerlog_event');
            accept(x.e);
          } catch (err) {
            if (!isUnfoldable(err)) throw err;
            await tx.query('rollback to savepoint peerlog_event');
            await tx.query('release savepoint peerlog_event');
            const reason = `cannot be folded: ${(err as { code?: unknown }).code ?? (err as Error).name}: ${(err as Error).message}`;
            log.error('event cannot be folded: recorded as a dead letter, projection continues',
              { topic, partition, offset: x.d.offset, streamId: id, streamVersion: x.e.streamVersion, type: x.e.type, reason });
            dead.push({ offset: x.d.offset, error: reason, raw: 'value' in p ? rawOf(p) : (p.raw ?? JSON.stringify(x.e)) });
          }
        }
      }
      pending = strays;
      streamIds = [...new Set(strays.map((d) => d.envelope!.streamId))];
    }
    if (moved.size > 0 && !o.projection.appliedVersions) {
      await runStatement(tx, MOVE_STREAM_VERSIONS, [name, JSON.stringify([...moved].map(([id, v]) => ({ s: id, v })))]);
    }
    for (const d of dead) {
      if (d.envelope === undefined) log.error('event refused at the boundary: recorded as a dead letter, projection continues', { topic, partition, offset: d.offset, reason: d.error });
      await tx.query(
        `insert into peerlog_dead_letters (projection, topic, partition, "offset", reason, payload) values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
        [name, topic, partition, d.offset, d.error, d.raw!.slice(0, 65536)]);
    }
    counts.deadLetters += dead.length;
    return applied;
  }

  async function startConsumer(): Promise<void> {
    const c = o.kafka.consumer({
      groupId: `peerlog.${o.dbSchema}.${name}.g${generation}`,
      // Batches of a few thousand events: larger ones keep more decoded events alive across
      // young-generation collections (measured: 4 MiB beat 8 and 2 on a 1M-event rebuild).
      maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 32 * 1024 * 1024, maxWaitTimeInMs: 200,
      // A restarted control plane rejoins its group: a dead member should not hold partitions long.
      sessionTimeout: 6000, heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
    });
    // One batch per partition may wait while the one before it is written.
    const p = createPartitionPipeline<readonly KafkaMessage[]>({
      depth: 1,
      work: async (partition, messages) => {
        let next: bigint | undefined;
        try {
          // A projection that lost its lock applies nothing more: another process may run it now.
          if (lock?.isLost() !== false) throw new ProjectionLockedError(`projection ${name} lost its lock session`);
          next = await applyBatch(partition, messages);
        } catch (e) {
          failing = partition;
          throw e;
        }
        if (next === undefined) return;
        // The backoff starts over once the partition that failed moves on, not on another's batch.
        if (failing === partition) { failing = undefined; backoffMs = RESTART_BACKOFF_MS.initial; state = 'ok'; }
        // Only saves re-reading after a restart (the checkpoint in PostgreSQL is the truth), so it
        // does not hold up the next batch; a commit that lands late never passes the checkpoint.
        void c.commitOffsets([{ topic, partition, offset: next.toString() }]).catch((e: unknown) => {
          log.debug('could not commit the consumer offset (the checkpoint holds)', { partition, error: e });
        });
      },
    });
    consumer = c;
    pipeline = p;
    void p.closed.then((error) => { if (error !== undefined) restarting ??= restartAfter(error); });
    // kafkajs starts a crashed consumer again only after an error it counts as retriable; after any
    // other (a broker away for longer than its retries, met while it joins the group) the consumer
    // stays down and nothing else says so: the projection would stop for good while its state said
    // ok. Such a crash is handled as a failed batch: a new consumer resumes from the checkpoint.
    c.on(c.events.CRASH, (event) => {
      if (event.payload.restart || consumer !== c || stopping) return;
      restarting ??= restartAfter(event.payload.error);
    });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      // Partitions are independent (a stream lives in one; checkpoints are per partition).
      partitionsConsumedConcurrently: 3,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (batch.messages.length === 0) return;
        await p.push(batch.partition, batch.messages, heartbeat);
        // Resolving moves only this consumer's fetch position; a failed batch restarts the consumer.
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        await heartbeat();
      },
    });
  }

  /**
   * A batch failed (its transaction rolled back): the batches fetched after it are dropped and a new
   * consumer resumes from the committed offset, which is never past the checkpoint.
   */
  async function restartAfter(error: unknown): Promise<void> {
    stats.failures += 1;
    let what = 'projection batch failed; resuming from the checkpoint';
    state = 'restarting after a failed batch (see the log)';
    try {
      while (!stopping) {
        log.error(what, { error, retryInMs: backoffMs });
        what = 'projection consumer could not restart; retrying';
        // Batches of other partitions still being written finish before the new consumer starts.
        await pipeline?.close();
        await consumer?.disconnect().catch(() => undefined);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([whenStopped, new Promise((r) => { timer = setTimeout(r, backoffMs); })]);
        clearTimeout(timer);
        backoffMs = Math.min(backoffMs * 2, RESTART_BACKOFF_MS.max);
        if (stopping) return;
        try {
          await holdLock();
          await startConsumer();
          state = 'ok';
          return;
        } catch (e) {
          error = e;
          state = waitingFor(e, where);
        }
      }
    } finally {
      restarting = undefined;
    }
  }

  /** Holds the lock, taking it (again) if it is not held, and watches the session it is held on. */
  async function holdLock(): Promise<void> {
    if (lock && !lock.isLost()) return;
    await lock?.release();
    lock = undefined;
    const held = await acquireProjectionLock(o.databaseUrl, o.dbSchema, name);
    lock = held;
    watch(held);
  }

  function watch(held: LockSession): void {
    void held.lost.then((error) => {
      if (stopping || held !== lock || !running) return;
      log.error('projection lost its PostgreSQL lock session: stopped applying; taking the lock again', { error });
      restarting ??= restartAfter(error);
      state = 'lost its lock session; taking the lock again';
    });
  }

  return {
    stats,
    state: () => state,
    async start() {
      // A start that fails gives back what it took, the lock above all: the next start (the
      // control plane retries while Kafka is away) would otherwise find it held by this very process.
      try {
        if (lock === o.heldLock && lock !== undefined) watch(lock);
        await holdLock();
        generation = await currentGeneration(o.ds, name);
        // A projection may start before the first event is relayed: the topic must exist to subscribe.
        await prepareEventTopic(o.kafka, topic, o.topic, log);
        await startConsumer();
      } catch (e) {
        state = waitingFor(e, where);
        await pipeline?.close();
        await consumer?.disconnect().catch(() => undefined);
        pipeline = undefined;
        consumer = undefined;
        if (lock !== undefined && lock !== o.heldLock) { await lock.release(); lock = undefined; }
        throw e;
      }
      running = true;
      state = 'ok';
      // Lost while starting: the watch above left it to here.
      if (lock?.isLost()) restarting ??= restartAfter(new Error('the lock session was lost while the projection started'));
      log.info('projection started', { generation });
    },
    async stop() {
      stopping = true;
      stopped();
      await restarting;
      // The batch being written finishes (or rolls back); those fetched after it are dropped.
      await pipeline?.close();
      await consumer?.disconnect().catch(() => undefined);
      await lock?.release();
      log.info('projection stopped', { ...stats });
    },
    async caughtUp(timeoutMs = 60_000) {
      const admin = o.kafka.admin();
      await admin.connect();
      let ends: { partition: number; high: string }[];
      try { ends = await admin.fetchTopicOffsets(topic); } finally { await admin.disconnect(); }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await o.ds.query('select partition, next_offset from peerlog_checkpoints where projection = $1 and topic = $2', [name, topic]) as { partition: number; next_offset: string }[];
        const at = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
        if (ends.every((p) => (at.get(p.partition) ?? 0n) >= BigInt(p.high))) return;
        if (Date.now() > deadline) throw new TimeoutError('ProjectionBehind', `projection ${name} did not catch up with ${topic} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
