// `npm run demo`: with the stack and both control planes up, peer alpha to beta through the CLI
// (live progress), then show the virtual node as kubectl sees it and the peering's history.
import { spawnSync } from 'node:child_process';
import type { StackLayout } from './config.js';

function peerlog(args: readonly string[], capture = false, env: Record<string, string> = {}): { status: number | null; stdout: string } {
  const bin = new URL('../../../bin/peerlog', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout ?? '' };
}

function show(title: string, command: string, args: readonly string[]): void {
  process.stdout.write(`\n$ ${title}\n`);
  spawnSync(command, [...args], { stdio: 'inherit' });
}

export async function runDemo(_layout: StackLayout, env: Record<string, string>): Promise<number> {
  // 1. beta's token and authentication URL, as its administrator would hand them over.
  process.stdout.write('\n$ peerlog token --stack beta -o json\n');
  const token = peerlog(['token', '--stack', 'beta', '-o', 'json'], true);
  if (token.status !== 0) return token.status ?? 1;
  const t = JSON.parse(token.stdout) as { token: string; authUrl: string; authFingerprint?: string };
  process.stdout.write(`${JSON.stringify({ ...t, token: `${t.token.slice(0, 6)}…`, peerCommand: undefined }, null, 2)}\n`);

  // 2. alpha peers with beta; each step prints as its event lands in alpha's log.
  // The token travels in the environment, never on a command line (`ps` would show it).
  process.stdout.write(`\n$ PEERLOG_PEER_TOKEN=… peerlog peer beta --stack alpha --auth-url ${t.authUrl} ${t.authFingerprint ? `--auth-fingerprint ${t.authFingerprint} ` : ''}--timeout 60s\n`);
  const peer = peerlog(['peer', 'beta', '--stack', 'alpha', '--auth-url', t.authUrl, ...(t.authFingerprint ? ['--auth-fingerprint', t.authFingerprint] : []), '--timeout', '60s'], false, { PEERLOG_PEER_TOKEN: t.token });
  if (peer.status !== 0) return peer.status ?? 1;

  // 3. What kubectl sees on alpha, and the history from the log.
  const kubectl = env.KUBECTL!;
  const alpha = ['--kubeconfig', env.ALPHA_KUBECONFIG!];
  show('kubectl --kubeconfig $ALPHA_KUBECONFIG get nodes', kubectl, [...alpha, 'get', 'nodes', '-o', 'wide']);
  show('kubectl --kubeconfig $ALPHA_KUBECONFIG get node peerlog-beta -o jsonpath=…', kubectl, [...alpha, 'get', 'node', 'peerlog-beta', '-o',
    'jsonpath=capacity: {.status.capacity}{"\\n"}taints:   {.spec.taints}{"\\n"}labels:   {.metadata.labels}{"\\n"}']);
  show('kubectl --kubeconfig $ALPHA_KUBECONFIG get foreignclusters', kubectl, [...alpha, 'get', 'foreignclusters']);
  process.stdout.write('\n$ peerlog status --stack alpha\n');
  peerlog(['status', '--stack', 'alpha']);
  process.stdout.write('\n$ peerlog history beta --stack alpha\n');
  peerlog(['history', 'beta', '--stack', 'alpha']);
  process.stdout.write('\nThe control planes keep running (logs in ~/.cache/peerlog/stack/logs/peerlog-*.log); `npm run stack:down` stops everything.\n');
  return 0;
}
