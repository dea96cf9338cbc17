// `peerlog audit verify|export|key`: the tamper evidence of a cluster's log, read from its Kafka
// topic from offset 0 (see src/audit/verify.ts for why the topic and how the walk goes).
//   verify  every event's hash, every link, every signed checkpoint: OK with the count and head, or
//           the first broken record (partition, offset, event id, what is wrong). `--topic` verifies
//           another topic laid out like the log (a copy of it, an archive restored elsewhere).
//   export  the verified trail as JSON lines, in chain order, within --since/--until.
//   key     the public key that verifies this control plane's checkpoints (also GET /audit/key).
import { existsSync, readFileSync } from 'node:fs';
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom, type PeerlogConfig } from '../config.js';
import { createKafka, kafkaSecurityOptions, topicFor } from '../adapters/kafka/client.js';
import { readTopic, topicPartitions } from '../adapters/kafka/log-reader.js';
import { loadCheckpointKey, signatureCheck } from '../adapters/crypto/checkpoint-key.js';
import { fetchAuditKey } from '../adapters/http/auth-client.js';
import { ValidationError } from '../errors.js';
import { createLogVerifier, type LogRecord, type Verdict } from '../audit/verify.js';
import { parseEventJson } from '../events/schemas.js';
import { parseDurationSeconds } from '../duration.js';
import { OUTPUT_FLAG, outputFormat, printData } from './output.js';
import { UsageError } from './args.js';
import type { Verb } from './index.js';

/** Exit codes: 4 as for every broken chain (history, replay), 6 for a checkpoint that fails. */
export const EXIT_BROKEN_CHAIN = 4;
export const EXIT_BAD_CHECKPOINT = 6;

/** A partition this far ahead of the walk is paused until the others catch up. */
const QUEUE_HIGH = 100_000;
const QUEUE_LOW = 50_000;

const SUBVERBS = ['verify', 'export', 'key'] as const;

export const auditVerb: Verb = {
  name: 'audit',
  summary: 'verify the log\'s hash chain and signed checkpoints from offset 0 (verify), export the audit trail (export), print the checkpoint key (key)',
  usage: [
    'peerlog audit verify [--topic T] [--public-key FILE | --key-from URL --auth-fingerprint SHA256 | --no-signatures] [--max-unsigned N] [-o table|json|yaml] [--stack alpha|beta | --cluster-id ID --kafka-brokers B]',
    '       peerlog audit export [--since TIME|DURATION] [--until TIME|DURATION] [--topic T] [...]   (JSON lines on stdout)',
    '       peerlog audit key [-o table|json|yaml] [--stack alpha|beta | --cluster-id ID --audit-key FILE | --key-from URL --auth-fingerprint SHA256]',
    '',
    '--key-from takes the key from a control plane\'s authentication endpoint (GET /audit/key), over TLS pinned to',
    '--auth-fingerprint (the endpoint certificate\'s SHA-256, as in the peering token): an unpinned key proves nothing.',
    '',
    'Exit codes: 0 OK; 4 the hash chain is broken (Altered, Missing, Reordered, Inserted); 6 a signed checkpoint fails',
    '(BadSignature, CheckpointMismatch: the log was rewritten with its hashes recomputed; Unsigned: more events after',
    'the last checkpoint than --max-unsigned); 1 the log could not be read; 2 usage.',
  ].join('\n'),
  flags: [
    ...configFlags([...LOG_SETTINGS, 'audit-key']),
    { name: 'topic', type: 'string', description: 'the topic to read (default peerlog.<cluster-id>.events)' },
    { name: 'public-key', type: 'string', description: 'PEM file(s), comma-separated, of the public key that verifies checkpoints (default: the one of --audit-key)' },
    { name: 'key-from', type: 'string', description: 'the authentication endpoint (https://host:port) whose GET /audit/key gives the public key' },
    { name: 'auth-fingerprint', type: 'string', description: 'SHA-256 fingerprint of that endpoint\'s certificate; --key-from needs it' },
    { name: 'no-signatures', type: 'boolean', description: 'check hashes and links only, not checkpoints' },
    { name: 'max-unsigned', type: 'number', description: 'fail when more events than this follow the last checkpoint', default: 10_000 },
    { name: 'since', type: 'string', description: 'export: events at or after this RFC 3339 time, or this long ago (1h, 7d)' },
    { name: 'until', type: 'string', description: 'export: events before this RFC 3339 time, or this long ago' },
    OUTPUT_FLAG,
  ],
  async run({ flags, positionals }) {
    const sub = positionals[0];
    if (!(SUBVERBS as readonly (string | undefined)[]).includes(sub)) throw new UsageError(`expected one of ${SUBVERBS.join(', ')}${sub ? `, not ${JSON.stringify(sub)}` : ''} (see peerlog audit --help)`);
    const format = outputFormat(flags.output);
    const config = loadConfig(sourceFrom(flags), { log: false });
    const published = await publishedKey(flags, config);
    if (sub === 'key') return key(config, format, published);
    if (config.kafkaBrokers.length === 0) throw new UsageError('--kafka-brokers (or PEERLOG_KAFKA_BROKERS, or --stack) is needed to read the log');
    const topic = typeof flags.topic === 'string' ? flags.topic : topicFor(config.clusterId);
    const verifySignature = flags['no-signatures'] === true ? undefined : signatureCheck(published ? [published.publicKey] : publicKeys(flags['public-key'], config));
    const maxUnsigned = Number(flags['max-unsigned']);
    if (!Number.isInteger(maxUnsigned) || maxUnsigned < 0) throw new UsageError(`--max-unsigned must be a non-negative integer, got ${String(flags['max-unsigned'])}`);
    if (sub === 'export') {
      const now = Date.now();
      const since = instant(flags.since, 'since', now);
      const until = instant(flags.until, 'until', now);
      const out: string[] = [];
      const flush = () => { if (out.length) { process.stdout.write(out.join('')); out.length = 0; } };
      const verdict = await walk(config, topic, { verifySignature, maxUnsigned }, (r) => {
        const e = parseEventJson(r.value!, { verifyHash: false });
        const t = Date.parse(e.occurredAt);
        if ((since === undefined || t >= since) && (until === undefined || t < until)) out.push(`${JSON.stringify({ partition: r.partition, offset: r.offset, ...e })}\n`);
        if (out.length >= 1000) flush();
      });
      flush();
      return exitFor(verdict);
    }
    const verdict = await walk(config, topic, { verifySignature, maxUnsigned });
    printData(format, { topic, ...verdict }, () => table(topic, verdict));
    return exitFor(verdict);
  },
};

/** The chain walked over the whole topic; the partitions read as the walk can take them. */
async function walk(config: PeerlogConfig, topic: string, o: { verifySignature: ReturnType<typeof signatureCheck> | undefined; maxUnsigned: number },
  onEvent?: (record: LogRecord) => void): Promise<Verdict> {
  const kafka = createKafka(config.kafkaBrokers, 'peerlog-audit', undefined, kafkaSecurityOptions(config));
  const ends = await topicPartitions(kafka, topic);
  const v = createLogVerifier(ends.map((e) => e.partition), {
    clusterId: config.clusterId, verifySignature: o.verifySignature, maxUnsigned: o.verifySignature ? o.maxUnsigned : undefined,
    onEvent,
  });
  // Once the walk is stuck the log is broken: the rest is read whole so the break can be named.
  let stuck = false;
  await readTopic(kafka, topic, ends, {
    onRecord: (r) => v.add(r),
    afterBatch: () => { if (v.advance() !== 'more') stuck = true; },
    pauseWhen: (p) => !stuck && v.queued(p) > QUEUE_HIGH,
    resumeWhen: (p) => stuck || v.queued(p) < QUEUE_LOW,
  });
  return v.finish();
}

function publicKeys(flag: unknown, config: PeerlogConfig): string[] {
  if (typeof flag === 'string' && flag !== '') {
    return flag.split(',').map((f) => {
      try { return readFileSync(f.trim(), 'utf8'); } catch (e) { throw new UsageError(`--public-key ${f}: ${(e as Error).message}`); }
    });
  }
  if (config.auditKey && existsSync(config.auditKey)) return [loadCheckpointKey(config.auditKey).publicKeyPem];
  throw new UsageError('checking the signed checkpoints needs the control plane\'s public key: --public-key FILE (from `peerlog audit key` or GET /audit/key), or --audit-key; --no-signatures checks hashes and links only');
}

/** The key fetched from --key-from over the pinned connection, for this cluster only. */
async function publishedKey(flags: Record<string, unknown>, config: PeerlogConfig): Promise<{ keyId: string; publicKey: string } | undefined> {
  const from = flags['key-from'];
  if (from === undefined || from === '') {
    if (flags['auth-fingerprint'] !== undefined) throw new UsageError('--auth-fingerprint pins the endpoint of --key-from; give both');
    return undefined;
  }
  if (typeof flags['public-key'] === 'string') throw new UsageError('give one of --public-key and --key-from');
  if (flags['no-signatures'] === true) throw new UsageError('--no-signatures checks no key: drop --key-from');
  const pin = flags['auth-fingerprint'];
  if (typeof pin !== 'string' || !/^(sha256:)?[0-9a-fA-F:]{64,95}$/.test(pin)) {
    throw new UsageError('--key-from needs --auth-fingerprint SHA256 (the endpoint certificate\'s fingerprint, as in the peering token): a key fetched over an unpinned connection proves nothing');
  }
  const answer = await fetchAuditKey(String(from), pin);
  if (answer.clusterId !== config.clusterId) {
    throw new ValidationError(`${String(from)} publishes the checkpoint key of cluster ${answer.clusterId}, not of ${config.clusterId}`, { field: 'key-from' });
  }
  return answer;
}

function key(config: PeerlogConfig, format: ReturnType<typeof outputFormat>, published?: { keyId: string; publicKey: string }): number {
  if (published) {
    printData(format, { clusterId: config.clusterId, algorithm: 'Ed25519', keyId: published.keyId, publicKey: published.publicKey }, () => published.publicKey.trimEnd());
    return 0;
  }
  if (!config.auditKey) throw new UsageError('--audit-key (or PEERLOG_AUDIT_KEY, or --stack) names the control plane\'s checkpoint key');
  const k = loadCheckpointKey(config.auditKey);
  printData(format, { clusterId: config.clusterId, algorithm: 'Ed25519', keyId: k.keyId, publicKey: k.publicKeyPem }, () => k.publicKeyPem.trimEnd());
  return 0;
}

/** An RFC 3339 time, or a duration before `now`, as epoch milliseconds. */
function instant(value: unknown, flag: string, now: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new UsageError(`--${flag} ${text}: not an RFC 3339 time`);
    return t;
  }
  return now - parseDurationSeconds(text, `flag --${flag}`, (m) => new UsageError(m)) * 1000;
}

function table(topic: string, v: Verdict): string {
  if (v.ok) {
    const cp = v.lastCheckpoint ? `${v.checkpoints} checkpoint(s) verified, the last at chain length ${v.lastCheckpoint.chainLength} (partition ${v.lastCheckpoint.partition} offset ${v.lastCheckpoint.offset}); ${v.unsigned} event(s) after it not signed yet` : 'no checkpoint verified';
    return [`OK  ${topic}: ${v.events} events, head ${v.head}`, `    ${cp}; ${v.duplicates} republished record(s) skipped`].join('\n');
  }
  const f = v.finding;
  return [`${v.failure}  ${f.reason}  ${f.partition === null ? '' : `partition ${f.partition} offset ${f.offset}  `}${f.eventId ? `event ${f.eventId}` : ''}`.trimEnd(), `    ${f.message}`, `    ${v.events} events verified before it`].join('\n');
}

function exitFor(v: Verdict): number {
  if (v.ok) return 0;
  process.stderr.write(`peerlog: ${v.failure}: ${v.finding.reason}: ${v.finding.message}\n`);
  return v.failure === 'BrokenChain' ? EXIT_BROKEN_CHAIN : EXIT_BAD_CHECKPOINT;
}
