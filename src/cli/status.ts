// `peerlog status [name]`: the ForeignClusters of this cluster, where each peering stands and why —
// folded from the events of each peering's streams in the log (src/projections/history/status.ts),
// so that `peerlog history <name> --as-of T` says what this printed at T. The cluster is read only
// for which ForeignClusters exist and the remote cluster each one names.
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { createKubeClient, type KubeObject } from '../adapters/kubernetes/client.js';
import { loadKubeConfig } from '../adapters/kubernetes/kubeconfig.js';
import { createLogger } from '../adapters/log/index.js';
import { openRuntime } from '../runtime.js';
import { GROUP_VERSION } from '../resources/constants.js';
import { QUIET_REASONS } from '../resources/conditions.js';
import { parseStreamId } from '../commands/registry.js';
import type { EventEnvelope } from '../events/envelope.js';
import { peeringStatus } from '../projections/history/index.js';
import { OUTPUT_FLAG, outputFormat, printData } from './output.js';
import type { Verb } from './index.js';

interface Fc extends KubeObject {
  spec: { clusterId: string };
}

export const statusVerb: Verb = {
  name: 'status',
  summary: 'show the peerings of this cluster (ForeignClusters) as the log has them: phase per direction, virtual node and its pods, and why a step is stuck',
  usage: 'peerlog status [name] [-o table|json|yaml] [--stack alpha|beta | --cluster-id ID --kubeconfig F --kafka-brokers B --database-url URL]',
  flags: [...configFlags([...LOG_SETTINGS, 'kubeconfig', 'namespace']), OUTPUT_FLAG],
  async run({ flags, positionals }) {
    const format = outputFormat(flags.output);
    const config = loadConfig(sourceFrom(flags), { kubernetes: true });
    const kube = createKubeClient(loadKubeConfig(config.kubeconfig));
    const list = await kube.request<{ items: Fc[] }>('GET', `/apis/${GROUP_VERSION}/foreignclusters`);
    const name = positionals[0];
    const items = list.items.filter((f) => !name || f.metadata?.name === name);
    if (name && items.length === 0) {
      process.stderr.write(`peerlog status: no ForeignCluster named ${name}\n`);
      return 1;
    }
    const rt = await openRuntime(config, createLogger({ level: 'warn' }), { migrate: false });
    let events: readonly EventEnvelope[];
    try {
      events = await rt.queries.peeringEvents([...new Set(items.map((f) => f.spec.clusterId))]);
    } finally {
      await rt.close();
    }
    const byRemote = new Map<string, EventEnvelope[]>();
    for (const e of events) {
      const remote = parseStreamId(e.streamId).remoteClusterId;
      const run = byRemote.get(remote);
      if (run) run.push(e); else byRemote.set(remote, [e]);
    }
    const data = items.map((f) => peeringStatus(f.metadata!.name!, f.spec.clusterId, byRemote.get(f.spec.clusterId) ?? []));
    printData(format, name ? data[0] : data, () => {
      if (data.length === 0) return 'no peerings (no ForeignCluster in this cluster)';
      const rows = data.map((d) => {
        const stuck = d.conditions.find((c) => c.status !== 'True' && !QUIET_REASONS.has(c.reason));
        const p = d.outgoing.offloadedPods;
        const pods = p ? `${p.running}/${p.total}${p.keptBack > 0 ? ` (${p.keptBack} kept back)` : ''}` : '-';
        return [d.name, d.clusterId, d.outgoing.phase ?? '-', d.incoming.phase ?? '-', d.outgoing.virtualNode ?? '-', pods, stuck ? `${stuck.type}=${stuck.reason}: ${stuck.message}` : ''];
      });
      const head = ['NAME', 'CLUSTER', 'OUTGOING', 'INCOMING', 'VIRTUAL NODE', 'PODS', 'WHY'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
    });
    return 0;
  },
};
