// Commands of the pods aggregate (stream pods-<remoteId>): pods bound to one virtual node.
import type { PodReclaimReason, PodStatusSnapshot } from '../../events/catalogue.js';
import type { Command } from '../command.js';

interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** The remote coordinates are forged by the caller (`<namespace>-<consumerName>`, DESIGN §7). */
export type OffloadPod = Command<
  'OffloadPod',
  PodRef & { readonly remoteNamespace: string; readonly remoteName: string }
>;

/** What the provider-side watch saw; becomes an event only when it differs from the last one. */
export type ReflectPodStatus = Command<'ReflectPodStatus', PodRef & { readonly status: PodStatusSnapshot }>;

export type ReclaimPod = Command<'ReclaimPod', PodRef & { readonly reason: PodReclaimReason }>;

export type PodsCommand = OffloadPod | ReflectPodStatus | ReclaimPod;
