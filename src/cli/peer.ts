// `peerlog peer <name> --auth-url URL` (token in PEERLOG_PEER_TOKEN, --token-file or --token -): creates or updates the ForeignCluster of a
// provider and follows the peering as its events land in the log, one line per step, until the
// virtual node is Ready (exit 0), a step fails for good, or --timeout passes (non-zero, naming it).
import { readFileSync } from 'node:fs';
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { createLogger } from '../adapters/log/index.js';
import { openRuntime } from '../runtime.js';
import { createKubeClient, type KubeObject } from '../adapters/kubernetes/client.js';
import { loadKubeConfig } from '../adapters/kubernetes/kubeconfig.js';
import { ensureNamespace, writePeeringToken } from '../adapters/kubernetes/secrets.js';
import { fetchClusterIds } from '../adapters/http/auth-client.js';
import { ANNOTATIONS, GROUP_VERSION } from '../resources/constants.js';
import { streamIdOf } from '../commands/registry.js';
import type { Condition } from '../projections/views/view.js';
import { CONDITION_TYPES, REASONS } from '../resources/conditions.js';
import { UsageError } from './args.js';
import { cliUser, foreignClusterConditions } from './foreign-cluster.js';
import { describeEvent, elapsed } from './progress.js';
import type { Verb } from './index.js';

export const peerVerb: Verb = {
  name: 'peer',
  summary: 'peer with a provider: create or update its ForeignCluster and follow the peering until the virtual node is Ready',
  usage: 'PEERLOG_PEER_TOKEN=… peerlog peer <name> --auth-url URL [--token-file F | --token -] [--auth-fingerprint sha256:HEX] [--timeout DURATION] [--stack alpha|beta | config flags]',
  flags: [
    { name: 'auth-url', type: 'string', description: 'the provider\'s authentication URL (from `peerlog token` on the provider)' },
    { name: 'token-file', type: 'string', description: 'read the provider\'s peering token from this file (or set env PEERLOG_PEER_TOKEN)' },
    { name: 'token', type: 'string', description: '`-` reads the token from stdin; a literal token works but shows in `ps` and shell history' },
    { name: 'auth-fingerprint', type: 'string', description: 'SHA-256 fingerprint of the provider\'s endpoint certificate (default: trust and pin the first one seen)' },
    { name: 'timeout', type: 'duration', description: 'give up after this long', default: 120 },
    ...configFlags([...LOG_SETTINGS, 'kubeconfig', 'namespace']),
  ],
  async run({ flags, positionals }) {
    const name = positionals[0];
    if (!name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new UsageError('give the ForeignCluster a name (a lowercase DNS name), e.g. `peerlog peer beta ...`');
    const authUrl = flags['auth-url'] as string | undefined;
    if (!authUrl) throw new UsageError('--auth-url is required');
    const token = readPeerToken(flags);
    const timeoutMs = Number(flags.timeout) * 1000;
    const config = loadConfig(sourceFrom(flags), { kubernetes: true });
    const started = Date.now();
    const say = (line: string) => process.stderr.write(`[${elapsed(started)}] ${line}\n`);

    // 1. Who is at that address (and which certificate to pin from now on).
    const pin = flags['auth-fingerprint'] as string | undefined;
    let ids;
    try {
      ids = await fetchClusterIds(authUrl, pin);
    } catch (e) {
      process.stderr.write(`peerlog peer: step Reach the provider failed: ${(e as { code?: string }).code ?? 'Error'}: ${(e as Error).message}\n`);
      return 1;
    }
    say(`provider ${ids.clusterName} (${ids.clusterId}) at ${authUrl}, certificate sha256:${ids.fingerprint}`);

    // 2. Where the log stands before this run: everything after it is this run's progress.
    const rt = await openRuntime(config, createLogger({ level: 'error' }));
    try {
      const streamId = streamIdOf('outgoing', ids.clusterId);
      let seen = await rt.queries.lastVersion(streamId);

      // 3. The intent: the token in a Secret bound to this provider and its endpoint (the operator
      //    sends it nowhere else), the ForeignCluster pointing at it.
      const kube = createKubeClient(loadKubeConfig(config.kubeconfig));
      await ensureNamespace(kube, config.systemNamespace);
      const secretName = `peerlog-token-${name}`.slice(0, 253);
      const authFingerprint = `sha256:${pin ? pin.replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase() : ids.fingerprint}`;
      await writePeeringToken(kube, config.systemNamespace, secretName, { remoteClusterId: ids.clusterId, token, authUrl, authFingerprint });
      await kube.apply({
        apiVersion: GROUP_VERSION, kind: 'ForeignCluster',
        metadata: { name, annotations: { [ANNOTATIONS.requestedBy]: `cli:${cliUser()}` } },
        spec: {
          clusterId: ids.clusterId, clusterName: ids.clusterName, authUrl, authFingerprint,
          outgoing: 'Enabled', tokenSecretRef: { name: secretName, namespace: config.systemNamespace, key: 'token' },
        },
      } as KubeObject);
      say(`ForeignCluster ${name} applied; following the log of stream ${streamIdOf('outgoing', ids.clusterId)}`);

      // 4. Follow the log until Ready, a definitive failure, or the timeout.
      const state = await rt.bus.loadOutgoing(ids.clusterId);
      if (state.status === 'virtualNodeReady') {
        say(`already peered: virtual node ${state.virtualNode.nodeName} is Ready`);
        process.stdout.write(`peered with ${ids.clusterName}: node ${state.virtualNode.nodeName} Ready\n`);
        return 0;
      }
      let lastCondition = '';
      while (Date.now() - started < timeoutMs) {
        for (const e of await rt.queries.eventsAfter(streamId, seen)) {
          seen = e.streamVersion;
          say(describeEvent(e));
          if (e.type === 'VirtualNodeReady') {
            const node = (e.data as { nodeName: string }).nodeName;
            process.stdout.write(`peered with ${ids.clusterName}: node ${node} Ready in ${elapsed(started)}\n`);
            return 0;
          }
          if (e.type === 'AuthenticationFailed') {
            const d = e.data as { reason: string; httpStatus: number | null };
            if (d.reason !== 'Unreachable' && d.reason !== 'TooManyAttempts') {
              // The provider's own words are in the ForeignCluster's status, written just after the event.
              const failed = await waitForCondition(kube, name, (c) => c.type === CONDITION_TYPES.authenticated && c.status === 'False', 3000);
              const why = failed?.message ?? `${d.reason} (HTTP ${d.httpStatus ?? '-'})`;
              process.stderr.write(`peerlog peer: step Authentication failed: ${d.reason}: ${why}\n`);
              return 1;
            }
          }
        }
        // What the control plane says while it retries (an unreachable provider, a missing token).
        const stuck = (await foreignClusterConditions(kube, name)).find((c) => c.status === 'False' && c.reason !== REASONS.noVirtualNode);
        const text = stuck ? `${stuck.type} ${stuck.reason}: ${stuck.message}` : '';
        if (stuck && text !== lastCondition) { say(`waiting: ${text}`); lastCondition = text; }
        await new Promise((r) => setTimeout(r, 100));
      }
      const cond = await foreignClusterConditions(kube, name);
      const stuck = cond.find((c) => c.status !== 'True' && c.reason !== REASONS.noVirtualNode);
      const why = cond.length === 0
        ? `no control plane has acted on ForeignCluster ${name}: is \`peerlog serve\` running for cluster ${config.clusterId}?`
        : stuck ? `${stuck.type} ${stuck.reason}: ${stuck.message}` : 'the virtual node is not Ready yet';
      process.stderr.write(`peerlog peer: timed out after ${flags.timeout} s: ${why}\n`);
      return 1;
    } finally {
      await rt.close();
    }
  },
};

/**
 * The token from --token-file, `--token -` (stdin), PEERLOG_PEER_TOKEN or, last resort, --token's
 * value: the one place it would be visible to other users (`ps`) and kept in shell history.
 */
function readPeerToken(flags: Readonly<Record<string, unknown>>): string {
  const file = flags['token-file'] as string | undefined;
  const literal = flags.token as string | undefined;
  if (file !== undefined && literal !== undefined) throw new UsageError('give the token once: --token-file or --token, not both');
  let token: string | undefined;
  if (file !== undefined) {
    try { token = readFileSync(file, 'utf8').trim(); } catch (e) { throw new UsageError(`--token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
    if (!token) throw new UsageError(`--token-file ${file} is empty`);
  } else if (literal === '-') {
    try { token = readFileSync(0, 'utf8').trim(); } catch (e) { throw new UsageError(`--token -: cannot read stdin: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
    if (!token) throw new UsageError('--token -: nothing on stdin');
  } else if (literal !== undefined) {
    process.stderr.write('peerlog peer: warning: a token given as --token <value> is visible in `ps` and kept in shell history; prefer PEERLOG_PEER_TOKEN, --token-file or --token -\n');
    token = literal;
  } else {
    token = process.env.PEERLOG_PEER_TOKEN || undefined;
  }
  if (!token) throw new UsageError('the provider\'s token is required: set PEERLOG_PEER_TOKEN, or give --token-file F or --token - (stdin)');
  return token;
}

async function waitForCondition(kube: ReturnType<typeof createKubeClient>, name: string, match: (c: Condition) => boolean, timeoutMs: number): Promise<Condition | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await foreignClusterConditions(kube, name)).find(match);
    if (found || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}
