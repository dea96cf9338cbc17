// Runs test/fixtures/crash.js as a separate process and waits for it to be killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerlogConfig } from '../../src/config.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/crash.js', import.meta.url));

export interface Crasher { readonly child: ChildProcess; readonly exited: Promise<NodeJS.Signals | number | null> }

export function startCrasher(mode: 'relay' | 'projection', config: PeerlogConfig, extraEnv: Record<string, string> = {}): Crasher {
  const child = spawn(process.execPath, [FIXTURE, mode], {
    env: { ...process.env, ...extraEnv, PEERLOG_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  return { child, exited };
}
