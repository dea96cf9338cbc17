// What the fault suite checks after each trial, shared by its files (test/faults): one Running twin
// per local pod, the objects a finished peering left, and both logs' invariants — per stream
// contiguous versions with none twice, in the outbox and on Kafka, and every event in the audit read
// model once — plus the summary line each scenario prints.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { readTopic } from './core.js';
import { eventually, uniqueName } from './env.js';
import { logClient } from './log.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from './offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from './peering.js';
import { assertConsumerClean, assertProviderClean, get, listed, servedPlane, type Obj, type ServedPlane } from './unpeering.js';
import { topicFor } from '../../src/adapters/kafka/client.js';
import type { PeerlogConfig } from '../../src/config.js';

/** mulberry32: a small seeded generator, so that a failing trial can be run again. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Pod extends Obj { spec: { nodeName?: string }; status?: { phase?: string } }

/** What a trial found, filled in as it goes (so a failed trial still counts what it saw). */
export interface TrialResult {
  converged: boolean;
  lost: number;
  duplicateEvents: number;
  republished: number;
  objects: number;
  convergeMs?: number;
}

/** What the twins on beta say about the pods on alpha: the pods whose twin is not (yet) one Running pod, and twins of no local pod. */
export function twinsOf(alpha: Plane | ServedPlane, beta: Plane | ServedPlane, ns: string, remoteNs: string, n: number, nodeName: string): { ready: boolean; duplicates: number; orphans: number; local: number } {
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

export interface LogCheck { readonly lost: number; readonly duplicateVersions: number; readonly republished: number; readonly problems: string[] }

/**
 * One cluster log, once its control plane is stopped: the outbox (contiguous versions per stream),
 * the Kafka topic (every published event there, per (stream, version) one event id; the same event
 * published twice is counted apart), the audit read model (every event the plane had settled, once).
 */
export async function checkLog(config: PeerlogConfig, settledPosition: number): Promise<LogCheck> {
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
export async function settled(config: PeerlogConfig, timeoutMs: number): Promise<number> {
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
export function leftovers(alpha: Plane | ServedPlane, beta: Plane | ServedPlane): number {
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  return listed(beta, 'namespaces,resourcerequests,resourceoffers,roles,rolebindings,resourcequotas,pods,configmaps', `peerlog.dev/remote-cluster-id=${alphaId}`).length
    + listed(alpha, 'nodes,resourcerequests,resourceoffers', `peerlog.dev/remote-cluster-id=${betaId}`).length;
}


/** One scenario's summary, in the shape every fault file prints: trials, converged, lost and duplicate events, objects, times. */
export function summaryLine(scenario: string, results: readonly TrialResult[], note: string): string {
  const times = results.flatMap((r) => (r.convergeMs === undefined ? [] : [r.convergeMs])).sort((a, b) => a - b);
  const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  const sum = (f: (r: TrialResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return `${scenario}: ${results.length} trials, ${results.filter((r) => r.converged).length} converged, ${sum((r) => r.lost)} events lost, `
    + `${sum((r) => r.duplicateEvents)} duplicate events, ${sum((r) => r.objects)} orphan/duplicate objects, `
    + `convergence p50/max ${s(times[Math.floor((times.length - 1) / 2)])}/${s(times[times.length - 1])}s `
    + `(${sum((r) => r.republished)} events published twice and deduped; ${note})`;
}

/**
 * A trial's last step: both planes' logs once settled (relay and read models caught up), with the
 * planes stopped so nothing moves while they are read; counts go into `result`, problems are returned.
 */
export async function checkBothLogs(result: TrialResult, alpha: Pick<Plane, 'config' | 'stop'>, beta: Pick<Plane, 'config' | 'stop'>, settleMs = 30_000): Promise<string[]> {
  const [alphaSettled, betaSettled] = await Promise.all([settled(alpha.config, settleMs), settled(beta.config, settleMs)]);
  await Promise.all([alpha.stop(), beta.stop()]);
  const checks = await Promise.all([checkLog(alpha.config, alphaSettled), checkLog(beta.config, betaSettled)]);
  const problems: string[] = [];
  for (const [name, c] of [['alpha', checks[0]], ['beta', checks[1]]] as const) {
    result.lost += c.lost;
    result.duplicateEvents += c.duplicateVersions;
    result.republished += c.republished;
    problems.push(...c.problems.map((x) => `${name}: ${x}`));
  }
  return problems;
}

/** A new result, nothing seen yet. */
/**
 * Waits until every pod runs on alpha's virtual node with exactly one Running twin on beta; on a
 * timeout the duplicates and orphans seen last count in `result`, and the trial says what it saw.
 */
export async function convergedTwins(t: { diagnostic(m: string): void }, result: TrialResult,
  w: { alpha: Plane | ServedPlane; beta: Plane | ServedPlane; ns: string; remoteNs: string; pods: number; nodeName: string }, timeoutMs: number, prefix: string): Promise<void> {
  let last = twinsOf(w.alpha, w.beta, w.ns, w.remoteNs, w.pods, w.nodeName);
  try {
    await eventually(`${w.pods} pods Running on alpha, each with one Running twin on beta`, async () => {
      last = twinsOf(w.alpha, w.beta, w.ns, w.remoteNs, w.pods, w.nodeName);
      return last.ready ? true : undefined;
    }, timeoutMs);
  } catch (e) {
    result.objects += last.duplicates + last.orphans;
    t.diagnostic(`${prefix}: not converged: ${last.local} local pods, ${last.duplicates} duplicate twins, ${last.orphans} orphans`);
    throw e;
  }
}

/**
 * The unpeering asked, it ends Terminated and leaves nothing of the peering on either side (the
 * consumer keeps the token Secret); on a failure the objects left count in `result`.
 */
export async function unpeeredClean(result: TrialResult, alpha: Plane | ServedPlane, beta: Plane | ServedPlane, remoteNs: string): Promise<void> {
  const betaId = beta.config.clusterId;
  try {
    await eventually('the ForeignCluster says Terminated', async () => (
      get<Obj & { status?: { outgoing?: { phase?: string } } }>(alpha, ['get', 'foreigncluster', betaId])?.status?.outgoing?.phase === 'Terminated' ? true : undefined), 120_000);
    await assertConsumerClean(alpha, betaId, { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
    await assertProviderClean(beta, alpha.config.clusterId, [remoteNs]);
  } catch (e) {
    result.objects += leftovers(alpha, beta);
    throw e;
  }
}

export const newResult = (): TrialResult => ({ converged: false, lost: 0, duplicateEvents: 0, republished: 0, objects: 0 });

/** How long each outage lasts: PEERLOG_FAULTS_OUTAGE_S, else 60 s for the full run and `ciSeconds` for CI. */
export function outageMs(ciSeconds: number): number {
  const set = process.env.PEERLOG_FAULTS_OUTAGE_S;
  if (set !== undefined) return Number(set) * 1000;
  return process.env.PEERLOG_FAULTS === 'full' ? 60_000 : ciSeconds * 1000;
}

/** What an outage trial hands its fault: both planes and where the pods go. */
export interface OutageContext {
  readonly t: TestContext;
  readonly alpha: Plane | ServedPlane;
  readonly beta: Plane | ServedPlane;
  /** The plane run as `peerlog serve` (a child process), when the trial asked for one. */
  readonly served?: ServedPlane;
  readonly ns: string;
  readonly remoteNs: string;
  readonly nodeName: string;
  readonly pods: number;
  /** Applies the offloaded Deployment (once; a second call does nothing). */
  workload(): void;
}

/**
 * One outage trial: alpha (consumer) peers with beta (provider) and offloads a Deployment of `pods`
 * pods; `fault` cuts a component and brings it back, and returns when it came back. With `during:
 * 'peering'` the ForeignCluster and the Deployment are applied first and the fault runs at once;
 * with `during: 'offloading'` the peering completes first and the fault applies the workload itself
 * (ctx.workload) when it likes. Then: every pod Running with one Running twin, the unpeering leaves
 * both sides clean, and both logs pass checkBothLogs. `serve` runs that side as `peerlog serve`.
 */
export async function outageTrial(t: TestContext, result: TrialResult, opts: {
  readonly prefix: string; readonly pods: number; readonly during: 'peering' | 'offloading';
  readonly serve?: 'alpha' | 'beta';
  readonly fault: (ctx: OutageContext) => Promise<number>;
  /** Brings the component back if the fault left it down (a failed check): the clean-up needs it. */
  readonly restore?: () => Promise<void>;
  /** Runs once the pods converged, before the unpeering (checks of the recovered state). */
  readonly converged?: (ctx: OutageContext) => Promise<void>;
}): Promise<void> {
  const { prefix, pods } = opts;
  let alpha: Plane | ServedPlane;
  let beta: Plane | ServedPlane;
  let served: ServedPlane | undefined;
  if (opts.serve === 'alpha') {
    beta = await startPlane('beta', `${prefix}p`);
    served = servedPlane('alpha', `${prefix}c`, beta);
    alpha = served;
  } else if (opts.serve === 'beta') {
    alpha = await startPlane('alpha', `${prefix}c`);
    served = servedPlane('beta', `${prefix}p`, alpha);
    beta = served;
  } else {
    alpha = await startPlane('alpha', `${prefix}c`);
    beta = await startPlane('beta', `${prefix}p`);
  }
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  const ns = uniqueName('outw');
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  const secs = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`;
  t.after(async () => {
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteNs]);
    await removeNamespaces(alpha, [ns]);
  });
  if (served) await served.start();
  let applied = false;
  const workload = () => {
    if (applied) return;
    applied = true;
    const r = alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'work', pods, { resources: { requests: { cpu: '10m', memory: '16Mi' } } }, pinnedTo(betaId)));
    assert.equal(r.status, 0, r.stderr);
  };
  const ctx: OutageContext = { t, alpha, beta, served, ns, remoteNs, nodeName, pods, workload };

  // 1. The peering; its workload before the fault or within it.
  assert.equal(alpha.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], foreignClusterManifest(alpha, beta)).status, 0);
  if (opts.during === 'peering') workload();
  else {
    await eventually('the virtual node Ready', async () => (
      get<{ status: { conditions: { type: string; status: string }[] } }>(alpha, ['get', 'node', nodeName])?.status.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined), 60_000);
  }
  let restoredAt: number;
  try { restoredAt = await opts.fault(ctx); } finally { await opts.restore?.(); }
  workload();

  // 2. Converged: every pod Running on the virtual node with exactly one Running twin, no orphans.
  await convergedTwins(t, result, { alpha, beta, ns, remoteNs, pods, nodeName }, 240_000, prefix);
  result.convergeMs = Date.now() - restoredAt;
  t.diagnostic(`${prefix}: converged ${secs(restoredAt)} after the component came back`);
  await opts.converged?.(ctx);

  // 3. The unpeering leaves nothing of the peering on either side.
  const unpeering = Date.now();
  assert.equal(alpha.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
  await unpeeredClean(result, alpha, beta, remoteNs);
  t.diagnostic(`${prefix}: unpeered in ${secs(unpeering)}`);
  result.converged = true;

  // 4. Both logs.
  const problems = await checkBothLogs(result, alpha, beta);
  t.diagnostic(`${prefix}: ${result.republished} events published twice (deduped)`);
  assert.deepEqual(problems, [], `${prefix}: the logs`);
}
