// beta's kube-apiserver stopped for 60 s while pods are offloaded to it: alpha's virtual node turns
// NotReady with a reason and the offloaded pods' Ready says so; nothing is deleted or moved. Once
// it is back the node is Ready again and every local pod has exactly one twin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killApiserver, restartStack } from '../../support/apiserver.js';
import { spawn } from 'node:child_process';
import { eventually, stackEnv, uniqueName } from '../../support/env.js';
import { offloadedDeployment, removeNamespaces } from '../../support/offloading.js';
import { cleanupPlanes, foreignClusterManifest, startPlane, type Plane } from '../../support/peering.js';

interface Cond { type: string; status: string; reason?: string; message?: string }
interface Pod { metadata: { name: string; uid: string; deletionTimestamp?: string }; status?: { phase?: string; conditions?: Cond[] } }

function get<T>(p: Plane, args: string[]): T | undefined {
  const r = p.kubectl([...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) as T : undefined;
}

const OUTAGE_MS = 60_000;

test('the provider\'s apiserver away for 60 s: node NotReady with a reason, pods kept; back: Ready, one twin per pod', async (t) => {
  const consumer = await startPlane('alpha', 'odc');
  const provider = await startPlane('beta', 'odp');
  const ns = uniqueName('down');
  const remoteNs = `${ns}-${consumer.config.clusterId}`;
  let down = false;
  t.after(async () => {
    if (down) await restartStack();
    await cleanupPlanes([consumer, provider]);
    await removeNamespaces(provider, [remoteNs]);
    await removeNamespaces(consumer, [ns]);
  });
  const nodeName = `peerlog-${provider.config.clusterId}`;
  const ready = () => get<{ status: { conditions: Cond[] } }>(consumer, ['get', 'node', nodeName])?.status.conditions.find((c) => c.type === 'Ready');
  assert.equal(consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider)).status, 0);
  await eventually('the virtual node Ready', async () => (ready()?.status === 'True' ? true : undefined), 30_000);

  assert.equal(consumer.kubectl(['create', 'namespace', ns]).status, 0);
  const deployment = offloadedDeployment(ns, 'svc', 2);
  assert.equal(consumer.kubectl(['apply', '-f', '-'], deployment).status, 0);
  const localPods = () => (get<{ items: Pod[] }>(consumer, ['get', 'pods', '-n', ns, '-l', 'app=svc'])?.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
  const before = await eventually('2 pods Running and Ready', async () => {
    const l = localPods();
    return l.length === 2 && l.every((p) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True') ? l : undefined;
  }, 60_000);

  await killApiserver('beta');
  down = true;
  const killedAt = Date.now();
  const notReady = await eventually('the virtual node NotReady', async () => {
    const c = ready();
    return c?.status === 'False' ? c : undefined;
  }, OUTAGE_MS);
  t.diagnostic(`NotReady ${Date.now() - killedAt} ms after the kill: ${notReady.reason}: ${notReady.message}`);
  assert.equal(notReady.reason, 'ProviderUnreachable');
  const podReady = await eventually('the offloaded pods\' Ready says why', async () => {
    const l = localPods();
    const conds = l.map((p) => p.status?.conditions?.find((c) => c.type === 'Ready'));
    return l.length === 2 && conds.every((c) => c?.status === 'False' && c.reason === 'ProviderUnreachable') ? conds : undefined;
  }, 30_000);
  assert.match(podReady[0]!.message ?? '', /provider does not answer/);

  // Out for 60 s in all; the pods are neither deleted nor moved meanwhile.
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - killedAt))));
  assert.deepEqual(localPods().map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort());
  await restartStack();
  down = false;

  await eventually('the virtual node Ready again', async () => (ready()?.status === 'True' ? true : undefined), 90_000);
  await eventually('the pods Ready again, one twin each', async () => {
    const l = localPods();
    const twins = (get<{ items: Pod[] }>(provider, ['get', 'pods', '-n', remoteNs])?.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
    const ok = l.length === 2 && l.every((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True')
      && twins.length === 2 && JSON.stringify(twins.map((p) => p.metadata.name).sort()) === JSON.stringify(l.map((p) => p.metadata.name).sort());
    return ok ? true : undefined;
  }, 90_000);
  assert.deepEqual(localPods().map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort(), 'the same pods, not replacements');
});

/**
 * beta's own workers missed their heartbeats while its apiserver was away: the tests after this one
 * need them Ready and untainted again (kwok renews them once it reconnects).
 */
test.after(async () => {
  const env = stackEnv();
  const nodes = () => new Promise<{ items: { status: { conditions: Cond[] }; spec: { taints?: { key: string }[] } }[] }>((resolve) => {
    const c = spawn(env.kubectl, ['--kubeconfig', env.clusters.beta.kubeconfig, 'get', 'nodes', '-l', 'type=kwok', '-o', 'json']);
    let out = '';
    c.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    c.on('exit', () => { try { resolve(JSON.parse(out)); } catch { resolve({ items: [] }); } });
  });
  await eventually('beta\'s workers Ready and untainted again', async () => {
    const list = (await nodes()).items;
    return list.length > 0 && list.every((n) => n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True' && !(n.spec.taints ?? []).some((x) => x.key.startsWith('node.kubernetes.io/'))) ? true : undefined;
  }, 120_000);
});
