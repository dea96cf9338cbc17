// `npm run demo`: with the stack and both control planes up, peer alpha to beta through the CLI
// (live progress), offload a small Deployment to beta, show both clusters as kubectl sees them and
// the peering's history, unpeer, and show with kubectl that nothing of the peering is left.
// Re-runnable: each run peers afresh (a new identity) and removes the namespace it made.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackLayout } from './config.js';
import { sleep } from './proc.js';

/** The demo's own namespace on alpha, made and removed by each run. */
export const DEMO_NAMESPACE = 'peerlog-demo';
const DEPLOYMENT = 'hello';
const REMOTE_LABEL = 'peerlog.dev/remote-cluster-id';
const WAIT_MS = 120_000;

/** A step of the demo that did not end as it should: its message names the step and what was seen. */
class DemoFailed extends Error {}

interface Run { readonly status: number | null; readonly stdout: string; readonly stderr: string }

function peerlog(args: readonly string[], opts: { capture?: boolean; env?: Record<string, string> } = {}): Run {
  const bin = new URL('../../../bin/peerlog', import.meta.url).pathname;
  // The demo's narrative is its stdout: the CLI's live progress (its stderr) goes there too, in order.
  const stdio = opts.capture ? ['ignore', 'pipe', 'pipe'] as const : ['ignore', 'inherit', 1] as const;
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: [...stdio], encoding: 'utf8', env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function heading(command: string): void {
  process.stdout.write(`\n$ ${command}\n`);
}

export async function runDemo(layout: StackLayout, env: Record<string, string>): Promise<number> {
  try {
    await demo(layout, env);
    return 0;
  } catch (e) {
    if (!(e instanceof DemoFailed)) throw e;
    process.stderr.write(`\ndemo: ${e.message}\n`);
    return 1;
  }
}

async function demo(layout: StackLayout, env: Record<string, string>): Promise<void> {
  const kubectlBin = env.KUBECTL!;
  const clusters = {
    alpha: { id: env.ALPHA_CLUSTER_ID ?? 'alpha', kubeconfig: env.ALPHA_KUBECONFIG!, shown: '$ALPHA_KUBECONFIG' },
    beta: { id: env.BETA_CLUSTER_ID ?? 'beta', kubeconfig: env.BETA_KUBECONFIG!, shown: '$BETA_KUBECONFIG' },
  };
  type Side = keyof typeof clusters;
  const kubectl = (side: Side, args: readonly string[], input?: string): Run => {
    const r = spawnSync(kubectlBin, ['--kubeconfig', clusters[side].kubeconfig, ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  /** Prints the command as a user would type it, then its output. */
  const show = (side: Side, args: readonly string[], shownArgs: readonly string[] = args): Run => {
    heading(`kubectl --kubeconfig ${clusters[side].shown} ${shownArgs.join(' ')}`);
    const r = kubectl(side, args);
    process.stdout.write(r.stdout + r.stderr);
    return r;
  };
  /** Polls `check` until it returns a value; a timeout fails the demo naming `what` and the last thing seen. */
  const waitUntil = async <T>(what: string, check: () => T | undefined, seen: () => string, timeoutMs = WAIT_MS): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new DemoFailed(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last seen:\n${seen()}`);
      await sleep(1000);
    }
  };
  const gone = (side: Side, kind: string, name: string) => kubectl(side, ['get', kind, name, '-o', 'name', '--ignore-not-found']).stdout.trim() === '';
  const alphaId = clusters.alpha.id;
  const betaId = clusters.beta.id;
  const node = `peerlog-${betaId}`;

  // 0. What a previous run left behind, should it have stopped half-way: its namespace goes first,
  //    so that no pod of it waits for a virtual node.
  if (!gone('alpha', 'namespace', DEMO_NAMESPACE)) {
    process.stdout.write(`\nremoving namespace ${DEMO_NAMESPACE} left by an earlier run\n`);
    kubectl('alpha', ['delete', 'namespace', DEMO_NAMESPACE, '--wait=false']);
    await waitUntil(`namespace ${DEMO_NAMESPACE} on alpha to go`, () => (gone('alpha', 'namespace', DEMO_NAMESPACE) ? true : undefined),
      () => kubectl('alpha', ['get', 'namespace', DEMO_NAMESPACE, '-o', 'wide']).stdout);
  }

  // 1. beta's token and authentication URL, as its administrator would hand them over.
  heading('peerlog token --stack beta -o json');
  const token = peerlog(['token', '--stack', 'beta', '-o', 'json'], { capture: true });
  if (token.status !== 0) throw new DemoFailed(`peerlog token --stack beta failed (exit ${token.status}): ${token.stderr.trim()}`);
  const t = JSON.parse(token.stdout) as { token: string; authUrl: string; authFingerprint?: string };
  process.stdout.write(`${JSON.stringify({ ...t, token: `${t.token.slice(0, 6)}…`, peerCommand: undefined }, null, 2)}\n`);

  // 2. alpha peers with beta; each step prints as its event lands in alpha's log.
  //    The token travels in the environment, never on a command line (`ps` would show it).
  const pin = t.authFingerprint ? ['--auth-fingerprint', t.authFingerprint] : [];
  heading(`PEERLOG_PEER_TOKEN=… peerlog peer beta --stack alpha --auth-url ${t.authUrl} ${pin.join(' ')}${pin.length ? ' ' : ''}--timeout 90s`);
  const peer = peerlog(['peer', 'beta', '--stack', 'alpha', '--auth-url', t.authUrl, ...pin, '--timeout', '90s'], { env: { PEERLOG_PEER_TOKEN: t.token } });
  if (peer.status !== 0) throw new DemoFailed(`peerlog peer beta --stack alpha failed (exit ${peer.status}): see its output above`);
  show('alpha', ['get', 'node', node, '-o', 'jsonpath=capacity: {.status.capacity}{"\\n"}taints:   {.spec.taints}{"\\n"}labels:   {.metadata.labels}{"\\n"}'],
    ['get', 'node', node, '-o', 'jsonpath=…']);

  // 3. A small Deployment that selects beta's virtual node and tolerates its taint.
  const manifest = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEMO_NAMESPACE } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: DEPLOYMENT, namespace: DEMO_NAMESPACE },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: DEPLOYMENT } },
        template: {
          metadata: { labels: { app: DEPLOYMENT } },
          spec: {
            // The type selects virtual nodes, the remote cluster id this provider's among them.
            nodeSelector: { 'peerlog.dev/type': 'virtual-node', [REMOTE_LABEL]: betaId },
            tolerations: [{ key: 'virtual-node.peerlog.dev/not-allowed', operator: 'Exists', effect: 'NoExecute' }],
            containers: [{ name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '50m', memory: '32Mi' } } }],
          },
        },
      },
    },
  ];
  heading(`kubectl --kubeconfig ${clusters.alpha.shown} apply -f -   # namespace ${DEMO_NAMESPACE}, Deployment ${DEPLOYMENT}: 2 replicas on the virtual node ${node}`);
  const applied = kubectl('alpha', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest }));
  process.stdout.write(applied.stdout + applied.stderr);
  if (applied.status !== 0) throw new DemoFailed(`kubectl apply of the Deployment on alpha failed (exit ${applied.status})`);

  // 4. Its pods Running on alpha (on the virtual node) and their twins Running on beta.
  type PodList = { items: { metadata: { name: string; namespace: string }; spec: { nodeName?: string }; status: { phase?: string } }[] };
  const pods = (side: Side, args: readonly string[]): PodList['items'] => {
    const r = kubectl(side, ['get', 'pods', ...args, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as PodList).items : [];
  };
  const podLine = (p: PodList['items'][number]) => `  ${p.metadata.namespace}/${p.metadata.name} ${p.status.phase ?? '?'} on ${p.spec.nodeName ?? '(unscheduled)'}`;
  process.stdout.write(`\nwaiting for the 2 pods of ${DEPLOYMENT} to run on ${node} and their twins on beta…\n`);
  await waitUntil(`2 pods of Deployment ${DEPLOYMENT} Running on alpha's node ${node}`, () => {
    const l = pods('alpha', ['-n', DEMO_NAMESPACE, '-l', `app=${DEPLOYMENT}`]);
    return l.length === 2 && l.every((p) => p.spec.nodeName === node && p.status.phase === 'Running') ? l : undefined;
  }, () => pods('alpha', ['-n', DEMO_NAMESPACE]).map(podLine).join('\n') || '  no pods');
  const twins = await waitUntil(`the 2 twins of ${DEPLOYMENT}'s pods Running on beta (pods labelled ${REMOTE_LABEL}=${alphaId})`, () => {
    const l = pods('beta', ['-A', '-l', `${REMOTE_LABEL}=${alphaId}`]);
    return l.length === 2 && l.every((p) => p.status.phase === 'Running') ? l : undefined;
  }, () => pods('beta', ['-A', '-l', `${REMOTE_LABEL}=${alphaId}`]).map(podLine).join('\n') || '  no pods');
  const remoteNamespace = twins[0]!.metadata.namespace;

  // 5. Both clusters as kubectl sees them: the pods on alpha's virtual node, their twins on beta's workers.
  show('alpha', ['get', 'nodes,pods', '-o', 'wide', '-n', DEMO_NAMESPACE]);
  show('beta', ['get', 'nodes,pods', '-o', 'wide', '-n', remoteNamespace]);
  show('alpha', ['get', 'foreignclusters']);
  heading('peerlog status --stack alpha');
  peerlog(['status', '--stack', 'alpha']);
  heading('peerlog history beta --stack alpha');
  peerlog(['history', 'beta', '--stack', 'alpha']);
  // The same peering as numbers: alpha's /metrics (an excerpt), durations folded from the log.
  const metricsUrl = `http://127.0.0.1:${layout.clusters.alpha.metricsPort}/metrics`;
  heading(`curl ${metricsUrl} (excerpt)`);
  const scraped = await fetch(metricsUrl).then((r) => r.text(), (e: Error) => `(not available: ${e.message})`);
  const shown = /^(peerlog_peering_step_duration_seconds_(sum|count)\{direction="outgoing"|peerlog_offloaded_pod_start_duration_seconds_count|peerlog_virtual_nodes|peerlog_offloaded_pods|peerlog_projection_lag_events|peerlog_auth_identity|\(not)/;
  process.stdout.write(`${scraped.split('\n').filter((l) => shown.test(l)).join('\n')}\n`);

  // 6. Unpeer: the virtual node is drained (its pods evicted), deleted, the request withdrawn, and
  //    beta removes everything it made for alpha.
  heading('peerlog unpeer beta --stack alpha --timeout 90s');
  const unpeer = peerlog(['unpeer', 'beta', '--stack', 'alpha', '--timeout', '90s']);
  if (unpeer.status !== 0) throw new DemoFailed(`peerlog unpeer beta --stack alpha failed (exit ${unpeer.status}): see its output above`);

  // 7. The demo's namespace goes (the Deployment's replacement pods wait for a node that is gone).
  heading(`kubectl --kubeconfig ${clusters.alpha.shown} delete namespace ${DEMO_NAMESPACE}`);
  const deleted = kubectl('alpha', ['delete', 'namespace', DEMO_NAMESPACE, '--wait=false']);
  process.stdout.write(deleted.stdout + deleted.stderr);
  await waitUntil(`namespace ${DEMO_NAMESPACE} on alpha to go`, () => (gone('alpha', 'namespace', DEMO_NAMESPACE) ? true : undefined),
    () => kubectl('alpha', ['get', 'all', '-n', DEMO_NAMESPACE]).stdout);

  // 8. Nothing of the peering is left: by label on both sides, and by name.
  //    Kept on purpose: the ForeignCluster (outgoing Disabled, phase Terminated) and the token
  //    Secret it names, the user's intent, which `peerlog peer` enables again.
  process.stdout.write('\nWhat is left of the peering on either side (each list should be empty):\n');
  const kinds = 'nodes,namespaces,pods,secrets,configmaps,roles,rolebindings,clusterroles,clusterrolebindings,resourcerequests,resourceoffers,leases';
  const tokenSecret = `secret/peerlog-token-beta`;
  const left: string[] = [];
  const check = (side: Side, args: readonly string[], keep: (name: string) => boolean = () => false) => {
    const r = show(side, [...args, '-o', 'name', '--ignore-not-found']);
    if (r.status !== 0) throw new DemoFailed(`kubectl on ${side} failed (exit ${r.status}): ${r.stderr.trim()}`);
    const names = r.stdout.split('\n').map((l) => l.trim()).filter((n) => n !== '' && !keep(n));
    if (r.stdout.trim() === '') process.stdout.write('(none)\n');
    left.push(...names.map((n) => `${side}: ${n}`));
  };
  check('alpha', ['get', kinds, '-A', '-l', `${REMOTE_LABEL}=${betaId}`], (n) => n === tokenSecret);
  check('alpha', ['get', `node/${node}`, `namespace/peerlog-tenant-${betaId}`, `namespace/${DEMO_NAMESPACE}`]);
  check('beta', ['get', kinds, '-A', '-l', `${REMOTE_LABEL}=${alphaId}`]);
  check('beta', ['get', `namespace/peerlog-tenant-${alphaId}`, `namespace/${remoteNamespace}`]);
  show('alpha', ['get', 'foreignclusters']);
  if (left.length > 0) throw new DemoFailed(`left after unpeering:\n  ${left.join('\n  ')}`);
  process.stdout.write(`\nnothing of the peering is left (kept: ForeignCluster beta, Terminated, and ${tokenSecret} in peerlog-system, to peer again)\n`);

  // 9. The whole cycle as a page: phases and events on a time line.
  const htmlFile = join(layout.stateDir, 'demo', 'history-beta.html');
  heading(`peerlog history beta --stack alpha -o html > ${htmlFile}`);
  const html = peerlog(['history', 'beta', '--stack', 'alpha', '-o', 'html'], { capture: true });
  if (html.status !== 0) throw new DemoFailed(`peerlog history beta --stack alpha -o html failed (exit ${html.status}): ${html.stderr.trim()}`);
  mkdirSync(join(layout.stateDir, 'demo'), { recursive: true });
  writeFileSync(htmlFile, html.stdout);
  process.stdout.write(`the HTML timeline of the peering was written to ${htmlFile}\n`);
  process.stdout.write('\nThe control planes keep running (logs in ~/.cache/peerlog/stack/logs/peerlog-*.log); `npm run demo` runs again on them; `npm run stack:down` stops everything.\n');
}
