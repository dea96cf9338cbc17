// The consumer-side peering towards one remote: authenticate, request resources, take an offer,
// run a virtual node, and unpeer in reverse. Pure: see Decider in ../decider.ts.
import type { AuthenticationFailedData, OutgoingEvent } from '../../events/catalogue.js';
import { LIMITS } from '../../events/constants.js';
import { ConflictError, ERROR_CODES, InvalidTransitionError, ValidationError } from '../../errors.js';
import { isAfter, unexpectedEvent, unknownCommand, unknownStatus, type Decider } from '../decider.js';
import type {
  AcceptOffer,
  BlockPeering,
  CreateVirtualNode,
  FailureWords,
  MarkVirtualNodeDrained,
  OutgoingCommand,
  RecordDrainWaiting,
  WithdrawResourceRequest,
  ReceiveOffer,
  RecordAuthenticationFailure,
  RecordCertificate,
  RecordProviderHealth,
  RecordRenewalFailure,
  RecordRenewedCertificate,
  RefuseOffer,
  RequestIdentityRenewal,
  RequestIdentity,
  RequestPeering,
  RequestUnpeering,
} from './commands.js';
import {
  initialState,
  type Offer,
  type OutgoingState,
  type ReceivedIdentity,
  type RemoteCluster,
  type VirtualNode,
} from './state.js';

export { initialState };
export type { OutgoingCommand } from './commands.js';
export type { OutgoingState } from './state.js';

type Events = readonly OutgoingEvent[];
type StateOf<S extends OutgoingState['status']> = Extract<OutgoingState, { readonly status: S }>;

/** Coarse phases; commands that treat several statuses alike switch on these. */
type Phase = 'idle' | 'authenticating' | 'peered' | 'unpeering';

function phaseOf(state: OutgoingState): Phase {
  switch (state.status) {
    case 'empty':
    case 'blocked':
    case 'terminated':
      return 'idle';
    case 'peeringRequested':
    case 'identityRequested':
    case 'authenticationFailed':
      return 'authenticating';
    case 'authenticated':
    case 'resourcesRequested':
    case 'offerReceived':
    case 'offerAccepted':
    case 'offerRefused':
    case 'virtualNodeCreated':
    case 'virtualNodeReady':
      return 'peered';
    case 'unpeeringRequested':
    case 'virtualNodeDrained':
    case 'virtualNodeDeleted':
    case 'requestWithdrawn':
      return 'unpeering';
    default:
      return unknownStatus(state);
  }
}

function invalid(command: OutgoingCommand, state: OutgoingState, why: string): never {
  throw new InvalidTransitionError(command.type, state.status, why);
}

/** The virtual node that exists whatever the status (an offer update keeps the node running). */
function virtualNodeOf(state: OutgoingState): VirtualNode | null {
  switch (state.status) {
    case 'virtualNodeCreated':
    case 'virtualNodeReady':
    case 'virtualNodeDrained':
      return state.virtualNode;
    case 'unpeeringRequested':
      return state.virtualNode;
    case 'offerReceived':
      return state.accepted?.virtualNode ?? null;
    default:
      return null;
  }
}

function identityOf(state: OutgoingState): ReceivedIdentity | null {
  return 'identity' in state ? state.identity : null;
}

function sameOffer(command: { readonly offerName: string; readonly generation: number }, offer: Offer): boolean {
  return command.offerName === offer.offerName && command.generation === offer.generation;
}

/** A new object restarts generations, so another name is always news; the same name needs a higher one. */
function isNewerOffer(command: ReceiveOffer['data'], offer: Offer): boolean {
  return command.offerName !== offer.offerName || command.generation > offer.generation;
}

function offerMismatch(command: AcceptOffer | RefuseOffer, current: Offer): never {
  throw new ConflictError(
    ERROR_CODES.OfferMismatch,
    `${command.type} names offer ${command.data.offerName} generation ${command.data.generation}, ` +
      `but the current offer is ${current.offerName} generation ${current.generation}`,
  );
}

// ---- decide -----------------------------------------------------------------------------------------

export function decide(command: OutgoingCommand, state: OutgoingState): Events {
  switch (command.type) {
    case 'RequestPeering':
      return requestPeering(command, state);
    case 'BlockPeering':
      return blockPeering(command, state);
    case 'RecordProviderHealth':
      return recordProviderHealth(command, state);
    case 'RequestIdentity':
      return requestIdentity(command, state);
    case 'RecordCertificate':
      return recordCertificate(command, state);
    case 'RecordAuthenticationFailure':
      return recordAuthenticationFailure(command, state);
    case 'RequestIdentityRenewal':
      return requestIdentityRenewal(command, state);
    case 'RecordRenewedCertificate':
      return recordRenewedCertificate(command, state);
    case 'RecordRenewalFailure':
      return recordRenewalFailure(command, state);
    case 'RequestResources':
      if (state.status === 'authenticated') {
        return [{ type: 'ResourceRequested', data: { tenantNamespace: state.identity.tenantNamespace } }];
      }
      if (phaseOf(state) === 'peered') return [];
      return invalid(command, state, 'resources can be requested only once authenticated');
    case 'ReceiveOffer':
      return receiveOffer(command, state);
    case 'AcceptOffer':
      return acceptOffer(command, state);
    case 'RefuseOffer':
      return refuseOffer(command, state);
    case 'CreateVirtualNode':
      return createVirtualNode(command, state);
    case 'MarkVirtualNodeReady': {
      const node = virtualNodeOf(state);
      if (phaseOf(state) !== 'peered' || node === null) {
        return invalid(command, state, 'there is no running virtual node');
      }
      return node.ready ? [] : [{ type: 'VirtualNodeReady', data: { nodeName: node.nodeName } }];
    }
    case 'RequestUnpeering':
      return requestUnpeering(command, state);
    case 'MarkVirtualNodeCordoned':
      if (state.status === 'unpeeringRequested' && state.virtualNode !== null) {
        return state.cordoned ? [] : [{ type: 'VirtualNodeCordoned', data: { nodeName: state.virtualNode.nodeName } }];
      }
      return phaseOf(state) === 'peered' || phaseOf(state) === 'authenticating' ? invalid(command, state, 'unpeering has not been requested') : [];
    case 'RecordDrainWaiting':
      return recordDrainWaiting(command, state);
    case 'MarkVirtualNodeDrained':
      return markVirtualNodeDrained(command, state);
    case 'DeleteVirtualNode':
      switch (state.status) {
        case 'virtualNodeDrained':
          return [{ type: 'VirtualNodeDeleted', data: { nodeName: state.virtualNode.nodeName } }];
        case 'unpeeringRequested':
          if (state.virtualNode === null) return [];
          // A gone provider cannot run the offloaded pods' graceful eviction: force skips the drain.
          if (state.force) return [{ type: 'VirtualNodeDeleted', data: { nodeName: state.virtualNode.nodeName } }];
          return invalid(command, state, 'the virtual node must be drained first (or unpeering forced)');
        case 'virtualNodeDeleted':
        case 'requestWithdrawn':
        case 'empty':
        case 'blocked':
        case 'terminated':
          return [];
        default:
          return invalid(command, state, 'unpeering has not been requested');
      }
    case 'WithdrawResourceRequest':
      return withdrawResourceRequest(command, state);
    case 'RecordProviderEnded': {
      // Only a live peering can be ended by the other side; one already unpeering goes on as it is.
      const phase = phaseOf(state);
      if (phase !== 'peered' && phase !== 'authenticating') return [];
      return [{ type: 'ProviderEndedPeering', data: { reason: command.data.reason, message: command.data.message.slice(0, LIMITS.message) } }];
    }
    case 'RecordWithdrawalDelivered': {
      // Only a notice still owed is answered; a repeat (the answer already in the log) is nothing.
      if (!('remote' in state) || !state.remote?.pendingWithdrawal) return [];
      const { outcome, message } = command.data;
      return [{ type: 'WithdrawalDelivered', data: { outcome, message: message.slice(0, LIMITS.message) } }];
    }
    case 'TerminatePeering':
      switch (state.status) {
        case 'requestWithdrawn':
          return [{ type: 'PeeringTerminated', data: { force: state.force } }];
        case 'virtualNodeDeleted':
        case 'unpeeringRequested':
          if (state.status === 'unpeeringRequested' && state.virtualNode !== null) return invalid(command, state, 'the virtual node still exists');
          // Without an identity nothing was ever requested from the provider.
          if (state.identity === null) return [{ type: 'PeeringTerminated', data: { force: state.force } }];
          return invalid(command, state, 'the resource request must be withdrawn first');
        case 'virtualNodeDrained':
          return invalid(command, state, 'the virtual node still exists');
        case 'empty':
        case 'blocked':
        case 'terminated':
          return [];
        default:
          return invalid(command, state, 'unpeering has not been requested');
      }
    default:
      return unknownCommand(command);
  }
}

function markVirtualNodeDrained(command: MarkVirtualNodeDrained, state: OutgoingState): Events {
  switch (phaseOf(state)) {
    case 'idle':
      return [];
    case 'authenticating':
    case 'peered':
      return invalid(command, state, 'unpeering has not been requested');
    case 'unpeering':
      // Without a virtual node there is nothing to drain: the step is trivially done.
      return state.status === 'unpeeringRequested' && state.virtualNode !== null
        ? [{ type: 'VirtualNodeDrained', data: { nodeName: state.virtualNode.nodeName } }]
        : [];
  }
}

function recordDrainWaiting(command: RecordDrainWaiting, state: OutgoingState): Events {
  if (state.status !== 'unpeeringRequested' || state.virtualNode === null) {
    return phaseOf(state) === 'unpeering' || phaseOf(state) === 'idle' ? [] : invalid(command, state, 'unpeering has not been requested');
  }
  const d = command.data;
  if (!Number.isInteger(d.remaining) || d.remaining < 0) throw new ValidationError('remaining must be a whole number of pods', { field: 'remaining' });
  const waiting = { reason: d.reason, remaining: d.remaining, pod: d.pod ?? null, budget: d.budget ?? null, message: d.message.slice(0, LIMITS.message) };
  const w = state.waiting;
  // A drain that waits an hour on one budget is one event, not one per retry.
  if (w && w.reason === waiting.reason && w.remaining === waiting.remaining && w.pod === waiting.pod && w.budget === waiting.budget && w.message === waiting.message) return [];
  return [{ type: 'VirtualNodeDrainWaiting', data: { nodeName: state.virtualNode.nodeName, ...waiting } }];
}

function withdrawResourceRequest(command: WithdrawResourceRequest, state: OutgoingState): Events {
  const identity = identityOf(state);
  switch (state.status) {
    case 'virtualNodeDeleted':
    case 'unpeeringRequested':
      if (state.status === 'unpeeringRequested' && state.virtualNode !== null) return invalid(command, state, 'the virtual node still exists');
      if (identity === null) return [];
      if (!command.data.providerReached && !state.force && !command.data.overdue) return invalid(command, state, 'only a forced or overdue unpeering may leave the request at the provider');
      if (command.data.providerReached && command.data.notice) return invalid(command, state, 'a withdrawal notice is for a provider that was not reached');
      if (command.data.notice && command.data.notice.certFingerprint !== identity.certFingerprint) {
        return invalid(command, state, `the withdrawal notice is signed for certificate ${command.data.notice.certFingerprint}, not the identity's ${identity.certFingerprint}`);
      }
      return [{ type: 'ResourceRequestWithdrawn', data: { tenantNamespace: identity.tenantNamespace, providerReached: command.data.providerReached, notice: command.data.notice ?? null } }];
    case 'requestWithdrawn':
    case 'terminated':
    case 'empty':
    case 'blocked':
      return [];
    default:
      return invalid(command, state, phaseOf(state) === 'unpeering' ? 'the virtual node still exists' : 'unpeering has not been requested');
  }
}

function requestPeering(command: RequestPeering, state: OutgoingState): Events {
  const { remoteClusterId, remoteClusterName, authUrl } = command.data;
  const attempt = command.data.attempt ?? null;
  const requested: Events = [{ type: 'PeeringRequested', data: { remoteClusterId, remoteClusterName, authUrl, attempt } }];
  const phase = phaseOf(state);
  if (phase === 'idle') return requested;
  if (phase === 'unpeering') return invalid(command, state, 'wait until the current unpeering terminates');
  const remote = (state as Exclude<OutgoingState, StateOf<'empty' | 'blocked'>>).remote;
  if (remote.clusterId !== remoteClusterId) {
    throw new ConflictError(
      ERROR_CODES.RemoteClusterMismatch,
      `RequestPeering for cluster ${remoteClusterId} reached the stream of cluster ${remote.clusterId}`,
    );
  }
  if (remote.clusterName === remoteClusterName && remote.authUrl === authUrl) {
    // A refused attempt is tried again only when something was changed since (the ForeignCluster's
    // spec or its token Secret): the guard is the aggregate's, never the token itself.
    if (state.status === 'authenticationFailed' && attempt !== null && attempt !== (remote.attempt ?? null)) return requested;
    return [];
  }
  // Before an identity exists, new coordinates simply restart authentication against them.
  if (phase === 'authenticating') return requested;
  throw new ConflictError(
    ERROR_CODES.PeeringConflict,
    `cluster ${remoteClusterId} is already peered with name ${remote.clusterName} at ${remote.authUrl}; unpeer before changing them`,
  );
}

/** Bounded as the schema wants it: the provider's words are kept, not its essays. */
function words(w: FailureWords): Pick<AuthenticationFailedData, 'authUrl' | 'detail' | 'message'> {
  return {
    authUrl: w.authUrl ?? null,
    detail: w.detail === undefined ? null : w.detail.slice(0, LIMITS.reason),
    message: w.message === undefined ? null : w.message.slice(0, LIMITS.message),
  };
}

function sameWords(a: Pick<AuthenticationFailedData, 'authUrl' | 'detail' | 'message'>, b: Pick<AuthenticationFailedData, 'authUrl' | 'detail' | 'message'>): boolean {
  return (a.authUrl ?? null) === (b.authUrl ?? null) && (a.detail ?? null) === (b.detail ?? null) && (a.message ?? null) === (b.message ?? null);
}

function blockPeering(command: BlockPeering, state: OutgoingState): Events {
  const reason = command.data.reason;
  const message = command.data.message.slice(0, LIMITS.message) || reason;
  switch (phaseOf(state)) {
    case 'idle':
    case 'authenticating':
      if (state.status === 'blocked' && state.reason === reason && state.message === message) return [];
      return [{ type: 'PeeringBlocked', data: { reason, message } }];
    case 'peered':
    case 'unpeering':
      // An identity is held: the token no longer matters to this peering.
      return [];
  }
}

function recordProviderHealth(command: RecordProviderHealth, state: OutgoingState): Events {
  const identity = phaseOf(state) === 'peered' ? identityOf(state) : null;
  if (identity === null) return [];
  const ready = command.data.ready;
  const reason = ready ? null : (command.data.reason ?? 'ProviderUnreachable');
  const message = ready ? null : (command.data.message ?? reason ?? '').slice(0, LIMITS.message);
  const last = identity.health ?? { ready: true, reason: null, message: null };
  // A change, not a heartbeat: the same answer again is no news (another reason, or the same
  // reason for another cause, such as a second fault in the identity Secret, is).
  if (last.ready === ready && last.reason === reason && (ready || last.message === message)) return [];
  return [{ type: 'ProviderHealthChanged', data: { ready, reason, message } }];
}

function requestIdentity(command: RequestIdentity, state: OutgoingState): Events {
  const { publicKeyFingerprint, csrFingerprint } = command.data;
  const authFingerprint = command.data.authFingerprint ?? null;
  const requested: Events = [{ type: 'IdentityRequested', data: { publicKeyFingerprint, csrFingerprint, authFingerprint } }];
  switch (state.status) {
    case 'peeringRequested':
    case 'authenticationFailed':
      return requested;
    case 'identityRequested':
      // A new key replaces an unanswered request (e.g. the handler restarted and made a new key).
      return state.publicKeyFingerprint === publicKeyFingerprint && state.csrFingerprint === csrFingerprint && (state.remote.authFingerprint ?? null) === authFingerprint
        ? []
        : requested;
    default:
      break;
  }
  const identity = phaseOf(state) === 'peered' ? identityOf(state) : null;
  if (identity === null) return invalid(command, state, 'no peering is being established');
  if (identity.publicKeyFingerprint === publicKeyFingerprint) return [];
  // TODO(renewal): a second key is refused until certificate renewal is designed; it needs its own event.
  throw new ConflictError(ERROR_CODES.IdentityConflict, 'an identity was already issued for another key');
}

function recordCertificate(command: RecordCertificate, state: OutgoingState): Events {
  if (state.status === 'identityRequested') {
    if (!isAfter(command.data.notAfter, command.metadata.now)) {
      throw new ValidationError(`the certificate expired at ${command.data.notAfter}`, { field: 'notAfter' });
    }
    const { certFingerprint, notAfter, tenantNamespace, apiServerUrl } = command.data;
    return [{ type: 'CertIssued', data: { side: 'consumer', certFingerprint, notAfter, tenantNamespace, apiServerUrl } }];
  }
  const identity = phaseOf(state) === 'peered' ? identityOf(state) : null;
  if (identity === null) return invalid(command, state, 'no identity was requested');
  if (identity.certFingerprint === command.data.certFingerprint) return [];
  throw new ConflictError(ERROR_CODES.IdentityConflict, 'another certificate was already recorded for this peering');
}

/** The identity a renewal applies to: only a live peering renews (unpeering lets it lapse). */
function renewable(command: OutgoingCommand, state: OutgoingState): ReceivedIdentity {
  const identity = phaseOf(state) === 'peered' ? identityOf(state) : null;
  if (identity === null) return invalid(command, state, 'there is no identity to renew');
  return identity;
}

function requestIdentityRenewal(command: RequestIdentityRenewal, state: OutgoingState): Events {
  const identity = renewable(command, state);
  const { publicKeyFingerprint, csrFingerprint } = command.data;
  if (publicKeyFingerprint === identity.publicKeyFingerprint) {
    throw new ValidationError('a renewal needs a new key, not the current one', { field: 'publicKeyFingerprint' });
  }
  // The pending key asked again (a retry, with a fresh CSR): the request already stands.
  if (identity.renewal?.publicKeyFingerprint === publicKeyFingerprint) return [];
  return [{ type: 'IdentityRenewalRequested', data: { publicKeyFingerprint, csrFingerprint } }];
}

function recordRenewedCertificate(command: RecordRenewedCertificate, state: OutgoingState): Events {
  const identity = renewable(command, state);
  const { publicKeyFingerprint, certFingerprint, notAfter, tenantNamespace, apiServerUrl } = command.data;
  if (identity.certFingerprint === certFingerprint) return [];
  if (identity.renewal?.publicKeyFingerprint !== publicKeyFingerprint && identity.publicKeyFingerprint !== publicKeyFingerprint) {
    throw new ConflictError(ERROR_CODES.IdentityConflict, 'the renewed certificate is for a key no renewal asked for');
  }
  // A renewal changes the certificate, never where the identity works.
  if (tenantNamespace !== identity.tenantNamespace) {
    throw new ValidationError(`the renewal names tenant namespace ${tenantNamespace}, not ${identity.tenantNamespace}`, { field: 'tenantNamespace' });
  }
  if (apiServerUrl !== identity.apiServerUrl) {
    throw new ValidationError(`the renewal names API server ${apiServerUrl}, not ${identity.apiServerUrl}`, { field: 'apiServerUrl' });
  }
  if (!isAfter(notAfter, command.metadata.now)) {
    throw new ValidationError(`the certificate expired at ${notAfter}`, { field: 'notAfter' });
  }
  return [{
    type: 'CertRenewed',
    data: { side: 'consumer', previousCertFingerprint: identity.certFingerprint, publicKeyFingerprint, certFingerprint, notAfter },
  }];
}

function recordRenewalFailure(command: RecordRenewalFailure, state: OutgoingState): Events {
  const identity = renewable(command, state);
  const reason = command.data.reason;
  const httpStatus = command.data.httpStatus ?? null;
  const said = words(command.data);
  const last = identity.renewal?.failure;
  // A provider down for a day is one failure in the log, not one per retry.
  if (last && last.reason === reason && last.httpStatus === httpStatus && sameWords(last, said)) return [];
  return [{ type: 'IdentityRenewalFailed', data: { reason, httpStatus, ...said } }];
}

function recordAuthenticationFailure(command: RecordAuthenticationFailure, state: OutgoingState): Events {
  const reason = command.data.reason;
  const httpStatus = command.data.httpStatus ?? null;
  const said = words(command.data);
  switch (state.status) {
    case 'peeringRequested':
    case 'identityRequested':
      return [{ type: 'AuthenticationFailed', data: { reason, httpStatus, ...said } }];
    case 'authenticationFailed':
      return state.reason === reason && state.httpStatus === httpStatus && sameWords(state, said)
        ? []
        : [{ type: 'AuthenticationFailed', data: { reason, httpStatus, ...said } }];
    default:
      return invalid(
        command,
        state,
        phaseOf(state) === 'peered' ? 'the peering is already authenticated' : 'no authentication is under way',
      );
  }
}

function receiveOffer(command: ReceiveOffer, state: OutgoingState): Events {
  const { offerName, generation, resources } = command.data;
  const received: Events = [{ type: 'OfferReceived', data: { offerName, generation, resources } }];
  switch (state.status) {
    case 'resourcesRequested':
      return received;
    case 'offerReceived':
    case 'offerAccepted':
    case 'offerRefused':
    case 'virtualNodeCreated':
    case 'virtualNodeReady':
      // Watches replay old observations: an offer not newer than the known one is no news.
      return isNewerOffer(command.data, state.offer) ? received : [];
    case 'unpeeringRequested':
    case 'virtualNodeDrained':
    case 'virtualNodeDeleted':
    case 'requestWithdrawn':
    case 'terminated':
      // The provider's offer lingers until it sees the unpeering; it no longer matters.
      return [];
    default:
      return invalid(command, state, 'no resources were requested');
  }
}

function acceptOffer(command: AcceptOffer, state: OutgoingState): Events {
  switch (state.status) {
    case 'offerReceived':
    case 'offerRefused':
      // A refusal can be reversed while the refused offer still stands.
      if (!sameOffer(command.data, state.offer)) return offerMismatch(command, state.offer);
      return [{ type: 'OfferAccepted', data: { ...state.offer } }];
    case 'offerAccepted':
    case 'virtualNodeCreated':
    case 'virtualNodeReady':
      return sameOffer(command.data, state.offer) ? [] : offerMismatch(command, state.offer);
    default:
      return invalid(command, state, 'there is no offer to accept');
  }
}

function refuseOffer(command: RefuseOffer, state: OutgoingState): Events {
  switch (state.status) {
    case 'offerReceived': {
      if (!sameOffer(command.data, state.offer)) return offerMismatch(command, state.offer);
      const { offerName, generation, reason } = command.data;
      return [{ type: 'OfferRefused', data: { offerName, generation, reason } }];
    }
    case 'offerRefused':
      return sameOffer(command.data, state.offer) ? [] : offerMismatch(command, state.offer);
    case 'offerAccepted':
    case 'virtualNodeCreated':
    case 'virtualNodeReady':
      return invalid(command, state, 'the offer was already accepted; request unpeering instead');
    default:
      return invalid(command, state, 'there is no offer to refuse');
  }
}

function createVirtualNode(command: CreateVirtualNode, state: OutgoingState): Events {
  if (state.status === 'offerAccepted') {
    return [{ type: 'VirtualNodeCreated', data: { nodeName: command.data.nodeName, resources: state.offer.resources } }];
  }
  const node = phaseOf(state) === 'peered' ? virtualNodeOf(state) : null;
  if (node === null) return invalid(command, state, 'no offer has been accepted');
  if (node.nodeName === command.data.nodeName) return [];
  throw new ConflictError(
    ERROR_CODES.VirtualNodeConflict,
    `virtual node ${node.nodeName} already serves this peering; cannot create ${command.data.nodeName}`,
  );
}

function requestUnpeering(command: RequestUnpeering, state: OutgoingState): Events {
  const force = command.data.force ?? false;
  const drain = command.data.drain ?? true;
  switch (phaseOf(state)) {
    case 'idle':
      return [];
    case 'authenticating':
    case 'peered':
      return [{ type: 'UnpeeringRequested', data: { force, drain } }];
    case 'unpeering': {
      // Escalating is how an operator moves a waiting unpeering on: force for a provider that is
      // gone, a drain for pods left to finish on their own. Neither is ever taken back.
      const current = state as StateOf<'unpeeringRequested' | 'virtualNodeDrained' | 'virtualNodeDeleted' | 'requestWithdrawn'>;
      const currentDrain = current.status === 'unpeeringRequested' ? current.drain : true;
      const next = { force: current.force || force, drain: currentDrain || drain };
      return next.force !== current.force || next.drain !== currentDrain ? [{ type: 'UnpeeringRequested', data: next }] : [];
    }
  }
}

// ---- evolve -----------------------------------------------------------------------------------------

/**
 * Applies an event. decide never produces an event that does not fit the state it saw, so an event
 * that does not fit is left without effect rather than thrown on: a rebuild from the log must never
 * stop half way.
 */
export function evolve(state: OutgoingState, event: OutgoingEvent): OutgoingState {
  switch (event.type) {
    case 'PeeringRequested': {
      const { remoteClusterId, remoteClusterName, authUrl } = event.data;
      // The endpoint's certificate stays trusted while the endpoint is the same one.
      const before = 'remote' in state ? state.remote : null;
      const pin = before && before.clusterId === remoteClusterId && before.authUrl === authUrl ? (before.authFingerprint ?? null) : null;
      // A notice still owed to that provider goes with the new attempt, which delivers it first.
      const owed = before && before.clusterId === remoteClusterId ? before.pendingWithdrawal : undefined;
      const remote: RemoteCluster = { clusterId: remoteClusterId, clusterName: remoteClusterName, authUrl, attempt: event.data.attempt ?? null, authFingerprint: pin, ...(owed ? { pendingWithdrawal: owed } : {}) };
      return { status: 'peeringRequested', remote };
    }
    case 'PeeringBlocked':
      if (phaseOf(state) !== 'idle' && phaseOf(state) !== 'authenticating') return state;
      return { status: 'blocked', reason: event.data.reason, message: event.data.message, remote: 'remote' in state ? state.remote : null };
    case 'ProviderHealthChanged': {
      const { ready, reason, message } = event.data;
      return withIdentity(state, (identity) => ({ ...identity, health: { ready, reason, message } }));
    }
    case 'IdentityRequested': {
      if (phaseOf(state) !== 'authenticating') return state;
      const remote = (state as StateOf<'peeringRequested'>).remote;
      return {
        status: 'identityRequested',
        remote: { ...remote, authFingerprint: event.data.authFingerprint ?? remote.authFingerprint ?? null },
        publicKeyFingerprint: event.data.publicKeyFingerprint,
        csrFingerprint: event.data.csrFingerprint,
      };
    }
    case 'CertIssued': {
      if (state.status !== 'identityRequested') return state;
      const { certFingerprint, notAfter, tenantNamespace, apiServerUrl } = event.data;
      const identity: ReceivedIdentity = {
        publicKeyFingerprint: state.publicKeyFingerprint,
        certFingerprint,
        notAfter,
        tenantNamespace,
        apiServerUrl,
      };
      return { status: 'authenticated', remote: state.remote, identity };
    }
    case 'IdentityRenewalRequested': {
      const { publicKeyFingerprint, csrFingerprint } = event.data;
      return withIdentity(state, (identity) => ({ ...identity, renewal: { publicKeyFingerprint, csrFingerprint, failure: null } }));
    }
    case 'IdentityRenewalFailed': {
      const { reason, httpStatus, authUrl, detail, message } = event.data;
      const failure = { reason, httpStatus, authUrl: authUrl ?? null, detail: detail ?? null, message: message ?? null };
      return withIdentity(state, (identity) => (identity.renewal ? { ...identity, renewal: { ...identity.renewal, failure } } : identity));
    }
    case 'CertRenewed': {
      const { publicKeyFingerprint, certFingerprint, notAfter } = event.data;
      return withIdentity(state, (identity) => ({
        publicKeyFingerprint, certFingerprint, notAfter, tenantNamespace: identity.tenantNamespace, apiServerUrl: identity.apiServerUrl,
        ...(identity.health ? { health: identity.health } : {}),
      }));
    }
    case 'AuthenticationFailed':
      if (phaseOf(state) !== 'authenticating') return state;
      return {
        status: 'authenticationFailed',
        remote: (state as StateOf<'peeringRequested'>).remote,
        reason: event.data.reason,
        httpStatus: event.data.httpStatus,
        authUrl: event.data.authUrl ?? null,
        detail: event.data.detail ?? null,
        message: event.data.message ?? null,
      };
    case 'ResourceRequested':
      return state.status === 'authenticated' ? { ...state, status: 'resourcesRequested' } : state;
    case 'OfferReceived': {
      const offer: Offer = event.data;
      switch (state.status) {
        case 'resourcesRequested':
        case 'offerRefused':
          return { status: 'offerReceived', remote: state.remote, identity: state.identity, offer, accepted: null };
        case 'offerReceived':
          return { ...state, offer };
        case 'offerAccepted':
          return {
            status: 'offerReceived',
            remote: state.remote,
            identity: state.identity,
            offer,
            accepted: { offer: state.offer, virtualNode: null },
          };
        case 'virtualNodeCreated':
        case 'virtualNodeReady':
          return {
            status: 'offerReceived',
            remote: state.remote,
            identity: state.identity,
            offer,
            accepted: { offer: state.offer, virtualNode: state.virtualNode },
          };
        default:
          return state;
      }
    }
    case 'OfferAccepted': {
      if (state.status !== 'offerReceived' && state.status !== 'offerRefused') return state;
      const offer: Offer = event.data;
      const node = state.status === 'offerReceived' ? (state.accepted?.virtualNode ?? null) : null;
      // With a node already running, the accepted offer becomes its capacity (DESIGN §5).
      return withOffer(state.remote, state.identity, offer, node);
    }
    case 'OfferRefused':
      if (state.status !== 'offerReceived') return state;
      if (state.accepted !== null) {
        // Refusing an update keeps the earlier acceptance, and the node's capacity, in force.
        return withOffer(state.remote, state.identity, state.accepted.offer, state.accepted.virtualNode);
      }
      return {
        status: 'offerRefused',
        remote: state.remote,
        identity: state.identity,
        offer: state.offer,
        reason: event.data.reason,
      };
    case 'VirtualNodeCreated':
      if (state.status !== 'offerAccepted') return state;
      return { ...state, status: 'virtualNodeCreated', virtualNode: { nodeName: event.data.nodeName, ready: false } };
    case 'VirtualNodeReady':
      if (state.status === 'virtualNodeCreated') {
        return { ...state, status: 'virtualNodeReady', virtualNode: { ...state.virtualNode, ready: true } };
      }
      if (state.status === 'offerReceived' && state.accepted?.virtualNode != null) {
        return {
          ...state,
          accepted: { ...state.accepted, virtualNode: { ...state.accepted.virtualNode, ready: true } },
        };
      }
      return state;
    case 'ProviderEndedPeering': {
      // The same teardown as one asked for here (drained, not forced), its cause kept with the remote.
      const phase = phaseOf(state);
      if (phase !== 'peered' && phase !== 'authenticating') return state;
      const ended = evolve(state, { type: 'UnpeeringRequested', data: { force: false, drain: true } });
      return 'remote' in ended && ended.remote ? { ...ended, remote: { ...ended.remote, endedByProvider: event.data } } as OutgoingState : ended;
    }
    case 'UnpeeringRequested': {
      const drain = event.data.drain ?? true;
      switch (phaseOf(state)) {
        case 'authenticating':
        case 'peered':
          return {
            status: 'unpeeringRequested',
            remote: (state as StateOf<'peeringRequested'>).remote,
            identity: identityOf(state),
            virtualNode: virtualNodeOf(state),
            force: event.data.force,
            drain,
            cordoned: false,
            waiting: null,
          };
        case 'unpeering':
          return state.status === 'unpeeringRequested'
            ? { ...state, force: event.data.force, drain, waiting: drain !== state.drain ? null : state.waiting }
            : { ...(state as StateOf<'virtualNodeDrained' | 'virtualNodeDeleted' | 'requestWithdrawn'>), force: event.data.force };
        case 'idle':
          return state;
      }
      return state;
    }
    case 'VirtualNodeCordoned':
      return state.status === 'unpeeringRequested' && state.virtualNode !== null ? { ...state, cordoned: true } : state;
    case 'VirtualNodeDrainWaiting': {
      if (state.status !== 'unpeeringRequested' || state.virtualNode === null) return state;
      const { reason, remaining, pod, budget, message } = event.data;
      return { ...state, waiting: { reason, remaining, pod, budget, message } };
    }
    case 'VirtualNodeDrained':
      if (state.status !== 'unpeeringRequested' || state.virtualNode === null) return state;
      return { status: 'virtualNodeDrained', remote: state.remote, identity: state.identity, virtualNode: state.virtualNode, force: state.force };
    case 'VirtualNodeDeleted':
      if (state.status !== 'unpeeringRequested' && state.status !== 'virtualNodeDrained') return state;
      return { status: 'virtualNodeDeleted', remote: state.remote, identity: state.identity, force: state.force };
    case 'ResourceRequestWithdrawn':
      if ((state.status !== 'unpeeringRequested' && state.status !== 'virtualNodeDeleted') || state.identity === null) return state;
      return { status: 'requestWithdrawn', remote: state.remote, identity: state.identity, force: state.force, providerReached: event.data.providerReached, notice: event.data.notice ?? null };
    case 'PeeringTerminated':
      if (!('remote' in state) || !state.remote) return state;
      if (state.status === 'requestWithdrawn' && !state.providerReached) {
        const remote = state.notice ? { ...state.remote, pendingWithdrawal: state.notice } : state.remote;
        return { status: 'terminated', remote, providerReached: false };
      }
      return { status: 'terminated', remote: state.remote };
    case 'WithdrawalDelivered': {
      if (!('remote' in state) || !state.remote?.pendingWithdrawal) return state;
      const { pendingWithdrawal: _delivered, ...remote } = state.remote;
      return state.status === 'terminated'
        ? { status: 'terminated', remote, providerReached: true, delivered: event.data }
        : { ...state, remote } as OutgoingState;
    }
    default:
      return unexpectedEvent(event);
  }
}

/** The same state with its identity replaced; states without an identity are left as they are. */
function withIdentity(state: OutgoingState, change: (identity: ReceivedIdentity) => ReceivedIdentity): OutgoingState {
  if (!('identity' in state) || state.identity === null) return state;
  return { ...state, identity: change(state.identity) } as OutgoingState;
}

function withOffer(
  remote: RemoteCluster,
  identity: ReceivedIdentity,
  offer: Offer,
  virtualNode: VirtualNode | null,
): OutgoingState {
  if (virtualNode === null) return { status: 'offerAccepted', remote, identity, offer };
  return { status: virtualNode.ready ? 'virtualNodeReady' : 'virtualNodeCreated', remote, identity, offer, virtualNode };
}

/** Terminated means nothing of the peering remains; RequestPeering starts afresh on the same stream. */
export function isTerminal(state: OutgoingState): boolean {
  return state.status === 'terminated';
}

export const outgoingDecider: Decider<OutgoingCommand, OutgoingEvent, OutgoingState> = {
  initialState,
  decide,
  evolve,
  isTerminal,
};
