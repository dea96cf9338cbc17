// State of the pods aggregate: the pods offloaded through one virtual node (or kept from it, with a
// reason), and the local namespaces asked of the provider with its answers.
import type { NamespaceRefusalReason, PodOffloadFailureReason, PodStatusSnapshot } from '../../events/catalogue.js';

export interface OffloadFailure {
  readonly reason: PodOffloadFailureReason;
  readonly message: string;
}

export interface OffloadedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly remoteNamespace: string;
  readonly remoteName: string;
  /** The virtual node it was bound to; null for v1 events. */
  readonly nodeName: string | null;
  /** The forged twin's spec hash; null for v1 events and for pods never offloaded. */
  readonly specHash: string | null;
  /** False for a pod only recorded with a failure (a DaemonSet pod, a refused namespace). */
  readonly offloaded: boolean;
  /** The last reflected remote status; null until the first one arrives. */
  readonly status: PodStatusSnapshot | null;
  /** The last refusal, cleared by a status from a twin that exists. */
  readonly failure: OffloadFailure | null;
}

/** Pods by `<namespace>/<name>` of the local pod. Reclaimed pods leave the map. */
export type OffloadedPods = Readonly<Record<string, OffloadedPod>>;

export type NamespacePhase = 'Requested' | 'Granted' | 'Refused';

export interface OffloadedNamespace {
  readonly namespace: string;
  readonly remoteNamespace: string;
  readonly phase: NamespacePhase;
  readonly reason: NamespaceRefusalReason | null;
  readonly message: string | null;
}

export interface PodsState {
  readonly status: 'idle' | 'active';
  readonly pods: OffloadedPods;
  /** By local namespace name. */
  readonly namespaces: Readonly<Record<string, OffloadedNamespace>>;
}

export type PodsStatus = PodsState['status'];

export const initialState: PodsState = { status: 'idle', pods: {}, namespaces: {} };

/** Namespace and name cannot contain '/', so the key is unambiguous. */
export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A phase no pod leaves: its twin is never made again. */
export function isTerminalPhase(phase: string | null | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * The entry of a record keyed by a name from outside (a namespace may be called `constructor`):
 * its own property only, never one inherited from Object.prototype.
 */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
