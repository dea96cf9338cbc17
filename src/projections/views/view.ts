// The view an effect projection folds from the log, per peering stream: the aggregate's state (the
// deciders' own evolve, so the view never disagrees with the write side on what an event means),
// and the conditions a status shows, stamped with the times of the events that changed them. Pure:
// the same events give the same view, whenever and however often they are folded.
import type { EventEnvelope } from '../../events/envelope.js';
import type { IncomingEvent, OutgoingEvent, PodsEvent } from '../../events/catalogue.js';
import { evolve as evolveOutgoing, initialState as outgoingInitial } from '../../commands/outgoing/decider.js';
import { evolve as evolveIncoming, initialState as incomingInitial } from '../../commands/incoming/decider.js';
import type { OutgoingState } from '../../commands/outgoing/state.js';
import type { IncomingState } from '../../commands/incoming/state.js';
import { evolveAll as evolvePods, initialState as podsInitial } from '../../commands/pods/decider.js';
import type { PodsState } from '../../commands/pods/state.js';
import { parseStreamId } from '../../commands/registry.js';
import { CONDITION_TYPES as T, REASONS as R } from '../../resources/conditions.js';

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
}

type Draft = Omit<Condition, 'lastTransitionTime'>;

interface ViewBase {
  readonly remoteClusterId: string;
  /** The stream version folded up to. */
  readonly version: number;
  readonly conditions: readonly Condition[];
  /** The time of the last event folded. */
  readonly updatedAt: string;
}

export interface OutgoingView extends ViewBase {
  readonly kind: 'outgoing';
  readonly state: OutgoingState;
  /** When the virtual node's Ready last changed in the log (VirtualNodeCreated, ProviderHealthChanged). */
  readonly readySince: string | null;
}
export interface IncomingView extends ViewBase { readonly kind: 'incoming'; readonly state: IncomingState }
/** The pods offloaded through one provider's virtual node, and the namespaces asked of it. */
export interface PodsView {
  readonly kind: 'pods';
  readonly remoteClusterId: string;
  readonly version: number;
  readonly state: PodsState;
  readonly updatedAt: string;
}
export type PeeringView = OutgoingView | IncomingView | PodsView;
export type ViewKind = PeeringView['kind'];

/** Both directions of one remote cluster, and the pods offloaded to it, as far as the log has them. */
export interface RemoteViews {
  readonly outgoing?: OutgoingView;
  readonly incoming?: IncomingView;
  readonly pods?: PodsView;
}

export const PEERING_KINDS: readonly ViewKind[] = ['outgoing', 'incoming'];

/** The stream kinds views fold; any other (a newer release's) is not their business. */
export function viewKindOf(streamId: string, kinds: readonly ViewKind[] = PEERING_KINDS): { kind: ViewKind; remoteClusterId: string } | undefined {
  let ref;
  try { ref = parseStreamId(streamId); } catch { return undefined; }
  return (kinds as readonly string[]).includes(ref.kind) ? { kind: ref.kind as ViewKind, remoteClusterId: ref.remoteClusterId } : undefined;
}

/** Folds one event into its stream's view; undefined for a stream kind views do not follow. */
export function foldView(view: PeeringView | undefined, e: EventEnvelope, kinds: readonly ViewKind[] = PEERING_KINDS): PeeringView | undefined {
  const ref = viewKindOf(e.streamId, kinds);
  if (!ref) return undefined;
  const event = { type: e.type, data: e.data } as never;
  const at = e.occurredAt;
  if (ref.kind === 'pods') {
    const before = view?.kind === 'pods' ? view.state : podsInitial;
    return { kind: 'pods', remoteClusterId: ref.remoteClusterId, version: e.streamVersion, state: evolvePods(before, [event as PodsEvent]), updatedAt: at };
  }
  if (ref.kind === 'outgoing') {
    const before = view?.kind === 'outgoing' ? view : undefined;
    const state = evolveOutgoing(before?.state ?? outgoingInitial, event as OutgoingEvent);
    const readySince = e.type === 'VirtualNodeCreated' || e.type === 'ProviderHealthChanged' ? at : (before?.readySince ?? null);
    return { kind: 'outgoing', remoteClusterId: ref.remoteClusterId, version: e.streamVersion, state, conditions: stamp(outgoingConditions(state), before?.conditions ?? [], at), updatedAt: at, readySince };
  }
  const before = view?.kind === 'incoming' ? view : undefined;
  const state = evolveIncoming(before?.state ?? incomingInitial, event as IncomingEvent);
  return { kind: 'incoming', remoteClusterId: ref.remoteClusterId, version: e.streamVersion, state, conditions: stamp(incomingConditions(state), before?.conditions ?? [], at), updatedAt: at };
}

/**
 * Folds a run of one stream's events, in order: as `foldView` one event at a time, but a pods
 * state (a thousand pods) is copied once for the run, not once per event.
 */
export function foldViewAll(view: PeeringView | undefined, events: readonly EventEnvelope[], kinds: readonly ViewKind[] = PEERING_KINDS): PeeringView | undefined {
  const last = events[events.length - 1];
  if (!last) return view;
  const ref = viewKindOf(last.streamId, kinds);
  if (!ref) return undefined;
  if (ref.kind !== 'pods') return events.reduce<PeeringView | undefined>((v, e) => foldView(v, e, kinds), view);
  const before = view?.kind === 'pods' ? view.state : podsInitial;
  const state = evolvePods(before, events.map((e) => ({ type: e.type, data: e.data }) as PodsEvent));
  return { kind: 'pods', remoteClusterId: ref.remoteClusterId, version: last.streamVersion, state, updatedAt: last.occurredAt };
}

/** Keeps the previous lastTransitionTime of a condition whose status did not change. */
export function stamp(drafts: readonly Draft[], previous: readonly Condition[], at: string): Condition[] {
  return drafts.map((d) => {
    const p = previous.find((c) => c.type === d.type);
    return { ...d, lastTransitionTime: p && p.status === d.status ? p.lastTransitionTime : at };
  });
}

export const OUTGOING_PHASES: Record<OutgoingState['status'], string> = {
  empty: 'None',
  blocked: 'Blocked',
  peeringRequested: 'Authenticating',
  identityRequested: 'Authenticating',
  authenticationFailed: 'AuthenticationFailed',
  authenticated: 'Authenticated',
  resourcesRequested: 'ResourcesRequested',
  offerReceived: 'OfferReceived',
  offerAccepted: 'OfferAccepted',
  offerRefused: 'OfferRefused',
  virtualNodeCreated: 'VirtualNodeCreated',
  virtualNodeReady: 'Established',
  unpeeringRequested: 'Unpeering',
  virtualNodeDrained: 'Unpeering',
  virtualNodeDeleted: 'Unpeering',
  requestWithdrawn: 'Unpeering',
  terminated: 'Terminated',
};

export const INCOMING_PHASES: Record<IncomingState['status'], string> = {
  empty: 'None',
  tokenRejected: 'AuthenticationFailed',
  tokenValidated: 'Authenticating',
  authenticated: 'Authenticated',
  resourcesRequested: 'ResourcesRequested',
  offered: 'Established',
  offerWithdrawn: 'Withdrawn',
  revoked: 'Revoked',
};

/** The node in force, whatever the status: an update waiting for a decision keeps the running one. */
export function nodeOf(s: OutgoingState): { nodeName: string; ready: boolean } | null {
  if ('virtualNode' in s && s.virtualNode) return s.virtualNode;
  if (s.status === 'offerReceived' && s.accepted?.virtualNode) return s.accepted.virtualNode;
  return null;
}

/** The phase a status shows: an offer update does not make a running peering look unestablished. */
export function outgoingPhase(s: OutgoingState): string {
  return s.status === 'offerReceived' && nodeOf(s)?.ready ? 'Established' : OUTGOING_PHASES[s.status];
}

/** Health reasons that mean the identity itself does not work (not only that the provider is away). */
const IDENTITY_BROKEN: ReadonlySet<string> = new Set([R.identitySecretInvalid, R.identityExpired, R.providerUnauthorized]);

function failureText(f: { reason: string; httpStatus: number | null; authUrl?: string | null; message?: string | null }): string {
  if (f.message) return f.reason === 'Unreachable' && f.authUrl ? `${f.authUrl}: ${f.message}` : f.message;
  return `the provider${f.authUrl ? ` at ${f.authUrl}` : ''} answered ${f.httpStatus ?? 'nothing'} (${f.reason})`;
}

/** What a teardown is doing, as a condition's reason and message; undefined outside unpeering. */
function phaseOfUnpeering(s: OutgoingState): { reason: string; message: string } | undefined {
  switch (s.status) {
    case 'unpeeringRequested': {
      const node = s.virtualNode?.nodeName;
      if (!node) return { reason: R.withdrawingRequest, message: 'unpeering: withdrawing the resource request from the provider' };
      if (s.force) return { reason: R.deletingVirtualNode, message: `unpeering by force: deleting virtual node ${node} without a drain` };
      if (!s.cordoned) return { reason: R.cordoning, message: `unpeering: cordoning virtual node ${node}` };
      if (s.waiting) return { reason: s.waiting.reason, message: `unpeering: ${s.waiting.message}` };
      return { reason: R.draining, message: `unpeering: ${s.drain ? 'evicting' : 'waiting for'} the pods on virtual node ${node}` };
    }
    case 'virtualNodeDrained':
      return { reason: R.deletingVirtualNode, message: `unpeering: virtual node ${s.virtualNode.nodeName} drained; deleting it` };
    case 'virtualNodeDeleted':
      return { reason: R.withdrawingRequest, message: 'unpeering: virtual node deleted; withdrawing the resource request from the provider' };
    case 'requestWithdrawn':
      return { reason: R.removingIdentity, message: s.providerReached ? 'unpeering: request withdrawn; removing the identity' : 'unpeering: the provider was not reached; removing the identity' };
    default:
      return undefined;
  }
}

export function outgoingConditions(s: OutgoingState): Draft[] {
  const identity = 'identity' in s && s.identity ? s.identity : null;
  const health = identity?.health;
  const out: Draft[] = [];
  if (s.status === 'blocked') {
    out.push({ type: T.authenticated, status: 'False', reason: s.reason, message: s.message });
    out.push({ type: T.outgoingPeering, status: 'False', reason: s.reason, message: `nothing was sent to the provider: ${s.message}` });
  } else if (s.status === 'authenticationFailed') {
    const reason = s.reason === 'Unreachable' ? R.providerUnreachable : R.authenticationFailed;
    const message = failureText(s);
    out.push({ type: T.authenticated, status: 'False', reason, message });
    out.push({ type: T.outgoingPeering, status: 'False', reason, message: `authentication failed: ${message}` });
  } else if (identity && health && !health.ready && health.reason && IDENTITY_BROKEN.has(health.reason)) {
    const f = identity.renewal?.failure;
    const renewing = health.reason === R.identityExpired && f ? `; renewing it failed: ${failureText(f)}` : '';
    out.push({ type: T.authenticated, status: 'False', reason: health.reason, message: `${health.message ?? health.reason}${renewing}` });
  } else if (identity && identity.renewal?.failure) {
    out.push({ type: T.authenticated, status: 'True', reason: R.identityRenewalFailed, message: `identity valid until ${identity.notAfter}; renewing it failed: ${failureText(identity.renewal.failure)}` });
  } else if (identity) {
    out.push({ type: T.authenticated, status: 'True', reason: R.identityIssued, message: `identity valid until ${identity.notAfter}, tenant namespace ${identity.tenantNamespace} at ${identity.apiServerUrl}` });
  } else if (s.status === 'peeringRequested' || s.status === 'identityRequested') {
    out.push({ type: T.authenticated, status: 'Unknown', reason: R.authenticating, message: `asking the provider at ${s.remote.authUrl} for an identity` });
  }
  const phase = OUTGOING_PHASES[s.status];
  if (s.status === 'virtualNodeReady') {
    out.push({ type: T.outgoingPeering, status: 'True', reason: R.established, message: `virtual node ${s.virtualNode.nodeName} offers ${s.offer.resources.cpu} CPU, ${s.offer.resources.memory} memory, ${s.offer.resources.pods} pods` });
  } else if (s.status === 'offerReceived' && s.accepted?.virtualNode?.ready) {
    out.push({ type: T.outgoingPeering, status: 'True', reason: R.established, message: `virtual node ${s.accepted.virtualNode.nodeName} runs on offer generation ${s.accepted.offer.generation}; generation ${s.offer.generation} awaits a decision` });
  } else if (s.status === 'offerRefused') {
    out.push({ type: T.outgoingPeering, status: 'False', reason: R.offerRefused, message: `offer ${s.offer.offerName} refused (${s.reason})` });
  } else if (s.status === 'terminated' && s.providerReached === false) {
    out.push({
      type: T.outgoingPeering, status: 'False', reason: R.providerNotReached,
      message: s.remote.pendingWithdrawal
        ? `unpeered by force without reaching the provider: what it made for this cluster (request, offer, namespaces, RBAC) stays there until its endpoint ${s.remote.authUrl} takes the signed withdrawal notice, which is retried`
        : 'unpeered by force without reaching the provider: what it made for this cluster (request, offer, namespaces, RBAC) stays there; no withdrawal notice could be signed',
    });
  } else if (s.status === 'terminated' && s.delivered) {
    out.push({
      type: T.outgoingPeering, status: 'False', reason: s.delivered.outcome === 'Refused' ? R.withdrawalRefused : R.terminated,
      message: `unpeered by force; at a later contact the provider ${s.delivered.outcome === 'Revoked' ? 'ended its half' : s.delivered.outcome === 'AlreadyEnded' ? 'had ended its half already' : 'refused the withdrawal notice'}: ${s.delivered.message}`,
    });
  } else if (s.status === 'terminated' && s.remote.endedByProvider) {
    const ended = s.remote.endedByProvider;
    out.push({ type: T.outgoingPeering, status: 'False', reason: R.providerEnded, message: `the provider ended the peering (${ended.reason}): ${ended.message}; peering again waits for a change of this ForeignCluster or its token` });
  } else if (s.status === 'terminated' || s.status === 'empty') {
    out.push({ type: T.outgoingPeering, status: 'False', reason: s.status === 'empty' ? R.notPeered : R.terminated, message: 'no outgoing peering' });
  } else if (phaseOfUnpeering(s)) {
    const step = phaseOfUnpeering(s)!;
    const ended = 'remote' in s ? s.remote?.endedByProvider : undefined;
    out.push({ type: T.outgoingPeering, status: 'Unknown', reason: step.reason, message: ended ? `the provider ended the peering (${ended.reason}): ${step.message}` : step.message });
  } else if (s.status !== 'authenticationFailed' && s.status !== 'blocked') {
    out.push({ type: T.outgoingPeering, status: 'Unknown', reason: phase, message: `peering in progress: ${phase}` });
  }
  const node = nodeOf(s);
  if (!node) {
    out.push({ type: T.virtualNodeReady, status: 'False', reason: R.noVirtualNode, message: 'no virtual node for this peering' });
  } else if (health && !health.ready) {
    out.push({ type: T.virtualNodeReady, status: 'False', reason: health.reason ?? R.providerUnreachable, message: `node ${node.nodeName}: ${health.message ?? 'the provider does not answer'}` });
  } else if (node.ready) {
    out.push({ type: T.virtualNodeReady, status: 'True', reason: R.nodeReady, message: `node ${node.nodeName} is Ready` });
  } else {
    out.push({ type: T.virtualNodeReady, status: 'False', reason: R.nodeStarting, message: `node ${node.nodeName} created, not Ready yet` });
  }
  return out;
}

export function incomingConditions(s: IncomingState): Draft[] {
  switch (s.status) {
    case 'offered':
      return [{ type: T.incomingPeering, status: 'True', reason: R.established, message: `offering ${s.offer.resources.cpu} CPU, ${s.offer.resources.memory} memory, ${s.offer.resources.pods} pods as ${s.offer.offerName}` }];
    case 'tokenRejected':
      return [{ type: T.incomingPeering, status: 'False', reason: R.tokenRejected, message: `the last ${s.failedAttempts} attempt(s) presented a bad token (${s.reason})` }];
    case 'revoked':
      return [{ type: T.incomingPeering, status: 'False', reason: R.identityRevoked, message: 'the identity was revoked' }];
    case 'offerWithdrawn':
      return [{ type: T.incomingPeering, status: 'False', reason: R.offerWithdrawn, message: `offer withdrawn (${s.reason})` }];
    case 'empty':
      return [{ type: T.incomingPeering, status: 'False', reason: R.notPeered, message: 'no incoming peering' }];
    default:
      return [{ type: T.incomingPeering, status: 'Unknown', reason: INCOMING_PHASES[s.status], message: `incoming peering in progress: ${INCOMING_PHASES[s.status]}` }];
  }
}
