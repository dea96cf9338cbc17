// Issue 16, fault suite — crash trials. A peering with a Deployment of pods offloaded in progress,
// or an unpeering in progress, and one `peerlog serve` (alpha's or beta's, run as a real child
// process) gets SIGKILL at a random moment, then starts again on the same log. Each trial must end
// as an undisturbed run does: every pod Running on alpha with exactly one twin on beta, after the
// unpeering nothing of the peering on either side, and in both logs, per stream, versions 1..n with
// none twice — read from the outbox (pg) and from the Kafka topic (kafkajs, deduped by stream and
// version: the relay may publish an event twice, which consumers dedupe, but never two events under
// one version) — and every event id of the log once in the audit read model.
//
// Size: PEERLOG_FAULTS=full (or `node scripts/test.mjs --full`) runs 50 trials, else 10 (CI).
// Replay: the seed is printed; PEERLOG_FAULTS_SEED=<seed> runs the same trials (kinds, sizes and
// moments; the interleavings of the processes are the machine's), PEERLOG_FAULTS_ONLY=<i> trial i
// alone. PEERLOG_FAULTS_TRIALS=<n> overrides the count. Expected values are written out here or read with kubectl and pg.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readTopic } from '../support/core.js';
import { eventually, uniqueName } from '../support/env.js';
import { logClient } from '../support/log.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../support/peering.js';
import { assertConsumerClean, assertProviderClean, get, listed, servedPlane, type Obj, type ServedPlane } from '../support/unpeering.js';
import { topicFor } from '../../src/adapters/kafka/client.js';
import type { PeerlogConfig } from '../../src/config.js';

const FULL = process.env.PEERLOG_FAULTS === 'full';
const TRIALS = Number(process.env.PEERLOG_FAULTS_TRIALS ?? (FULL ? 50 : 10));
const SEED = Number(process.env.PEERLOG_FAULTS_SEED ?? randomInt(1, 2 ** 31));
const ONLY = process.env.PEERLOG_FAULTS_ONLY === undefined ? undefined : Number(process.env.PEERLOG_FAULTS_ONLY);

/** mulberry32: a small seeded generator, so that a failing trial can be run again. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Phase = 'peering' | 'unpeering';
type Victim = 'alpha' | 'beta';

/**
 * Trial i's class, cycling so that ten trials cover each (phase, victim) pair at least twice. Kills
 * during the peering run 20 pods (the size); kills during the unpeering run fewer, so that
 * the CI-sized run stays within its budget (the drain is per pod and the moment that matters is
 * which teardown step is cut, not how many pods it moves).
 */
function classOf(i: number): { phase: Phase; victim: Victim; pods: number } {
  const kinds: readonly { phase: Phase; victim: Victim }[] = [
    { phase: 'peering', victim: 'alpha' }, { phase: 'peering', victim: 'beta' },
    { phase: 'unpeering', victim: 'alpha' }, { phase: 'unpeering', victim: 'beta' },
  ];
  const k = kinds[i % kinds.length]!;
  return { ...k, pods: k.phase === 'peering' ? 20 : 5 };
}

interface Pod extends Obj { spec: { nodeName?: string }; status?: { phase?: string } }

/** What a trial found, filled in as it goes (so a failed trial still counts what it saw). */
interface TrialResult {
  converged: boolean;
  lost: number;
  duplicateEvents: number;
  republished: number;
  objects: number;
  convergeMs?: number;
}

/** What the twins on beta say about the pods on alpha: the pods whose twin is not (yet) one Running pod, and twins of no local pod. */
function twinsOf(alpha: Plane | ServedPlane, beta: Plane | ServedPlane, ns: string, remoteNs: string, n: number, nodeName: string): { ready: boolean; duplicates: number; orphans: number; local: number } {
  const local = (get<{ items: Pod[] }>(alpha, ['get', 'pods', '-n', ns, '-l', 'app=work'])?.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
  const twins = (get<{ items: Pod[] }>(beta, ['get', 'pods', '-n', remoteNs])?.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
  const byOrigin = new Map<string, Pod[]>();
  for (const tw of twins) {
    const origin = tw.metadata.labels?.['peerlog.dev/origin-uid'] ?? '';
    byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), tw]);
  }
  const uids = new Set(local.map((p) => p.metadata.uid!));
  const duplicates = [...byOrigin.values()].reduce((s, l) => s + Math.max(0, l.length - 1), 0);
  const orphans = twins.filter((tw) => !uids.has(tw.metadata.labels?.['peerlog.dev/origin-uid'] ?? '')).length;
  const ready = local.length === n && local.every((p) => p.status?.phase === 'Running' && p.spec.nodeName === nodeName
    && byOrigin.get(p.metadata.uid!)?.length === 1 && byOrigin.get(p.metadata.uid!)![0]!.status?.phase === 'Running' && byOrigin.get(p.metadata.uid!)![0]!.metadata.name === p.metadata.name)
    && duplicates === 0 && orphans === 0;
  return { ready, duplicates, orphans, local: local.length };
}

interface LogCheck { readonly lost: number; readonly duplicateVersions: number; readonly republished: number; readonly problems: string[] }

/**
 * One cluster log, once its control plane is stopped: the outbox (contiguous versions per stream),
 * the Kafka topic (every published event there, per (stream, version) one event id; the same event
 * published twice is counted apart), the audit read model (every event the plane had settled, once).
 */
async function checkLog(config: PeerlogConfig, settledPosition: number): Promise<LogCheck> {
  const db = await logClient(config);
  const problems: string[] = [];
  try {
    const outbox = (await db.query<{ position: string; event_id: string; stream_id: string; stream_version: number; published: boolean }>(
      'select position, event_id, stream_id, stream_version, published_at is not null as published from peerlog_outbox order by position')).rows;
    const audit = (await db.query<{ event_id: string; n: string }>('select event_id, count(*) as n from peerlog_audit group by event_id')).rows;
    let lost = 0;
    let duplicateVersions = 0;
    // 1. The outbox: per stream 1..n in append order.
    const versions = new Map<string, number[]>();
    for (const r of outbox) versions.set(r.stream_id, [...(versions.get(r.stream_id) ?? []), r.stream_version]);
    for (const [stream, vs] of versions) {
      const gaps = vs.filter((v, i) => v !== i + 1);
      if (gaps.length > 0) {
        problems.push(`outbox ${stream}: versions ${vs.join(',')}`);
        duplicateVersions += vs.length - new Set(vs).size;
        lost += Math.max(...vs) - new Set(vs).size;
      }
    }
    // 2. Kafka: every published outbox event, and nothing else under its (stream, version).
    const published = outbox.filter((r) => r.published);
    const messages = published.length === 0 ? [] : await readTopic(config.kafkaBrokers, topicFor(config.clusterId), published.length);
    const seen = new Map<string, Map<string, number>>();
    for (const m of messages) {
      const e = JSON.parse(m.value) as { id: string; streamId: string; streamVersion: number };
      const key = `${e.streamId}@${e.streamVersion}`;
      const ids = seen.get(key) ?? new Map<string, number>();
      ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
      seen.set(key, ids);
    }
    let republished = 0;
    for (const [key, ids] of seen) {
      if (ids.size > 1) { duplicateVersions += ids.size - 1; problems.push(`kafka ${key}: ${ids.size} different events`); }
      for (const n of ids.values()) republished += n - 1;
    }
    for (const r of published) {
      if (!seen.get(`${r.stream_id}@${r.stream_version}`)?.has(r.event_id)) { lost++; problems.push(`kafka lacks ${r.stream_id}@${r.stream_version}`); }
    }
    for (const key of seen.keys()) {
      const [stream, v] = [key.slice(0, key.lastIndexOf('@')), Number(key.slice(key.lastIndexOf('@') + 1))];
      if (!(versions.get(stream) ?? []).includes(v)) { lost++; problems.push(`kafka holds ${key}, the outbox does not`); }
    }
    // 3. The audit read model: every settled event once (its key is the event id; counted anyway).
    const audited = new Map(audit.map((a) => [a.event_id, Number(a.n)]));
    for (const r of outbox.filter((x) => Number(x.position) <= settledPosition)) {
      const n = audited.get(r.event_id) ?? 0;
      if (n === 0) { lost++; problems.push(`audit lacks ${r.stream_id}@${r.stream_version}`); }
      if (n > 1) { duplicateVersions += n - 1; problems.push(`audit holds ${r.stream_id}@${r.stream_version} ${n} times`); }
    }
    const ids = new Set(outbox.map((r) => r.event_id));
    for (const a of audit) if (!ids.has(a.event_id)) { lost++; problems.push(`audit holds ${a.event_id}, the outbox does not`); }
    return { lost, duplicateVersions, republished, problems };
  } finally { await db.end(); }
}

/** Waits until the plane's relay and read models have caught up with its outbox; the last position then. */
async function settled(config: PeerlogConfig, timeoutMs: number): Promise<number> {
  const db = await logClient(config);
  try {
    return await eventually(`${config.clusterId}'s outbox published and audited`, async () => {
      const r = (await db.query<{ last: string | null; unpublished: string; unaudited: string }>(`
        select max(o.position) as last, count(*) filter (where o.published_at is null) as unpublished,
               count(*) filter (where a.event_id is null) as unaudited
        from peerlog_outbox o left join peerlog_audit a on a.event_id = o.event_id`)).rows[0]!;
      return Number(r.unpublished) === 0 && Number(r.unaudited) === 0 ? Number(r.last ?? 0) : undefined;
    }, timeoutMs);
  } finally { await db.end(); }
}

/** Objects of the peering left on either side (by label), for the summary; the assertions say which. */
function leftovers(alpha: Plane | ServedPlane, beta: Plane | ServedPlane): number {
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  return listed(beta, 'namespaces,resourcerequests,resourceoffers,roles,rolebindings,resourcequotas,pods,configmaps', `peerlog.dev/remote-cluster-id=${alphaId}`).length
    + listed(alpha, 'nodes,resourcerequests,resourceoffers', `peerlog.dev/remote-cluster-id=${betaId}`).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trial(t: TestContext, i: number, result: TrialResult): Promise<void> {
  const random = rng(SEED + i);
  const { phase, victim, pods } = classOf(i);
  // The moment: within the span the step takes undisturbed on this stack (peering with its pods
  // 20 pods ~10 s, an unpeering ~10 s), so that most kills cut it somewhere inside.
  const killAfterMs = Math.floor(random() * (phase === 'peering' ? 12_000 : 10_000));
  t.diagnostic(`trial ${i}: kill ${victim} during the ${phase}, ${pods} pods, at +${killAfterMs} ms (seed ${SEED})`);
  const prefix = `flt${i}`;
  // The plane that is killed runs as `peerlog serve`; the other in this process.
  let alpha: Plane | ServedPlane;
  let beta: Plane | ServedPlane;
  let served: ServedPlane;
  if (victim === 'alpha') {
    beta = await startPlane('beta', `${prefix}p`);
    served = servedPlane('alpha', `${prefix}c`, beta);
    alpha = served;
  } else {
    alpha = await startPlane('alpha', `${prefix}c`);
    served = servedPlane('beta', `${prefix}p`, alpha);
    beta = served;
  }
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  const ns = uniqueName('fltw');
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  const began = Date.now();
  const secs = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`;
  t.after(async () => {
    const from = Date.now();
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteNs]);
    await removeNamespaces(alpha, [ns]);
    t.diagnostic(`trial ${i}: cleaned up in ${secs(from)}`);
  });
  await served.start();
  t.diagnostic(`trial ${i}: planes up in ${secs(began)}`);
  const killAndRestart = async (): Promise<number> => {
    await sleep(killAfterMs);
    assert.equal(await served.child.kill(), 'SIGKILL');
    const at = Date.now();
    await served.start();
    return at;
  };

  // 1. The peering and the workload at once: the pods wait Pending for the virtual node.
  assert.equal(alpha.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], foreignClusterManifest(alpha, beta)).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'work', pods, { resources: { requests: { cpu: '10m', memory: '16Mi' } } }, pinnedTo(betaId))).status, 0);
  const peeringStarted = Date.now();
  let killedAt: number | undefined = phase === 'peering' ? await killAndRestart() : undefined;
  let last = twinsOf(alpha, beta, ns, remoteNs, pods, nodeName);
  try {
    await eventually(`${pods} pods Running on alpha, each with one Running twin on beta`, async () => {
      last = twinsOf(alpha, beta, ns, remoteNs, pods, nodeName);
      return last.ready ? true : undefined;
    }, 180_000);
  } catch (e) {
    result.objects += last.duplicates + last.orphans;
    t.diagnostic(`trial ${i}: not converged: ${last.local} local pods, ${last.duplicates} duplicate twins, ${last.orphans} orphans`);
    throw e;
  }
  if (killedAt !== undefined) result.convergeMs = Date.now() - killedAt;
  t.diagnostic(`trial ${i}: peered with ${pods} pods in ${((Date.now() - peeringStarted) / 1000).toFixed(1)} s`);

  // 2. The unpeering (kubectl's way in), killed in its midst for the unpeering trials.
  assert.equal(alpha.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
  const unpeeringStarted = Date.now();
  if (phase === 'unpeering') killedAt = await killAndRestart();
  try {
    await eventually('the ForeignCluster says Terminated', async () => (
      get<Obj & { status?: { outgoing?: { phase?: string } } }>(alpha, ['get', 'foreigncluster', betaId])?.status?.outgoing?.phase === 'Terminated' ? true : undefined), 120_000);
    await assertConsumerClean(alpha, betaId, { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
    await assertProviderClean(beta, alphaId, [remoteNs]);
  } catch (e) {
    result.objects += leftovers(alpha, beta);
    throw e;
  }
  if (phase === 'unpeering') result.convergeMs = Date.now() - killedAt!;
  t.diagnostic(`trial ${i}: unpeered in ${((Date.now() - unpeeringStarted) / 1000).toFixed(1)} s`);
  result.converged = true;

  // 3. Both logs, once settled and stopped.
  const checking = Date.now();
  const [alphaSettled, betaSettled] = await Promise.all([settled(alpha.config, 30_000), settled(beta.config, 30_000)]);
  await Promise.all([alpha.stop(), beta.stop()]);
  const checks = await Promise.all([checkLog(alpha.config, alphaSettled), checkLog(beta.config, betaSettled)]);
  const problems: string[] = [];
  for (const [name, c] of [['alpha', checks[0]], ['beta', checks[1]]] as const) {
    result.lost += c.lost;
    result.duplicateEvents += c.duplicateVersions;
    result.republished += c.republished;
    problems.push(...c.problems.map((x) => `${name}: ${x}`));
  }
  t.diagnostic(`trial ${i}: converged ${((result.convergeMs ?? 0) / 1000).toFixed(1)} s after the kill; logs checked in ${secs(checking)}; ${result.republished} events published twice (deduped)`);
  assert.deepEqual(problems, [], `trial ${i} (seed ${SEED}): the logs`);
}

test(`crash trials: SIGKILL of alpha's or beta's peerlog serve during a peering with offloaded pods or an unpeering (${TRIALS} trials, seed ${SEED})`, async (t) => {
  const results: TrialResult[] = [];
  for (let i = ONLY ?? 0; i < (ONLY === undefined ? TRIALS : ONLY + 1); i++) {
    const r: TrialResult = { converged: false, lost: 0, duplicateEvents: 0, republished: 0, objects: 0 };
    results.push(r);
    await t.test(`trial ${i}: kill ${classOf(i).victim} during the ${classOf(i).phase} (${classOf(i).pods} pods)`, async (tt) => { await trial(tt, i, r); });
  }
  const times = results.flatMap((r) => (r.convergeMs === undefined ? [] : [r.convergeMs])).sort((a, b) => a - b);
  const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  const sum = (f: (r: TrialResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const line = `crash trials: ${results.length} trials, ${results.filter((r) => r.converged).length} converged, ${sum((r) => r.lost)} events lost, `
    + `${sum((r) => r.duplicateEvents)} duplicate events, ${sum((r) => r.objects)} orphan/duplicate objects, `
    + `convergence p50/max ${s(times[Math.floor((times.length - 1) / 2)])}/${s(times[times.length - 1])}s `
    + `(${sum((r) => r.republished)} events published twice and deduped; seed ${SEED})`;
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});
