// What the peering verbs read of a ForeignCluster and say about who asked.
import { userInfo } from 'node:os';
import type { KubeClient, KubeObject } from '../adapters/kubernetes/client.js';
import { GROUP_VERSION } from '../resources/constants.js';
import type { Condition } from '../projections/views/view.js';

/** The local user, for the `requested-by` annotation the operator turns into the events' actor. */
export function cliUser(): string {
  try { return userInfo().username; } catch { return 'unknown'; }
}

/** The ForeignCluster's conditions as the projection last wrote them (none when it is not there). */
export async function foreignClusterConditions(kube: KubeClient, name: string): Promise<Condition[]> {
  const fc = await kube.get<KubeObject & { status?: { conditions?: Condition[] } }>(GROUP_VERSION, 'ForeignCluster', name).catch(() => undefined);
  return fc?.status?.conditions ?? [];
}
