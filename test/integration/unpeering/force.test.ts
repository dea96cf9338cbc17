// `peerlog unpeer --force` for a provider that is gone: beta's control plane stopped and its
// kube-apiserver killed, alpha is clean at once and its log says the provider was not reached;
// when beta comes back, the withdrawal notice alpha signed before deleting its key is delivered
// with no manual step, and beta ends its half: nothing of the peering is left there, and the old
// certificate gets 403. Expected values are written out here; the clusters are read with kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killApiserver, restartStack } from '../../support/apiserver.js';
import { outboxEvents } from '../../support/core.js';
import { eventually, freePort, uniqueName } from '../../support/env.js';
import { clusterEndpoint, kubectlAs } from '../../support/identity.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { assertConsumerClean, assertProviderClean, peered, type Kubectl } from '../../support/unpeering.js';
import { cleanupPlanes, peerlog, planeFlags, restartPlane, startPlane } from '../../support/peering.js';

const gone = (p: Kubectl, args: string[]) => p.kubectl(args).status !== 0;

test('unpeer --force with beta\'s control plane and apiserver stopped: alpha is clean at once; when beta is back its half ends by itself and the old certificate gets 403', async (t) => {
  const consumer = await startPlane('alpha', 'ufc');
  // A fixed port: beta comes back at the address alpha's log recorded, as a real provider does.
  let provider = await startPlane('beta', 'ufp', { authPort: freePort() });
  const alphaId = consumer.config.clusterId;
  const betaId = provider.config.clusterId;
  const ns = uniqueName('force');
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  let apiserverDown = false;
  t.after(async () => {
    if (apiserverDown) await restartStack();
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });

  await peered(consumer, provider, nodeName);
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  // Pinned to this test's node: other tests' virtual nodes on the shared stack match the default selector.
  assert.equal(consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'job', 2, {}, pinnedTo(betaId))).status, 0);
  await eventually('2 twins Running in beta', async () => {
    const r = provider.kubectl(['get', 'pods', '-n', remoteNs, '-l', 'app=job', '-o', 'jsonpath={.items[*].status.phase}']);
    return r.stdout.split(' ').filter((p) => p === 'Running').length === 2 ? true : undefined;
  }, 60_000);

  const secret = JSON.parse(consumer.kubectl(['get', 'secret', '-n', `peerlog-tenant-${betaId}`, 'peerlog-identity', '-o', 'json']).stdout) as { data: Record<string, string> };
  const beta = clusterEndpoint('beta');
  const asOld = kubectlAs({ server: beta.server, caPem: beta.caPem, certPem: Buffer.from(secret.data['tls.crt']!, 'base64').toString(), keyPem: Buffer.from(secret.data['tls.key']!, 'base64').toString() });
  const tenantAtBeta = `peerlog-tenant-${alphaId}`;
  assert.equal(asOld(['get', 'resourcerequests', '-n', tenantAtBeta]).status, 0, 'the identity works before');

  // Beta is gone: its control plane stopped, its kube-apiserver killed.
  await provider.stop();
  await killApiserver('beta');
  apiserverDown = true;

  const started = Date.now();
  const r = await peerlog(['unpeer', betaId, '--force', '--timeout', '60s', ...planeFlags(consumer)]);
  t.diagnostic(r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^unpeered from ${betaId} in \\d+\\.\\ds; the provider was not reached`));
  assert.match(r.stderr, /a signed withdrawal notice is kept for the next contact/);
  t.diagnostic(`forced unpeering took ${Date.now() - started} ms with beta away`);

  // Alpha is clean at once: node, Lease, identity Secret, tenant namespace.
  assert.ok(gone(consumer, ['get', 'node', nodeName]), 'the virtual node is gone');
  assert.ok(gone(consumer, ['get', 'lease', '-n', 'kube-node-lease', nodeName]), 'its Lease is gone');
  assert.ok(gone(consumer, ['get', 'secret', '-n', `peerlog-tenant-${betaId}`, 'peerlog-identity']), 'the identity Secret is gone');
  await assertConsumerClean(consumer, betaId, { secrets: [`Secret/${consumer.config.systemNamespace}/token-${betaId}`] });
  const steps = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${betaId}`);
  const withdrawn = steps.find((e) => e.type === 'ResourceRequestWithdrawn')!.data as { providerReached: boolean; notice: { certFingerprint: string } | null };
  assert.equal(withdrawn.providerReached, false);
  assert.ok(withdrawn.notice, 'a signed notice is in the log');
  assert.equal(steps.at(-1)!.type, 'PeeringTerminated');
  const cond = () => (JSON.parse(consumer.kubectl(['get', 'foreigncluster', betaId, '-o', 'json']).stdout) as { status: { conditions: { type: string; reason: string; message: string }[] } })
    .status.conditions.find((c) => c.type === 'OutgoingPeering')!;
  await eventually('the ForeignCluster says the provider was not reached', async () => (cond().reason === 'ProviderNotReached' ? true : undefined), 15_000);
  assert.match(cond().message, /takes the signed withdrawal notice, which is retried/);

  // Beta comes back: its apiserver, then its control plane. No manual step on either side.
  await restartStack();
  apiserverDown = false;
  provider = await restartPlane(provider);
  const outcome = await eventually('the notice delivered and recorded on alpha', async () => {
    const e = (await outboxEvents(consumer.cp.runtime)).find((x) => x.streamId === `outgoing-${betaId}` && x.type === 'WithdrawalDelivered');
    return e ? e.data as { outcome: string } : undefined;
  }, 90_000).then((d) => d.outcome);
  const providerSteps = (await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${alphaId}`);
  t.diagnostic(`beta's stream: ${providerSteps.map((e) => `${e.type}@${e.occurredAt} by ${e.actor.kind}:${e.actor.name}`).join(', ')}`);
  t.diagnostic(consumer.logs.lines.filter((l) => /withdrawal/i.test(l)).join('\n'));
  t.diagnostic(provider.logs.lines.filter((l) => /withdrawal|revok/i.test(l)).join('\n'));
  // Revoked by the notice itself: beta, restarted, must not have ended the peering on its own
  // (an empty cache before its first list once read as "the request is gone").
  assert.equal(outcome, 'Revoked');
  assert.ok(provider.logs.lines.some((l) => l.includes('identity revoked on the consumer\'s withdrawal notice')));
  assert.deepEqual(providerSteps.slice(-2).map((e) => [e.type, e.actor.kind, e.actor.name]), [['OfferWithdrawn', 'remote-cluster', alphaId], ['IdentityRevoked', 'remote-cluster', alphaId]]);

  await assertProviderClean(provider, alphaId, [remoteNs]);
  const x = asOld(['get', 'resourcerequests', '-n', tenantAtBeta]);
  assert.notEqual(x.status, 0);
  assert.match(x.stderr, /Forbidden/);
  await eventually('the ForeignCluster says the provider ended its half', async () => (/at a later contact the provider ended its half/.test(cond().message) ? true : undefined), 15_000);
  assert.equal(cond().reason, 'Terminated');
});
