import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { startControlPlane, type ControlPlane } from '../../../src/control-plane.js';
import { openTestRuntime, peeringScript, OUTGOING, outboxEvents, readTopic, envelopes } from '../../support/core.js';
import { captureLogs, clusterConfig, dropLog, rawRequest } from '../../support/auth.js';
import { eventually } from '../../support/env.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;
const STACK_CLI = fileURLToPath(new URL('../../../src/stack/cli.js', import.meta.url));

/** Kills the shared broker (other tests see Kafka go away: keep the window short). */
async function killKafka(): Promise<void> {
  const pid = Number(readFileSync(join(process.env.PEERLOG_STACK_DIR!, 'run', 'kafka.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await eventually('the broker to be gone', async () => { try { process.kill(pid, 0); return undefined; } catch { return true; } });
}

function restartKafka(): void {
  const up = spawnSync(process.execPath, [STACK_CLI, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  assert.equal(up.status, 0, 'the stack restarted Kafka');
}

// Chosen behaviour (README "Kafka unavailable"): a command is accepted once it is in the
// PostgreSQL outbox; the relay keeps retrying and publishes the backlog in order when Kafka is back.
test('Kafka unreachable: commands are accepted into the outbox and published in order once Kafka is back', async () => {
  const lines: string[] = [];
  const rt = await openTestRuntime('kafkadown', lines);
  const relay = rt.relay({ idlePollMs: 200 });
  try {
    await relay.start();
    for (const c of peeringScript('first')) await handleCommand(rt.ports, decider, OUTGOING('first'), c);
    await relay.drained();

    await killKafka();

    // The broker is down: commands still succeed, their events wait in the outbox.
    for (const remote of ['second', 'third']) for (const c of peeringScript(remote)) await handleCommand(rt.ports, decider, OUTGOING(remote), c);
    await eventually('the relay to report a retriable failure', async () => (relay.stats.failures > 0 ? true : undefined), 60_000);
    const waiting = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_outbox where published_at is null') as { n: number }[];
    assert.equal(waiting[0]!.n, 16);
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; error?: { retriable?: boolean } }).find((l) => l.msg.startsWith('relay could not publish'));
    assert.equal(warned?.error?.retriable, true, 'the failure is logged as retriable');

    restartKafka();
    await relay.drained(120_000);

    const stored = await outboxEvents(rt);
    const got = envelopes(await readTopic(rt.config.kafkaBrokers, topicFor(rt.config.clusterId), stored.length));
    for (const remote of ['first', 'second', 'third']) {
      const ofStream = got.filter((e) => e.streamId === `outgoing-${remote}`).map((e) => e.streamVersion);
      assert.deepEqual(ofStream.slice(0, 8), [1, 2, 3, 4, 5, 6, 7, 8], `${remote}: published in order`);
    }
  } finally {
    await relay.stop();
    await rt.cleanup();
  }
});

test('Kafka down at start: the control plane starts, /readyz says what it waits for, and the projections start once Kafka is back', async () => {
  const config = clusterConfig('beta', 'kafkastart');
  const logs = captureLogs();
  let cp: ControlPlane | undefined;
  const readyz = async () => JSON.parse((await rawRequest(cp!.url, '/readyz', { method: 'GET' })).text) as { ready: boolean; checks: Record<string, string> };
  let down = true;
  let waiting: { ready: boolean; checks: Record<string, string> } | undefined;
  try {
    await killKafka();
    try {
      cp = await startControlPlane(config, logs.logger);
      for (const c of peeringScript('waiting')) await handleCommand(cp.runtime.ports, decider, OUTGOING('waiting'), c);
      waiting = await eventually('/readyz to report the relay and the projections waiting', async () => {
        const r = await readyz();
        return r.checks.relay !== 'ok' && r.checks.projections !== 'ok' && !r.checks.projections!.includes('starting') ? r : undefined;
      }, 30_000);
    } finally {
      restartKafka();
      down = false;
    }
    // Within 60 s of Kafka being back, every projection runs and has applied the events.
    const ready = await eventually('/readyz to report the projections ok', async () => {
      const r = await readyz();
      return r.checks.projections === 'ok' && r.checks.relay === 'ok' ? r : undefined;
    }, 60_000);
    assert.equal(ready.ready, true);
    // What it said while Kafka was away: what each waited for, where.
    const broker = config.kafkaBrokers.join(',');
    assert.equal(waiting!.ready, true, 'Kafka away does not make the endpoint unready');
    assert.equal(waiting!.checks.relay, `waiting for Kafka at ${broker}; events wait in the outbox`);
    assert.match(waiting!.checks.projections!, new RegExp(`^read-models: waiting for Kafka at ${broker}(; (kubernetes|replication|virtual-kubelet|process): waiting for Kafka at ${broker})*$`));
    const checkpoints = await eventually('the checkpoints to move past the 8 events', async () => {
      const rows = await driversOf(cp!.runtime).ds.query(`select projection, sum(next_offset)::int as n from peerlog_checkpoints group by 1 order by 1`) as { projection: string; n: number }[];
      return rows.length === 5 && rows.every((r) => r.n >= 8) ? rows : undefined;
    }, 30_000);
    assert.deepEqual(checkpoints.map((r) => r.projection), ['kubernetes', 'process', 'read-models', 'replication', 'virtual-kubelet']);
    assert.ok(!logs.lines.some((l) => l.includes('ProjectionLocked')), 'no start was refused by this process\'s own lock');
  } finally {
    if (down) restartKafka();
    await cp?.stop();
    if (cp) await dropLog(config, cp.runtime);
    if (cp) await cp.kube.delete('v1', 'Namespace', config.systemNamespace);
    // The script's virtual node (and Lease): left behind, it would take other tests' pods.
    if (cp) await cp.kube.delete('v1', 'Node', 'peerlog-waiting');
    if (cp) await cp.kube.delete('coordination.k8s.io/v1', 'Lease', 'peerlog-waiting', 'kube-node-lease');
  }
});
