// Stops and starts the shared broker for tests of what happens while Kafka is away (the mechanism of
// test/integration/core/kafka-down.test.ts). Other tests see Kafka go away: keep the window short,
// and always start it again in a finally or after hook.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './env.js';

const STACK_CLI = fileURLToPath(new URL('../../src/stack/cli.js', import.meta.url));

/** Kills the shared broker with SIGKILL and waits until its process is gone. */
export async function killKafka(): Promise<void> {
  const pid = Number(readFileSync(join(process.env.PEERLOG_STACK_DIR!, 'run', 'kafka.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await eventually('the broker to be gone', async () => { try { process.kill(pid, 0); return undefined; } catch { return true; } });
}

/** `stack up` starts what is down (here the broker) and returns once it is ready. */
export function restartKafka(): void {
  const up = spawnSync(process.execPath, [STACK_CLI, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (up.status !== 0) throw new Error(`the stack did not restart Kafka (stack up exited ${String(up.status)})`);
}
