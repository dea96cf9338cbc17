// The ForeignCluster status (DESIGN §5): where each direction of a peering stands and why, forged
// from the aggregates' states. Conditions keep their lastTransitionTime while their status holds.
import type { OutgoingState } from '../commands/outgoing/state.js';
import type { IncomingState } from '../commands/incoming/state.js';

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
}

/** Details the log does not hold but the status should tell (the provider's words, an address tried). */
export interface OutgoingDetail {
  readonly reason?: string;
  readonly message?: string;
}

const OUTGOING_PHASES: Record<OutgoingState['status'], string> = {
  empty: 'None',
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
  terminated: 'Terminated',
};

const INCOMING_PHASES: Record<IncomingState['status'], string> = {
  empty: 'None',
  tokenRejected: 'AuthenticationFailed',
  tokenValidated: 'Authenticating',
  authenticated: 'Authenticated',
  resourcesRequested: 'ResourcesRequested',
  offered: 'Established',
  offerWithdrawn: 'Withdrawn',
  revoked: 'Revoked',
};

export function outgoingPhase(s: OutgoingState): string { return OUTGOING_PHASES[s.status]; }
export function incomingPhase(s: IncomingState): string { return INCOMING_PHASES[s.status]; }

type Draft = Omit<Condition, 'lastTransitionTime'>;

const AUTH_FAILURE_REASONS: Record<string, string> = { Unreachable: 'ProviderUnreachable' };

/** The node in force, whatever the status: an update waiting for a decision keeps the running one. */
function nodeOf(s: OutgoingState): { nodeName: string; ready: boolean } | null {
  if ('virtualNode' in s && s.virtualNode) return s.virtualNode;
  if (s.status === 'offerReceived' && s.accepted?.virtualNode) return s.accepted.virtualNode;
  return null;
}

function outgoingConditions(s: OutgoingState, detail: OutgoingDetail, now: string): Draft[] {
  const identity = 'identity' in s && s.identity ? s.identity : null;
  const out: Draft[] = [];
  if (s.status === 'authenticationFailed') {
    const reason = detail.reason ?? AUTH_FAILURE_REASONS[s.reason] ?? s.reason;
    const message = detail.message ?? `the provider answered ${s.httpStatus ?? 'nothing'} (${s.reason})`;
    out.push({ type: 'Authenticated', status: 'False', reason, message });
    out.push({ type: 'OutgoingPeering', status: 'False', reason, message: `authentication failed: ${message}` });
  } else if (identity && detail.reason === 'IdentitySecretInvalid') {
    // The log holds an identity, but the Secret that should carry it was refused: nothing uses it.
    out.push({ type: 'Authenticated', status: 'False', reason: 'IdentitySecretInvalid', message: detail.message ?? 'the identity Secret is refused' });
  } else if (identity && Date.parse(identity.notAfter) <= Date.parse(now)) {
    // Past notAfter nothing authenticates; the log says whether renewing was tried and how it failed.
    const f = identity.renewal?.failure;
    out.push({ type: 'Authenticated', status: 'False', reason: 'IdentityExpired', message: `the identity expired at ${identity.notAfter}${f ? `; renewing it failed: the provider answered ${f.httpStatus ?? 'nothing'} (${f.reason})` : ''}` });
  } else if (identity && identity.renewal?.failure) {
    // Still authenticated until notAfter; the log says the renewal keeps failing.
    const f = identity.renewal.failure;
    const why = detail.reason === 'IdentityRenewalFailed' && detail.message ? detail.message : `the provider answered ${f.httpStatus ?? 'nothing'} (${f.reason})`;
    out.push({ type: 'Authenticated', status: 'True', reason: 'IdentityRenewalFailed', message: `identity valid until ${identity.notAfter}; renewing it failed: ${why}` });
  } else if (identity) {
    out.push({ type: 'Authenticated', status: 'True', reason: 'IdentityIssued', message: `identity valid until ${identity.notAfter}, tenant namespace ${identity.tenantNamespace} at ${identity.apiServerUrl}` });
  } else if ((s.status === 'empty' || s.status === 'terminated') && detail.reason) {
    // Stopped before the first command: a missing or refused token Secret, no auth URL.
    out.push({ type: 'Authenticated', status: 'False', reason: detail.reason, message: detail.message ?? detail.reason });
  } else if (s.status === 'peeringRequested' || s.status === 'identityRequested') {
    out.push({ type: 'Authenticated', status: 'Unknown', reason: detail.reason ?? 'Authenticating', message: detail.message ?? 'asking the provider for an identity' });
  }
  const phase = OUTGOING_PHASES[s.status];
  if (detail.reason === 'UnpeeringNotSupported' && s.status !== 'authenticationFailed') {
    // The user asked to stop; the peering still stands, and the condition says why.
    out.push({ type: 'OutgoingPeering', status: s.status === 'virtualNodeReady' ? 'True' : 'Unknown', reason: 'UnpeeringNotSupported', message: detail.message ?? 'unpeering is not implemented yet' });
  } else if (s.status === 'virtualNodeReady') {
    out.push({ type: 'OutgoingPeering', status: 'True', reason: 'Established', message: `virtual node ${s.virtualNode.nodeName} offers ${s.offer.resources.cpu} CPU, ${s.offer.resources.memory} memory, ${s.offer.resources.pods} pods` });
  } else if (s.status === 'offerReceived' && s.accepted?.virtualNode?.ready) {
    out.push({ type: 'OutgoingPeering', status: 'True', reason: 'Established', message: `virtual node ${s.accepted.virtualNode.nodeName} runs on offer generation ${s.accepted.offer.generation}; generation ${s.offer.generation} awaits a decision` });
  } else if (s.status === 'offerRefused') {
    out.push({ type: 'OutgoingPeering', status: 'False', reason: 'OfferRefused', message: `offer ${s.offer.offerName} refused (${s.reason})` });
  } else if (s.status === 'terminated' || s.status === 'empty') {
    out.push({ type: 'OutgoingPeering', status: 'False', reason: detail.reason ?? (s.status === 'empty' ? 'NotPeered' : 'Terminated'), message: detail.message ?? 'no outgoing peering' });
  } else if (s.status !== 'authenticationFailed') {
    out.push({ type: 'OutgoingPeering', status: 'Unknown', reason: detail.reason ?? phase, message: detail.message ?? `peering in progress: ${phase}` });
  }
  const node = nodeOf(s);
  if (node) {
    out.push(node.ready
      ? { type: 'VirtualNodeReady', status: 'True', reason: 'NodeReady', message: `node ${node.nodeName} is Ready` }
      : { type: 'VirtualNodeReady', status: 'False', reason: 'NodeStarting', message: `node ${node.nodeName} created, not Ready yet` });
  } else {
    out.push({ type: 'VirtualNodeReady', status: 'False', reason: 'NoVirtualNode', message: 'no virtual node for this peering' });
  }
  return out;
}

function incomingConditions(s: IncomingState): Draft[] {
  switch (s.status) {
    case 'offered':
      return [{ type: 'IncomingPeering', status: 'True', reason: 'Established', message: `offering ${s.offer.resources.cpu} CPU, ${s.offer.resources.memory} memory, ${s.offer.resources.pods} pods as ${s.offer.offerName}` }];
    case 'tokenRejected':
      return [{ type: 'IncomingPeering', status: 'False', reason: 'TokenRejected', message: `the last ${s.failedAttempts} attempt(s) presented a bad token (${s.reason})` }];
    case 'revoked':
      return [{ type: 'IncomingPeering', status: 'False', reason: 'IdentityRevoked', message: 'the identity was revoked' }];
    case 'offerWithdrawn':
      return [{ type: 'IncomingPeering', status: 'False', reason: 'OfferWithdrawn', message: `offer withdrawn (${s.reason})` }];
    case 'empty':
      return [{ type: 'IncomingPeering', status: 'False', reason: 'NotPeered', message: 'no incoming peering' }];
    default:
      return [{ type: 'IncomingPeering', status: 'Unknown', reason: INCOMING_PHASES[s.status], message: `incoming peering in progress: ${INCOMING_PHASES[s.status]}` }];
  }
}

/** Keeps the previous lastTransitionTime of a condition whose status did not change. */
function stamp(drafts: readonly Draft[], previous: readonly Condition[], now: string): Condition[] {
  return drafts.map((d) => {
    const p = previous.find((c) => c.type === d.type);
    return { ...d, lastTransitionTime: p && p.status === d.status ? p.lastTransitionTime : now };
  });
}

export interface ForeignClusterStatus {
  readonly conditions: Condition[];
  readonly outgoing?: { phase: string; tenantNamespace?: string; virtualNode?: string; authFingerprint?: string };
  readonly incoming?: { phase: string; tenantNamespace?: string };
}

export function forgeForeignClusterStatus(p: {
  outgoing?: OutgoingState; incoming?: IncomingState; detail?: OutgoingDetail; previous?: readonly Condition[]; now: string;
  /** The provider endpoint's certificate fingerprint this cluster trusts (pinned on first contact). */
  authFingerprint?: string;
}): ForeignClusterStatus {
  const drafts: Draft[] = [];
  const status: { conditions: Condition[]; outgoing?: ForeignClusterStatus['outgoing']; incoming?: ForeignClusterStatus['incoming'] } = { conditions: [] };
  if (p.outgoing) {
    drafts.push(...outgoingConditions(p.outgoing, p.detail ?? {}, p.now));
    const s = p.outgoing;
    const node = nodeOf(s);
    status.outgoing = {
      // An offer update does not make a running peering look unestablished.
      phase: s.status === 'offerReceived' && node?.ready ? 'Established' : OUTGOING_PHASES[s.status],
      ...('identity' in s && s.identity ? { tenantNamespace: s.identity.tenantNamespace } : {}),
      ...(node ? { virtualNode: node.nodeName } : {}),
      ...(p.authFingerprint ? { authFingerprint: p.authFingerprint } : {}),
    };
  }
  if (p.incoming) {
    drafts.push(...incomingConditions(p.incoming));
    const s = p.incoming;
    status.incoming = { phase: INCOMING_PHASES[s.status], ...('identity' in s ? { tenantNamespace: s.identity.tenantNamespace } : {}) };
  }
  status.conditions = stamp(drafts, p.previous ?? [], p.now);
  return status;
}
