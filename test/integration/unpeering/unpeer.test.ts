// Unpeering end to end: `peerlog unpeer` with offloaded pods leaves nothing of the peering on
// either side (listed by label and by name) and the old certificate gets 403 where it worked; a
// re-peer then works with a new identity. A PodDisruptionBudget holds the drain, named in the
// status and in `unpeer`'s output, until it is removed; `kubectl delete foreignclusters` tears down
// the same way and lets the object go. Expected values are written out here; the clusters are
// read with kubectl.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { clusterEndpoint, kubectlAs } from '../../support/identity.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, peerlog, planeFlags, startPlane } from '../../support/peering.js';
import { assertConsumerClean, assertProviderClean, get, identityOf, names, peered, running, type Obj } from '../../support/unpeering.js';

/** Two control planes, alpha peered to beta, a namespace for the test's pods; all removed after the test. */
async function peeredPair(t: TestContext, prefixes: [string, string], nsPrefix: string) {
  const consumer = await startPlane('alpha', prefixes[0]);
  const provider = await startPlane('beta', prefixes[1]);
  const ns = uniqueName(nsPrefix);
  const alphaId = consumer.config.clusterId;
  const betaId = provider.config.clusterId;
  const remoteNs = `${ns}-${alphaId}`;
  t.after(async () => {
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });
  const nodeName = `peerlog-${betaId}`;
  await peered(consumer, provider, nodeName);
  return { consumer, provider, ns, alphaId, betaId, remoteNs, nodeName };
}

test('peerlog unpeer with three offloaded pods: nothing of the peering is left on beta or alpha, the old certificate gets 403, and a re-peer works with a new identity', async (t) => {
  const { consumer, provider, ns, alphaId, betaId, remoteNs, nodeName } = await peeredPair(t, ['upc', 'upp'], 'unpeer');

  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['create', 'configmap', 'settings', '-n', ns, '--from-literal=MODE=blue']).status, 0);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'web', 3, { envFrom: [{ configMapRef: { name: 'settings' } }] }, pinnedTo(betaId))).status, 0);
  await eventually('3 pods Running on alpha', running(consumer, ns, 'app=web', 3), 60_000);
  await eventually('3 twins Running in beta', running(provider, remoteNs, 'app=web', 3), 60_000);
  assert.ok(get(provider, ['get', 'configmap', '-n', remoteNs, 'settings']), 'the ConfigMap followed its pods');

  const old = identityOf(consumer, betaId);
  const beta = clusterEndpoint('beta');
  const asOld = kubectlAs({ server: beta.server, caPem: beta.caPem, ...old });
  const tenantAtBeta = `peerlog-tenant-${alphaId}`;
  const before: string[][] = [
    ['get', 'resourcerequests', '-n', tenantAtBeta],
    ['get', 'resourceoffers', '-n', tenantAtBeta],
    ['get', 'pods', '-n', remoteNs],
    ['get', 'configmaps', '-n', remoteNs],
    ['get', 'secrets', '-n', remoteNs],
  ];
  for (const args of before) assert.equal(asOld(args).status, 0, `before unpeering the identity may ${args.join(' ')}`);

  const r = await peerlog(['unpeer', betaId, '--timeout', '90s', ...planeFlags(consumer)]);
  t.diagnostic(r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^unpeered from ${betaId} in \\d+\\.\\ds\\n$`));
  for (const step of ['UnpeeringRequested', 'VirtualNodeCordoned', 'VirtualNodeDrained', 'VirtualNodeDeleted', 'ResourceRequestWithdrawn', 'PeeringTerminated']) {
    assert.match(r.stderr, new RegExp(step), `unpeer printed ${step}`);
  }

  // In the log, in this order.
  const steps = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${betaId}`).map((e) => e.type);
  const from = steps.indexOf('UnpeeringRequested');
  assert.deepEqual(steps.slice(from), ['UnpeeringRequested', 'VirtualNodeCordoned', 'VirtualNodeDrained', 'VirtualNodeDeleted', 'ResourceRequestWithdrawn', 'PeeringTerminated']);
  const providerSteps = (await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${alphaId}`).map((e) => e.type);
  assert.deepEqual(providerSteps.slice(-2), ['OfferWithdrawn', 'IdentityRevoked']);
  assert.ok((await outboxEvents(consumer.cp.runtime)).some((e) => e.type === 'OffloadingEnded'));

  // Nothing of the peering on beta, by label and by name (the provider's half runs after the consumer's).
  await assertProviderClean(provider, alphaId, [remoteNs]);
  assert.deepEqual(names(provider, ['get', 'pods,configmaps,secrets', '-A', '-l', 'app=web']).filter((n) => n.includes(remoteNs)), []);

  // Nothing on alpha: node, Lease, identity Secret, tenant namespace; the ForeignCluster says Terminated.
  await assertConsumerClean(consumer, betaId, { secrets: [`Secret/${consumer.config.systemNamespace}/token-${betaId}`] });
  const fc = get<Obj & { status: { outgoing?: { phase?: string } } }>(consumer, ['get', 'foreigncluster', betaId])!;
  assert.equal(fc.status.outgoing?.phase, 'Terminated');
  // The workload stays on alpha, waiting for a node: unpeering never deletes a user's objects.
  assert.equal(get<{ spec: { replicas: number } }>(consumer, ['get', 'deployment', '-n', ns, 'web'])?.spec.replicas, 3);

  // The old certificate: 403 on everything it could do before.
  for (const args of before) {
    const x = asOld(args);
    assert.notEqual(x.status, 0, `after unpeering the identity may still ${args.join(' ')}`);
    assert.match(x.stderr, /Forbidden/, `${args.join(' ')}: ${x.stderr}`);
  }

  // Peering again works at once, with a new identity.
  assert.equal(consumer.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Enabled"}}']).status, 0);
  await eventually('the virtual node Ready again', async () => (consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True' ? true : undefined), 60_000);
  const fresh = identityOf(consumer, betaId);
  assert.notEqual(fresh.certPem, old.certPem);
  assert.notEqual(fresh.keyPem, old.keyPem);
  await eventually('the Deployment\'s pods Running again on the new node', running(consumer, ns, 'app=web', 3), 60_000);
});

test('a PodDisruptionBudget holds the drain, named in unpeer\'s output and the status, until it is removed; kubectl delete foreignclusters then lets the object go', async (t) => {
  const { consumer, provider, ns, alphaId, betaId, remoteNs, nodeName } = await peeredPair(t, ['upb', 'upq'], 'pdb');
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'db', 2, {}, pinnedTo(betaId))).status, 0);
  assert.equal(consumer.kubectl(['create', 'poddisruptionbudget', 'db-pdb', '-n', ns, '--selector=app=db', '--min-available=2']).status, 0);
  await eventually('2 pods Running on alpha', running(consumer, ns, 'app=db', 2), 60_000);

  const r = await peerlog(['unpeer', betaId, '--timeout', '15s', ...planeFlags(consumer)]);
  t.diagnostic(r.stderr);
  assert.equal(r.status, 1, 'timed out while the budget holds');
  assert.match(r.stderr, new RegExp(`PodDisruptionBudget ${ns}/db-pdb`));
  assert.match(r.stderr, new RegExp(`evicting ${ns}/db-`));
  const cond = get<Obj & { status: { conditions: { type: string; status: string; reason: string; message: string }[] } }>(consumer, ['get', 'foreigncluster', betaId])!
    .status.conditions.find((c) => c.type === 'OutgoingPeering')!;
  assert.equal(cond.reason, 'PodDisruptionBudget');
  assert.equal(cond.status, 'Unknown');
  assert.match(cond.message, new RegExp(`^unpeering: evicting ${ns}/db-[a-z0-9-]+ would violate PodDisruptionBudget ${ns}/db-pdb`));
  assert.equal(consumer.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.spec.unschedulable}']).stdout, 'true', 'cordoned, still there');
  await eventually('both pods still Running', running(consumer, ns, 'app=db', 2), 5_000);
  const waits = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.type === 'VirtualNodeDrainWaiting');
  assert.equal(waits.length, 1, 'the same refusal is recorded once');
  assert.deepEqual({ ...(waits[0]!.data as unknown as Record<string, unknown>), pod: undefined, message: undefined }, { nodeName, reason: 'PodDisruptionBudget', remaining: 2, pod: undefined, budget: 'db-pdb', message: undefined });

  // The budget removed, and the object deleted: the teardown finishes and the object goes.
  assert.equal(consumer.kubectl(['delete', 'poddisruptionbudget', 'db-pdb', '-n', ns]).status, 0);
  assert.equal(consumer.kubectl(['delete', 'foreigncluster', betaId, '--wait=false']).status, 0);
  await eventually('the ForeignCluster gone', async () => (consumer.kubectl(['get', 'foreigncluster', betaId]).status !== 0 ? true : undefined), 90_000);
  assert.notEqual(consumer.kubectl(['get', 'node', nodeName]).status, 0);
  const steps = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${betaId}`).map((e) => e.type);
  assert.equal(steps.at(-1), 'PeeringTerminated');
  // Both sides as clean as after `peerlog unpeer`, by label and by name.
  await assertProviderClean(provider, alphaId, [remoteNs]);
  await assertConsumerClean(consumer, betaId, { secrets: [`Secret/${consumer.config.systemNamespace}/token-${betaId}`] });
});
