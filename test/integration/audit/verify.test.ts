// `peerlog audit verify` on copies of a real log (the relay's, with checkpoints the checkpointer
// signed), each copy tampered one way: the real CLI must fail and name the record. A copy is the
// original's records produced into a new topic, partition by partition in offset order (what
// kafka-mirror or a restore would make); the test's expectations come from the records it touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { loadCheckpointKey } from '../../../src/adapters/crypto/checkpoint-key.js';
import { createCheckpointer } from '../../../src/adapters/postgres/checkpoints.js';
import { sealEvent } from '../../../src/events/hash.js';
import { driversOf } from '../../../src/runtime.js';
import { openTestRuntime, peeringScript, OUTGOING, PEERLOG, readTopic, testLogger } from '../../support/core.js';
import { uniqueName } from '../../support/env.js';

interface Rec { partition: number; key: string; value: string }
interface Env { id: string; type: string; hash: string; prevHash: string; data: Record<string, unknown>; [k: string]: unknown }
const GENESIS = '0'.repeat(64);
const parse = (r: Rec) => JSON.parse(r.value) as Env;

test('audit verify: an intact copy is OK; altering, deleting, reordering or inserting one event fails naming it; recomputed hashes fail on the signed checkpoint', { timeout: 240_000 }, async () => {
  const rt = await openTestRuntime('audit');
  const { config } = rt;
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-audit-'));
  const kafka = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const copies: string[] = [];
  const relay = rt.relay({ idlePollMs: 20 });
  try {
    await relay.start();
    const key = loadCheckpointKey(join(dir, 'checkpoint.key'), { create: true });
    const publicKey = join(dir, 'checkpoint.pub');
    writeFileSync(publicKey, key.publicKeyPem);
    const checkpointer = createCheckpointer({ ds: driversOf(rt).ds, ports: rt.ports, clusterId: config.clusterId, key, logger: testLogger(), intervalMs: 60_000 });
    // 1. A log: two peerings, a checkpoint, a third peering, a checkpoint.
    for (const remote of ['r1', 'r2']) for (const c of peeringScript(remote)) await handleCommand(rt.ports, outgoingDecider as never, OUTGOING(remote), c);
    await relay.drained();
    assert.ok((await checkpointer.checkpointOnce()) !== undefined);
    await relay.drained();
    for (const c of peeringScript('r3')) await handleCommand(rt.ports, outgoingDecider as never, OUTGOING('r3'), c);
    await relay.drained();
    assert.ok((await checkpointer.checkpointOnce()) !== undefined);
    await relay.drained();
    const total = Number(((await driversOf(rt).ds.query('select count(*)::int as n from peerlog_outbox')) as { n: number }[])[0]!.n);
    const raw = (await readTopic(config.kafkaBrokers, topicFor(config.clusterId), total))
      .sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
    assert.equal(raw.length, total);
    const partitions = [0, 1, 2].map((p) => raw.filter((r) => r.partition === p).map((r) => ({ partition: p, key: r.key, value: r.value })));
    assert.equal(raw.filter((r) => parse(r).type === 'CheckpointSigned').length, 2);

    const copy = async (layout: Rec[][]): Promise<string> => {
      const topic = uniqueName(`${config.clusterId}-copy`);
      copies.push(topic);
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (const [p, recs] of layout.entries()) {
        if (recs.length) await producer.send({ topic, acks: -1, messages: recs.map((r) => ({ partition: p, key: r.key, value: r.value })) });
      }
      await producer.disconnect();
      return topic;
    };
    const verify = (topic: string, ...extra: string[]) => {
      const r = spawnSync(PEERLOG, ['audit', 'verify', '--cluster-id', config.clusterId, '--kafka-brokers', config.kafkaBrokers.join(','), '--topic', topic, '--public-key', publicKey, '-o', 'json', ...extra], { encoding: 'utf8', timeout: 60_000 });
      return { status: r.status, stderr: r.stderr, out: r.stdout ? JSON.parse(r.stdout) as { ok: boolean; events?: number; failure?: string; finding?: { reason: string; partition: number; offset: string; eventId: string } } : undefined };
    };
    const named = (v: ReturnType<typeof verify>) => ({ status: v.status, failure: v.out?.failure, reason: v.out?.finding?.reason, partition: v.out?.finding?.partition, offset: v.out?.finding?.offset, eventId: v.out?.finding?.eventId });
    const clone = () => partitions.map((p) => [...p]);
    // The partition with the most records, and a record in its middle (not a checkpoint).
    const p = [0, 1, 2].sort((a, b) => partitions[b]!.length - partitions[a]!.length)[0]!;
    const mid = partitions[p]!.findIndex((r, i) => i >= 2 && parse(r).type !== 'CheckpointSigned');
    const target = parse(partitions[p]![mid]!);

    // 2. The intact copy.
    const intact = verify(await copy(clone()));
    assert.equal(intact.status, 0, intact.stderr);
    assert.equal(intact.out?.events, total);

    // 3. Altered: one field of one event.
    {
      const l = clone();
      l[p]![mid] = { ...l[p]![mid]!, value: l[p]![mid]!.value.replace('"occurredAt":"2026-', '"occurredAt":"2025-') };
      const v = verify(await copy(l));
      assert.deepEqual(named(v), { status: 4, failure: 'BrokenChain', reason: 'Altered', partition: p, offset: String(mid), eventId: target.id });
      assert.match(v.stderr, new RegExp(`BrokenChain: Altered: .*${target.id}`));
    }
    // 4. Deleted: the event that followed it is named, where it stands in the copy.
    {
      const l = clone();
      l[p]!.splice(mid, 1);
      const next = raw.find((r) => parse(r).prevHash === target.hash)!;
      const offset = next.partition === p ? Number(next.offset) - 1 : Number(next.offset);
      assert.deepEqual(named(verify(await copy(l))), { status: 4, failure: 'BrokenChain', reason: 'Missing', partition: next.partition, offset: String(offset), eventId: parse(next).id });
    }
    // 5. Reordered: it and the record after it in its partition swapped; the later one now stands first.
    {
      const l = clone();
      const [a, b] = [l[p]![mid]!, l[p]![mid + 1]!];
      l[p]![mid] = b; l[p]![mid + 1] = a;
      assert.deepEqual(named(verify(await copy(l))), { status: 4, failure: 'BrokenChain', reason: 'Reordered', partition: p, offset: String(mid), eventId: parse(b).id });
    }
    // 6. Inserted: a forged event before it, following the same event, its hash computed as the relay would.
    {
      const l = clone();
      const { hash: _h, prevHash, ...rest } = target;
      const forged = sealEvent({ ...rest, id: '0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee', data: { ...target.data } } as never, prevHash);
      l[p]!.splice(mid, 0, { partition: p, key: l[p]![mid]!.key, value: JSON.stringify(forged) });
      assert.deepEqual(named(verify(await copy(l))), { status: 4, failure: 'BrokenChain', reason: 'Inserted', partition: p, offset: String(mid), eventId: '0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee' });
    }
    // 7. Altered, then every later event sealed again: every hash and link holds, the first checkpoint does not.
    {
      const byPrev = new Map(raw.map((r) => [parse(r).prevHash, r]));
      const chain: typeof raw = [];
      for (let h = GENESIS, r = byPrev.get(h); r; h = parse(r).hash, r = byPrev.get(h)) chain.push(r);
      assert.equal(chain.length, total);
      let prev = GENESIS;
      const resealed = new Map<string, string>();
      for (const [i, r] of chain.entries()) {
        const { hash: _h, prevHash: _p, ...rest } = parse(r);
        const edited = i === 1 ? { ...rest, occurredAt: '2025-01-01T00:00:00.000Z' } : rest;
        const e = sealEvent(edited as never, prev) as unknown as Env;
        prev = e.hash;
        resealed.set(`${r.partition}/${r.offset}`, JSON.stringify(e));
      }
      const l = [0, 1, 2].map((q) => raw.filter((r) => r.partition === q).map((r) => ({ partition: q, key: r.key, value: resealed.get(`${r.partition}/${r.offset}`)! })));
      const topic = await copy(l);
      const firstCheckpoint = raw.find((r) => parse(r).type === 'CheckpointSigned')!;
      const v = verify(topic);
      assert.deepEqual(named(v), { status: 6, failure: 'BadCheckpoint', reason: 'CheckpointMismatch', partition: firstCheckpoint.partition, offset: firstCheckpoint.offset, eventId: parse(firstCheckpoint).id });
      assert.match(v.stderr, /BadCheckpoint: CheckpointMismatch/);
      // The chain alone holds: only the signatures catch the rewrite.
      assert.equal(verify(topic, '--no-signatures').status, 0);
    }
  } finally {
    await relay.stop().catch(() => undefined);
    if (copies.length) await admin.deleteTopics({ topics: copies }).catch(() => undefined);
    await admin.disconnect();
    await rt.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
