// Unpeering's decisions about the pods on a virtual node, in pure form: which pods a drain waits
// for and which it evicts, and the PodDisruptionBudget an eviction's refusal names.

export interface NodePod {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly deletionTimestamp?: unknown; readonly ownerReferences?: readonly { readonly kind?: string; readonly controller?: boolean }[] };
  readonly spec?: { readonly nodeName?: string };
  readonly status?: { readonly phase?: string };
}

export interface DrainPlan {
  /** Pods the drain waits for: bound to the node, not finished (being deleted counts: their twins still run). */
  readonly remaining: readonly string[];
  /** Of those, the ones to evict (not yet being deleted). */
  readonly evict: readonly { readonly namespace: string; readonly name: string }[];
}

const isDaemonSetPod = (p: NodePod) => (p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && o.controller === true);

/**
 * What a drain of `nodeName` has left. Finished pods (Succeeded, Failed) are not waited for: they
 * run nowhere and go with the node. DaemonSet pods are never offloaded and their controller would
 * only make them again, so they are neither evicted nor waited for (as `kubectl drain
 * --ignore-daemonsets` does).
 */
export function drainPlan(pods: readonly NodePod[], nodeName: string): DrainPlan {
  const remaining: string[] = [];
  const evict: { namespace: string; name: string }[] = [];
  for (const p of pods) {
    const name = p.metadata?.name;
    const namespace = p.metadata?.namespace;
    if (!name || !namespace || p.spec?.nodeName !== nodeName) continue;
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || isDaemonSetPod(p)) continue;
    remaining.push(`${namespace}/${name}`);
    if (!p.metadata?.deletionTimestamp) evict.push({ namespace, name });
  }
  remaining.sort();
  evict.sort((a, b) => (a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace)));
  return { remaining, evict };
}

/**
 * The PodDisruptionBudget named in an eviction's 429 (the apiserver's cause reads "The disruption
 * budget NAME needs N healthy pods and has M currently"); undefined when none is named.
 */
export function disruptionBudgetOf(causes: readonly { readonly reason?: string; readonly message?: string }[]): string | undefined {
  for (const c of causes) {
    const m = /^The disruption budget (\S+) /.exec(c.message ?? '');
    if (m && /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(m[1]!)) return m[1];
  }
  return undefined;
}
