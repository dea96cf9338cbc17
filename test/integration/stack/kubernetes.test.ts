import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { kubeConfigFromFile } from '../../../src/adapters/kubernetes/kubeconfig.js';
import { stackEnv, uniqueName, eventually } from '../../support/env.js';

const expected = {
  alpha: { count: 2, cpu: '4', memory: '8Gi', pods: '110' },
  beta: { count: 3, cpu: '8', memory: '32Gi', pods: '110' },
} as const;

for (const cluster of ['alpha', 'beta'] as const) {
  test(`${cluster}: namespaces, Ready kwok nodes with the stated capacity, and a pod scheduled to Running`, async () => {
    const env = stackEnv();
    const kc = kubeConfigFromFile(env.clusters[cluster].kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    assert.match(version.gitVersion, /^v1\.\d+\.\d+$/, 'the server reports a real release version');

    const ns = uniqueName('stack-k8s');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    try {
      const nodes = (await core.listNode({ labelSelector: 'type=kwok' })).items;
      assert.equal(nodes.length, expected[cluster].count);
      for (const n of nodes) {
        assert.ok(n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), `${n.metadata?.name} is Ready`);
        assert.deepEqual(
          { cpu: n.status?.capacity?.cpu, memory: n.status?.capacity?.memory, pods: n.status?.capacity?.pods },
          { cpu: expected[cluster].cpu, memory: expected[cluster].memory, pods: expected[cluster].pods },
        );
      }

      // No nodeName: only kube-scheduler can bind it, and only kwok can make it Running.
      await core.createNamespacedPod({ namespace: ns, body: {
        metadata: { name: 'probe' },
        spec: { containers: [{ name: 'c', image: 'registry.example/none:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
      } });
      const pod = await eventually('the pod to be bound and Running', async () => {
        const p = await core.readNamespacedPod({ name: 'probe', namespace: ns });
        return p.spec?.nodeName && p.status?.phase === 'Running' ? p : undefined;
      }, 60_000);
      assert.ok(nodes.some((n) => n.metadata?.name === pod.spec?.nodeName), `bound to a kwok node, got ${pod.spec?.nodeName}`);
      assert.ok(pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True'));
    } finally {
      await core.deleteNamespace({ name: ns });
    }
  });
}
