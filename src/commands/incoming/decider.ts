// The provider-side peering from one consumer: validate its token, sign its identity, answer its
// resource request with an offer kept up to date, and take it all back. Pure: see ../decider.ts.
import type { IncomingEvent } from '../../events/catalogue.js';
import { resourcesChangedBeyond, resourcesEqual } from '../../events/quantity.js';
import { DEFAULT_OFFER_UPDATE_THRESHOLD_PERCENT } from '../constants.js';
import { isAfter, unexpectedEvent, unknownCommand, unknownStatus, type Decider } from '../decider.js';
import { ConflictError, ERROR_CODES, InvalidTransitionError, ValidationError } from '../../errors.js';
import type {
  IncomingCommand,
  IssueCertificate,
  IssueOffer,
  ReceiveNamespaceOffload,
  ReceiveResourceRequest,
  RecordRemoteNamespace,
  RenewCertificate,
  RevokeIdentity,
  UpdateOffer,
  ValidateToken,
} from './commands.js';
import { initialState, type IncomingState, type IssuedIdentity } from './state.js';
import { own } from '../pods/state.js';

export { initialState };
export type { IncomingCommand } from './commands.js';
export type { IncomingState } from './state.js';

type Events = readonly IncomingEvent[];

function invalid(command: IncomingCommand, state: IncomingState, why: string): never {
  throw new InvalidTransitionError(command.type, state.status, why);
}

function identityOf(state: IncomingState): IssuedIdentity | null {
  return 'identity' in state ? state.identity : null;
}

/** The last identity lifetime opened on the stream: 0 while none was (or only v1 ones, which name none). */
function lastLifetimeOf(state: IncomingState): number {
  if ('identity' in state) return state.identity.lifetime ?? 0;
  if (state.status === 'tokenValidated' || state.status === 'revoked') return state.lastLifetime ?? 0;
  return 0;
}

/** `lastLifetime` as the states between identities keep it (absent when 0, as before lifetimes). */
function keptLifetime(state: IncomingState): { readonly lastLifetime?: number } {
  const last = lastLifetimeOf(state);
  return last > 0 ? { lastLifetime: last } : {};
}

/**
 * The lifetime the next certificate signed for this stream opens (a first identity, a renewal, a
 * peering again): one past the last, so its Kubernetes user was never bound before. The provider
 * signs the CN with it before recording; decide refuses it if another certificate opened it meanwhile.
 */
export function nextLifetime(state: IncomingState): number {
  return lastLifetimeOf(state) + 1;
}

function checkLifetime(lifetime: number, state: IncomingState): void {
  const next = nextLifetime(state);
  if (lifetime !== next) {
    throw new ConflictError(ERROR_CODES.IdentityConflict, `the certificate was signed for identity lifetime ${lifetime}, but the next is ${next}: another certificate was recorded meanwhile`);
  }
}

// ---- decide -----------------------------------------------------------------------------------------

export function decide(command: IncomingCommand, state: IncomingState): Events {
  switch (command.type) {
    case 'ValidateToken':
      return validateToken(command, state);
    case 'IssueCertificate':
      return issueCertificate(command, state);
    case 'RenewCertificate':
      return renewCertificate(command, state);
    case 'ReceiveResourceRequest':
      return receiveResourceRequest(command, state);
    case 'IssueOffer':
      return issueOffer(command, state);
    case 'UpdateOffer':
      return updateOffer(command, state);
    case 'WithdrawOffer':
      // Withdrawing what was never offered (or already withdrawn) leaves nothing to do.
      return state.status === 'offered'
        ? [{ type: 'OfferWithdrawn', data: { offerName: state.offer.offerName, reason: command.data.reason } }]
        : [];
    case 'RevokeIdentity':
      return revokeIdentity(command, state);
    case 'ReceiveNamespaceOffload':
      return receiveNamespaceOffload(command, state);
    case 'RecordRemoteNamespace':
      return recordRemoteNamespace(command, state);
    default:
      return unknownCommand(command);
  }
}

function validateToken(command: ValidateToken, state: IncomingState): Events {
  const { remoteClusterId, remoteClusterName } = command.data;
  if ('remote' in state && state.remote.clusterId !== remoteClusterId) {
    throw new ConflictError(
      ERROR_CODES.RemoteClusterMismatch,
      `a token for cluster ${remoteClusterId} reached the stream of cluster ${state.remote.clusterId}`,
    );
  }
  if (command.data.outcome === 'invalid') {
    // Every failed attempt is recorded, whatever the state: the audit trail of who tried what.
    return [{ type: 'TokenRejected', data: { reason: command.data.reason } }];
  }
  switch (state.status) {
    case 'empty':
    case 'tokenRejected':
    case 'revoked':
      return [{ type: 'TokenValidated', data: { remoteClusterId, remoteClusterName } }];
    case 'tokenValidated':
    case 'authenticated':
    case 'resourcesRequested':
    case 'offered':
      return [];
    case 'offerWithdrawn':
      return invalid(command, state, 'the peering is being torn down; retry once the identity is revoked');
    default:
      return unknownStatus(state);
  }
}

function issueCertificate(command: IssueCertificate, state: IncomingState): Events {
  const { publicKeyFingerprint, certFingerprint, serialNumber, notAfter, tenantNamespace, lifetime, signer } = command.data;
  if (state.status === 'tokenValidated') {
    if (!isAfter(notAfter, command.metadata.now)) {
      throw new ValidationError(`the certificate would expire at ${notAfter}, before now`, { field: 'notAfter' });
    }
    checkLifetime(lifetime, state);
    return [
      {
        type: 'CertIssued',
        data: { side: 'provider', publicKeyFingerprint, certFingerprint, serialNumber, notAfter, tenantNamespace, lifetime, signer },
      },
    ];
  }
  const identity = identityOf(state);
  if (identity === null) return invalid(command, state, 'no token has been validated');
  // The same key asking again is the consumer retrying: its identity already stands.
  if (identity.publicKeyFingerprint === publicKeyFingerprint) return [];
  throw new ConflictError(
    ERROR_CODES.IdentityConflict,
    'this cluster already holds an identity for another key; unpeer first or present the same key',
  );
}

function renewCertificate(command: RenewCertificate, state: IncomingState): Events {
  const { previousCertFingerprint, publicKeyFingerprint, certFingerprint, serialNumber, notAfter, lifetime, signer } = command.data;
  switch (state.status) {
    case 'authenticated':
    case 'resourcesRequested':
    case 'offered':
      break;
    default:
      return invalid(command, state, 'there is no standing identity to renew');
  }
  if (state.identity.certFingerprint === certFingerprint) return [];
  // Two renewals racing from one identity: the first recorded wins, the other replaced nothing.
  if (state.identity.certFingerprint !== previousCertFingerprint) {
    throw new ConflictError(ERROR_CODES.IdentityConflict, 'the identity was renewed meanwhile; renew from the current certificate');
  }
  if (!isAfter(notAfter, command.metadata.now)) {
    throw new ValidationError(`the certificate would expire at ${notAfter}, before now`, { field: 'notAfter' });
  }
  checkLifetime(lifetime, state);
  return [{ type: 'CertRenewed', data: { side: 'provider', previousCertFingerprint, publicKeyFingerprint, certFingerprint, serialNumber, notAfter, lifetime, signer } }];
}

function receiveResourceRequest(command: ReceiveResourceRequest, state: IncomingState): Events {
  switch (state.status) {
    case 'authenticated':
      return [
        {
          type: 'ResourceRequestReceived',
          data: { requestName: command.data.requestName, tenantNamespace: state.identity.tenantNamespace },
        },
      ];
    case 'resourcesRequested':
    case 'offered':
      if (state.requestName === command.data.requestName) return [];
      throw new ConflictError(
        ERROR_CODES.ResourceRequestConflict,
        `resource request ${state.requestName} is already being served; cannot take ${command.data.requestName}`,
      );
    default:
      return invalid(command, state, 'the cluster is not authenticated');
  }
}

function issueOffer(command: IssueOffer, state: IncomingState): Events {
  const { offerName, resources } = command.data;
  switch (state.status) {
    case 'resourcesRequested':
      return [{ type: 'OfferIssued', data: { offerName, resources } }];
    case 'offered':
      if (state.offer.offerName === offerName && resourcesEqual(state.offer.resources, resources)) return [];
      throw new ConflictError(
        ERROR_CODES.OfferConflict,
        `offer ${state.offer.offerName} is already issued; change it with UpdateOffer`,
      );
    default:
      return invalid(command, state, 'there is no resource request to answer');
  }
}

function updateOffer(command: UpdateOffer, state: IncomingState): Events {
  if (state.status !== 'offered') return invalid(command, state, 'there is no offer to update');
  const threshold = command.data.thresholdPercent ?? DEFAULT_OFFER_UPDATE_THRESHOLD_PERCENT;
  // Small drifts are not worth a round trip to the consumer; they accumulate against the last
  // issued figures, so a slow drift still triggers an update once it adds up.
  if (!resourcesChangedBeyond(state.offer.resources, command.data.resources, threshold)) return [];
  return [{ type: 'OfferUpdated', data: { offerName: state.offer.offerName, resources: command.data.resources } }];
}

function revokeIdentity(command: RevokeIdentity, state: IncomingState): Events {
  const reason = command.data.reason;
  switch (state.status) {
    case 'tokenValidated':
      return [{ type: 'IdentityRevoked', data: { reason, certSerialNumber: null } }];
    case 'authenticated':
    case 'resourcesRequested':
    case 'offerWithdrawn':
      return [{ type: 'IdentityRevoked', data: { reason, certSerialNumber: state.identity.serialNumber } }];
    case 'offered':
      // The consumer must see the offer go before its identity stops working.
      return invalid(command, state, 'withdraw the offer first');
    case 'empty':
    case 'tokenRejected':
    case 'revoked':
      return [];
    default:
      return unknownStatus(state);
  }
}

function receiveNamespaceOffload(command: ReceiveNamespaceOffload, state: IncomingState): Events {
  // Offloading runs on an offer in force: before it, or once withdrawn, there is nothing to run on.
  if (state.status !== 'offered') return invalid(command, state, 'there is no offer in force');
  const out: IncomingEvent[] = [];
  for (const { namespace, remoteNamespace } of command.data.namespaces) {
    if (own(state.namespaces, namespace) || out.some((e) => e.type === 'NamespaceOffloadReceived' && e.data.namespace === namespace)) continue;
    out.push({ type: 'NamespaceOffloadReceived', data: { namespace, remoteNamespace } });
  }
  return out;
}

function recordRemoteNamespace(command: RecordRemoteNamespace, state: IncomingState): Events {
  const d = command.data;
  const known = 'namespaces' in state ? own(state.namespaces, d.namespace) : undefined;
  if (!known || known.remoteNamespace !== d.remoteNamespace) return [];
  if (d.created) return known.phase === 'Created' ? [] : [{ type: 'RemoteNamespaceCreated', data: { namespace: d.namespace, remoteNamespace: d.remoteNamespace } }];
  // A namespace once created stays granted: a later failure to re-apply it is transient, never a refusal.
  if (known.phase === 'Created') return [];
  if (known.phase === 'Refused' && known.reason === d.reason && known.message === d.message) return [];
  return [{ type: 'RemoteNamespaceRefused', data: { namespace: d.namespace, remoteNamespace: d.remoteNamespace, reason: d.reason, message: d.message } }];
}

// ---- evolve -----------------------------------------------------------------------------------------

/** Events that do not fit the state are left without effect, as in the outgoing decider. */
export function evolve(state: IncomingState, event: IncomingEvent): IncomingState {
  switch (event.type) {
    case 'TokenValidated':
      return {
        status: 'tokenValidated',
        remote: { clusterId: event.data.remoteClusterId, clusterName: event.data.remoteClusterName },
        ...keptLifetime(state),
      };
    case 'TokenRejected':
      if (state.status === 'empty') return { status: 'tokenRejected', reason: event.data.reason, failedAttempts: 1 };
      if (state.status === 'tokenRejected') {
        return { status: 'tokenRejected', reason: event.data.reason, failedAttempts: state.failedAttempts + 1 };
      }
      // Failed attempts against a granted or revoked peering are audit records only.
      return state;
    case 'CertIssued': {
      if (state.status !== 'tokenValidated') return state;
      const { publicKeyFingerprint, certFingerprint, serialNumber, notAfter, tenantNamespace, lifetime } = event.data;
      return {
        status: 'authenticated',
        remote: state.remote,
        identity: { publicKeyFingerprint, certFingerprint, serialNumber, notAfter, tenantNamespace, ...(lifetime === undefined ? {} : { lifetime }) },
      };
    }
    case 'CertRenewed': {
      if (!('identity' in state)) return state;
      const { publicKeyFingerprint, certFingerprint, serialNumber, notAfter, lifetime } = event.data;
      const { tenantNamespace } = state.identity;
      return { ...state, identity: { publicKeyFingerprint, certFingerprint, serialNumber, notAfter, tenantNamespace, ...(lifetime === undefined ? {} : { lifetime }) } };
    }
    case 'ResourceRequestReceived':
      if (state.status !== 'authenticated') return state;
      return { ...state, status: 'resourcesRequested', requestName: event.data.requestName };
    case 'OfferIssued':
      if (state.status !== 'resourcesRequested') return state;
      return { ...state, status: 'offered', offer: { offerName: event.data.offerName, resources: event.data.resources } };
    case 'OfferUpdated':
      if (state.status !== 'offered') return state;
      return { ...state, offer: { offerName: event.data.offerName, resources: event.data.resources } };
    case 'OfferWithdrawn':
      if (state.status !== 'offered') return state;
      return { ...state, status: 'offerWithdrawn', reason: event.data.reason };
    case 'IdentityRevoked':
      return 'remote' in state ? { status: 'revoked', remote: state.remote, ...keptLifetime(state) } : state;
    case 'NamespaceOffloadReceived':
    case 'RemoteNamespaceCreated':
    case 'RemoteNamespaceRefused': {
      if (!('identity' in state)) return state;
      const { namespace, remoteNamespace } = event.data;
      const known = own(state.namespaces, namespace);
      if (event.type !== 'NamespaceOffloadReceived' && !known) return state;
      const next = event.type === 'NamespaceOffloadReceived'
        ? { namespace, remoteNamespace, phase: 'Received' as const, reason: null, message: null }
        : event.type === 'RemoteNamespaceCreated'
          ? { namespace, remoteNamespace, phase: 'Created' as const, reason: null, message: null }
          : { namespace, remoteNamespace, phase: 'Refused' as const, reason: event.data.reason, message: event.data.message };
      return { ...state, namespaces: { ...(state.namespaces ?? {}), [namespace]: next } };
    }
    default:
      return unexpectedEvent(event);
  }
}

/** Revoked: nothing granted remains; a valid token starts a new lifecycle on the same stream. */
export function isTerminal(state: IncomingState): boolean {
  return state.status === 'revoked';
}

export const incomingDecider: Decider<IncomingCommand, IncomingEvent, IncomingState> = {
  initialState,
  decide,
  evolve,
  isTerminal,
};
