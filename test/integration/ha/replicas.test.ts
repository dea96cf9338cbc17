// Issue 17 item 4: two replicas of alpha's `peerlog serve` (real child processes, one log) against
// beta's control plane, a peering with offloaded pods. Exactly one replica leads (the Lease holder,
// read with kubectl, is the one that logged "started leading"; the other never did), only it does
// the process work (the identity is obtained in its log alone; the follower, its requests traced,
// sends no write to either cluster once ready), and the work is done once: per
// stream versions 1..n, no event twice, one CertIssued and one VirtualNodeCreated, exactly one
// twin per local pod, one hash chain over the audit index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, uniqueName } from '../../support/env.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../../support/peering.js';
import { assertDoneOnce, identityOf, leaseHolder, linesOf, logFacts, readyz, replicatedPlane, settle, twins, writesAfterReady } from '../../support/replicas.js';

const PODS = 5;

test('two replicas of peerlog serve: one leads, it alone does the process work, and the peering with its pods is done once', async (t) => {
  const beta = await startPlane('beta', 'hap');
  const alpha = replicatedPlane('alpha', 'hac', beta);
  const [a, b] = alpha.replicas;
  const betaId = beta.config.clusterId;
  const ns = uniqueName('haw');
  const remoteNs = `${ns}-${alpha.config.clusterId}`;
  const nodeName = `peerlog-${betaId}`;
  t.after(async () => {
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteNs]);
    await removeNamespaces(alpha, [ns]);
  });
  await alpha.start(a);
  await alpha.start(b, { traceRequests: true });
  // a started first on a cluster with no Lease: it takes it; b waits for it to lapse.
  await eventually('replica a leads', async () => (identityOf(a) !== undefined && leaseHolder(alpha) === identityOf(a) ? true : undefined), 30_000);

  assert.equal(alpha.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], foreignClusterManifest(alpha, beta)).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'work', PODS, { resources: { requests: { cpu: '10m', memory: '16Mi' } } }, pinnedTo(betaId))).status, 0);
  const began = Date.now();
  let last = twins(alpha, beta, ns, 'work', remoteNs, PODS, nodeName);
  await eventually(`${PODS} pods Running on alpha, each with one Running twin on beta`, async () => {
    last = twins(alpha, beta, ns, 'work', remoteNs, PODS, nodeName);
    return last.ready ? true : undefined;
  }, 120_000);
  t.diagnostic(`peered with ${PODS} pods in ${((Date.now() - began) / 1000).toFixed(1)} s`);

  // 1. One leader throughout: the Lease names a, only a ever started leading, b says it follows.
  assert.equal(leaseHolder(alpha), identityOf(a));
  assert.equal(linesOf(a, 'started leading').length, 1, 'a started leading once');
  assert.deepEqual(linesOf(b, 'started leading'), [], 'b never led');
  assert.ok(linesOf(b, 'another replica leads').some((l) => l.holder === identityOf(a)), 'b saw a lead');
  // Each replica's /readyz says which it is.
  const [ra, rb] = await Promise.all([readyz(a), readyz(b)]);
  assert.equal(ra.body.leader, true, 'a\'s /readyz: leader');
  assert.equal(ra.body.checks?.leadership, 'leader');
  assert.equal(rb.body.leader, false, 'b\'s /readyz: follower');
  assert.equal(rb.body.checks?.leadership, 'follower');
  // 2. The process work in the leader's log alone.
  assert.equal(linesOf(a, 'identity obtained').length, 1, 'the leader obtained the identity once');
  assert.deepEqual(linesOf(b, 'identity obtained'), [], 'the follower obtained none');
  // What the follower sent once ready: reads only (watches, the Lease), never a write to either cluster.
  assert.deepEqual(writesAfterReady(b), [], 'the follower wrote nothing');
  for (const p of ['process', 'virtual-kubelet', 'kubernetes', 'replication']) {
    assert.deepEqual(linesOf(b, 'projection started').filter((l) => l.projection === p), [], `the follower ran no ${p} projection`);
  }
  // 3. Done once, on both clusters' sides: twins, and alpha's log.
  assert.equal(last.duplicates, 0);
  assert.equal(last.orphans, 0);
  const settled = await settle(alpha.config);
  await alpha.stop();
  const facts = await logFacts(alpha.config, `outgoing-${betaId}`, settled);
  assertDoneOnce(facts, 'alpha');
  assert.equal(facts.types.get('CertIssued'), 1, 'one CertIssued');
  assert.equal(facts.types.get('VirtualNodeCreated'), 1, 'one VirtualNodeCreated');
  t.diagnostic(`alpha's log: ${facts.events} events, one chain: ${JSON.stringify(facts.streams)}`);
});
