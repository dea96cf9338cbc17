// The checkpoint key as a peer or an auditor meets it: GET /audit/key on the authentication
// endpoint serves the public half of the key file (checked against openssl's reading of that
// file), `peerlog audit key|verify --key-from` take it only over a connection pinned to the
// endpoint's certificate (its fingerprint read by openssl), and `peerlog audit export` writes
// exactly the events of the log within --since/--until (the log read by kafkajs, not by peerlog).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopic } from '../../support/core.js';
import { eventually } from '../../support/env.js';
import { cleanupPlanes, peerlog, startPlane } from '../../support/peering.js';
import { peered } from '../../support/unpeering.js';

const openssl = (args: string[], input?: string) => {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

/** A tool run without blocking: the endpoint it talks to answers from this very process. */
function run(cmd: string, args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

interface Line { id: string; type: string; occurredAt: string; partition: number; offset: string }

test('GET /audit/key serves the key file\'s public half; audit key and verify take it only over a pinned connection; audit export writes the log within --since/--until', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-audit-key-'));
  const keyFile = join(dir, 'checkpoint.key');
  const consumer = await startPlane('alpha', 'akc');
  const provider = await startPlane('beta', 'akp', { auditKey: keyFile, checkpointSeconds: 1 });
  t.after(async () => { await cleanupPlanes([consumer, provider]); rmSync(dir, { recursive: true, force: true }); });
  const id = provider.config.clusterId;
  const url = provider.cp.url;
  const log = ['--cluster-id', id, '--kafka-brokers', provider.config.kafkaBrokers.join(',')];

  // What openssl says: the public key of the file, and the endpoint certificate's SHA-256.
  const publicPem = openssl(['pkey', '-in', keyFile, '-pubout']);
  const { hostname, port } = new URL(url);
  const sc = await run('openssl', ['s_client', '-connect', `${hostname}:${port}`, '-servername', 'localhost']);
  assert.equal(sc.status, 0, sc.stderr);
  const served = sc.stdout;
  const certPem = served.slice(served.indexOf('-----BEGIN CERTIFICATE-----'), served.indexOf('-----END CERTIFICATE-----') + 25);
  const fingerprint = openssl(['x509', '-noout', '-fingerprint', '-sha256'], certPem).trim().split('=')[1]!;
  assert.match(fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

  // 1. The endpoint, read with curl.
  const curl = await run('curl', ['-sk', '--max-time', '20', `${url}/audit/key`]);
  assert.equal(curl.status, 0, curl.stderr);
  const answer = JSON.parse(curl.stdout) as { clusterId: string; algorithm: string; keyId: string; publicKey: string };
  assert.equal(answer.clusterId, id);
  assert.equal(answer.algorithm, 'Ed25519');
  assert.equal(answer.publicKey.trim(), publicPem.trim());

  // 2. `audit key --key-from`: the same key through the pinned connection (either spelling of the fingerprint).
  for (const pin of [fingerprint, fingerprint.replace(/:/g, '').toLowerCase()]) {
    const r = await peerlog(['audit', 'key', '--cluster-id', id, '--key-from', url, '--auth-fingerprint', pin, '-o', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const k = JSON.parse(r.stdout) as { publicKey: string; keyId: string };
    assert.equal(k.publicKey.trim(), publicPem.trim());
    assert.equal(k.keyId, answer.keyId);
  }
  // Another certificate than the pinned one: nothing is taken from it.
  const wrongPin = `${fingerprint.slice(0, -2)}${fingerprint.endsWith('00') ? '11' : '00'}`;
  const mismatch = await peerlog(['audit', 'key', '--cluster-id', id, '--key-from', url, '--auth-fingerprint', wrongPin]);
  assert.equal(mismatch.status, 1, mismatch.stderr);
  assert.match(mismatch.stderr, /FingerprintMismatch/);
  // No pin at all: a usage error that says why.
  const unpinned = await peerlog(['audit', 'verify', ...log, '--key-from', url]);
  assert.equal(unpinned.status, 2);
  assert.match(unpinned.stderr, /--key-from needs --auth-fingerprint .*unpinned/);
  // Another cluster's endpoint: its key does not verify this cluster's log.
  const other = await peerlog(['audit', 'key', '--cluster-id', consumer.config.clusterId, '--key-from', url, '--auth-fingerprint', fingerprint]);
  assert.equal(other.status, 1);
  assert.match(other.stderr, new RegExp(`checkpoint key of cluster ${id}, not of ${consumer.config.clusterId}`));

  // 3. A peering fills the provider's log; a checkpoint is signed after it.
  await peered(consumer, provider, `peerlog-${id}`);
  let last = '';
  const verified = await eventually('a checkpoint after the peering, verified with the fetched key', async () => {
    const r = await peerlog(['audit', 'verify', ...log, '--key-from', url, '--auth-fingerprint', fingerprint, '-o', 'json']);
    last = `exit ${r.status}: ${r.stdout} ${r.stderr}`;
    if (r.status !== 0) return undefined;
    const v = JSON.parse(r.stdout) as { ok: boolean; events: number; checkpoints: number; lastCheckpoint?: { chainLength: number } };
    // Signed up to the event before the checkpoint: the checkpoint is the only event after it.
    return v.checkpoints >= 1 && v.lastCheckpoint!.chainLength === v.events - 1 && v.events >= 5 ? v : undefined;
  }, 30_000).catch((e: Error) => { throw new Error(`${e.message}; the last verify said ${last}`); });
  assert.equal(verified.ok, true);

  // 4. The log as kafkajs reads it, up to an instant already behind us (the planes keep logging),
  //    then `audit export` of the same span, whole and cut in two.
  const end = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 2000));
  const raw = (await readTopic(provider.config.kafkaBrokers, `peerlog.${id}.events`, verified.events))
    .map((r) => ({ ...(JSON.parse(r.value) as { id: string; occurredAt: string }), partition: r.partition, offset: r.offset }))
    .filter((e) => e.occurredAt < end);
  const exported = async (...window: string[]): Promise<Line[]> => {
    const r = await peerlog(['audit', 'export', ...log, '--key-from', url, '--auth-fingerprint', fingerprint, ...window]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
  };
  const ids = (lines: readonly { id: string }[]) => new Set(lines.map((e) => e.id));
  const all = await exported('--until', end);
  assert.ok(raw.length >= verified.events, `${raw.length} events read, ${verified.events} verified`);
  assert.deepEqual(ids(all), ids(raw), 'every event of the span');
  assert.equal(all.length, raw.length, 'each once');
  for (const e of all) {
    const r = raw.find((x) => x.id === e.id)!;
    assert.deepEqual([e.partition, e.offset], [r.partition, r.offset], `${e.type} names its partition and offset`);
  }
  // A cut at one instant of the log: --since keeps the events at or after it, --until those before.
  const times = [...new Set(raw.map((e) => e.occurredAt))].sort();
  assert.ok(times.length >= 3, `the peering logged events at several instants (${times.length})`);
  const cut = times[Math.floor(times.length / 2)]!;
  assert.deepEqual(ids(await exported('--since', cut, '--until', end)), ids(raw.filter((e) => e.occurredAt >= cut)));
  assert.deepEqual(ids(await exported('--until', cut)), ids(raw.filter((e) => e.occurredAt < cut)));
  assert.deepEqual(ids(await exported('--since', '1h', '--until', end)), ids(raw), 'a duration counts back from now');
  const bad = await peerlog(['audit', 'export', ...log, '--no-signatures', '--since', 'yesterday']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--since/);
});
