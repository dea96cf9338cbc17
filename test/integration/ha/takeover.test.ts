// Issue 16 scenario 5: two replicas of alpha's `peerlog serve`, and the leader dies by SIGKILL in
// the midst of a peering with offloaded pods — the moment it is about to create the virtual node,
// after the identity was issued. The other replica takes the Lease once it lapses (the takeover
// time is measured and printed; only a generous liveness bound is asserted) and finishes the
// peering once: one CertIssued, one VirtualNodeCreated, versions 1..n, exactly one twin per pod,
// one hash chain. Short election timings (6s/4s/1s) keep the file CI-sized.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, uniqueName } from '../../support/env.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../../support/peering.js';
import { assertDoneOnce, firstArrival, identityOf, leaseHolder, linesOf, logFacts, replicatedPlane, settle, twins, writesAfterReady } from '../../support/replicas.js';

const PODS = 5;
const LEASE_SECONDS = 6;

test('the leader replica SIGKILLed mid-peering: the other takes over and the peering completes once', async (t) => {
  const beta = await startPlane('beta', 'htp');
  const alpha = replicatedPlane('alpha', 'htc', beta, { leaderElectLeaseDuration: LEASE_SECONDS, leaderElectRenewDeadline: 4, leaderElectRetryPeriod: 1 });
  const [a, b] = alpha.replicas;
  const betaId = beta.config.clusterId;
  const ns = uniqueName('htw');
  const remoteNs = `${ns}-${alpha.config.clusterId}`;
  const nodeName = `peerlog-${betaId}`;
  t.after(async () => {
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteNs]);
    await removeNamespaces(alpha, [ns]);
  });
  // a dies the moment it is about to apply the virtual node (its identity issued, the node decided).
  await alpha.start(a, { killOn: `PATCH /api/v1/nodes/${nodeName}` });
  await alpha.start(b, { traceRequests: true });
  await eventually('replica a leads', async () => (identityOf(a) !== undefined && leaseHolder(alpha) === identityOf(a) ? true : undefined), 30_000);

  assert.equal(alpha.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], foreignClusterManifest(alpha, beta)).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'work', PODS, { resources: { requests: { cpu: '10m', memory: '16Mi' } } }, pinnedTo(betaId))).status, 0);

  // 1. The leader dies where it was meant to, mid-peering.
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([a.child!.exited, new Promise((r) => { timer = setTimeout(() => r('still running'), 90_000); })]);
  clearTimeout(timer);
  const killedAt = Date.now();
  assert.equal(end, 'SIGKILL', 'the leader was killed');
  assert.equal(linesOf(a, 'killed on request').length, 1, 'killed before it applied the virtual node');
  assert.deepEqual(linesOf(b, 'started leading'), [], 'b did not lead while a lived');
  assert.deepEqual(writesAfterReady(b), [], 'b wrote nothing to either cluster while a lived');

  // 2. b takes over once the Lease lapses (liveness bound only: 60 s, ten lease durations).
  await eventually('replica b leads', async () => (identityOf(b) !== undefined && leaseHolder(alpha) === identityOf(b) ? true : undefined), 60_000);
  const takeoverMs = firstArrival(b, 'started leading')! - killedAt;
  t.diagnostic(`takeover: replica b started leading ${(takeoverMs / 1000).toFixed(1)} s after the leader's SIGKILL (lease duration ${LEASE_SECONDS} s)`);

  // 3. The peering completes, once.
  let last = twins(alpha, beta, ns, 'work', remoteNs, PODS, nodeName);
  await eventually(`${PODS} pods Running on alpha, each with one Running twin on beta`, async () => {
    last = twins(alpha, beta, ns, 'work', remoteNs, PODS, nodeName);
    return last.ready ? true : undefined;
  }, 120_000);
  t.diagnostic(`peering completed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
  assert.equal(leaseHolder(alpha), identityOf(b));
  assert.equal(linesOf(b, 'identity obtained').length, 0, 'the new leader did not authenticate again');
  const settled = await settle(alpha.config);
  await alpha.stop();
  const facts = await logFacts(alpha.config, `outgoing-${betaId}`, settled);
  assertDoneOnce(facts, 'alpha');
  assert.equal(facts.types.get('CertIssued'), 1, 'one CertIssued');
  assert.equal(facts.types.get('VirtualNodeCreated'), 1, 'one VirtualNodeCreated');
  // One authentication through the CSR API: the plain CSR, answered 409 SubjectRequired, then the
  // one with the CN of the lifetime the provider named.
  assert.equal(facts.types.get('IdentityRequested'), 2, 'one authentication (two IdentityRequested)');
  t.diagnostic(`alpha's log: ${facts.events} events, one chain: ${JSON.stringify(facts.streams)}`);
});
