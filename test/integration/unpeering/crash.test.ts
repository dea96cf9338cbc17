// Issue 14: a control plane killed with SIGKILL in the middle of a teardown finishes it once it is
// started again. The control plane under test runs as a real `peerlog serve` child (the other one in
// this process); it is killed at points where the teardown is provably half done: read from its log
// (PostgreSQL, with pg) and from the clusters (kubectl), and, for the points inside a step, caught by
// a preload that SIGKILLs the process right before it sends one named request
// (test/fixtures/kill-on-request.ts). Then both sides must end clean, listed by label and by name,
// and the old certificate gets 403. Expected values are written out here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, uniqueName } from '../../support/env.js';
import { clusterEndpoint, statusAs } from '../../support/identity.js';
import { logClient, outboxRows, type OutboxRow } from '../../support/log.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, peerlog, planeFlags, startPlane } from '../../support/peering.js';
import {
  assertConsumerClean, assertProviderClean, endOf, exists, get, identityOf, killedOnRequest, peered, running, servedPlane, type Obj,
} from '../../support/unpeering.js';

const types = (rows: readonly OutboxRow[]) => rows.map((r) => r.type);

/** The stream holds versions 1..n with no gap (nothing lost or doubled by the kills). */
function contiguous(rows: readonly OutboxRow[]): void {
  assert.deepEqual(rows.map((r) => r.streamVersion), rows.map((_, i) => i + 1), 'contiguous versions');
}

test('the consumer\'s control plane SIGKILLed three times in a teardown (while a PodDisruptionBudget holds the drain; before it withdraws its request; between ResourceRequestWithdrawn and PeeringTerminated) finishes it after each restart', async (t) => {
  const beta = await startPlane('beta', 'crkp');
  const alpha = servedPlane('alpha', 'crkc', beta);
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  const ns = uniqueName('crkw');
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  const tenant = `peerlog-tenant-${betaId}`;
  const stream = `outgoing-${betaId}`;
  const db = await logClient(alpha.config);
  const started = Date.now();
  const at = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  t.after(async () => {
    await alpha.stop();
    await db.end();
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteNs]);
    await removeNamespaces(alpha, [ns]);
  });

  // 1. Peered, two pods offloaded, a budget that lets none of them go.
  await alpha.start();
  await peered(alpha, beta, nodeName, 60_000);
  assert.equal(alpha.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'db', 2, {}, pinnedTo(betaId))).status, 0);
  assert.equal(alpha.kubectl(['create', 'poddisruptionbudget', 'db-pdb', '-n', ns, '--selector=app=db', '--min-available=2']).status, 0);
  await eventually('2 pods Running on alpha', running(alpha, ns, 'app=db', 2), 60_000);
  await eventually('2 twins Running on beta', running(beta, remoteNs, 'app=db', 2), 60_000);
  const old = identityOf(alpha, betaId);
  const betaEndpoint = clusterEndpoint('beta');
  const asOld = { server: betaEndpoint.server, caPem: betaEndpoint.caPem, certPem: old.certPem, keyPem: old.keyPem };
  const requests = `/apis/peering.peerlog.dev/v1alpha1/namespaces/peerlog-tenant-${alphaId}/resourcerequests`;
  assert.equal(await statusAs(asOld, requests), 200);
  at('peered, pods Running');

  // 2. Unpeering asked (kubectl's way in), and the first kill once the budget has refused an eviction.
  //    Why here: the teardown has begun and is half done — the node cordoned (VirtualNodeCordoned),
  //    its pods being evicted (VirtualNodeDrainWaiting names the refusal) — and what remains (the
  //    drain, the node, the request, the identity) rests on the log alone: the set of draining
  //    peerings is in memory, and the budget is removed while nothing runs, so no watch event will
  //    tell the restarted process to look again.
  assert.equal(alpha.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Disabled"}}']).status, 0);
  await eventually('VirtualNodeDrainWaiting in alpha\'s log', async () => (types(await outboxRows(db, stream)).includes('VirtualNodeDrainWaiting') ? true : undefined), 60_000);
  assert.equal(await alpha.child.kill(), 'SIGKILL');
  at('first kill');
  const atFirst = types(await outboxRows(db, stream));
  t.diagnostic(`first kill: the stream held ${atFirst.join(' ')}`);
  assert.ok(atFirst.includes('VirtualNodeCordoned') && !atFirst.includes('VirtualNodeDrained'), atFirst.join(' '));
  assert.equal(alpha.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.spec.unschedulable}']).stdout, 'true', 'cordoned, still there');
  await eventually('both pods still Running', running(alpha, ns, 'app=db', 2), 5_000);
  assert.equal(alpha.kubectl(['delete', 'poddisruptionbudget', 'db-pdb', '-n', ns]).status, 0);

  // 3. Started again; killed the moment it is about to withdraw its request from beta. Why there:
  //    the drain finished and the node went (VirtualNodeDrained, VirtualNodeDeleted in the log), the
  //    request is still at the provider, and the replication projection, which withdraws it and
  //    only then records ResourceRequestWithdrawn, is in the middle of that step.
  const requestPath = `/apis/peering.peerlog.dev/v1alpha1/namespaces/peerlog-tenant-${alphaId}/resourcerequests/peerlog-request`;
  await alpha.start({ killOn: `DELETE ${requestPath}` });
  at('started again');
  assert.equal(await endOf(alpha.child, 120_000), 'SIGKILL');
  at('second kill');
  assert.ok(killedOnRequest(alpha.child), `killed before DELETE ${requestPath}, not elsewhere: ${alpha.child.lines.slice(-3).join('\n')}`);
  const atSecond = types(await outboxRows(db, stream));
  t.diagnostic(`second kill: the stream held ${atSecond.join(' ')}`);
  const late = ['VirtualNodeDrained', 'VirtualNodeDeleted', 'ResourceRequestWithdrawn', 'PeeringTerminated'];
  assert.deepEqual(atSecond.filter((x) => late.includes(x)), ['VirtualNodeDrained', 'VirtualNodeDeleted']);
  // (The node itself may still be there: the virtual-kubelet projection deletes it once it reads
  // VirtualNodeDeleted, beside the replication projection, and may not have come to it yet. The
  // restarted process must then delete it: step 5 checks it is gone.)
  assert.ok(exists(beta, ['resourcerequest', '-n', `peerlog-tenant-${alphaId}`, 'peerlog-request']), 'the request is still at beta');

  // 4. Started again; killed the moment it is about to delete its identity Secret. Why there: the
  //    request is withdrawn at the provider (ResourceRequestWithdrawn is in the log), the peering is
  //    not terminated, and the step that ends it (the Secret, the tenant namespace, PeeringTerminated)
  //    has begun but changed nothing yet.
  const secretPath = `/api/v1/namespaces/${tenant}/secrets/peerlog-identity`;
  await alpha.start({ killOn: `DELETE ${secretPath}` });
  at('started again');
  assert.equal(await endOf(alpha.child, 120_000), 'SIGKILL');
  at('third kill');
  assert.ok(killedOnRequest(alpha.child), `killed before DELETE ${secretPath}, not elsewhere: ${alpha.child.lines.slice(-3).join('\n')}`);
  const atThird = types(await outboxRows(db, stream));
  t.diagnostic(`third kill: the stream held ${atThird.join(' ')}`);
  assert.deepEqual(atThird.filter((x) => late.includes(x)), ['VirtualNodeDrained', 'VirtualNodeDeleted', 'ResourceRequestWithdrawn']);
  assert.ok(exists(alpha, ['secret', '-n', tenant, 'peerlog-identity']), 'the identity Secret is still there');
  assert.notEqual(beta.kubectl(['get', 'resourcerequest', '-n', `peerlog-tenant-${alphaId}`, 'peerlog-request']).status, 0, 'the request is gone from beta');

  // 5. Started again: the teardown completes, and both sides are clean.
  await alpha.start();
  at('started again');
  await eventually('PeeringTerminated in alpha\'s log', async () => (types(await outboxRows(db, stream)).includes('PeeringTerminated') ? true : undefined), 60_000);
  await eventually('the ForeignCluster says Terminated', async () => (
    get<Obj & { status?: { outgoing?: { phase?: string } } }>(alpha, ['get', 'foreigncluster', betaId])?.status?.outgoing?.phase === 'Terminated' ? true : undefined), 30_000);
  await assertConsumerClean(alpha, betaId, { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
  await assertProviderClean(beta, alphaId, [remoteNs]);
  assert.equal(await statusAs(asOld, requests), 403, 'the old certificate');
  at('terminated, both sides clean');

  // 6. Each step once, in order, across four processes.
  const rows = await outboxRows(db, stream);
  contiguous(rows);
  const steps = types(rows).slice(types(rows).indexOf('UnpeeringRequested')).filter((x) => x !== 'VirtualNodeDrainWaiting' && x !== 'ProviderHealthChanged');
  assert.deepEqual(steps, ['UnpeeringRequested', 'VirtualNodeCordoned', 'VirtualNodeDrained', 'VirtualNodeDeleted', 'ResourceRequestWithdrawn', 'PeeringTerminated']);
  assert.equal(get<{ spec: { replicas: number } }>(alpha, ['get', 'deployment', '-n', ns, 'db'])?.spec.replicas, 2, 'the workload stays on alpha');
});

test('the provider\'s control plane SIGKILLed while it deletes what it made for the consumer finishes the teardown after a restart', async (t) => {
  const alpha = await startPlane('alpha', 'crpc');
  const beta = servedPlane('beta', 'crpp', alpha);
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  const ns = uniqueName('crpw');
  const remoteNs = `${ns}-${alphaId}`;
  const nodeName = `peerlog-${betaId}`;
  const tenantAtBeta = `peerlog-tenant-${alphaId}`;
  const stream = `incoming-${alphaId}`;
  const db = await logClient(beta.config);
  t.after(async () => {
    await beta.stop();
    await db.end();
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteNs]);
    await removeNamespaces(alpha, [ns]);
  });

  // 1. beta, primed to die before it deletes the namespace it made for alpha's pods; peered, two pods
  //    offloaded with a ConfigMap and a Secret.
  const nsPath = `/api/v1/namespaces/${remoteNs}`;
  await beta.start({ killOn: `DELETE ${nsPath}` });
  await peered(alpha, beta, nodeName, 60_000);
  assert.equal(alpha.kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(alpha.kubectl(['create', 'configmap', 'settings', '-n', ns, '--from-literal=MODE=blue']).status, 0);
  assert.equal(alpha.kubectl(['create', 'secret', 'generic', 'creds', '-n', ns, '--from-literal=PASSWORD=p']).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(ns, 'web', 2, { envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' } }] }, pinnedTo(betaId))).status, 0);
  await eventually('2 pods Running on alpha', running(alpha, ns, 'app=web', 2), 60_000);
  await eventually('2 twins Running on beta', running(beta, remoteNs, 'app=web', 2), 60_000);
  const old = identityOf(alpha, betaId);
  const betaEndpoint = clusterEndpoint('beta');
  const asOld = { server: betaEndpoint.server, caPem: betaEndpoint.caPem, certPem: old.certPem, keyPem: old.keyPem };
  const requests = `/apis/peering.peerlog.dev/v1alpha1/namespaces/${tenantAtBeta}/resourcerequests`;
  assert.equal(await statusAs(asOld, requests), 200);

  // 2. alpha unpeers (its half does not need beta's control plane); beta dies in its half. Why
  //    there: the request is gone and beta has answered in its log (OfferWithdrawn), and it is
  //    removing what it made for alpha, the offloaded namespace first (whose DELETE never leaves);
  //    that namespace, the tenant namespace with its quota and Role, are all still there.
  const r = await peerlog(['unpeer', betaId, '--timeout', '90s', ...planeFlags(alpha)]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await endOf(beta.child, 60_000), 'SIGKILL');
  assert.ok(killedOnRequest(beta.child), `killed before DELETE ${nsPath}, not elsewhere: ${beta.child.lines.slice(-3).join('\n')}`);
  const atKill = types(await outboxRows(db, stream));
  t.diagnostic(`at the kill beta's stream held ${atKill.join(' ')}`);
  assert.ok(atKill.includes('OfferWithdrawn'), atKill.join(' '));
  assert.ok(exists(beta, ['namespace', remoteNs]), `${remoteNs} is still there, not being deleted`);
  assert.ok(exists(beta, ['namespace', tenantAtBeta]), `${tenantAtBeta} is still there`);

  // 3. Started again: beta finishes its half; both sides are clean and the old certificate gets 403.
  await beta.start();
  await assertProviderClean(beta, alphaId, [remoteNs]);
  await assertConsumerClean(alpha, betaId, { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
  assert.equal(await statusAs(asOld, requests), 403, 'the old certificate');
  const rows = await outboxRows(db, stream);
  contiguous(rows);
  assert.deepEqual(types(rows).filter((x) => x === 'OfferWithdrawn' || x === 'IdentityRevoked'), ['OfferWithdrawn', 'IdentityRevoked'], 'each once');
  assert.deepEqual(types(rows).slice(-2), ['OfferWithdrawn', 'IdentityRevoked']);
});
