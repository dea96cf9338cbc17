// State of the pods aggregate: the pods currently offloaded through one virtual node.
import type { PodStatusSnapshot } from '../../events/catalogue.js';

export interface OffloadedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly remoteNamespace: string;
  readonly remoteName: string;
  /** The last reflected remote status; null until the first one arrives. */
  readonly status: PodStatusSnapshot | null;
}

/** Pods by `<namespace>/<name>` of the local pod. Reclaimed pods leave the map. */
export type OffloadedPods = Readonly<Record<string, OffloadedPod>>;

export type PodsState =
  | { readonly status: 'idle' }
  | { readonly status: 'active'; readonly pods: OffloadedPods };

export type PodsStatus = PodsState['status'];

export const initialState: PodsState = { status: 'idle' };

/** Namespace and name cannot contain '/', so the key is unambiguous. */
export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
