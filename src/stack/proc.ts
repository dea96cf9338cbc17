// Process bookkeeping for the local stack: detached children, pid files, health waits, stops.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
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

/** The command line `pid` runs (argv, as /proc shows it), or undefined when it cannot be read. */
export function commandLineOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * How a running command line differs from the one wanted, as "+arg" (wanted, missing) and "-arg"
 * (running, no longer wanted) in order; empty when they are the same.
 */
export function argsDiff(running: readonly string[], wanted: readonly string[]): string[] {
  if (running.length === wanted.length && running.every((a, i) => a === wanted[i])) return [];
  const have = new Set(running);
  const want = new Set(wanted);
  const diff = [...wanted.filter((a) => !have.has(a)).map((a) => `+${a}`), ...running.filter((a) => !want.has(a)).map((a) => `-${a}`)];
  return diff.length > 0 ? diff : ['(the same arguments in another order)'];
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

/** True when `port` can be bound on `host` now (a listener or a connection's local port blocks it). */
export function bindable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

const TCP_STATES: Readonly<Record<string, string>> = { '01': 'a connection', '0A': 'a listener', '06': 'a closing connection', '08': 'a closing connection' };

/** TCP sockets whose local port is `port`, from /proc/net/tcp and tcp6 (state and socket inode). */
function socketsOn(port: number): { state: string; remote: string; inode: string }[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const out: { state: string; remote: string; inode: string }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !f[1]!.endsWith(`:${hex}`)) continue;
      const [rAddr, rPort] = f[2]!.split(':');
      const remote = rAddr && /^0+$/.test(rAddr) ? '' : `${rAddr?.length === 8 ? Buffer.from(rAddr, 'hex').reverse().join('.') : 'IPv6'}:${parseInt(rPort ?? '0', 16)}`;
      out.push({ state: f[3]!, remote, inode: f[9]! });
    }
  }
  return out;
}

/** Which process holds `port` and how ("pid 123 (kube-apiserver), a connection to 127.0.0.1:47079"), as far as /proc shows. */
export function describePortHolder(port: number): string {
  const sockets = socketsOn(port).filter((s) => s.inode !== '0');
  if (sockets.length === 0) return 'a socket this user cannot see (TIME_WAIT or another network namespace)';
  const byInode = new Map(sockets.map((s) => [`socket:[${s.inode}]`, s]));
  const found: string[] = [];
  let pids: string[] = [];
  try { pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { /* no /proc */ }
  for (const pid of pids) {
    let fds: string[] = [];
    try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      let target = '';
      try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      const s = byInode.get(target);
      if (!s) continue;
      let comm = '?';
      try { comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { /* gone */ }
      found.push(`pid ${pid} (${comm}), ${TCP_STATES[s.state] ?? `a socket in TCP state ${s.state}`}${s.remote ? ` to ${s.remote}` : ''}`);
      byInode.delete(target);
    }
  }
  return found.length > 0 ? found.join('; ') : `${sockets.length} socket(s) of a process this user cannot inspect`;
}
