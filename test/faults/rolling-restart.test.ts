// Issue 16 scenario 5, fault suite — a rolling restart. Alpha's control plane runs as two replicas
// of `peerlog serve` on one log (short election timings, as the takeover test: lease 6 s, renew 4 s,
// retry 1 s), beta's in this process. Alpha peers with beta and offloads a Deployment; at a seeded
// moment of the peering or the offloading, alpha is restarted as `kubectl rollout restart` would:
// the leader gets SIGTERM (a clean stop gives the Lease up), is started again and waits until its
// /readyz answers 200, then the other one the same way. Each trial must end as an undisturbed run
// does — the virtual node Ready, every pod Running with exactly one twin on beta, nothing of the
// peering left after the unpeering, both logs as checkBothLogs wants them — and the replicas did the
// work once between them: one hash chain over the audit index, one CertIssued and one
// VirtualNodeCreated in alpha's outgoing stream (one CertIssued in beta's incoming one), the
// identity obtained once in all the runs' logs, and at no moment two replicas leading (the
// intervals between each run's "started leading" and "stopped leading" lines never overlap).
//
// Size: PEERLOG_FAULTS=full runs 6 trials with 20 pods, else 2 with 5 (CI). PEERLOG_FAULTS_SEED,
// PEERLOG_FAULTS_ONLY and PEERLOG_FAULTS_TRIALS as in crash.test.ts. Times are printed, never
// asserted; the bounds below are liveness bounds only.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { eventually, uniqueName } from '../support/env.js';
import { checkBothLogs, leftovers, newResult, rng, summaryLine, twinsOf, type TrialResult } from '../support/faults.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../support/peering.js';
import { assertDoneOnce, identityOf, leaseHolder, linesOf, logFacts, readyz, replicatedPlane, settle, type Replica } from '../support/replicas.js';
import { assertConsumerClean, assertProviderClean, endOf, get, nodeReady, type Obj } from '../support/unpeering.js';

const FULL = process.env.PEERLOG_FAULTS === 'full';
const TRIALS = Number(process.env.PEERLOG_FAULTS_TRIALS ?? (FULL ? 6 : 2));
const SEED = Number(process.env.PEERLOG_FAULTS_SEED ?? randomInt(1, 2 ** 31));
const ONLY = process.env.PEERLOG_FAULTS_ONLY === undefined ? undefined : Number(process.env.PEERLOG_FAULTS_ONLY);
const PODS = FULL ? 20 : 5;
const TIMING = { leaderElectLeaseDuration: 6, leaderElectRenewDeadline: 4, leaderElectRetryPeriod: 1 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One run of a replica (a process): its name, its run number and the replica as it was then. */
interface Run { readonly label: string; readonly replica: Replica }

interface Term { readonly run: string; readonly from: number; readonly to: number | undefined }

/** Each run's leadership terms from its log lines' own times: "started leading" to "stopped leading". */
function termsOf(runs: readonly Run[]): { terms: Term[]; problems: string[] } {
  const terms: Term[] = [];
  const problems: string[] = [];
  for (const { label, replica } of runs) {
    const marks = [
      ...linesOf(replica, 'started leading').map((l) => ({ at: Date.parse(l.time!), start: true })),
      ...linesOf(replica, 'stopped leading').map((l) => ({ at: Date.parse(l.time!), start: false })),
    ].sort((x, y) => x.at - y.at);
    let open: number | undefined;
    for (const m of marks) {
      if (m.start && open !== undefined) problems.push(`${label} started leading twice without stopping`);
      if (!m.start && open === undefined) problems.push(`${label} stopped leading without having started`);
      if (m.start) open = m.at;
      else if (open !== undefined) { terms.push({ run: label, from: open, to: m.at }); open = undefined; }
    }
    // Every run here ends by SIGTERM (checked), which logs the end of its term: an open one is a fault.
    if (open !== undefined) { terms.push({ run: label, from: open, to: undefined }); problems.push(`${label} never logged the end of its term`); }
  }
  terms.sort((x, y) => x.from - y.from);
  for (let i = 1; i < terms.length; i++) {
    const [p, q] = [terms[i - 1]!, terms[i]!];
    if (p.to === undefined || q.from < p.to) problems.push(`${q.run} started leading at ${new Date(q.from).toISOString()} while ${p.run} led (until ${p.to === undefined ? 'its end' : new Date(p.to).toISOString()})`);
  }
  return { terms, problems };
}

async function trial(t: TestContext, i: number, result: TrialResult, counts: { forks: number; overlaps: number }): Promise<void> {
  const random = rng(SEED + i);
  // The moment: within the span a peering with its pods takes undisturbed on this stack (~10 s),
  // so that the restart cuts the authentication, the virtual node's creation or the offloading.
  const restartAfterMs = Math.floor(random() * 12_000);
  t.diagnostic(`trial ${i}: rolling restart of alpha at +${restartAfterMs} ms, ${PODS} pods (seed ${SEED})`);
  const prefix = `rol${i}`;
  const began = Date.now();
  const secs = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`;
  const beta = await startPlane('beta', `${prefix}p`);
  const alpha = replicatedPlane('alpha', `${prefix}c`, beta, TIMING);
  const [a, b] = alpha.replicas;
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  const ns = uniqueName('rolw');
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  t.after(async () => {
    const from = Date.now();
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteNs]);
    await removeNamespaces(alpha, [ns]);
    t.diagnostic(`trial ${i}: cleaned up in ${secs(from)}`);
  });
  /** The runs that have ended, each replica as it was (its child and lines then). */
  const ended: Run[] = [];
  const runNo = { a: 0, b: 0 };
  await alpha.start(a);
  await alpha.start(b);
  // a started first on a cluster with no Lease: it takes it; b follows.
  await eventually('replica a leads', async () => (identityOf(a) !== undefined && leaseHolder(alpha) === identityOf(a) ? true : undefined), 30_000);
  t.diagnostic(`trial ${i}: planes up in ${secs(began)}`);

  // 1. The peering and the workload at once: the pods wait Pending for the virtual node.
  assert.equal(alpha.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], foreignClusterManifest(alpha, beta)).status, 0);
  const deployed = alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'work', PODS, { resources: { requests: { cpu: '10m', memory: '16Mi' } } }, pinnedTo(betaId)));
  assert.equal(deployed.status, 0, deployed.stderr);
  const peeringStarted = Date.now();

  // 2. The rolling restart: the leader first, then the other, each started again and ready before
  //    the next is stopped.
  await sleep(restartAfterMs);
  const restartedAt = Date.now();
  const holder = leaseHolder(alpha);
  const leader = alpha.replicas.find((r) => holder !== undefined && identityOf(r) === holder);
  assert.ok(leader, `a replica holds the Lease before the restart (holder ${String(holder)})`);
  for (const r of [leader, leader === a ? b : a]) {
    const from = Date.now();
    const child = r.child!;
    assert.equal(await child.stop(), 0, `replica ${r.name} stopped cleanly on SIGTERM`);
    await endOf(child, 5_000);
    ended.push({ label: `${r.name}#${runNo[r.name]++}`, replica: { ...r, arrived: [...r.arrived] } });
    const stopped = Date.now();
    await alpha.start(r);
    await eventually(`replica ${r.name}'s /readyz 200`, async () => ((await readyz(r)).status === 200 ? true : undefined), 60_000);
    t.diagnostic(`trial ${i}: replica ${r.name} stopped in ${((stopped - from) / 1000).toFixed(1)} s, ready again in ${secs(stopped)}`);
  }
  t.diagnostic(`trial ${i}: rolling restart done in ${secs(restartedAt)} (+${((restartedAt - peeringStarted) / 1000).toFixed(1)} s into the peering)`);

  // 3. Converged: the virtual node Ready, every pod Running on it with exactly one Running twin.
  let last = twinsOf(alpha, beta, ns, remoteNs, PODS, nodeName);
  try {
    await eventually(`the virtual node ${nodeName} Ready`, nodeReady(alpha, nodeName), 120_000);
    await eventually(`${PODS} pods Running on alpha, each with one Running twin on beta`, async () => {
      last = twinsOf(alpha, beta, ns, remoteNs, PODS, nodeName);
      return last.ready ? true : undefined;
    }, 180_000);
  } catch (e) {
    result.objects += last.duplicates + last.orphans;
    t.diagnostic(`trial ${i}: not converged: ${last.local} local pods, ${last.duplicates} duplicate twins, ${last.orphans} orphans`);
    throw e;
  }
  result.convergeMs = Date.now() - restartedAt;
  t.diagnostic(`trial ${i}: peered with ${PODS} pods in ${secs(peeringStarted)}, converged ${secs(restartedAt)} after the restart began`);

  // 4. The unpeering leaves nothing of the peering on either side.
  const unpeering = Date.now();
  assert.equal(alpha.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
  try {
    await eventually('the ForeignCluster says Terminated', async () => (
      get<Obj & { status?: { outgoing?: { phase?: string } } }>(alpha, ['get', 'foreigncluster', betaId])?.status?.outgoing?.phase === 'Terminated' ? true : undefined), 120_000);
    await assertConsumerClean(alpha, betaId, { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
    await assertProviderClean(beta, alphaId, [remoteNs]);
  } catch (e) {
    result.objects += leftovers(alpha, beta);
    throw e;
  }
  t.diagnostic(`trial ${i}: unpeered in ${secs(unpeering)}`);
  result.converged = true;

  // 5. Both logs (checkBothLogs stops both planes), then the chain and the done-once facts.
  const checking = Date.now();
  const [alphaSettled, betaSettled] = await Promise.all([settle(alpha.config), settle(beta.config)]);
  const problems = await checkBothLogs(result, alpha, beta);
  for (const r of alpha.replicas) {
    await endOf(r.child!, 5_000);
    ended.push({ label: `${r.name}#${runNo[r.name]++}`, replica: r });
  }
  const [alphaFacts, betaFacts] = await Promise.all([logFacts(alpha.config, `outgoing-${betaId}`, alphaSettled), logFacts(beta.config, `incoming-${alphaId}`, betaSettled)]);
  counts.forks += alphaFacts.forks + betaFacts.forks;
  const { terms, problems: leadership } = termsOf(ended);
  counts.overlaps += leadership.length;
  const at = (ms: number | undefined) => (ms === undefined ? 'end' : `+${((ms - began) / 1000).toFixed(1)}`);
  t.diagnostic(`trial ${i}: leadership ${terms.map((x) => `${x.run} ${at(x.from)}..${at(x.to)} s`).join(', ')}; logs checked in ${secs(checking)}; ${result.republished} events published twice (deduped)`);
  assert.deepEqual(problems, [], `trial ${i} (seed ${SEED}): the logs`);
  assert.deepEqual(leadership, [], `trial ${i} (seed ${SEED}): one replica leading at a time`);
  assertDoneOnce(alphaFacts, 'alpha');
  assertDoneOnce(betaFacts, 'beta');
  assert.equal(alphaFacts.types.get('CertIssued'), 1, `one CertIssued in alpha's outgoing stream: ${JSON.stringify(alphaFacts.streams[`outgoing-${betaId}`])}`);
  assert.equal(alphaFacts.types.get('VirtualNodeCreated'), 1, 'one VirtualNodeCreated');
  assert.equal(betaFacts.types.get('CertIssued'), 1, `one CertIssued in beta's incoming stream: ${JSON.stringify(betaFacts.streams[`incoming-${alphaId}`])}`);
  assert.equal(ended.reduce((n, r) => n + linesOf(r.replica, 'identity obtained').length, 0), 1, 'the identity obtained once, by one run');
  assert.ok(terms.length >= 2, `the Lease changed hands in the restart: ${terms.map((x) => x.run).join(', ')}`);
}

test(`rolling restart: alpha's two peerlog serve replicas restarted one at a time during a peering with offloaded pods (${TRIALS} trials, seed ${SEED})`, async (t) => {
  const results: TrialResult[] = [];
  const counts = { forks: 0, overlaps: 0 };
  const began = Date.now();
  for (let i = ONLY ?? 0; i < (ONLY === undefined ? TRIALS : ONLY + 1); i++) {
    const r = newResult();
    results.push(r);
    await t.test(`trial ${i}: rolling restart of alpha (${PODS} pods)`, async (tt) => { await trial(tt, i, r, counts); });
  }
  const line = summaryLine('rolling restart', results, `${counts.forks} hash-chain forks, ${counts.overlaps} leadership problems; ${((Date.now() - began) / 1000).toFixed(0)} s; seed ${SEED}`);
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});
