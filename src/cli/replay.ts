// `peerlog replay`: rebuilds this cluster's projections from offset 0 of its Kafka log while the
// control plane is stopped — the read models, and the views of the projections that make effects —
// then applies what the rebuilt views say once: ForeignCluster and request statuses (kubernetes),
// the objects written for the remote cluster (replication), virtual nodes, their Leases and the
// pods offloaded through them (virtual-kubelet: the twins in the provider, the ConfigMaps and
// Secrets copied with them, the status reflected onto the local pods). The process projection's
// view is rebuilt but calls nothing out. Nothing is watched and nothing recorded: both clusters are
// listed once (the provider through the identity the log names), and no heartbeat is started.
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { createLogger, type Logger } from '../adapters/log/index.js';
import { createKubeClient, type KubeClient } from '../adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../adapters/kubernetes/kubeconfig.js';
import { acquireProjectionLock, type Projection, type ProjectionRunner } from '../adapters/kafka/projection-runner.js';
import { createReadModelProjection } from '../adapters/postgres/read-models.js';
import { streamFolder } from '../projections/read-models/folder.js';
import { createEffectProjection, type EffectProjection } from '../projections/views/effects.js';
import { createKubernetesProjection, type ForeignClusterObject } from '../projections/kubernetes/index.js';
import { createReplicationProjection } from '../projections/replication/index.js';
import { createVirtualKubeletProjection, VIRTUAL_KUBELET } from '../projections/virtual-kubelet/index.js';
import { createIdentityKeeper } from '../operator/identity.js';
import { createOffloadSnapshot, type OffloadSnapshot } from '../operator/offload-snapshot.js';
import { PROCESS } from '../operator/index.js';
import { createMetricsProjection, METRICS_PROJECTION } from '../projections/metrics/index.js';
import { GROUP_VERSION } from '../resources/constants.js';
import { UsageError } from './args.js';
import { chainVerdict } from './history.js';
import type { Verb } from './index.js';

const READ_MODELS = 'read-models';
const EFFECT_NAMES = ['kubernetes', 'replication', 'virtual-kubelet', PROCESS] as const;
// metrics is rebuilt only when named: its checkpoint stands apart from the others' (a rebuild is
// for new bucket bounds), and `serve` without --metrics-port does not run it.
export const PROJECTION_NAMES = [READ_MODELS, ...EFFECT_NAMES, METRICS_PROJECTION] as const;

/** The effect projections as replay runs them: folding only until caught up, effects applied once after. */
async function effectProjections(rt: Runtime, kube: KubeClient, logger: Logger, clusterId: string, clusterName: string): Promise<{ projections: EffectProjection[]; pods: OffloadSnapshot }> {
  const list = await kube.request<{ items?: ForeignClusterObject[] }>('GET', `/apis/${GROUP_VERSION}/foreignclusters`);
  const fcs = list.items ?? [];
  const identities = createIdentityKeeper({ kube, clusterId });
  // The pod half, as `serve` wires it but over lists instead of watches (see offload-snapshot.ts).
  const pods = createOffloadSnapshot({ kube, clusterId, client: (remote, state) => identities.client(remote, state) });
  return { pods, projections: [
    createKubernetesProjection({ kube, store: rt.views, logger, live: false, foreignClusterOf: (id) => fcs.find((f) => f.spec?.clusterId === id) }),
    createReplicationProjection({ kube, store: rt.views, logger, live: false, clusterId, clusterName, providerClient: (remote, state) => identities.client(remote, state),
      // Replay records nothing: a namespace the log has not settled is settled by the next `serve`.
      recordNamespace: async () => undefined, recordWithdrawal: async () => undefined }),
    createVirtualKubeletProjection({ kube, store: rt.views, logger, live: false, kubelet: { address: rt.config.kubeletAddress, port: rt.config.kubeletPort }, heartbeat: false, check: async () => ({ ready: true }), report: async () => undefined, offload: pods.ports }),
    createEffectProjection({ name: PROCESS, store: rt.views, logger, live: false, effect: async () => undefined }),
  ] };
}

/** The local namespaces whose pods the rebuilt pods views say are offloaded (their ConfigMaps and Secrets go with them). */
async function offloadedNamespaces(rt: Runtime, vk: EffectProjection): Promise<string[]> {
  const out = new Set<string>();
  for (const remote of await rt.views.remotes(VIRTUAL_KUBELET)) {
    const pods = (await vk.views(remote)).pods?.state;
    for (const n of Object.values(pods?.namespaces ?? {})) if (n.phase === 'Granted') out.add(n.namespace);
  }
  return [...out].sort();
}

async function rebuild(rt: Runtime, projection: Projection, timeoutMs: number): Promise<ProjectionRunner> {
  const config = rt.config;
  const lock = await acquireProjectionLock(config.databaseUrl, config.dbSchema, projection.name);
  const generation = await rt.resetProjection(projection);
  process.stderr.write(`replaying ${config.clusterId}'s log into ${projection.name} (schema ${config.dbSchema}, generation ${generation})\n`);
  const runner = rt.projection(projection, { heldLock: lock });
  await runner.start();
  try {
    await runner.caughtUp(timeoutMs);
  } finally {
    await runner.stop();
  }
  return runner;
}

export const replayVerb: Verb = {
  name: 'replay',
  summary: 'rebuild every projection (read models, statuses, replicated objects, virtual nodes, offloaded pods) from offset 0 of the log',
  usage: 'peerlog replay [--projection NAME] [--stack alpha|beta | --cluster-id ID --kafka-brokers B --database-url URL --kubeconfig F] [--timeout DURATION]',
  flags: [
    ...configFlags([...LOG_SETTINGS, 'kubeconfig', 'namespace', 'kubelet-port', 'kubelet-host', 'kubelet-address']),
    { name: 'projection', type: 'string', description: `rebuild only this one (${PROJECTION_NAMES.join(', ')}); default: all but ${METRICS_PROJECTION}` },
    { name: 'timeout', type: 'duration', description: 'give up after this long', default: 600 },
  ],
  async run({ flags }) {
    const only = flags.projection === undefined ? undefined : String(flags.projection);
    if (only !== undefined && !(PROJECTION_NAMES as readonly string[]).includes(only)) {
      throw new UsageError(`--projection must be one of ${PROJECTION_NAMES.join(', ')}, not ${JSON.stringify(only)}`);
    }
    const config = loadConfig(sourceFrom(flags));
    const logger = createLogger({ level: 'warn' });
    const rt = await openRuntime(config, logger);
    const timeoutMs = Number(flags.timeout) * 1000;
    const started = Date.now();
    let exit = 0;
    try {
      const totals = { applied: 0, duplicates: 0, deadLetters: 0, projections: 0 };
      // Every projection reads the same log: the events are counted once, the projections apart.
      const add = (r: ProjectionRunner) => {
        totals.applied = Math.max(totals.applied, r.stats.applied); totals.duplicates = Math.max(totals.duplicates, r.stats.duplicates);
        totals.deadLetters += r.stats.deadLetters; totals.projections += 1;
      };
      if (only === undefined || only === READ_MODELS) add(await rebuild(rt, createReadModelProjection(streamFolder), timeoutMs));
      if (only === METRICS_PROJECTION) add(await rebuild(rt, createMetricsProjection(rt.views), timeoutMs));
      else if (only !== READ_MODELS) {
        // With the cluster at hand the rebuilt views are applied now; without it (no --kubeconfig)
        // they are rebuilt only, and the control plane applies them all when it next starts.
        const kube = config.kubeconfig ? createKubeClient(kubeConfigFromFile(config.kubeconfig)) : undefined;
        const effects = kube ? await effectProjections(rt, kube, logger, config.clusterId, config.clusterName) : undefined;
        const all = effects?.projections
          ?? EFFECT_NAMES.map((name) => createEffectProjection({ name, store: rt.views, logger, live: false, effect: async () => undefined }));
        const chosen = all.filter((p) => only === undefined || p.name === only);
        for (const p of chosen) add(await rebuild(rt, p.projection, timeoutMs));
        if (!kube) process.stderr.write('no kubeconfig: the views are rebuilt; the control plane applies them when it starts\n');
        // The rebuilt views applied once, each effect retried with backoff until done or the deadline.
        for (const p of kube ? chosen : []) {
          // The pod half reads both clusters as they are now, once the log says which namespaces.
          if (p.name === VIRTUAL_KUBELET) await effects!.pods.load(await offloadedNamespaces(rt, p));
          await p.resync();
          const left = Math.max(timeoutMs - (Date.now() - started), 1000);
          let timer: NodeJS.Timeout | undefined;
          const done = await Promise.race([p.idle().then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), left); })]);
          clearTimeout(timer);
          await p.stop();
          if (!done) { process.stderr.write(`${p.name}: the rebuilt state could not all be applied before the deadline (see the log)\n`); exit = 5; }
        }
      }
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`replayed ${totals.applied} events (${totals.duplicates} duplicates skipped, ${totals.deadLetters} dead letters) in ${seconds.toFixed(1)} s into ${totals.projections} projection(s)\n`);
      const broken = chainVerdict(await rt.queries.verifyChain());
      return broken !== 0 ? broken : totals.deadLetters > 0 ? 3 : exit;
    } finally {
      await rt.close();
    }
  },
};
