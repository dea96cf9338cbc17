// `peerlog unpeer <name> [--no-drain] [--force] [--timeout DURATION]`: sets the ForeignCluster's
// outgoing direction to Disabled (the same path as `kubectl patch` or `kubectl delete`) and follows
// the teardown as its events land in the log, one line per step, until the peering is terminated
// (exit 0), or --timeout passes (exit 1, naming the step that waits and why: a PodDisruptionBudget
// names the pod and the budget).
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { createLogger } from '../adapters/log/index.js';
import { openRuntime } from '../runtime.js';
import { createKubeClient, type KubeObject } from '../adapters/kubernetes/client.js';
import { loadKubeConfig } from '../adapters/kubernetes/kubeconfig.js';
import { ANNOTATIONS, GROUP_VERSION } from '../resources/constants.js';
import { CONDITION_TYPES } from '../resources/conditions.js';
import { streamIdOf } from '../commands/registry.js';
import type { Condition } from '../projections/views/view.js';
import type { ForeignClusterObject } from '../projections/kubernetes/index.js';
import { UsageError } from './args.js';
import { cliUser, foreignClusterConditions } from './foreign-cluster.js';
import { describeEvent, elapsed } from './progress.js';
import type { Verb } from './index.js';

const IDLE = new Set(['empty', 'blocked', 'terminated']);

export const unpeerVerb: Verb = {
  name: 'unpeer',
  summary: 'end the outgoing peering with a provider: cordon and drain its virtual node, withdraw the request, remove the identity; follow it to the end',
  usage: 'peerlog unpeer <name> [--no-drain] [--force] [--timeout DURATION] [--stack alpha|beta | config flags]',
  flags: [
    { name: 'no-drain', type: 'boolean', description: 'cordon the virtual node and wait for its pods to finish on their own instead of evicting them' },
    { name: 'force', type: 'boolean', description: 'for a provider that is gone: delete the virtual node at once and clean up this side without reaching the provider' },
    { name: 'timeout', type: 'duration', description: 'stop following after this long (the teardown goes on)', default: 120 },
    ...configFlags([...LOG_SETTINGS, 'kubeconfig', 'namespace']),
  ],
  async run({ flags, positionals }) {
    const name = positionals[0];
    if (!name) throw new UsageError('name the ForeignCluster to unpeer, e.g. `peerlog unpeer beta`');
    const drain = flags['no-drain'] !== true;
    const force = flags.force === true;
    const timeoutMs = Number(flags.timeout) * 1000;
    const config = loadConfig(sourceFrom(flags), { kubernetes: true });
    const started = Date.now();
    const say = (line: string) => process.stderr.write(`[${elapsed(started)}] ${line}\n`);

    const kube = createKubeClient(loadKubeConfig(config.kubeconfig));
    const fc = await kube.get<ForeignClusterObject>(GROUP_VERSION, 'ForeignCluster', name);
    if (!fc) {
      process.stderr.write(`peerlog unpeer: no ForeignCluster ${name} in this cluster (\`kubectl get foreignclusters\` lists them)\n`);
      return 1;
    }
    const remote = fc.spec.clusterId;
    const rt = await openRuntime(config, createLogger({ level: 'error' }));
    try {
      const streamId = streamIdOf('outgoing', remote);
      let seen = await rt.queries.lastVersion(streamId);
      const before = await rt.bus.loadOutgoing(remote);
      // The intent on the object itself, where `kubectl` users would put it: one path for all three ways in.
      await kube.request('PATCH', `/apis/${GROUP_VERSION}/foreignclusters/${encodeURIComponent(name)}`, {
        metadata: { annotations: { [ANNOTATIONS.requestedBy]: `cli:${cliUser()}` } },
        spec: { outgoing: 'Disabled', unpeering: { drain, force } },
      }, 'application/merge-patch+json');
      if (IDLE.has(before.status)) {
        process.stdout.write(`not peered with ${name}: nothing to tear down (outgoing is now Disabled)\n`);
        return 0;
      }
      say(`ForeignCluster ${name}: outgoing Disabled${force ? ', forced' : drain ? '' : ', without a drain'}; following stream ${streamId}`);
      let last = '';
      while (Date.now() - started < timeoutMs) {
        for (const e of await rt.queries.eventsAfter(streamId, seen)) {
          seen = e.streamVersion;
          say(describeEvent(e));
          if (e.type === 'PeeringTerminated') {
            const state = await rt.bus.loadOutgoing(remote);
            const left = state.status === 'terminated' && state.providerReached === false
              ? '; the provider was not reached: what it made for this cluster stays there until it is reached again'
              : '';
            process.stdout.write(`unpeered from ${name} in ${elapsed(started).trim()}${left}\n`);
            return 0;
          }
        }
        const waiting = (await foreignClusterConditions(kube, name)).find((c) => c.type === CONDITION_TYPES.outgoingPeering && c.status === 'Unknown');
        const text = waiting ? `${waiting.reason}: ${waiting.message}` : '';
        if (waiting && text !== last) { say(`waiting: ${text}`); last = text; }
        await new Promise((r) => setTimeout(r, 100));
      }
      const cond = (await foreignClusterConditions(kube, name)).find((c) => c.type === CONDITION_TYPES.outgoingPeering);
      const why = cond ? `${cond.reason}: ${cond.message}` : `no control plane has acted on ForeignCluster ${name}: is \`peerlog serve\` running for cluster ${config.clusterId}?`;
      process.stderr.write(`peerlog unpeer: timed out after ${String(flags.timeout)} s, the teardown goes on: ${why}\n`);
      return 1;
    } finally {
      await rt.close();
    }
  },
};
