// Stops and starts one of the shared stack's kube-apiservers, for tests of what happens while a
// cluster's API is away. Other tests see it go: keep the window short, and always start it again.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './env.js';

const STACK_CLI = fileURLToPath(new URL('../../src/stack/cli.js', import.meta.url));

/** Kills the cluster's kube-apiserver with SIGKILL and waits until its process is gone. */
export async function killApiserver(cluster: 'alpha' | 'beta'): Promise<void> {
  const pid = Number(readFileSync(join(process.env.PEERLOG_STACK_DIR!, 'run', `kube-apiserver-${cluster}.pid`), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await eventually('the kube-apiserver to be gone', async () => { try { process.kill(pid, 0); return undefined; } catch { return true; } });
}

/**
 * `stack up` starts what is down and returns once it is ready. Run asynchronously: control planes
 * under test live in this process and must keep running meanwhile.
 */
export function restartStack(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STACK_CLI, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`stack up exited ${String(code)}`))));
  });
}
