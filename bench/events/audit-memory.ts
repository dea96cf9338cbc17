// bench/events, audit verify in memory only (no stack needed): the verifier over N records of a
// sealed log laid out on 3 partitions, versus one SHA-256 of each record's bytes, in the same run.
// Each record's value is a view into its partition's one buffer, as kafkajs hands out a fetch's.
// Usage: node dist/bench/events/audit-memory.js [--events 200000] [--rounds 5]
import { hash as nodeHash } from 'node:crypto';
import { createLogVerifier, type LogRecord } from '../../src/audit/verify.js';
import { serializeEvent } from '../../src/events/index.js';
import { forgeLog } from './log.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const EVENTS = arg('events', 200_000);
const ROUNDS = arg('rounds', 5);
const CLUSTER = 'bench-audit-memory';

/** The log's records, partition by stream (a stand-in for Kafka's key hash: only the spread matters). */
function records(): LogRecord[] {
  const texts: Buffer[][] = [[], [], []];
  for (const stream of forgeLog(CLUSTER, Math.ceil(EVENTS / 8), 'm')) {
    let h = 0;
    for (const c of stream[0]!.streamId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    for (const e of stream) texts[h % 3]!.push(Buffer.from(serializeEvent(e)));
  }
  const out: LogRecord[] = [];
  for (const [partition, values] of texts.entries()) {
    const all = Buffer.concat(values);
    let at = 0;
    for (const [offset, v] of values.entries()) {
      out.push({ partition, offset: String(offset), value: all.subarray(at, at + v.length) });
      at += v.length;
    }
  }
  // Fetches alternate between partitions: interleave them in slices of 500 records.
  const by = [0, 1, 2].map((p) => out.filter((r) => r.partition === p));
  const mixed: LogRecord[] = [];
  for (let i = 0; mixed.length < out.length; i += 500) for (const q of by) mixed.push(...q.slice(i, i + 500));
  return mixed;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const log = records();
process.stderr.write(`bench/events audit in memory: ${log.length} records, ${ROUNDS} rounds\n`);
const ratios: number[] = [];
let sink = 0;
for (let round = 1; round <= ROUNDS; round++) {
  const t0 = performance.now();
  const v = createLogVerifier([0, 1, 2], { clusterId: CLUSTER });
  for (let i = 0; i < log.length; i++) { v.add(log[i]!); if (i % 500 === 499) v.advance(); }
  const verdict = v.finish();
  const ours = log.length / ((performance.now() - t0) / 1000);
  if (!verdict.ok || verdict.events !== log.length) throw new RangeError(`audit verify of the bench log: ${JSON.stringify(verdict)}`);
  const t1 = performance.now();
  for (const r of log) sink ^= nodeHash('sha256', r.value!, 'hex').charCodeAt(0);
  const raw = log.length / ((performance.now() - t1) / 1000);
  ratios.push(ours / raw);
  process.stderr.write(`  round ${round}: audit verify ${fmt(ours)} events/s, raw SHA-256 ${fmt(raw)} events/s, ratio ${(ours / raw * 100).toFixed(0)}%\n`);
}
const sorted = [...ratios].sort((a, b) => a - b);
process.stdout.write(`audit verify in memory: median ratio ${(sorted[sorted.length >> 1]! * 100).toFixed(0)}% of raw SHA-256 (target >= 50%)${sink < 0 ? '' : ''}\n`);
