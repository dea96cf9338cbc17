// `peerlog serve` as a child process with a test plane's settings, for tests that kill a control
// plane with SIGKILL and start it again on the same log.
import { spawn, type ChildProcess } from 'node:child_process';
import type { PeerlogConfig } from '../../src/config.js';
import { PEERLOG } from './core.js';

/** Every setting of `config` as `peerlog serve` flags. */
export function serveFlags(c: PeerlogConfig): string[] {
  const flags = [
    '--cluster-id', c.clusterId, '--cluster-name', c.clusterName, '--kubeconfig', c.kubeconfig!,
    '--kafka-brokers', c.kafkaBrokers.join(','), '--database-url', c.databaseUrl, '--db-schema', c.dbSchema,
    '--auth-port', String(c.authPort), '--auth-host', c.authHost, '--ca-cert', c.caCert!,
    '--namespace', c.systemNamespace, '--auth-failure-burst', String(c.authFailureBurst),
    '--sharing-percent', String(c.sharingPercent), '--offer-threshold-percent', String(c.offerThresholdPercent),
    '--offer-acceptance', c.offerAcceptance, '--foreign-cluster-selector', c.foreignClusterSelector,
    '--kubelet-port', String(c.kubeletPort), '--kubelet-host', c.kubeletHost, '--kubelet-address', c.kubeletAddress,
  ];
  if (c.authUrl !== undefined) flags.push('--auth-url', c.authUrl);
  // Only a plane pinned to the CA-key signer is given the key; the others sign through the CSR API.
  if (c.caKey !== undefined) flags.push('--ca-key', c.caKey);
  if (c.authProxyProtocol) flags.push('--auth-proxy-protocol');
  flags.push('--auth-failure-refill-seconds', String(c.authFailureRefillSeconds));
  return flags;
}

export interface ServeChild {
  readonly child: ChildProcess;
  /** Its stderr lines so far (structured JSON logs). */
  readonly lines: string[];
  /** Resolves with the signal that ended it, or its exit code. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<NodeJS.Signals | number | null>;
  /** SIGTERM (a clean stop), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<NodeJS.Signals | number | null>;
}

/** The preload that makes a child SIGKILL itself before one request (test/fixtures/kill-on-request.ts). */
const KILL_ON_REQUEST = new URL('../fixtures/kill-on-request.js', import.meta.url).href;
/** The preload that answers SIGUSR2 with one line of the process's memory (test/fixtures/memory-probe.ts). */
const MEMORY_PROBE = new URL('../fixtures/memory-probe.js', import.meta.url).href;

/**
 * `peerlog serve` with `config`'s settings. `killOn` ("METHOD /path") makes the process SIGKILL
 * itself the moment it is about to send that request to a kube-apiserver, before it is sent;
 * `memoryProbe` makes it answer SIGUSR2 with a `memory probe` line (see memoryOf).
 */
export function startServe(config: PeerlogConfig, opts: { killOn?: string; memoryProbe?: boolean } = {}): ServeChild {
  const preload = [...(opts.killOn ? ['--import', KILL_ON_REQUEST] : []), ...(opts.memoryProbe ? ['--expose-gc', '--import', MEMORY_PROBE] : [])];
  const env = opts.killOn ? { ...process.env, PEERLOG_KILL_ON: opts.killOn } : process.env;
  const child = spawn(process.execPath, [...preload, PEERLOG, 'serve', ...serveFlags(config), '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const lines: string[] = [];
  let partial = '';
  const echo = Boolean(process.env.PEERLOG_TEST_LOGS);
  child.stderr!.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop()!;
    for (const l of parts) { lines.push(l); if (echo) process.stderr.write(`[serve ${config.clusterId}] ${l}\n`); }
  });
  let done = false;
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => { done = true; resolve(signal ?? code); }));
  return {
    child, lines, exited,
    async kill() { if (!done) child.kill('SIGKILL'); return exited; },
    async stop(graceMs = 20_000) {
      if (done) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!done) child.kill('SIGKILL'); }, graceMs);
      try { return await exited; } finally { clearTimeout(timer); }
    },
  };
}

export interface MemorySample { readonly rss: number; readonly heapUsed: number; readonly heapTotal: number; readonly external: number }

/** The child's memory after a full garbage collection (it must run with `memoryProbe`). */
export async function memoryOf(c: ServeChild, timeoutMs = 10_000): Promise<MemorySample> {
  const from = c.lines.length;
  c.child.kill('SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = c.lines.slice(from).find((l) => l.includes('"memory probe"'));
    if (line) return JSON.parse(line) as MemorySample;
    if (Date.now() > deadline) throw new Error('no memory probe line from peerlog serve');
    await new Promise((r) => setTimeout(r, 50));
  }
}
