// Process bookkeeping for the local stack: detached children, pid files, health waits, stops.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';

export interface SpawnSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly pidFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const n = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** True when `pid` is alive and is still the program we started (pids get reused). */
export function isOurProcess(pid: number | undefined, commandFragment: string): pid is number {
  if (pid === undefined) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie still has a /proc entry but is no longer serving anything.
    if (/\) Z /.test(stat)) return false;
    return cmdline.includes(commandFragment);
  } catch {
    return false;
  }
}

export function startDetached(spec: SpawnSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, [...spec.args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Sends `signal` (the program's own graceful-stop signal), then SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15000): Promise<void> {
  const send = (sig: NodeJS.Signals): boolean => {
    try { process.kill(pid, sig); return true; } catch { return false; }
  };
  if (!send(signal)) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return;
    await sleep(100);
  }
  send('SIGKILL');
  while (alive(pid)) await sleep(50);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Polls `check` until it returns true; on timeout throws naming the component and its log. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string, stillAlive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  while (Date.now() < deadline) {
    try { if (await check()) return; } catch { /* not ready yet */ }
    if (stillAlive && !stillAlive()) {
      throw new Error(`${what} exited while starting${logFile ? `; its log: ${logFile}\n${tail(logFile, 15)}` : ''}`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
  throw new Error(`${what} was not healthy after ${Math.round(timeoutMs / 1000)}s${logFile ? `; its log: ${logFile}\n${tail(logFile, 15)}` : ''}`);
}

export function tail(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).map((l) => `    ${l}`).join('\n');
  } catch {
    return '    (no log yet)';
  }
}

/** Runs a command to completion with inherited stderr; throws naming the step on failure. */
export function runStep(step: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv, logFile?: string): void {
  let stdio: ('inherit' | 'ignore' | number)[] = ['ignore', 'inherit', 'inherit'];
  let fd: number | undefined;
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true });
    fd = openSync(logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  try {
    const r = spawnSync(command, [...args], { stdio, env: env ?? process.env });
    if (r.status !== 0) {
      throw new Error(`${step} failed (exit ${r.status ?? r.signal})${logFile ? `; its log: ${logFile}\n${tail(logFile, 25)}` : ''}`);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function removePidFile(pidFile: string): void {
  rmSync(pidFile, { force: true });
}

export function pidFileFor(runDir: string, name: string): string {
  return join(runDir, `${name}.pid`);
}
