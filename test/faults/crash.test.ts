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
import { uniqueName } from '../support/env.js';
import { checkBothLogs, convergedTwins, rng, summaryLine, unpeeredClean, type TrialResult } from '../support/faults.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../support/peering.js';
import { servedPlane, type ServedPlane } from '../support/unpeering.js';

const FULL = process.env.PEERLOG_FAULTS === 'full';
const TRIALS = Number(process.env.PEERLOG_FAULTS_TRIALS ?? (FULL ? 50 : 10));
const SEED = Number(process.env.PEERLOG_FAULTS_SEED ?? randomInt(1, 2 ** 31));
const ONLY = process.env.PEERLOG_FAULTS_ONLY === undefined ? undefined : Number(process.env.PEERLOG_FAULTS_ONLY);

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
  await convergedTwins(t, result, { alpha, beta, ns, remoteNs, pods, nodeName }, 180_000, `trial ${i}`);
  if (killedAt !== undefined) result.convergeMs = Date.now() - killedAt;
  t.diagnostic(`trial ${i}: peered with ${pods} pods in ${((Date.now() - peeringStarted) / 1000).toFixed(1)} s`);

  // 2. The unpeering (kubectl's way in), killed in its midst for the unpeering trials.
  assert.equal(alpha.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
  const unpeeringStarted = Date.now();
  if (phase === 'unpeering') killedAt = await killAndRestart();
  await unpeeredClean(result, alpha, beta, remoteNs);
  if (phase === 'unpeering') result.convergeMs = Date.now() - killedAt!;
  t.diagnostic(`trial ${i}: unpeered in ${((Date.now() - unpeeringStarted) / 1000).toFixed(1)} s`);
  result.converged = true;

  // 3. Both logs, once settled and stopped.
  const checking = Date.now();
  const problems = await checkBothLogs(result, alpha, beta);
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
  const line = summaryLine('crash trials', results, `seed ${SEED}`);
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});
