// `npm run demo` as a user runs it (`node dist/src/stack/cli.js demo`), on the shared stack with its
// control planes down: twice in a row, each exits 0, shows what it promises, and leaves nothing of
// the peering on alpha or beta. The control planes the demo starts are stopped when the test ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stackEnv } from '../../support/env.js';
import { loadLayout } from '../../../src/stack/config.js';
import { controlPlanes } from '../../../src/stack/components.js';
import { isOurProcess, readPid, removePidFile, stopProcess } from '../../../src/stack/proc.js';

const CLI = fileURLToPath(new URL('../../../src/stack/cli.js', import.meta.url));
const BIN = fileURLToPath(new URL('../../../../bin/peerlog', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const env = stackEnv();

function kubectl(kubeconfig: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(env.kubectl, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const alpha = (args: readonly string[]) => kubectl(env.clusters.alpha.kubeconfig, args);
const beta = (args: readonly string[]) => kubectl(env.clusters.beta.kubeconfig, args);

/** Runs the demo as `npm run demo` does after its build; kills it (by its pid) after `timeoutMs`. */
function runDemo(timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, 'demo'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => { stderr += `\n[test] demo still running after ${timeoutMs} ms: killed\n`; child.kill('SIGKILL'); }, timeoutMs);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
  }));
}

/** Step names of a `peer`/`unpeer` progress (`[  1.2s] VirtualNodeReady ...`) in one section of the output. */
function steps(section: string): string[] {
  return [...section.matchAll(/^\[\s*[\d.]+s\] (\w+)/gm)].map((m) => m[1]!);
}

/** The output from the line `$ <command>` to the next `$ ` line. */
function section(stdout: string, command: string): string {
  const start = stdout.indexOf(`\n$ ${command}`);
  assert.notEqual(start, -1, `the demo shows \`$ ${command}\`:\n${stdout}`);
  const body = stdout.slice(start + 1);
  const next = body.indexOf('\n$ ', 1);
  return next === -1 ? body : body.slice(0, next);
}

/** What the peering may leave, by label and by name on each side: must all be empty. */
function leftovers(): string[] {
  const kinds = 'nodes,namespaces,pods,secrets,configmaps,roles,rolebindings,clusterroles,clusterrolebindings,resourcerequests,resourceoffers';
  const found: string[] = [];
  const collect = (side: string, r: { status: number | null; stdout: string; stderr: string }, keep: readonly string[] = []) => {
    assert.equal(r.status, 0, r.stderr);
    found.push(...r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !keep.includes(l)).map((l) => `${side}: ${l}`));
  };
  // The ForeignCluster stays (Terminated) with the token Secret it names: the intent, not the peering.
  collect('alpha', alpha(['get', kinds, '-A', '-l', 'peerlog.dev/remote-cluster-id=beta', '-o', 'name']), ['secret/peerlog-token-beta']);
  collect('alpha', alpha(['get', 'node/peerlog-beta', 'namespace/peerlog-tenant-beta', 'namespace/peerlog-demo', '-o', 'name', '--ignore-not-found']));
  collect('alpha', alpha(['get', 'pods', '-A', '--field-selector', 'spec.nodeName=peerlog-beta', '-o', 'name']));
  collect('beta', beta(['get', kinds, '-A', '-l', 'peerlog.dev/remote-cluster-id=alpha', '-o', 'name']));
  collect('beta', beta(['get', 'namespace/peerlog-tenant-alpha', 'namespace/peerlog-demo-alpha', '-o', 'name', '--ignore-not-found']));
  return found;
}

/** Checks one run's output; returns the number of outgoing cycles its history shows. */
function checkRun(run: Awaited<ReturnType<typeof runDemo>>, n: number): number {
  const out = run.stdout;
  assert.equal(run.code, 0, `demo run ${n} exits 0\n--- stdout\n${out}\n--- stderr\n${run.stderr}`);
  // Peer progress through VirtualNodeReady, live from alpha's log.
  const peer = steps(section(out, 'PEERLOG_PEER_TOKEN=… peerlog peer beta --stack alpha'));
  for (const s of ['PeeringRequested', 'IdentityRequested', 'CertIssued', 'ResourceRequested', 'OfferReceived', 'OfferAccepted', 'VirtualNodeCreated', 'VirtualNodeReady']) {
    assert.ok(peer.includes(s), `peer progress shows ${s}: ${peer.join(' ')}\n${out}`);
  }
  // Both clusters: the 2 pods Running on alpha's virtual node, their twins Running on beta's workers.
  const a = section(out, 'kubectl --kubeconfig $ALPHA_KUBECONFIG get nodes,pods -o wide -n peerlog-demo');
  assert.match(a, /^node\/peerlog-beta\s+Ready\b/m, a);
  assert.equal([...a.matchAll(/^pod\/hello-\S+\s+1\/1\s+Running\s.*\speerlog-beta\s/gm)].length, 2, a);
  const b = section(out, 'kubectl --kubeconfig $BETA_KUBECONFIG get nodes,pods -o wide -n peerlog-demo-alpha');
  assert.match(b, /^node\/beta-worker-\S+\s+Ready\b/m, b);
  assert.equal([...b.matchAll(/^pod\/hello-\S+\s+1\/1\s+Running\s.*\sbeta-worker-\S+\s/gm)].length, 2, b);
  // The history with the phases of the peering and their durations.
  const h = section(out, 'peerlog history beta --stack alpha');
  for (const phase of ['authentication', 'negotiation', 'virtual node']) assert.match(h, new RegExp(`${phase}\\s.*\\d+(\\.\\d+)?(ms|s)\\b`), h);
  // Unpeer progress through PeeringTerminated.
  const unpeer = steps(section(out, 'peerlog unpeer beta --stack alpha --timeout 90s'));
  for (const s of ['UnpeeringRequested', 'VirtualNodeDrained', 'VirtualNodeDeleted', 'PeeringTerminated']) {
    assert.ok(unpeer.includes(s), `unpeer progress shows ${s}: ${unpeer.join(' ')}\n${out}`);
  }
  // Where the HTML timeline is, under the stack's state directory.
  const html = /^the HTML timeline of the peering was written to (\S+)$/m.exec(out)?.[1];
  assert.equal(html, `${loadLayout().stateDir}/demo/history-beta.html`, out);
  assert.ok(existsSync(html), html);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /^<!doctype html>/i);
  assert.match(page, /PeeringTerminated/);
  return [...h.matchAll(/^outgoing #\d+\s+authentication\s/gm)].length;
}

test('npm run demo: peers, offloads, shows both sides and the history, unpeers, leaves nothing; and again', { timeout: 20 * 60_000 }, async (t) => {
  const layout = loadLayout();
  const planes = controlPlanes(layout);
  const runningBefore = planes.map((c) => { const pid = readPid(c.pidFile); return isOurProcess(pid, c.processMatch) ? pid : undefined; });
  // A peering left by an older demo is no obstacle (the demo peers, then unpeers it); say so.
  const before = leftovers();
  if (before.length > 0) t.diagnostic(`before the demo: ${before.join(', ')}`);

  t.after(async () => {
    const planesUp = planes.every((c) => isOurProcess(readPid(c.pidFile), c.processMatch));
    // A failed run may leave its peering: tear it down while the planes still run.
    const fc = alpha(['get', 'foreignclusters', 'beta', '-o', 'jsonpath={.spec.outgoing}']);
    if (planesUp && fc.status === 0 && fc.stdout === 'Enabled') {
      spawnSync(process.execPath, [BIN, 'unpeer', 'beta', '--stack', 'alpha', '--timeout', '90s'], { stdio: 'ignore' });
    }
    alpha(['delete', 'namespace', 'peerlog-demo', '--wait=false', '--ignore-not-found']);
    // Only the control planes this test's demo started, by their pid files: others run on.
    for (const [i, c] of planes.entries()) {
      const pid = readPid(c.pidFile);
      if (isOurProcess(pid, c.processMatch) && pid !== runningBefore[i]) {
        await stopProcess(pid, c.stopSignal, 20_000);
        removePidFile(c.pidFile);
      }
    }
  });

  const cycles: number[] = [];
  for (const n of [1, 2]) {
    const run = await runDemo(8 * 60_000);
    t.diagnostic(`demo run ${n}: exit ${run.code} in ${run.seconds.toFixed(1)}s`);
    cycles.push(checkRun(run, n));
    assert.deepEqual(leftovers(), [], `nothing of the peering is left after run ${n}`);
    const fc = alpha(['get', 'foreignclusters', 'beta', '-o', 'jsonpath={.spec.outgoing}']);
    assert.equal(fc.stdout, 'Disabled', fc.stderr);
  }
  // The second run peered afresh: one more cycle (a new identity) in the same log.
  assert.equal(cycles[1], cycles[0]! + 1, `cycles in the history: ${cycles.join(', ')}`);
});
