// A stuck teardown blocks nothing else: a PodDisruptionBudget holds the drain of alpha → beta
// indefinitely, and meanwhile the other direction, beta → alpha, peers, offloads a pod and unpeers
// to the end on the same two control planes. The held teardown finishes once the budget goes.
// Expected values are written out here; the clusters are read with kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, peerlog, planeFlags, startPlane } from '../../support/peering.js';
import { assertConsumerClean, assertProviderClean, peered, running } from '../../support/unpeering.js';

test('a teardown held by a PodDisruptionBudget holds nothing else: the other direction peers, offloads and unpeers meanwhile', async (t) => {
  const alpha = await startPlane('alpha', 'isa');
  const beta = await startPlane('beta', 'isb');
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  const nsA = uniqueName('isow');       // on alpha, offloaded to beta (the held teardown)
  const nsB = uniqueName('isow');       // on beta, offloaded to alpha (the other direction)
  const remoteA = `${nsA}-${alphaId}`;  // on beta
  const remoteB = `${nsB}-${betaId}`;   // on alpha
  t.after(async () => {
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteA, nsB]);
    await removeNamespaces(alpha, [remoteB, nsA]);
  });
  await peered(alpha, beta, `peerlog-${betaId}`);
  assert.equal(alpha.kubectl(['create', 'namespace', nsA]).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(nsA, 'db', 2, {}, pinnedTo(betaId))).status, 0);
  assert.equal(alpha.kubectl(['create', 'poddisruptionbudget', 'db-pdb', '-n', nsA, '--selector=app=db', '--min-available=2']).status, 0);
  await eventually('2 pods Running on beta\'s virtual node', running(alpha, nsA, 'app=db', 2), 60_000);

  // alpha → beta waits on the budget (exit 1 at the timeout; the teardown goes on).
  const held = await peerlog(['unpeer', betaId, '--timeout', '10s', ...planeFlags(alpha)]);
  assert.equal(held.status, 1, held.stderr);
  assert.match(held.stderr, /PodDisruptionBudget/);

  // Meanwhile beta → alpha: peered, a pod offloaded and running, then unpeered to the end.
  await peered(beta, alpha, `peerlog-${alphaId}`, 60_000);
  assert.equal(beta.kubectl(['create', 'namespace', nsB]).status, 0);
  assert.equal(beta.kubectl(['apply', '-f', '-'], offloadedDeployment(nsB, 'web', 1, {}, pinnedTo(alphaId))).status, 0);
  await eventually('beta\'s pod Running on alpha\'s virtual node', running(beta, nsB, 'app=web', 1), 60_000);
  await eventually('its twin Running on alpha', running(alpha, remoteB, 'app=web', 1), 60_000);
  assert.equal(beta.kubectl(['delete', 'deployment', 'web', '-n', nsB]).status, 0);
  const done = await peerlog(['unpeer', alphaId, '--timeout', '90s', ...planeFlags(beta)]);
  assert.equal(done.status, 0, done.stderr);
  // The shared tenant namespaces stay: the held direction still uses them.
  await assertConsumerClean(beta, alphaId, { keepTenant: true, secrets: [`Secret/${beta.config.systemNamespace}/token-${alphaId}`] });
  await assertProviderClean(alpha, betaId, [remoteB], { tenant: true, secrets: [`Secret/peerlog-tenant-${betaId}/peerlog-identity`, `Secret/${alpha.config.systemNamespace}/token-${betaId}`] });

  // alpha → beta is still held where it was: cordoned, both pods running, no step past the wait.
  assert.equal(alpha.kubectl(['get', 'node', `peerlog-${betaId}`, '-o', 'jsonpath={.spec.unschedulable}']).stdout, 'true');
  await eventually('both pods still Running', running(alpha, nsA, 'app=db', 2), 5_000);
  const steps = (await outboxEvents(alpha.cp.runtime)).filter((e) => e.streamId === `outgoing-${betaId}`).map((e) => e.type);
  assert.deepEqual(steps.slice(steps.indexOf('UnpeeringRequested')), ['UnpeeringRequested', 'VirtualNodeCordoned', 'VirtualNodeDrainWaiting']);

  // The budget removed: it finishes, and nothing of either direction is left.
  assert.equal(alpha.kubectl(['delete', 'poddisruptionbudget', 'db-pdb', '-n', nsA]).status, 0);
  await eventually('alpha → beta terminated', async () => {
    const s = (await outboxEvents(alpha.cp.runtime)).filter((e) => e.streamId === `outgoing-${betaId}`).map((e) => e.type);
    return s.at(-1) === 'PeeringTerminated' ? true : undefined;
  }, 90_000);
  await assertConsumerClean(alpha, betaId, { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
  await assertProviderClean(beta, alphaId, [remoteA], { secrets: [`Secret/${beta.config.systemNamespace}/token-${alphaId}`] });
});
