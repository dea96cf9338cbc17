// kubectl against a stack cluster, and a pod on a kwok node given a log of its own: a file in the
// CRI log format kwok reads, named by a kwok.x-k8s.io Logs object with the pod's name and namespace.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackEnv } from './env.js';
import type { KubectlResult } from './identity.js';

export type Cluster = 'alpha' | 'beta';

/** $KUBECTL with the cluster's admin kubeconfig. */
export function kubectl(cluster: Cluster, args: readonly string[], input?: string): KubectlResult {
  const env = stackEnv();
  const r = spawnSync(env.kubectl, ['--kubeconfig', env.clusters[cluster].kubeconfig, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A command run without blocking the event loop (a server in this process must answer it meanwhile). */
export function runAsync(command: string, args: readonly string[], input?: string, timeoutMs = 60_000): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
    child.stdin.end(input ?? '');
  });
}

/** kubectl with the cluster's admin kubeconfig, without blocking the event loop. */
export function kubectlAsync(cluster: Cluster, args: readonly string[], input?: string): Promise<KubectlResult> {
  return runAsync(stackEnv().kubectl, ['--kubeconfig', stackEnv().clusters[cluster].kubeconfig, ...args], input);
}

/** kubectl that must succeed: its stdout, or a failure naming the command and its stderr. */
export function kubectlOk(cluster: Cluster, args: readonly string[], input?: string): string {
  const r = kubectl(cluster, args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} (${cluster}) exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Writes `lines` as the pod's log (stdout, CRI format, one second apart ending now) and points kwok
 * at it; given lines by container name, each of those containers gets its own file.
 */
export function giveOwnLog(cluster: Cluster, namespace: string, pod: string, lines: readonly string[] | Readonly<Record<string, readonly string[]>>): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-kwok-log-'));
  const end = Date.now();
  const write = (file: string, text: readonly string[]) => {
    writeFileSync(file, text.map((l, i) => `${new Date(end - (text.length - 1 - i) * 1000).toISOString()} stdout F ${l}\n`).join(''));
    return file;
  };
  const logs = Array.isArray(lines)
    ? [{ logsFile: write(join(dir, `${pod}.log`), lines) }]
    : Object.entries(lines as Readonly<Record<string, readonly string[]>>).map(([container, text]) => ({ containers: [container], logsFile: write(join(dir, `${pod}-${container}.log`), text) }));
  kubectlOk(cluster, ['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs',
    metadata: { name: pod, namespace },
    spec: { logs },
  }));
  return { file: logs[0]!.logsFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
