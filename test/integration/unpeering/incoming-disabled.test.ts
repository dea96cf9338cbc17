// Incoming Disabled on the provider, for a consumer already peered: beta withdraws its offer and
// says so on alpha's ResourceRequest; alpha reads it, records that the provider ended the peering,
// drains and deletes its virtual node and withdraws its request; beta then revokes the identity and
// removes what it made. Nothing of the peering is left on either side, alpha's ForeignCluster says
// the provider ended it, and alpha does not knock again on its own. Expected values are written
// out here; the clusters are read with kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { assertConsumerClean, assertProviderClean, peered } from '../../support/unpeering.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../../support/peering.js';


test('incoming Disabled on beta for a peered alpha: beta ends it, alpha tears its side down, nothing is left, and alpha says the provider ended it', async (t) => {
  const consumer = await startPlane('alpha', 'uid');
  const provider = await startPlane('beta', 'uie');
  const alphaId = consumer.config.clusterId;
  const betaId = provider.config.clusterId;
  const ns = uniqueName('incoff');
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  t.after(async () => {
    // What both logs said, for a failure's reader.
    for (const [p, stream] of [[consumer, `outgoing-${betaId}`], [provider, `incoming-${alphaId}`]] as const) {
      t.diagnostic(`${stream}: ${(await outboxEvents(p.cp.runtime)).filter((e) => e.streamId === stream).map((e) => e.type).join(', ')}`);
    }
    t.diagnostic(consumer.logs.lines.filter((l) => /ended|answer|resourceoffers/.test(l)).slice(-8).join('\n'));
    t.diagnostic(`beta's request: ${provider.kubectl(['get', 'resourcerequests', '-n', `peerlog-tenant-${alphaId}`, '-o', 'jsonpath={.items[*].status}']).stdout}; offers: ${provider.kubectl(['get', 'resourceoffers', '-n', `peerlog-tenant-${alphaId}`, '-o', 'name']).stdout}`);
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });

  await peered(consumer, provider, nodeName);
  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'web', 1, {}, pinnedTo(betaId))).status, 0);
  await eventually('the twin Running in beta', async () => (provider.kubectl(['get', 'pods', '-n', remoteNs, '-l', 'app=web', '-o', 'jsonpath={.items[*].status.phase}']).stdout === 'Running' ? true : undefined), 60_000);

  // Beta's administrator disables incoming peerings from alpha on beta's ForeignCluster for it.
  assert.equal(provider.kubectl(['apply', '-f', '-'], foreignClusterManifest(provider, consumer, { incoming: 'Disabled', outgoing: 'Disabled' }).split('---')[1]!).status, 0);

  await eventually('alpha terminated', async () => {
    const steps = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${betaId}`).map((e) => e.type);
    return steps.at(-1) === 'PeeringTerminated' ? steps : undefined;
  }, 90_000).then((steps) => {
    const from = steps.indexOf('ProviderEndedPeering');
    assert.ok(from > 0, `ProviderEndedPeering in ${steps.join(', ')}`);
    assert.deepEqual(steps.slice(from), ['ProviderEndedPeering', 'VirtualNodeCordoned', 'VirtualNodeDrained', 'VirtualNodeDeleted', 'ResourceRequestWithdrawn', 'PeeringTerminated']);
  });
  const ended = (await outboxEvents(consumer.cp.runtime)).find((e) => e.type === 'ProviderEndedPeering')!;
  assert.deepEqual([ended.actor.kind, ended.actor.name, (ended.data as { reason: string }).reason], ['remote-cluster', betaId, 'IncomingDisabled']);

  await eventually('beta revoked the identity', async () => {
    const steps = (await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${alphaId}`);
    return steps.at(-1)?.type === 'IdentityRevoked' ? steps : undefined;
  }, 60_000).then((steps) => {
    assert.deepEqual(steps.slice(-2).map((e) => [e.type, (e.data as { reason: string }).reason]), [['OfferWithdrawn', 'IncomingDisabled'], ['IdentityRevoked', 'IncomingDisabled']]);
  });

  // Nothing of the peering on either side.
  await assertProviderClean(provider, alphaId, [remoteNs]);
  await assertConsumerClean(consumer, betaId, { secrets: [`Secret/${consumer.config.systemNamespace}/token-${betaId}`] });

  // Alpha's ForeignCluster says who ended it, and alpha does not peer again by itself.
  const cond = (JSON.parse(consumer.kubectl(['get', 'foreigncluster', betaId, '-o', 'json']).stdout) as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } })
    .status.conditions.find((c) => c.type === 'OutgoingPeering')!;
  assert.equal(cond.reason, 'ProviderEnded');
  assert.equal(cond.status, 'False');
  assert.match(cond.message, /^the provider ended the peering \(IncomingDisabled\): the provider no longer accepts incoming peerings from /);
  await new Promise((r) => setTimeout(r, 5000));
  const after = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${betaId}`).map((e) => e.type);
  assert.equal(after.at(-1), 'PeeringTerminated', 'no new attempt on its own');
});
