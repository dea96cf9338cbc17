// System packages the stack and its tests need, installed with apt-get (Debian) when missing:
// idempotent, a package already there costs one check.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** apt-get update, then install `packages` (through sudo unless root); throws naming them when it fails. */
export function aptInstall(packages: readonly string[], say: (line: string) => void): void {
  if (packages.length === 0) return;
  say(`installing system packages: ${packages.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['apt-get', 'update'], ['apt-get', 'install', '-y', '--no-install-recommends', ...packages]]) {
    // stdout is data for callers (a test's TAP stream): apt's progress goes to stderr.
    const r = spawnSync(sudo[0] ?? args[0]!, [...sudo.slice(1), ...(sudo.length ? args : args.slice(1))], { stdio: ['ignore', 2, 2], env });
    if (r.status !== 0) throw new Error(`installing ${packages.join(' ')} with apt-get failed (exit ${r.status})`);
  }
}

/** Where Debian's chromium package puts its binary. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium for the tests that load peerlog's HTML pages; installed once, then found. */
export function ensureChromium(say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  if (!existsSync(CHROMIUM)) aptInstall(['chromium'], say);
  if (!existsSync(CHROMIUM)) throw new Error(`the chromium package was installed but ${CHROMIUM} is missing`);
  return CHROMIUM;
}
