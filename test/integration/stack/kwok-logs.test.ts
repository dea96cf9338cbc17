// `kubectl logs` of pods on the stack's kwok nodes: kube-apiserver reaches kwok's server at the
// node's address and kubelet port, and kwok answers from its ClusterLogs (every pod: the stack's
// default log) or from a Logs object that gives one pod its own file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, uniqueName } from '../../support/env.js';
import { giveOwnLog, kubectl, kubectlOk, type Cluster } from '../../support/kwok.js';

// Written out here, not imported: what src/stack/kwok.ts is meant to make every pod print.
const DEFAULT_LINE = 'kwok: this pod runs on a simulated node (no container runtime): this line is its default log\n';

function podManifest(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    // No nodeName: kube-scheduler binds it to a kwok node, kwok makes it Running.
    spec: { containers: [{ name: 'app', image: 'registry.example/none:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  });
}

async function runningPod(cluster: Cluster, ns: string, name: string): Promise<string> {
  kubectlOk(cluster, ['apply', '-n', ns, '-f', '-'], podManifest(name));
  return eventually(`${cluster}: pod ${ns}/${name} Running on a kwok node`, async () => {
    const p = JSON.parse(kubectlOk(cluster, ['get', 'pod', '-n', ns, name, '-o', 'json'])) as { spec: { nodeName?: string }; status: { phase?: string } };
    return p.status.phase === 'Running' && p.spec.nodeName?.startsWith(`${cluster}-worker-`) ? p.spec.nodeName : undefined;
  }, 60_000);
}

for (const cluster of ['alpha', 'beta'] as const) {
  test(`${cluster}: a pod on a kwok node has the stack's default log`, async () => {
    const ns = uniqueName('kwok-logs');
    kubectlOk(cluster, ['create', 'namespace', ns]);
    try {
      await runningPod(cluster, ns, 'plain');
      const r = kubectl(cluster, ['logs', '-n', ns, 'plain']);
      assert.equal(r.stderr, '', 'kubectl logs says nothing on stderr');
      assert.equal(r.status, 0);
      assert.equal(r.stdout, DEFAULT_LINE);
      // The container named, and --timestamps: the kubelet API's parameters reach kwok.
      const ts = kubectlOk(cluster, ['logs', '-n', ns, 'plain', '-c', 'app', '--timestamps']);
      assert.match(ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z kwok: this pod runs on a simulated node/);
    } finally {
      kubectl(cluster, ['delete', 'namespace', ns, '--wait=false']);
    }
  });
}

test('beta: a pod given its own log (a Logs object named like it) prints exactly that, and --tail cuts it', async () => {
  const ns = uniqueName('kwok-own-log');
  kubectlOk('beta', ['create', 'namespace', ns]);
  const own = giveOwnLog('beta', ns, 'talker', ['first line', 'second line', 'third line']);
  try {
    await runningPod('beta', ns, 'talker');
    await runningPod('beta', ns, 'quiet');
    // kwok reads Logs objects through a watch: the first answers may come before it has this one.
    await eventually('kubectl logs of the pod with its own log', async () => {
      const r = kubectl('beta', ['logs', '-n', ns, 'talker']);
      return r.status === 0 && r.stdout === 'first line\nsecond line\nthird line\n' ? true : undefined;
    }, 30_000);
    assert.equal(kubectlOk('beta', ['logs', '-n', ns, 'talker', '--tail=1']), 'third line\n');
    assert.equal(kubectlOk('beta', ['logs', '-n', ns, 'talker', '--limit-bytes=5']), 'first');
    // The other pod of the namespace keeps the default.
    assert.equal(kubectlOk('beta', ['logs', '-n', ns, 'quiet']), DEFAULT_LINE);
  } finally {
    kubectl('beta', ['delete', 'namespace', ns, '--wait=false']);
    own.remove();
  }
});
