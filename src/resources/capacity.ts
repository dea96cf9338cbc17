// What a provider can offer (DESIGN §7): allocatable of its Ready real nodes, minus the requests of
// its non-terminal pods (except those a consumer offloaded here), times the sharing percentage.
import type { Resources } from '../events/catalogue.js';
import { addResources, scaleResources, subtractResources, toCanonical, fromCanonical } from '../events/quantity.js';
import { LABELS, VIRTUAL_NODE_TYPE } from './constants.js';

export interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ready: boolean;
  readonly unschedulable: boolean;
  readonly allocatable: Readonly<Record<string, string>>;
}

export interface PodFacts {
  readonly nodeName: string | undefined;
  readonly phase: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Sum of the containers' requests (init containers: their maximum, as the scheduler counts). */
  readonly requests: Readonly<Record<string, string>>;
}

/** The resources peerlog offers; others (ephemeral-storage, hugepages) are left out of offers. */
export const OFFERED_RESOURCES = ['cpu', 'memory', 'pods'] as const;

function pick(r: Readonly<Record<string, string>>): Resources {
  const out: Record<string, string> = {};
  for (const name of OFFERED_RESOURCES) out[name] = r[name] ?? '0';
  return out as Resources;
}

export function isVirtualNode(n: Pick<NodeFacts, 'labels'>): boolean {
  return n.labels[LABELS.type] === VIRTUAL_NODE_TYPE;
}

export function isTerminal(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * @param excludeConsumer pods labelled as offloaded by this consumer do not reduce its own offer:
 *   what it already uses is part of what it was offered.
 */
export function computeOffer(nodes: readonly NodeFacts[], pods: readonly PodFacts[], sharingPercent: number, excludeConsumer?: string): Resources {
  const usable = nodes.filter((n) => n.ready && !n.unschedulable && !isVirtualNode(n));
  const names = new Set(usable.map((n) => n.name));
  let allocatable = pick({});
  for (const n of usable) allocatable = addResources(allocatable, pick(n.allocatable));
  let used = pick({});
  let podCount = 0n;
  for (const p of pods) {
    if (!p.nodeName || !names.has(p.nodeName) || isTerminal(p.phase)) continue;
    if (excludeConsumer !== undefined && p.labels[LABELS.remoteClusterId] === excludeConsumer) continue;
    used = addResources(used, pick({ ...p.requests, pods: '0' }));
    podCount++;
  }
  used = { ...used, pods: fromCanonical('pods', podCount) } as Resources;
  const free = subtractResources(allocatable, used);
  return scaleResources(free, sharingPercent);
}

/** Sum of container requests, with init containers counted at their maximum (what the scheduler reserves). */
export function podRequests(containers: readonly { resources?: { requests?: Record<string, string> } }[], initContainers: readonly { resources?: { requests?: Record<string, string> } }[] = []): Record<string, string> {
  const sum = new Map<string, bigint>();
  for (const c of containers) for (const [k, v] of Object.entries(c.resources?.requests ?? {})) sum.set(k, (sum.get(k) ?? 0n) + toCanonical(k, v));
  for (const c of initContainers) for (const [k, v] of Object.entries(c.resources?.requests ?? {})) {
    const x = toCanonical(k, v);
    if (x > (sum.get(k) ?? 0n)) sum.set(k, x);
  }
  return Object.fromEntries([...sum].map(([k, v]) => [k, fromCanonical(k, v)]));
}
