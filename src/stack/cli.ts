// `npm run stack:*`: brings the local stack up idempotently, prints its environment and status, stops it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, openSync, closeSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binary, loadLayout, stackEnv, type StackLayout } from './config.js';
import { components, controlPlanes, type Component } from './components.js';
import { adoptPorts, forgetPorts, stopRecorded } from './state.js';
import { BASE_SETTING } from './ports.js';
import { aptInstall, commandExists } from './packages.js';
import { argsDiff, bindable, commandLineOf, describePortHolder, isOurProcess, portOpen, readPid, removePidFile, sleep, startDetached, stopProcess, waitFor } from './proc.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCRIPTS = join(ROOT, 'scripts', 'stack');
const t0 = Date.now();

function say(msg: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[stack ${s}s] ${msg}\n`);
}

function ensureSystemPackages(): void {
  const missing: string[] = [];
  if (!existsSync('/usr/lib/postgresql/15/bin/postgres')) missing.push('postgresql-15');
  if (!commandExists('java')) missing.push('openjdk-17-jre-headless');
  if (!commandExists('mvn')) missing.push('maven');
  if (!commandExists('setpriv')) missing.push('util-linux');
  aptInstall(missing, say);
  if (!commandExists('go')) throw new Error('go is not on PATH: the Kubernetes components, etcd and kwok are built from Go modules (Go 1.26)');
}

/** Runs one build script, printing a heartbeat so a long cold build shows it is alive. */
async function build(label: string, script: string, args: string[], layout: StackLayout): Promise<void> {
  const logFile = join(layout.logDir, `build-${label}.log`);
  mkdirSync(layout.logDir, { recursive: true });
  const fd = openSync(logFile, 'a');
  const start = Date.now();
  const child = spawn(join(SCRIPTS, script), args, { stdio: ['ignore', fd, fd], env: { ...process.env, PEERLOG_CACHE: layout.cacheDir } });
  closeSync(fd);
  const timer = setInterval(() => {
    const last = readFileSync(logFile, 'utf8').trimEnd().split('\n').filter((l) => l.startsWith('[')).pop() ?? '';
    say(`  still building ${label} (${Math.round((Date.now() - start) / 1000)}s) ${last}`);
  }, 30_000);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(timer);
  if (code !== 0) {
    const tailText = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
    throw new Error(`building ${label} failed (exit ${code}); its log: ${logFile}\n${tailText}`);
  }
  say(`  ${label} ready (${Math.round((Date.now() - start) / 1000)}s)`);
}

async function install(layout: StackLayout): Promise<void> {
  ensureSystemPackages();
  const v = layout.versions;
  const k8sMissing = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].some((b) => !existsSync(binary(layout, b, v.kubernetes)));
  const steps: [string, string, string[], boolean][] = [
    ['kafka', 'fetch-kafka.sh', [v.kafka], !existsSync(join(layout.cacheDir, `kafka-${v.kafka}`, '.complete'))],
    ['etcd', 'build-go-tool.sh', ['etcd', 'go.etcd.io/etcd/server/v3', v.etcd, 'go.etcd.io/etcd/server/v3'], !existsSync(binary(layout, 'etcd', v.etcd))],
    ['kubernetes', 'build-k8s.sh', [v.kubernetes], k8sMissing],
    ['kwok', 'build-go-tool.sh', ['kwok', 'sigs.k8s.io/kwok', v.kwok, 'sigs.k8s.io/kwok/cmd/kwok'], !existsSync(binary(layout, 'kwok', v.kwok))],
  ];
  for (const [label, script, args, needed] of steps) {
    if (!needed) continue;
    say(`building ${label} from source (cache: ${layout.cacheDir}; a cold build of Kubernetes takes 10-20 minutes on 2 cores)`);
    await build(label, script, args, layout);
  }
}

/** Serialises concurrent `up`/`down` runs on one state directory. */
async function withLock<T>(layout: StackLayout, fn: () => Promise<T>): Promise<T> {
  mkdirSync(layout.runDir, { recursive: true });
  const lock = join(layout.runDir, 'stack.lock');
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = readPid(lock);
      if (holder === undefined || !isOurProcess(holder, 'node')) { rmSync(lock, { force: true }); continue; }
      say(`waiting for another stack command (pid ${holder})`);
      await sleep(2000);
    }
  }
  try { return await fn(); } finally { rmSync(lock, { force: true }); }
}

async function healthyNow(c: Component): Promise<boolean> {
  try { return await c.healthy(); } catch { return false; }
}

/** What changed in a running component's arguments, when it is one that `up` restarts for that. */
function staleArgs(c: Component, pid: number): string[] {
  if (!c.restartOnNewArgs) return [];
  const running = commandLineOf(pid);
  if (running === undefined) return [];
  const spec = c.spec();
  return argsDiff(running, [spec.command, ...spec.args]);
}

async function ensureRunning(c: Component): Promise<'running' | 'started' | 'restarted'> {
  const pid = readPid(c.pidFile);
  let outcome: 'started' | 'restarted' = 'started';
  const stale = isOurProcess(pid, c.processMatch) ? staleArgs(c, pid) : [];
  if (isOurProcess(pid, c.processMatch) && stale.length > 0) {
    say(`${c.name} (pid ${pid}) runs with other arguments than this version starts it with (${stale.join(' ')}): restarting it`);
    await stopProcess(pid, c.stopSignal);
    outcome = 'restarted';
  } else if (isOurProcess(pid, c.processMatch)) {
    try {
      await waitFor(c.name, () => c.healthy(), 15_000);
      return 'running';
    } catch {
      say(`${c.name} (pid ${pid}) is running but unhealthy: restarting it`);
      await stopProcess(pid, c.stopSignal);
      outcome = 'restarted';
    }
  }
  removePidFile(c.pidFile);
  for (const port of [c.port, ...(c.extraPorts ?? [])]) {
    if (port !== undefined && !(await bindable(port))) {
      throw new Error(`${c.name}: port 127.0.0.1:${port} is taken by ${describePortHolder(port)}; free it or set ${BASE_SETTING} to another base`);
    }
  }
  await c.prepare();
  const newPid = startDetached(c.spec());
  await waitFor(c.name, () => c.healthy(), c.startTimeoutMs, c.logFile, () => isOurProcess(newPid, c.processMatch));
  if (c.afterStart) await c.afterStart();
  return outcome;
}

async function up(): Promise<void> {
  const layout = loadLayout();
  await withLock(layout, async () => {
    await install(layout);
    await adoptPorts(layout, [...controlPlanes(layout), ...[...components(layout)].reverse()], say);
    for (const c of components(layout)) {
      const started = Date.now();
      try {
        const outcome = await ensureRunning(c);
        if (outcome !== 'running') say(`${c.name} ${outcome} (${((Date.now() - started) / 1000).toFixed(1)}s)${c.port ? ` on 127.0.0.1:${c.port}` : ''}`);
      } catch (e) {
        throw new Error(`${c.name} failed to start: ${(e as Error).message}\n  log file: ${c.logFile}`);
      }
    }
    say(`stack is up (state: ${layout.stateDir}); \`npm run stack:env\` prints its settings`);
  });
}

async function down(purge: boolean): Promise<void> {
  const layout = loadLayout();
  await withLock(layout, async () => {
    await stopRecorded([...controlPlanes(layout), ...[...components(layout)].reverse()], say);
    for (const c of components(layout)) {
      if (c.port !== undefined && await portOpen(c.port)) say(`warning: port ${c.port} (${c.name}) still has a listener that this stack did not start`);
    }
    if (purge) {
      say(`deleting stack data: ${layout.stateDir} and ${layout.pgDataDir}`);
      rmSync(layout.pgDataDir, { recursive: true, force: true });
      for (const d of ['clusters', 'kafka', 'etcd', 'logs']) rmSync(join(layout.stateDir, d), { recursive: true, force: true });
      forgetPorts(layout);
    }
    say('stack is down');
  });
}

async function status(json: boolean): Promise<boolean> {
  const layout = loadLayout();
  const rows: { component: string; pid: string; port: string; health: string; note?: string }[] = [];
  for (const c of components(layout)) {
    const pid = readPid(c.pidFile);
    const running = isOurProcess(pid, c.processMatch);
    const health = !running ? 'stopped' : (await healthyNow(c)) ? 'healthy' : 'unhealthy';
    const note = running && staleArgs(c, pid).length > 0 ? 'started with other arguments: `up` restarts it' : undefined;
    rows.push({ component: c.name, pid: running ? String(pid) : '-', port: c.port ? String(c.port) : '-', health, ...(note ? { note } : {}) });
  }
  if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else {
    const w = [31, 9, 7];
    process.stdout.write(`${'COMPONENT'.padEnd(w[0]!)}${'PID'.padEnd(w[1]!)}${'PORT'.padEnd(w[2]!)}HEALTH\n`);
    for (const r of rows) process.stdout.write(`${r.component.padEnd(w[0]!)}${r.pid.padEnd(w[1]!)}${r.port.padEnd(w[2]!)}${r.health}${r.note ? ` (${r.note})` : ''}\n`);
  }
  return rows.every((r) => r.health === 'healthy');
}

function printEnv(json: boolean): void {
  const env = stackEnv(loadLayout());
  if (json) { process.stdout.write(JSON.stringify(env, null, 2) + '\n'); return; }
  for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}='${v.replace(/'/g, `'\\''`)}'\n`);
}

/** Starts the control planes (the demo's) if they are not running; `stop` stops them only. */
async function planes(stop: boolean): Promise<void> {
  const layout = loadLayout();
  await withLock(layout, async () => {
    for (const c of controlPlanes(layout)) {
      const pid = readPid(c.pidFile);
      if (stop) {
        if (isOurProcess(pid, c.processMatch)) { say(`stopping ${c.name} (pid ${pid})`); await stopProcess(pid, c.stopSignal, 20_000); }
        removePidFile(c.pidFile);
        continue;
      }
      const started = Date.now();
      const outcome = await ensureRunning(c).catch((e: unknown) => { throw new Error(`${c.name} failed to start: ${(e as Error).message}\n  log file: ${c.logFile}`); });
      if (outcome !== 'running') say(`${c.name} ${outcome} (${((Date.now() - started) / 1000).toFixed(1)}s) on https://127.0.0.1:${c.port}; log: ${c.logFile}`);
    }
  });
}

const USAGE = `usage: stack <up|down [--purge]|status [-o json]|env [--json]|planes-up|planes-down|demo>`;

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'up': await up(); return 0;
    case 'down': await down(rest.includes('--purge')); return 0;
    case 'status': return (await status(rest.includes('json') || rest.includes('--json'))) ? 0 : 1;
    case 'env': printEnv(rest.includes('--json')); return 0;
    case 'planes-up': await planes(false); return 0;
    case 'planes-down': await planes(true); return 0;
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      await up();
      await planes(false);
      return runDemo(loadLayout(), stackEnv(loadLayout()));
    }
    default: process.stderr.write(`${USAGE}\n`); return verb === undefined || verb === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`stack: ${(e as Error).message}\n`);
  process.exit(1);
});
