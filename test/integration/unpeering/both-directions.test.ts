// Issue 14: the two directions of a peering are independent. alpha → beta and beta → alpha are
// peered at once (each cluster is consumer and provider for the other, each offloads pods to the
// other), then alpha → beta is unpeered: nothing of it is left, but beta → alpha keeps working —
// its virtual node on beta, its identity (the Secret on beta, its certificate still accepted by
// alpha's kube-apiserver), everything alpha made for it and the pods beta offloaded to alpha are the
// very same objects (same uids), still Running, and a new pod still offloads. The tenant namespace
// `peerlog-tenant-<id>`, which both directions use on each cluster, stays while the other direction
// uses it. Then alpha → beta peers again (into the namespaces that stayed), beta → alpha ends while it
// runs (the mirror image), and alpha → beta ends again: both sides are empty. Expected values are
// written out here or read with kubectl before the unpeering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { outboxEvents } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { clusterEndpoint, statusAs } from '../../support/identity.js';
import { offloadedDeployment, pinnedTo, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, peerlog, planeFlags, startPlane, type Plane } from '../../support/peering.js';
import { assertConsumerClean, assertProviderClean, get, identityOf, nodeReady, peered, running, subjectOf, type Kubectl, type Obj } from '../../support/unpeering.js';

/** `Kind/namespace/name` → uid of every object of `kinds` labelled for `remoteId`, in all namespaces. */
function uidsFor(p: Kubectl, kinds: string, remoteId: string): Record<string, string> {
  const r = p.kubectl(['get', kinds, '-A', '-l', `peerlog.dev/remote-cluster-id=${remoteId}`, '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}={.metadata.uid}{"\\n"}{end}']);
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
}

const uidsOf = (items: readonly Obj[]) => items.map((x) => x.metadata.uid!).sort();

const OBJECTS = 'resourcerequests,resourceoffers,roles,rolebindings,resourcequotas,limitranges,pods,configmaps,secrets';

async function unpeer(consumer: Plane, providerId: string): Promise<number> {
  const r = await peerlog(['unpeer', providerId, '--timeout', '90s', ...planeFlags(consumer)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^unpeered from ${providerId} in \\d+\\.\\ds\\n$`));
  return Date.now();
}

test('alpha → beta and beta → alpha peered, alpha → beta unpeered: beta → alpha keeps working untouched, the shared tenant namespaces stay; re-peered, then beta → alpha unpeered the other way round; all clean at the end', async (t) => {
  const alpha = await startPlane('alpha', 'bdia');
  const beta = await startPlane('beta', 'bdib');
  const alphaId = alpha.config.clusterId;
  const betaId = beta.config.clusterId;
  const nsA = uniqueName('bdiw');       // on alpha, offloaded to beta (alpha → beta)
  const nsB = uniqueName('bdiw');       // on beta, offloaded to alpha (beta → alpha)
  const remoteA = `${nsA}-${alphaId}`;  // on beta
  const remoteB = `${nsB}-${betaId}`;   // on alpha
  const nodeA = `peerlog-${betaId}`;    // on alpha
  const nodeB = `peerlog-${alphaId}`;   // on beta
  const tenantOnAlpha = `peerlog-tenant-${betaId}`;
  const tenantOnBeta = `peerlog-tenant-${alphaId}`;
  t.after(async () => {
    await cleanupPlanes([alpha, beta]);
    await removeNamespaces(beta, [remoteA, nsB]);
    await removeNamespaces(alpha, [remoteB, nsA]);
  });

  // 1. Both directions, each with pods offloaded (pinned to this test's virtual nodes).
  await Promise.all([peered(alpha, beta, nodeA, 60_000), peered(beta, alpha, nodeB, 60_000)]);
  assert.equal(alpha.kubectl(['create', 'namespace', nsA]).status, 0);
  assert.equal(alpha.kubectl(['create', 'configmap', 'settings', '-n', nsA, '--from-literal=MODE=a']).status, 0);
  assert.equal(alpha.kubectl(['apply', '-f', '-'], offloadedDeployment(nsA, 'a', 2, { envFrom: [{ configMapRef: { name: 'settings' } }] }, pinnedTo(betaId))).status, 0);
  assert.equal(beta.kubectl(['create', 'namespace', nsB]).status, 0);
  assert.equal(beta.kubectl(['create', 'configmap', 'settings', '-n', nsB, '--from-literal=MODE=b']).status, 0);
  assert.equal(beta.kubectl(['create', 'secret', 'generic', 'creds', '-n', nsB, '--from-literal=PASSWORD=b']).status, 0);
  assert.equal(beta.kubectl(['apply', '-f', '-'], offloadedDeployment(nsB, 'b', 2, { envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' } }] }, pinnedTo(alphaId))).status, 0);
  await eventually('alpha\'s 2 pods Running', running(alpha, nsA, 'app=a', 2), 60_000);
  await eventually('their twins Running on beta', running(beta, remoteA, 'app=a', 2), 60_000);
  const podsB = await eventually('beta\'s 2 pods Running', running(beta, nsB, 'app=b', 2), 60_000);
  const twinsB = await eventually('their twins Running on alpha', running(alpha, remoteB, 'app=b', 2), 60_000);
  assert.ok(get(alpha, ['get', 'secret', '-n', remoteB, 'creds']), 'beta\'s Secret followed its pods to alpha');

  // 2. What beta → alpha is before alpha → beta ends, read with kubectl.
  const alphaEndpoint = clusterEndpoint('alpha');
  const betaEndpoint = clusterEndpoint('beta');
  const idA = identityOf(alpha, betaId);
  const idB = identityOf(beta, alphaId);
  const asA = { server: betaEndpoint.server, caPem: betaEndpoint.caPem, certPem: idA.certPem, keyPem: idA.keyPem };
  const asB = { server: alphaEndpoint.server, caPem: alphaEndpoint.caPem, certPem: idB.certPem, keyPem: idB.keyPem };
  const pathsA = [`/apis/peering.peerlog.dev/v1alpha1/namespaces/${tenantOnBeta}/resourcerequests`, `/api/v1/namespaces/${remoteA}/pods`];
  const pathsB = [`/apis/peering.peerlog.dev/v1alpha1/namespaces/${tenantOnAlpha}/resourcerequests`, `/api/v1/namespaces/${remoteB}/pods`];
  for (const path of pathsA) assert.equal(await statusAs(asA, path), 200, `alpha's identity at beta: ${path}`);
  for (const path of pathsB) assert.equal(await statusAs(asB, path), 200, `beta's identity at alpha: ${path}`);
  const nodeBUid = get(beta, ['get', 'node', nodeB])!.metadata.uid;
  const forBOnAlpha = uidsFor(alpha, OBJECTS, betaId);
  const namespacesForBOnAlpha = uidsFor(alpha, 'namespaces', betaId);
  const tenantOnBetaUid = get(beta, ['get', 'namespace', tenantOnBeta])!.metadata.uid;
  const identityKey = `Secret/${tenantOnAlpha}/peerlog-identity`;
  assert.ok(forBOnAlpha[identityKey], 'alpha\'s identity Secret is among the objects labelled for beta');
  assert.ok(forBOnAlpha[`ResourceRequest/${tenantOnAlpha}/peerlog-request`], 'beta\'s request is on alpha');
  assert.deepEqual(Object.keys(namespacesForBOnAlpha).sort(), [`Namespace//${remoteB}`, `Namespace//${tenantOnAlpha}`]);

  // 3. alpha → beta unpeered.
  const unpeeredAt = await unpeer(alpha, betaId);
  const providerSteps = (await outboxEvents(beta.cp.runtime)).filter((e) => e.streamId === `incoming-${alphaId}`).map((e) => e.type);
  assert.deepEqual(providerSteps.slice(-2), ['OfferWithdrawn', 'IdentityRevoked']);

  // 4. Nothing of it is left: on beta all but the tenant namespace, which holds beta's own identity
  //    towards alpha (and its token Secret, labelled for alpha too); on alpha all but the tenant
  //    namespace, which holds beta's request, alpha's offer and the RBAC of beta's identity.
  await assertProviderClean(beta, alphaId, [remoteA], { tenant: true, secrets: [`Secret/${tenantOnBeta}/peerlog-identity`, `Secret/${beta.config.systemNamespace}/token-${alphaId}`] });
  assert.equal(get(beta, ['get', 'namespace', tenantOnBeta])!.metadata.uid, tenantOnBetaUid, 'beta\'s tenant namespace is the same object');
  await assertConsumerClean(alpha, betaId, { keepTenant: true, secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`, `Secret/${remoteB}/creds`] });
  for (const path of pathsA) assert.equal(await statusAs(asA, path), 403, `alpha's old certificate at beta: ${path}`);

  // 5. beta → alpha untouched: the same node, Secret, certificate, objects on alpha and pods.
  const untouched = async () => {
    const node = get<Obj & { spec: { unschedulable?: boolean } }>(beta, ['get', 'node', nodeB]);
    assert.equal(node?.metadata.uid, nodeBUid, 'beta\'s virtual node is the same object');
    assert.notEqual(node?.spec.unschedulable, true, 'beta\'s virtual node is not cordoned');
    const now = identityOf(beta, alphaId);
    assert.deepEqual({ uid: now.uid, resourceVersion: now.resourceVersion, certPem: now.certPem }, { uid: idB.uid, resourceVersion: idB.resourceVersion, certPem: idB.certPem }, 'beta\'s identity Secret is untouched');
    for (const path of pathsB) assert.equal(await statusAs(asB, path), 200, `beta's certificate at alpha: ${path}`);
    const { [identityKey]: _gone, ...expected } = forBOnAlpha;
    assert.deepEqual(uidsFor(alpha, OBJECTS, betaId), expected, 'what alpha holds for beta → alpha: the same objects, and only alpha\'s identity Secret gone');
    assert.deepEqual(uidsFor(alpha, 'namespaces', betaId), namespacesForBOnAlpha, 'alpha\'s namespaces for beta are the same objects');
    assert.deepEqual(uidsOf(await eventually('beta\'s 2 pods Running', running(beta, nsB, 'app=b', 2), 5_000)), uidsOf(podsB));
    assert.deepEqual(uidsOf(await eventually('their twins Running on alpha', running(alpha, remoteB, 'app=b', 2), 5_000)), uidsOf(twinsB));
  };
  await untouched();
  // Still so once beta's virtual kubelet has renewed its Lease after the unpeering (each renewal also
  // reads its request at alpha with its identity, so a broken identity would show by now).
  await eventually('beta\'s Lease renewed after the unpeering', async () => {
    const renew = beta.kubectl(['get', 'lease', '-n', 'kube-node-lease', nodeB, '-o', 'jsonpath={.spec.renewTime}']).stdout;
    return Date.parse(renew) > unpeeredAt ? true : undefined;
  }, 30_000);
  await eventually('beta\'s virtual node Ready', nodeReady(beta, nodeB), 1_000);
  await untouched();
  const outgoingOnBeta = (await outboxEvents(beta.cp.runtime)).filter((e) => e.streamId === `outgoing-${alphaId}`).map((e) => e.type);
  assert.ok(!outgoingOnBeta.includes('UnpeeringRequested') && !outgoingOnBeta.includes('ProviderHealthChanged'), outgoingOnBeta.join(' '));
  const incomingOnAlpha = (await outboxEvents(alpha.cp.runtime)).filter((e) => e.streamId === `incoming-${betaId}`).map((e) => e.type);
  assert.ok(!incomingOnAlpha.includes('OfferWithdrawn') && !incomingOnAlpha.includes('IdentityRevoked'), incomingOnAlpha.join(' '));

  // Both ForeignClusters say so: on alpha, outgoing Terminated and incoming Established; on beta,
  // outgoing Established with its node Ready, incoming Revoked.
  type Fc = Obj & { status?: { outgoing?: { phase?: string }; incoming?: { phase?: string }; conditions?: { type: string; status: string }[] } };
  const summary = (p: Plane, name: string) => {
    const st = get<Fc>(p, ['get', 'foreigncluster', name])?.status;
    const cond = (type: string) => st?.conditions?.find((c) => c.type === type)?.status;
    return { outgoing: st?.outgoing?.phase, incoming: st?.incoming?.phase, OutgoingPeering: cond('OutgoingPeering'), IncomingPeering: cond('IncomingPeering'), VirtualNodeReady: cond('VirtualNodeReady') };
  };
  const wantAlpha = { outgoing: 'Terminated', incoming: 'Established', IncomingPeering: 'True' };
  const wantBeta = { outgoing: 'Established', incoming: 'Revoked', OutgoingPeering: 'True', VirtualNodeReady: 'True' };
  const pick = (o: Record<string, unknown>, want: Record<string, string>) => Object.fromEntries(Object.keys(want).map((k) => [k, o[k]]));
  await eventually('the ForeignClusters\' status', async () => (
    isDeepStrictEqual(pick(summary(alpha, betaId), wantAlpha), wantAlpha) && isDeepStrictEqual(pick(summary(beta, alphaId), wantBeta), wantBeta) ? true : undefined), 15_000)
    .catch((e: unknown) => { throw new Error(`${(e as Error).message}: alpha ${JSON.stringify(summary(alpha, betaId))}, beta ${JSON.stringify(summary(beta, alphaId))}`); });

  // 6. And it keeps offloading: a third pod of beta's lands on alpha.
  assert.equal(beta.kubectl(['scale', 'deployment', 'b', '-n', nsB, '--replicas=3']).status, 0);
  await eventually('beta\'s 3 pods Running', running(beta, nsB, 'app=b', 3), 60_000);
  await eventually('3 twins Running on alpha', running(alpha, remoteB, 'app=b', 3), 60_000);

  // 7. alpha → beta peered again into the tenant namespaces that stayed: a new identity (the next
  //    lifetime), its node Ready, alpha's pods back on it; the old certificate still 403.
  assert.equal(alpha.kubectl(['patch', 'foreigncluster', betaId, '--type=merge', '-p', '{"spec":{"outgoing":"Enabled"}}']).status, 0);
  await eventually('alpha\'s virtual node Ready again', nodeReady(alpha, nodeA), 60_000);
  const idA2 = identityOf(alpha, betaId);
  assert.deepEqual(subjectOf(idA2.certPem), { CN: [`peerlog:cluster:${alphaId}:2`], O: ['peerlog:peers'] });
  const asA2 = { ...asA, certPem: idA2.certPem, keyPem: idA2.keyPem };
  await eventually('alpha\'s 2 pods Running again', running(alpha, nsA, 'app=a', 2), 60_000);
  await eventually('their twins Running on beta again', running(beta, remoteA, 'app=a', 2), 60_000);
  for (const path of pathsA) assert.equal(await statusAs(asA2, path), 200, `alpha's new certificate at beta: ${path}`);
  for (const path of pathsA) assert.equal(await statusAs(asA, path), 403, `alpha's first certificate at beta: ${path}`);

  // 8. Now beta → alpha ends while alpha → beta runs: the mirror image of 4 and 5.
  await unpeer(beta, alphaId);
  await assertProviderClean(alpha, betaId, [remoteB], { tenant: true, secrets: [`Secret/${tenantOnAlpha}/peerlog-identity`, `Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
  await assertConsumerClean(beta, alphaId, { keepTenant: true, secrets: [`Secret/${beta.config.systemNamespace}/token-${alphaId}`] });
  for (const path of pathsB) assert.equal(await statusAs(asB, path), 403, `beta's old certificate at alpha: ${path}`);
  assert.equal(await eventually('alpha\'s virtual node Ready', nodeReady(alpha, nodeA), 1_000), true);
  for (const path of pathsA) assert.equal(await statusAs(asA2, path), 200, `alpha's certificate at beta, after beta → alpha ended: ${path}`);
  await eventually('alpha\'s twins still Running on beta', running(beta, remoteA, 'app=a', 2), 5_000);

  // 9. And alpha → beta ends again: the tenant namespaces go on both sides, nothing is left.
  //    (Each cluster keeps the token Secret a user gave it: the ForeignCluster's, not the peering's.)
  await unpeer(alpha, betaId);
  await assertProviderClean(beta, alphaId, [remoteA], { secrets: [`Secret/${beta.config.systemNamespace}/token-${alphaId}`] });
  await assertConsumerClean(alpha, betaId, { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
  await assertProviderClean(alpha, betaId, [remoteB], { secrets: [`Secret/${alpha.config.systemNamespace}/token-${betaId}`] });
  await assertConsumerClean(beta, alphaId, { secrets: [`Secret/${beta.config.systemNamespace}/token-${alphaId}`] });
  for (const path of pathsA) assert.equal(await statusAs(asA2, path), 403, `alpha's second certificate at beta: ${path}`);
});
