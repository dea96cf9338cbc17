// `peerlog status [name]`: the ForeignClusters of this cluster, where each peering stands and why.
import { configFlags, loadConfig, sourceFrom } from '../config.js';
import { createKubeClient, type KubeObject } from '../adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../adapters/kubernetes/kubeconfig.js';
import { GROUP_VERSION } from '../resources/constants.js';
import type { Condition } from '../projections/views/view.js';
import { QUIET_REASONS } from '../resources/conditions.js';
import { OUTPUT_FLAG, outputFormat, printData } from './output.js';
import type { Verb } from './index.js';

interface Fc extends KubeObject {
  spec: { clusterId: string; clusterName?: string; authUrl?: string; outgoing?: string; incoming?: string };
  status?: { conditions?: Condition[]; outgoing?: { phase?: string; virtualNode?: string; tenantNamespace?: string }; incoming?: { phase?: string; tenantNamespace?: string } };
}

export const statusVerb: Verb = {
  name: 'status',
  summary: 'show the peerings of this cluster (ForeignClusters): phase per direction, virtual node, and why a step is stuck',
  usage: 'peerlog status [name] [-o table|json|yaml] [--stack alpha|beta | --cluster-id ID --kubeconfig F]',
  flags: [...configFlags(['stack', 'cluster-id', 'kubeconfig']), OUTPUT_FLAG],
  async run({ flags, positionals }) {
    const format = outputFormat(flags.output);
    const config = loadConfig(sourceFrom(flags), { kubernetes: true, log: false });
    const kube = createKubeClient(kubeConfigFromFile(config.kubeconfig!));
    const list = await kube.request<{ items: Fc[] }>('GET', `/apis/${GROUP_VERSION}/foreignclusters`);
    const name = positionals[0];
    const items = list.items.filter((f) => !name || f.metadata?.name === name);
    if (name && items.length === 0) {
      process.stderr.write(`peerlog status: no ForeignCluster named ${name}\n`);
      return 1;
    }
    const data = items.map((f) => ({
      name: f.metadata!.name!, clusterId: f.spec.clusterId, clusterName: f.spec.clusterName ?? f.spec.clusterId,
      outgoing: { enabled: f.spec.outgoing ?? 'Enabled', ...(f.status?.outgoing ?? {}) },
      incoming: { enabled: f.spec.incoming ?? 'Enabled', ...(f.status?.incoming ?? {}) },
      conditions: f.status?.conditions ?? [],
    }));
    printData(format, name ? data[0] : data, () => {
      if (data.length === 0) return 'no peerings (no ForeignCluster in this cluster)';
      const rows = data.map((d) => {
        const stuck = d.conditions.find((c) => c.status !== 'True' && !QUIET_REASONS.has(c.reason));
        return [d.name, d.clusterId, d.outgoing.phase ?? '-', d.incoming.phase ?? '-', d.outgoing.virtualNode ?? '-', stuck ? `${stuck.type}=${stuck.reason}: ${stuck.message}` : ''];
      });
      const head = ['NAME', 'CLUSTER', 'OUTGOING', 'INCOMING', 'VIRTUAL NODE', 'WHY'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
    });
    return 0;
  },
};
