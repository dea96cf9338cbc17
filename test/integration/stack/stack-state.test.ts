// The stack's bookkeeping on a private state directory (no second stack is started): stale
// processes of an old port layout, and the check that a component's port is free.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, createConnection, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLayout } from '../../../src/stack/config.js';
import { adoptPorts, readRecordedPorts, recordPorts } from '../../../src/stack/state.js';
import { bindable, describePortHolder } from '../../../src/stack/proc.js';

function privateLayout(dir: string, base: string) {
  process.env.PEERLOG_STACK_DIR = dir;
  process.env.PEERLOG_PG_DATA = join(dir, 'postgres');
  process.env.PEERLOG_STACK_PORT_BASE = base;
  return loadLayout();
}

function sleeper(marker: string) {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], { stdio: 'ignore', detached: true });
  child.unref();
  return child;
}

test('stack up on a directory made for other ports (or by a version without a record) first stops the processes it recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-stack-adopt-'));
  const marker = `peerlog-stack-adopt-${process.pid}`;
  const children = [sleeper(marker), sleeper(marker)];
  try {
    const said: string[] = [];
    const procs = [0, 1].map((i) => ({ name: `old-${i}`, processMatch: marker, pidFile: join(dir, 'run', `old-${i}.pid`), stopSignal: 'SIGTERM' as const }));
    mkdirSync(join(dir, 'run'), { recursive: true });
    const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const writePids = () => children.forEach((c, i) => writeFileSync(procs[i]!.pidFile, `${c.pid}\n`));

    // 1. A directory from a version that kept no record: the recorded processes are stopped.
    writePids();
    let layout = privateLayout(dir, '26000');
    mkdirSync(join(dir, 'clusters'), { recursive: true });
    const legacy = await adoptPorts(layout, procs, (m) => said.push(m));
    assert.equal(legacy.length, 1);
    assert.match(said.join('\n'), /ports changed \(ports unknown/);
    for (const c of children) assert.equal(alive(c.pid!), false, `pid ${c.pid} was stopped`);
    assert.equal(readRecordedPorts(layout)?.postgres, 26032);

    // 2. Same ports again: nothing is stopped.
    const again = [sleeper(marker)];
    children.splice(0, 2, again[0]!, again[0]!);
    writeFileSync(procs[0]!.pidFile, `${again[0]!.pid}\n`);
    assert.deepEqual(await adoptPorts(layout, procs, (m) => said.push(m)), []);
    assert.equal(alive(again[0]!.pid!), true);

    // 2b. A record from a version that had fewer ports (no kwok server): the same base, nothing is
    //     stopped (no process holds a port that did not exist), and the new ports are recorded.
    const { ports: full } = JSON.parse(readFileSync(join(dir, 'layout.json'), 'utf8')) as { ports: Record<string, number> };
    const { kwokAlpha: _a, kwokBeta: _b, ...older } = full;
    writeFileSync(join(dir, 'layout.json'), JSON.stringify({ ports: older }));
    assert.deepEqual(await adoptPorts(layout, procs, (m) => said.push(m)), []);
    assert.equal(alive(again[0]!.pid!), true, 'still running');
    assert.equal(readRecordedPorts(layout)?.kwokBeta, 26251);

    // 3. Another base: stopped, and the new ports recorded.
    layout = privateLayout(dir, '27000');
    const moved = await adoptPorts(layout, procs, (m) => said.push(m));
    assert.ok(moved.includes('postgres 26032 → 27032'), moved.join(', '));
    assert.equal(alive(again[0]!.pid!), false);
    assert.equal(readRecordedPorts(layout)?.apiserverBeta, 27444);
    assert.equal(existsSync(procs[0]!.pidFile), false, 'its pid file is removed');

    // 4. A fresh directory is recorded without stopping anything.
    const fresh = mkdtempSync(join(tmpdir(), 'peerlog-stack-fresh-'));
    try {
      const l = privateLayout(fresh, '26000');
      assert.deepEqual(await adoptPorts(l, [], () => undefined), []);
      recordPorts(l);
      assert.equal(readRecordedPorts(l)?.authAlpha, 26601);
    } finally { rmSync(fresh, { recursive: true, force: true }); }
  } finally {
    for (const c of children) { try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port held by a listener or by an outgoing connection\'s local port is reported with its holder', async () => {
  const srv = createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const client = createConnection({ port, host: '127.0.0.1' });
  await new Promise<void>((r) => client.once('connect', r));
  try {
    assert.equal(await bindable(port), false);
    assert.match(describePortHolder(port), new RegExp(`pid ${process.pid} \\(node\\), a listener`));
    // The client's local port is in use though nothing listens on it: what beta's apiserver met.
    const local = client.localPort!;
    assert.equal(await bindable(local), false);
    assert.match(describePortHolder(local), new RegExp(`pid ${process.pid} \\(node\\), a connection to 127\\.0\\.0\\.1:${port}`));
  } finally {
    client.destroy();
    await new Promise((r) => srv.close(r));
  }
  assert.equal(await bindable(port), true, 'free again once closed');
});
