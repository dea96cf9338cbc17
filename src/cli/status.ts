// `peerlog status [name]`: the ForeignClusters of this cluster, where each peering stands and why.
import { configFlags, loadConfig, sourceFrom } from '../config.js';
import { createKubeClient, type KubeObject } from '../adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../adapters/kubernetes/kubeconfig.js';
import { GROUP_VERSION } from '../resources/constants.js';
import type { Condition } from '../projections/views/view.js';
import { QUIET_REASONS } from '../resources/conditions.js';
import { POD_OFFLOAD_FAILURE_REASONS } from '../events/constants.js';
import { OUTPUT_FLAG, outputFormat, printData } from './output.js';
import type { Verb } from './index.js';

interface Fc extends KubeObject {
  spec: { clusterId: string; clusterName?: string; authUrl?: string; outgoing?: string; incoming?: string };
  status?: { conditions?: Condition[]; outgoing?: { phase?: string; virtualNode?: string; tenantNamespace?: string }; incoming?: { phase?: string; tenantNamespace?: string } };
}

/** Reasons a pod bound to a virtual node shows when it does not run in the provider. */
const KEPT_BACK: ReadonlySet<string> = new Set(POD_OFFLOAD_FAILURE_REASONS);

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
    // The pods each virtual node runs, as the cluster has them (by phase; `keptBack`: bound to the
    // node but not running in the provider, with the reason on the pod).
    const podsOn = async (node: string | undefined) => {
      if (!node) return undefined;
      const pods = await kube.request<{ items: { status?: { phase?: string; reason?: string } }[] }>('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`);
      const count = (phase: string) => pods.items.filter((p) => p.status?.phase === phase && !KEPT_BACK.has(p.status?.reason ?? '')).length;
      return {
        total: pods.items.length, running: count('Running'), pending: count('Pending'), succeeded: count('Succeeded'), failed: count('Failed'),
        keptBack: pods.items.filter((p) => KEPT_BACK.has(p.status?.reason ?? '')).length,
      };
    };
    const data = await Promise.all(items.map(async (f) => {
      const offloadedPods = await podsOn(f.status?.outgoing?.virtualNode);
      return {
        name: f.metadata!.name!, clusterId: f.spec.clusterId, clusterName: f.spec.clusterName ?? f.spec.clusterId,
        outgoing: { enabled: f.spec.outgoing ?? 'Enabled', ...(f.status?.outgoing ?? {}), ...(offloadedPods ? { offloadedPods } : {}) },
        incoming: { enabled: f.spec.incoming ?? 'Enabled', ...(f.status?.incoming ?? {}) },
        conditions: f.status?.conditions ?? [],
      };
    }));
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
