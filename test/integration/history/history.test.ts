// `peerlog history` on a real peer → offload → unpeer run between alpha and beta: `status -o json`
// captured at three instants (peered, pods offloaded, unpeered) equals `history --as-of` at those
// instants; the phases of the cycle are all there; `-o html` loads in headless Chromium with no
// console error, asks for nothing but itself, and draws every phase. Independent checks: kubectl
// reads the ForeignCluster status and the pods; the expected phases are written out here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventually, uniqueName } from '../../support/env.js';
import { offloadedDeployment, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, peerlog, planeFlags, startPlane, type Plane } from '../../support/peering.js';
import { loadPage } from '../../support/chromium.js';

interface Status { outgoing: { enabled: string; phase?: string; virtualNode?: string; offloadedPods?: Record<string, number> }; incoming: { phase?: string }; conditions: unknown[] }
interface History { status: Status; asOf: string | null; cycles: { direction: string; number: number; end: string | null; phases: { name: string; outcome: string; durationMs: number | null }[] }[]; events: { type: string }[]; chain: { valid: boolean } }

async function json<T>(p: Plane, args: string[]): Promise<T> {
  const r = await peerlog([...args, '-o', 'json', ...planeFlags(p)]);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * `status -o json` once the peering holds still (the same before and after the instant), and that
 * instant: what `history --as-of` at it must say.
 */
async function settled(p: Plane, name: string, what: string, ready: (s: Status) => boolean): Promise<{ at: string; status: Status }> {
  let last = '';
  return eventually(`${what}, and status settled`, async () => {
    const before = await json<Status>(p, ['status', name]);
    last = JSON.stringify(before);
    if (!ready(before)) return undefined;
    const at = new Date().toISOString();
    const after = await json<Status>(p, ['status', name]);
    if (JSON.stringify(after) !== last) last = `${last} then ${JSON.stringify(after)}`;
    return JSON.stringify(before) === JSON.stringify(after) ? { at, status: after } : undefined;
  }, 90_000).catch((e: Error) => { throw new Error(`${e.message}; status -o json said ${last.slice(0, 3000)}`); });
}

test('history --as-of at three instants of peer → offload → unpeer equals status -o json then; the HTML timeline draws every phase in headless Chromium', async (t) => {
  const consumer = await startPlane('alpha', 'hic');
  const provider = await startPlane('beta', 'hip');
  const ns = uniqueName('hist');
  const alphaId = consumer.config.clusterId;
  const betaId = provider.config.clusterId;
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-history-'));
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  // 1. Peered: the virtual node Ready.
  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => (consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True' ? true : undefined), 60_000);
  const peered = await settled(consumer, betaId, 'Established', (s) => s.outgoing.phase === 'Established' && s.outgoing.offloadedPods?.total === 0);
  assert.deepEqual([peered.status.outgoing.enabled, peered.status.outgoing.virtualNode, peered.status.outgoing.offloadedPods], ['Enabled', nodeName, { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, keptBack: 0 }]);
  // The ForeignCluster the kubernetes projection wrote says the same (read with kubectl).
  await eventually('the ForeignCluster Established', async () => (consumer.kubectl(['get', 'foreigncluster', betaId, '-o', 'jsonpath={.status.outgoing.phase}']).stdout === 'Established' ? true : undefined), 20_000);

  // 2. Two pods offloaded, pinned to this test's own virtual node (others may share the stack).
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  const pinned = { nodeSelector: { 'peerlog.dev/type': 'virtual-node', 'peerlog.dev/remote-cluster-id': betaId } };
  assert.equal(consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'web', 2, {}, pinned)).status, 0);
  await eventually('2 pods Running on alpha', async () => {
    const r = consumer.kubectl(['get', 'pods', '-n', ns, '--field-selector', `spec.nodeName=${nodeName},status.phase=Running`, '-o', 'name']);
    return r.stdout.split('\n').filter(Boolean).length === 2 ? true : undefined;
  }, 60_000);
  const offloading = await settled(consumer, betaId, '2 pods Running', (s) => s.outgoing.offloadedPods?.running === 2);
  assert.deepEqual(offloading.status.outgoing.offloadedPods, { total: 2, running: 2, pending: 0, succeeded: 0, failed: 0, keptBack: 0 });

  // 3. Unpeered.
  const r = await peerlog(['unpeer', betaId, '--timeout', '90s', ...planeFlags(consumer)]);
  assert.equal(r.status, 0, r.stderr);
  const unpeered = await settled(consumer, betaId, 'Terminated', (s) => s.outgoing.phase === 'Terminated');
  assert.deepEqual([unpeered.status.outgoing.enabled, unpeered.status.outgoing.virtualNode, unpeered.status.outgoing.offloadedPods], ['Disabled', undefined, undefined]);
  await eventually('the ForeignCluster Terminated', async () => (consumer.kubectl(['get', 'foreigncluster', betaId, '-o', 'jsonpath={.status.outgoing.phase}']).stdout === 'Terminated' ? true : undefined), 20_000);

  // history --as-of each instant: the status printed then.
  for (const [label, instant] of [['peered', peered], ['offloading', offloading], ['unpeered', unpeered]] as const) {
    const h = await json<History>(consumer, ['history', betaId, '--as-of', instant.at]);
    assert.equal(h.asOf, instant.at);
    assert.deepEqual(h.status, instant.status, `history --as-of ${instant.at} (${label}) equals status -o json then`);
    assert.equal(h.chain.valid, true);
  }
  // A relative instant: the last one, as a duration ago (rounded down to whole seconds, still after it).
  const ago = `${Math.max(0, Math.floor((Date.now() - Date.parse(unpeered.at)) / 1000) - 1)}s`;
  assert.deepEqual((await json<History>(consumer, ['history', betaId, '--as-of', ago])).status, unpeered.status, `--as-of ${ago}`);

  // The whole cycle's phases, each completed, in order; the provider's side on beta.
  const whole = await json<History>(consumer, ['history', betaId, '--direction', 'outgoing']);
  assert.deepEqual(whole.cycles.map((c) => [c.direction, c.number, c.end !== null, c.phases.map((p) => `${p.name}:${p.outcome}`)]), [
    ['outgoing', 1, true, ['authentication:completed', 'negotiation:completed', 'virtualNode:completed', 'offloading:completed', 'teardown:completed']],
  ]);
  assert.ok(whole.cycles[0]!.phases.every((p) => typeof p.durationMs === 'number' && p.durationMs >= 0));
  const types = whole.events.map((e) => e.type);
  for (const step of ['PeeringRequested', 'CertIssued', 'OfferAccepted', 'VirtualNodeReady', 'PodOffloaded', 'UnpeeringRequested', 'PeeringTerminated']) assert.ok(types.includes(step), step);
  const beta = await eventually('the provider\'s teardown in its log', async () => {
    const h = await json<History>(provider, ['history', alphaId, '--direction', 'incoming']);
    return h.cycles[0]?.end ? h : undefined;
  }, 60_000);
  assert.deepEqual(beta.cycles[0]!.phases.map((p) => `${p.name}:${p.outcome}`), ['authentication:completed', 'negotiation:completed', 'offloading:completed', 'teardown:completed']);

  // The page: loaded from a file, nothing else asked for, no console error, every phase drawn.
  const page = await peerlog(['history', betaId, '-o', 'html', ...planeFlags(consumer)]);
  assert.equal(page.status, 0, page.stderr);
  const file = join(dir, 'history.html');
  writeFileSync(file, page.stdout);
  const loaded = await loadPage<{ title: string; bars: { phase: string; cycle: string; width: number }[]; rows: number }>(file, `({
    title: document.title,
    bars: [...document.querySelectorAll('svg g.phase')].map((g) => ({ phase: g.dataset.phase, cycle: g.dataset.cycle, width: g.getBBox().width })),
    rows: document.querySelectorAll('table.events tr').length - 1,
  })`);
  assert.deepEqual(loaded.errors, []);
  assert.deepEqual(loaded.requests, [pathToFileURL(file).href]);
  assert.equal(loaded.value.title, `peerlog history: ${betaId}`);
  assert.deepEqual(loaded.value.bars.map((b) => `${b.cycle}:${b.phase}`), [
    'outgoing-1:authentication', 'outgoing-1:negotiation', 'outgoing-1:virtualNode', 'outgoing-1:offloading', 'outgoing-1:teardown',
    ...loaded.value.bars.filter((b) => b.cycle.startsWith('incoming')).map((b) => `${b.cycle}:${b.phase}`),
  ]);
  assert.ok(loaded.value.bars.every((b) => b.width >= 2), JSON.stringify(loaded.value.bars));
  assert.equal(loaded.value.rows, (await json<History>(consumer, ['history', betaId])).events.length);
});
