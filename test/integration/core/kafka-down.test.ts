import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { topicFor } from '../../../src/adapters/kafka/client.js';
import { openTestRuntime, peeringScript, OUTGOING, outboxEvents, readTopic, envelopes } from '../../support/core.js';
import { eventually } from '../../support/env.js';

const decider = outgoingDecider as never;
const STACK_CLI = fileURLToPath(new URL('../../../src/stack/cli.js', import.meta.url));

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

    const stateDir = process.env.PEERLOG_STACK_DIR!;
    const pid = Number(readFileSync(join(stateDir, 'run', 'kafka.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await eventually('the broker to be gone', async () => { try { process.kill(pid, 0); return undefined; } catch { return true; } });

    // The broker is down: commands still succeed, their events wait in the outbox.
    for (const remote of ['second', 'third']) for (const c of peeringScript(remote)) await handleCommand(rt.ports, decider, OUTGOING(remote), c);
    await eventually('the relay to report a retriable failure', async () => (relay.stats.failures > 0 ? true : undefined), 60_000);
    const waiting = await rt.ds.query('select count(*)::int as n from peerlog_outbox where published_at is null') as { n: number }[];
    assert.equal(waiting[0]!.n, 16);
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; error?: { retriable?: boolean } }).find((l) => l.msg.startsWith('relay could not publish'));
    assert.equal(warned?.error?.retriable, true, 'the failure is logged as retriable');

    const up = spawnSync(process.execPath, [STACK_CLI, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
    assert.equal(up.status, 0, 'the stack restarted Kafka');
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
