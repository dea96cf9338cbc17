// Commands of the pods aggregate (stream pods-<remoteId>): pods bound to one virtual node and the
// namespaces they need in the provider. Each carries every pod or namespace one observation found,
// so a burst of a thousand bound pods is a handful of commands, not a thousand.
import type { NamespaceOffloadData, NamespaceRefusalReason, PodOffloadFailureReason, PodReclaimReason, PodStatusSnapshot } from '../../events/catalogue.js';
import type { Command } from '../command.js';

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** A local namespace and its provider namespace `<namespace>-<consumer id>` (resources/names.ts). */
export type NamespacePair = NamespaceOffloadData;

/** Local namespaces whose pods want to run in the provider. */
export type RequestNamespaceOffload = Command<'RequestNamespaceOffload', { readonly namespaces: readonly NamespacePair[] }>;

/** What the provider answered for one namespace, as its ResourceRequest's status shows. */
export type RecordNamespaceAnswer = Command<
  'RecordNamespaceAnswer',
  NamespacePair & ({ readonly granted: true } | { readonly granted: false; readonly reason: NamespaceRefusalReason; readonly message: string })
>;

export interface PodToOffload extends PodRef {
  readonly remoteNamespace: string;
  readonly remoteName: string;
  readonly nodeName: string;
  readonly specHash: string;
}

export type OffloadPods = Command<'OffloadPods', { readonly pods: readonly PodToOffload[] }>;

export type RecordPodOffloadFailure = Command<
  'RecordPodOffloadFailure',
  PodRef & { readonly reason: PodOffloadFailureReason; readonly message: string }
>;

/** What the remote watch saw; each becomes an event only when it differs from the last one. */
export type ReflectPodStatus = Command<'ReflectPodStatus', { readonly pods: readonly (PodRef & { readonly status: PodStatusSnapshot })[] }>;

export type ReclaimPods = Command<'ReclaimPods', { readonly pods: readonly (PodRef & { readonly reason: PodReclaimReason })[] }>;

/**
 * The virtual node is gone (unpeering): pods still tracked are reclaimed and the namespaces
 * forgotten, so a later peering with the same provider starts with nothing asked of it.
 */
export type EndOffloading = Command<'EndOffloading', { readonly nodeName: string }>;

export type PodsCommand = RequestNamespaceOffload | RecordNamespaceAnswer | OffloadPods | RecordPodOffloadFailure | ReflectPodStatus | ReclaimPods | EndOffloading;
