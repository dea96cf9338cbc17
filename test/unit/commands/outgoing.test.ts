import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldEvents } from '../../../src/commands/decider.js';
import {
  ConflictError,
  InvalidTransitionError,
  ValidationError,
  PeerlogError,
} from '../../../src/errors.js';
import { outgoingDecider, decide, evolve, isTerminal } from '../../../src/commands/outgoing/decider.js';
import type { OutgoingCommand } from '../../../src/commands/outgoing/commands.js';
import type { OutgoingState } from '../../../src/commands/outgoing/state.js';
import type { OutgoingEvent, OfferData } from '../../../src/events/catalogue.js';
import { decideMatrix, emits, metadata, nothing, throws, when, type Given } from './harness.js';

// ---- fixtures -----------------------------------------------------------------------------------------

interface RemoteData {
  readonly remoteClusterId: string;
  readonly remoteClusterName: string;
  readonly authUrl: string;
  readonly attempt?: string;
}
const REMOTE: RemoteData = { remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta', authUrl: 'https://127.0.0.1:7443' };
const KEY = 'a'.repeat(64);
const CSR = 'b'.repeat(64);
const OTHER_KEY = 'e'.repeat(64);
const OTHER_CSR = 'f'.repeat(64);
const CERT = 'c'.repeat(64);
const OTHER_CERT = 'd'.repeat(64);
const NOT_AFTER = '2026-03-01T12:00:00.000Z';
const RENEWED_NOT_AFTER = '2026-06-01T12:00:00.000Z';
const TENANT = 'peerlog-tenant-beta-7f3c';
/** A forced unpeering's signed notice for CERT (the signature is opaque to the decider). */
const NOTICE = { certFingerprint: CERT, signedAt: '2026-12-03T09:00:00.000Z', signature: 'c2lnbmVk' };
const API_SERVER = 'https://127.0.0.1:6443';
const NODE = 'peerlog-beta';
const OFFER_1: OfferData = { offerName: 'beta-offer', generation: 1, resources: { cpu: '4', memory: '8Gi', pods: '110' } };
const PIN = '9'.repeat(64);
const ATTEMPT = '2/7';
const OFFER_2: OfferData = { offerName: 'beta-offer', generation: 2, resources: { cpu: '6', memory: '8Gi', pods: '110' } };

const cmd = {
  requestPeering: (data: Partial<RemoteData> = {}): OutgoingCommand => ({
    type: 'RequestPeering',
    data: { ...REMOTE, ...data },
    metadata,
  }),
  requestIdentity: (publicKeyFingerprint = KEY, csrFingerprint = CSR, authFingerprint?: string): OutgoingCommand => ({
    type: 'RequestIdentity',
    data: authFingerprint === undefined ? { publicKeyFingerprint, csrFingerprint } : { publicKeyFingerprint, csrFingerprint, authFingerprint },
    metadata,
  }),
  blockPeering: (reason: 'TokenMissing' | 'TokenMalformed' | 'TokenSecretNotAllowed' | 'MissingAuthUrl' = 'TokenMissing', message = 'secret peerlog/beta-token does not exist'): OutgoingCommand => ({
    type: 'BlockPeering',
    data: { reason, message },
    metadata,
  }),
  recordProviderHealth: (data: { ready: boolean; reason?: 'ProviderUnauthorized' | 'IdentityExpired' | 'ProviderUnreachable' | 'IdentitySecretInvalid'; message?: string }): OutgoingCommand => ({
    type: 'RecordProviderHealth',
    data,
    metadata,
  }),
  recordCertificate: (certFingerprint = CERT, notAfter = NOT_AFTER): OutgoingCommand => ({
    type: 'RecordCertificate',
    data: { certFingerprint, notAfter, tenantNamespace: TENANT, apiServerUrl: API_SERVER },
    metadata,
  }),
  recordAuthenticationFailure: (reason: 'TokenRejected' | 'Unreachable' = 'TokenRejected', words: { authUrl?: string; detail?: string; message?: string } = {}): OutgoingCommand => ({
    type: 'RecordAuthenticationFailure',
    data: reason === 'TokenRejected' ? { reason, httpStatus: 401, ...words } : { reason, ...words },
    metadata,
  }),
  requestResources: (): OutgoingCommand => ({ type: 'RequestResources', data: {}, metadata }),
  receiveOffer: (offer: OfferData): OutgoingCommand => ({ type: 'ReceiveOffer', data: offer, metadata }),
  acceptOffer: (offer: OfferData): OutgoingCommand => ({
    type: 'AcceptOffer',
    data: { offerName: offer.offerName, generation: offer.generation },
    metadata,
  }),
  refuseOffer: (offer: OfferData): OutgoingCommand => ({
    type: 'RefuseOffer',
    data: { offerName: offer.offerName, generation: offer.generation, reason: 'InsufficientResources' },
    metadata,
  }),
  createVirtualNode: (nodeName = NODE): OutgoingCommand => ({ type: 'CreateVirtualNode', data: { nodeName }, metadata }),
  markVirtualNodeReady: (): OutgoingCommand => ({ type: 'MarkVirtualNodeReady', data: {}, metadata }),
  requestUnpeering: (force?: boolean, drain?: boolean): OutgoingCommand => ({
    type: 'RequestUnpeering',
    data: { ...(force === undefined ? {} : { force }), ...(drain === undefined ? {} : { drain }) },
    metadata,
  }),
  markVirtualNodeCordoned: (): OutgoingCommand => ({ type: 'MarkVirtualNodeCordoned', data: {}, metadata }),
  recordDrainWaiting: (p: { reason?: 'PodDisruptionBudget' | 'EvictionRefused' | 'WaitingForPods'; remaining?: number; pod?: string; budget?: string; message?: string } = {}): OutgoingCommand => ({
    type: 'RecordDrainWaiting',
    data: {
      reason: p.reason ?? 'PodDisruptionBudget', remaining: p.remaining ?? 3, message: p.message ?? 'evicting web/web-0 would violate PodDisruptionBudget web/web-pdb',
      ...(p.pod === undefined ? { pod: 'web/web-0' } : p.pod === '' ? {} : { pod: p.pod }), ...(p.budget === undefined ? { budget: 'web-pdb' } : p.budget === '' ? {} : { budget: p.budget }),
    },
    metadata,
  }),
  withdrawResourceRequest: (providerReached = true, notice?: typeof NOTICE, overdue?: boolean): OutgoingCommand => ({ type: 'WithdrawResourceRequest', data: { providerReached, ...(notice ? { notice } : {}), ...(overdue ? { overdue } : {}) }, metadata }),
  recordProviderEnded: (message = 'cluster beta no longer accepts incoming peerings from alpha'): OutgoingCommand => ({ type: 'RecordProviderEnded', data: { reason: 'IncomingDisabled', message }, metadata }),
  recordWithdrawalDelivered: (outcome: 'Revoked' | 'AlreadyEnded' | 'Refused' = 'Revoked', message = 'the provider revoked the identity'): OutgoingCommand => ({ type: 'RecordWithdrawalDelivered', data: { outcome, message }, metadata }),
  markVirtualNodeDrained: (): OutgoingCommand => ({ type: 'MarkVirtualNodeDrained', data: {}, metadata }),
  deleteVirtualNode: (): OutgoingCommand => ({ type: 'DeleteVirtualNode', data: {}, metadata }),
  terminatePeering: (): OutgoingCommand => ({ type: 'TerminatePeering', data: {}, metadata }),
  requestIdentityRenewal: (publicKeyFingerprint = OTHER_KEY, csrFingerprint = OTHER_CSR): OutgoingCommand => ({
    type: 'RequestIdentityRenewal',
    data: { publicKeyFingerprint, csrFingerprint },
    metadata,
  }),
  recordRenewedCertificate: (p: { key?: string; cert?: string; notAfter?: string; tenant?: string; apiServer?: string } = {}): OutgoingCommand => ({
    type: 'RecordRenewedCertificate',
    data: {
      publicKeyFingerprint: p.key ?? OTHER_KEY, certFingerprint: p.cert ?? OTHER_CERT, notAfter: p.notAfter ?? RENEWED_NOT_AFTER,
      tenantNamespace: p.tenant ?? TENANT, apiServerUrl: p.apiServer ?? API_SERVER,
    },
    metadata,
  }),
  recordRenewalFailure: (reason: 'Unreachable' | 'PolicyRefused' = 'Unreachable'): OutgoingCommand => ({
    type: 'RecordRenewalFailure',
    data: reason === 'PolicyRefused' ? { reason, httpStatus: 403 } : { reason },
    metadata,
  }),
};

const ev = {
  peeringRequested: (data: Partial<RemoteData> = {}): OutgoingEvent => ({ type: 'PeeringRequested', data: { ...REMOTE, attempt: null, ...data } }),
  peeringBlocked: (reason: 'TokenMissing' | 'TokenMalformed' | 'TokenSecretNotAllowed' | 'MissingAuthUrl' = 'TokenMissing', message = 'secret peerlog/beta-token does not exist'): OutgoingEvent => ({
    type: 'PeeringBlocked',
    data: { reason, message },
  }),
  providerHealthChanged: (ready: boolean, reason: 'ProviderUnauthorized' | 'IdentityExpired' | 'ProviderUnreachable' | 'IdentitySecretInvalid' | null = null, message: string | null = null): OutgoingEvent => ({
    type: 'ProviderHealthChanged',
    data: { ready, reason, message },
  }),
  identityRequested: (publicKeyFingerprint = KEY, csrFingerprint = CSR, authFingerprint: string | null = null): OutgoingEvent => ({
    type: 'IdentityRequested',
    data: { publicKeyFingerprint, csrFingerprint, authFingerprint },
  }),
  certIssued: (): OutgoingEvent => ({
    type: 'CertIssued',
    data: { side: 'consumer', certFingerprint: CERT, notAfter: NOT_AFTER, tenantNamespace: TENANT, apiServerUrl: API_SERVER },
  }),
  authenticationFailed: (reason: 'TokenRejected' | 'Unreachable' = 'TokenRejected', words: { authUrl?: string; detail?: string; message?: string } = {}): OutgoingEvent => ({
    type: 'AuthenticationFailed',
    data: { reason, httpStatus: reason === 'TokenRejected' ? 401 : null, authUrl: words.authUrl ?? null, detail: words.detail ?? null, message: words.message ?? null },
  }),
  resourceRequested: (): OutgoingEvent => ({ type: 'ResourceRequested', data: { tenantNamespace: TENANT } }),
  offerReceived: (offer: OfferData): OutgoingEvent => ({ type: 'OfferReceived', data: offer }),
  offerAccepted: (offer: OfferData): OutgoingEvent => ({ type: 'OfferAccepted', data: offer }),
  offerRefused: (offer: OfferData): OutgoingEvent => ({
    type: 'OfferRefused',
    data: { offerName: offer.offerName, generation: offer.generation, reason: 'InsufficientResources' },
  }),
  virtualNodeCreated: (offer: OfferData = OFFER_1): OutgoingEvent => ({
    type: 'VirtualNodeCreated',
    data: { nodeName: NODE, resources: offer.resources },
  }),
  virtualNodeReady: (): OutgoingEvent => ({ type: 'VirtualNodeReady', data: { nodeName: NODE } }),
  unpeeringRequested: (force = false, drain = true): OutgoingEvent => ({ type: 'UnpeeringRequested', data: { force, drain } }),
  virtualNodeCordoned: (): OutgoingEvent => ({ type: 'VirtualNodeCordoned', data: { nodeName: NODE } }),
  virtualNodeDrainWaiting: (p: { reason?: 'PodDisruptionBudget' | 'EvictionRefused' | 'WaitingForPods'; remaining?: number; pod?: string | null; budget?: string | null; message?: string } = {}): OutgoingEvent => ({
    type: 'VirtualNodeDrainWaiting',
    data: {
      nodeName: NODE, reason: p.reason ?? 'PodDisruptionBudget', remaining: p.remaining ?? 3,
      pod: p.pod === undefined ? 'web/web-0' : p.pod, budget: p.budget === undefined ? 'web-pdb' : p.budget,
      message: p.message ?? 'evicting web/web-0 would violate PodDisruptionBudget web/web-pdb',
    },
  }),
  resourceRequestWithdrawn: (providerReached = true, notice: typeof NOTICE | null = null): OutgoingEvent => ({ type: 'ResourceRequestWithdrawn', data: { tenantNamespace: TENANT, providerReached, notice } }),
  providerEndedPeering: (message = 'cluster beta no longer accepts incoming peerings from alpha'): OutgoingEvent => ({ type: 'ProviderEndedPeering', data: { reason: 'IncomingDisabled', message } }),
  withdrawalDelivered: (outcome: 'Revoked' | 'AlreadyEnded' | 'Refused' = 'Revoked', message = 'the provider revoked the identity'): OutgoingEvent => ({ type: 'WithdrawalDelivered', data: { outcome, message } }),
  virtualNodeDrained: (): OutgoingEvent => ({ type: 'VirtualNodeDrained', data: { nodeName: NODE } }),
  virtualNodeDeleted: (): OutgoingEvent => ({ type: 'VirtualNodeDeleted', data: { nodeName: NODE } }),
  peeringTerminated: (force = false): OutgoingEvent => ({ type: 'PeeringTerminated', data: { force } }),
  identityRenewalRequested: (publicKeyFingerprint = OTHER_KEY, csrFingerprint = OTHER_CSR): OutgoingEvent => ({
    type: 'IdentityRenewalRequested',
    data: { publicKeyFingerprint, csrFingerprint },
  }),
  certRenewed: (publicKeyFingerprint = OTHER_KEY, certFingerprint = OTHER_CERT): OutgoingEvent => ({
    type: 'CertRenewed',
    data: { side: 'consumer', previousCertFingerprint: CERT, publicKeyFingerprint, certFingerprint, notAfter: RENEWED_NOT_AFTER },
  }),
  identityRenewalFailed: (reason: 'Unreachable' | 'PolicyRefused' = 'Unreachable'): OutgoingEvent => ({
    type: 'IdentityRenewalFailed',
    data: { reason, httpStatus: reason === 'PolicyRefused' ? 403 : null, authUrl: null, detail: null, message: null },
  }),
};

const h = {
  peeringRequested: [ev.peeringRequested()],
  identityRequested: [ev.peeringRequested(), ev.identityRequested()],
  authenticated: [ev.peeringRequested(), ev.identityRequested(), ev.certIssued()],
  resourcesRequested: [ev.peeringRequested(), ev.identityRequested(), ev.certIssued(), ev.resourceRequested()],
};
const offerAccepted = [...h.resourcesRequested, ev.offerReceived(OFFER_1), ev.offerAccepted(OFFER_1)];
const nodeCreated = [...offerAccepted, ev.virtualNodeCreated()];
const nodeReady = [...nodeCreated, ev.virtualNodeReady()];
const unpeeringWithNode = [...nodeReady, ev.unpeeringRequested()];
const cordoned = [...unpeeringWithNode, ev.virtualNodeCordoned()];
const nodeDeleted = [...cordoned, ev.virtualNodeDrained(), ev.virtualNodeDeleted()];
const requestWithdrawn = [...nodeDeleted, ev.resourceRequestWithdrawn()];
/** Forced with the provider away: the node deleted at once, the request left there with a signed notice. */
const forcedUnreached = [...nodeReady, ev.unpeeringRequested(true), ev.virtualNodeDeleted(), ev.resourceRequestWithdrawn(false, NOTICE)];

type Label =
  | 'empty'
  | 'blocked'
  | 'blocked (an attempt was under way)'
  | 'peeringRequested'
  | 'identityRequested'
  | 'authenticationFailed'
  | 'authenticated'
  | 'resourcesRequested'
  | 'offerReceived'
  | 'offerReceived (update of a ready node)'
  | 'offerReceived (update of a node not yet ready)'
  | 'offerAccepted'
  | 'offerRefused'
  | 'virtualNodeCreated'
  | 'virtualNodeReady'
  | 'virtualNodeReady (provider unreachable)'
  | 'unpeeringRequested'
  | 'unpeeringRequested (forced)'
  | 'unpeeringRequested (no virtual node)'
  | 'unpeeringRequested (cordoned)'
  | 'unpeeringRequested (cordoned, without a drain)'
  | 'unpeeringRequested (drain waiting on a budget)'
  | 'virtualNodeDrained'
  | 'virtualNodeDeleted'
  | 'requestWithdrawn'
  | 'requestWithdrawn (forced, provider not reached)'
  | 'terminated'
  | 'terminated (a withdrawal notice owed)'
  | 'terminated (the notice delivered)'
  | 'peeringRequested (a withdrawal notice owed)';

const givens: { readonly [K in Label]: Given<OutgoingEvent, OutgoingState['status']> } = {
  empty: { status: 'empty', history: [] },
  blocked: { status: 'blocked', history: [ev.peeringBlocked()] },
  'blocked (an attempt was under way)': { status: 'blocked', history: [...h.identityRequested, ev.peeringBlocked('TokenMalformed', 'not a peerlog token')] },
  peeringRequested: { status: 'peeringRequested', history: h.peeringRequested },
  identityRequested: { status: 'identityRequested', history: h.identityRequested },
  authenticationFailed: {
    status: 'authenticationFailed',
    history: [ev.peeringRequested({ attempt: ATTEMPT }), ev.identityRequested(), ev.authenticationFailed('TokenRejected', { authUrl: REMOTE.authUrl, message: 'the token does not match' })],
  },
  authenticated: { status: 'authenticated', history: h.authenticated },
  resourcesRequested: { status: 'resourcesRequested', history: h.resourcesRequested },
  offerReceived: { status: 'offerReceived', history: [...h.resourcesRequested, ev.offerReceived(OFFER_1)] },
  'offerReceived (update of a ready node)': { status: 'offerReceived', history: [...nodeReady, ev.offerReceived(OFFER_2)] },
  'offerReceived (update of a node not yet ready)': {
    status: 'offerReceived',
    history: [...nodeCreated, ev.offerReceived(OFFER_2)],
  },
  offerAccepted: { status: 'offerAccepted', history: offerAccepted },
  offerRefused: {
    status: 'offerRefused',
    history: [...h.resourcesRequested, ev.offerReceived(OFFER_1), ev.offerRefused(OFFER_1)],
  },
  virtualNodeCreated: { status: 'virtualNodeCreated', history: nodeCreated },
  virtualNodeReady: { status: 'virtualNodeReady', history: nodeReady },
  'virtualNodeReady (provider unreachable)': {
    status: 'virtualNodeReady',
    history: [...nodeReady, ev.providerHealthChanged(false, 'ProviderUnreachable', 'connect ECONNREFUSED 127.0.0.1:6443')],
  },
  unpeeringRequested: { status: 'unpeeringRequested', history: unpeeringWithNode },
  'unpeeringRequested (forced)': { status: 'unpeeringRequested', history: [...nodeReady, ev.unpeeringRequested(true)] },
  'unpeeringRequested (no virtual node)': {
    status: 'unpeeringRequested',
    history: [...h.resourcesRequested, ev.unpeeringRequested()],
  },
  'unpeeringRequested (cordoned)': { status: 'unpeeringRequested', history: cordoned },
  'unpeeringRequested (cordoned, without a drain)': { status: 'unpeeringRequested', history: [...nodeReady, ev.unpeeringRequested(false, false), ev.virtualNodeCordoned()] },
  'unpeeringRequested (drain waiting on a budget)': { status: 'unpeeringRequested', history: [...cordoned, ev.virtualNodeDrainWaiting()] },
  virtualNodeDrained: { status: 'virtualNodeDrained', history: [...cordoned, ev.virtualNodeDrained()] },
  virtualNodeDeleted: { status: 'virtualNodeDeleted', history: nodeDeleted },
  requestWithdrawn: { status: 'requestWithdrawn', history: requestWithdrawn },
  'requestWithdrawn (forced, provider not reached)': { status: 'requestWithdrawn', history: forcedUnreached },
  terminated: { status: 'terminated', history: [...requestWithdrawn, ev.peeringTerminated()] },
  'terminated (a withdrawal notice owed)': { status: 'terminated', history: [...forcedUnreached, ev.peeringTerminated(true)] },
  'terminated (the notice delivered)': { status: 'terminated', history: [...forcedUnreached, ev.peeringTerminated(true), ev.withdrawalDelivered()] },
  'peeringRequested (a withdrawal notice owed)': { status: 'peeringRequested', history: [...forcedUnreached, ev.peeringTerminated(true), ev.peeringRequested()] },
};

const statuses: { readonly [K in OutgoingState['status']]: true } = {
  empty: true,
  blocked: true,
  peeringRequested: true,
  identityRequested: true,
  authenticationFailed: true,
  authenticated: true,
  resourcesRequested: true,
  offerReceived: true,
  offerAccepted: true,
  offerRefused: true,
  virtualNodeCreated: true,
  virtualNodeReady: true,
  unpeeringRequested: true,
  virtualNodeDrained: true,
  virtualNodeDeleted: true,
  requestWithdrawn: true,
  terminated: true,
};

const INVALID = throws(InvalidTransitionError, 'InvalidTransition');
const OTHER_URL = 'https://10.0.0.9:7443';

/** Rows shared by every status where the identity is held and the peering is live. */
const peeredIdentityCells = {
  RequestPeering: [
    when(cmd.requestPeering(), 'same coordinates').then(nothing),
    when(cmd.requestPeering({ authUrl: OTHER_URL }), 'another authUrl').then(throws(ConflictError, 'PeeringConflict')),
    when(cmd.requestPeering({ remoteClusterId: 'gamma' }), 'another cluster').then(
      throws(ConflictError, 'RemoteClusterMismatch'),
    ),
  ],
  RequestIdentity: [
    when(cmd.requestIdentity(), 'same key').then(nothing),
    when(cmd.requestIdentity(OTHER_KEY, OTHER_CSR), 'another key').then(throws(ConflictError, 'IdentityConflict')),
  ],
  RecordCertificate: [
    when(cmd.recordCertificate(), 'same certificate').then(nothing),
    when(cmd.recordCertificate(OTHER_CERT), 'another certificate').then(throws(ConflictError, 'IdentityConflict')),
  ],
  RecordAuthenticationFailure: when(cmd.recordAuthenticationFailure()).then(INVALID),
  BlockPeering: when(cmd.blockPeering(), 'the token Secret went away').then(nothing),
  RecordProviderHealth: [
    when(cmd.recordProviderHealth({ ready: true }), 'ready, as assumed').then(nothing),
    when(cmd.recordProviderHealth({ ready: false }), 'no answer, no words').then(emits(ev.providerHealthChanged(false, 'ProviderUnreachable', 'ProviderUnreachable'))),
    when(cmd.recordProviderHealth({ ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403' }), 'refused').then(
      emits(ev.providerHealthChanged(false, 'ProviderUnauthorized', 'the provider answered 403')),
    ),
    when(cmd.recordProviderHealth({ ready: false, reason: 'IdentityExpired', message: 'x'.repeat(1500) }), 'a long message').then(
      emits(ev.providerHealthChanged(false, 'IdentityExpired', 'x'.repeat(1024))),
    ),
  ],
  RequestIdentityRenewal: [
    when(cmd.requestIdentityRenewal(), 'a new key').then(emits(ev.identityRenewalRequested())),
    when(cmd.requestIdentityRenewal(KEY, OTHER_CSR), 'the current key').then(throws(ValidationError, 'ValidationFailed')),
  ],
  RecordRenewedCertificate: [
    when(cmd.recordRenewedCertificate({ key: KEY }), 'the current key re-certified').then(emits(ev.certRenewed(KEY))),
    when(cmd.recordRenewedCertificate(), 'a key no renewal asked for').then(throws(ConflictError, 'IdentityConflict')),
    when(cmd.recordRenewedCertificate({ cert: CERT }), 'the current certificate').then(nothing),
  ],
  RecordRenewalFailure: when(cmd.recordRenewalFailure()).then(emits(ev.identityRenewalFailed())),
  RequestUnpeering: [
    when(cmd.requestUnpeering()).then(emits(ev.unpeeringRequested(false))),
    when(cmd.requestUnpeering(true), 'forced').then(emits(ev.unpeeringRequested(true))),
    when(cmd.requestUnpeering(false, false), 'without a drain').then(emits(ev.unpeeringRequested(false, false))),
  ],
  MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(INVALID),
  RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(INVALID),
  MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(INVALID),
  DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(INVALID),
  WithdrawResourceRequest: when(cmd.withdrawResourceRequest()).then(INVALID),
  TerminatePeering: when(cmd.terminatePeering()).then(INVALID),
  RecordWithdrawalDelivered: when(cmd.recordWithdrawalDelivered(), 'no notice owed').then(nothing),
  RecordProviderEnded: when(cmd.recordProviderEnded()).then(emits(ev.providerEndedPeering())),
} as const;

/** Rows shared by the authenticating statuses for commands that need an identity. */
const notYetPeeredCells = {
  BlockPeering: [
    when(cmd.blockPeering()).then(emits(ev.peeringBlocked())),
    when(cmd.blockPeering('MissingAuthUrl', ''), 'no message').then(emits(ev.peeringBlocked('MissingAuthUrl', 'MissingAuthUrl'))),
  ],
  RecordProviderHealth: [
    when(cmd.recordProviderHealth({ ready: false }), 'not ready').then(nothing),
    when(cmd.recordProviderHealth({ ready: true }), 'ready').then(nothing),
  ],
  RequestIdentityRenewal: when(cmd.requestIdentityRenewal()).then(INVALID),
  RecordRenewedCertificate: when(cmd.recordRenewedCertificate()).then(INVALID),
  RecordRenewalFailure: when(cmd.recordRenewalFailure()).then(INVALID),
  RequestResources: when(cmd.requestResources()).then(INVALID),
  ReceiveOffer: when(cmd.receiveOffer(OFFER_1)).then(INVALID),
  AcceptOffer: when(cmd.acceptOffer(OFFER_1)).then(INVALID),
  RefuseOffer: when(cmd.refuseOffer(OFFER_1)).then(INVALID),
  CreateVirtualNode: when(cmd.createVirtualNode()).then(INVALID),
  MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  RequestUnpeering: when(cmd.requestUnpeering()).then(emits(ev.unpeeringRequested(false))),
  MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(INVALID),
  RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(INVALID),
  MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(INVALID),
  DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(INVALID),
  WithdrawResourceRequest: when(cmd.withdrawResourceRequest()).then(INVALID),
  TerminatePeering: when(cmd.terminatePeering()).then(INVALID),
  RecordWithdrawalDelivered: when(cmd.recordWithdrawalDelivered(), 'no notice owed').then(nothing),
  RecordProviderEnded: when(cmd.recordProviderEnded()).then(emits(ev.providerEndedPeering())),
} as const;

/** Rows shared by the unpeering statuses for commands of the peering's live phase. */
const unpeeringCells = {
  BlockPeering: when(cmd.blockPeering()).then(nothing),
  RecordProviderHealth: when(cmd.recordProviderHealth({ ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403' })).then(nothing),
  RequestIdentityRenewal: when(cmd.requestIdentityRenewal()).then(INVALID),
  RecordRenewedCertificate: when(cmd.recordRenewedCertificate()).then(INVALID),
  RecordRenewalFailure: when(cmd.recordRenewalFailure()).then(INVALID),
  RequestPeering: when(cmd.requestPeering()).then(INVALID),
  RequestIdentity: when(cmd.requestIdentity()).then(INVALID),
  RecordCertificate: when(cmd.recordCertificate()).then(INVALID),
  RecordAuthenticationFailure: when(cmd.recordAuthenticationFailure()).then(INVALID),
  RequestResources: when(cmd.requestResources()).then(INVALID),
  ReceiveOffer: when(cmd.receiveOffer(OFFER_2), 'a late offer').then(nothing),
  AcceptOffer: when(cmd.acceptOffer(OFFER_1)).then(INVALID),
  RefuseOffer: when(cmd.refuseOffer(OFFER_1)).then(INVALID),
  CreateVirtualNode: when(cmd.createVirtualNode()).then(INVALID),
  MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  RecordWithdrawalDelivered: when(cmd.recordWithdrawalDelivered(), 'no notice owed').then(nothing),
  RecordProviderEnded: when(cmd.recordProviderEnded(), 'nothing live to end').then(nothing),
} as const;

/** Rows for statuses where nothing of a peering exists. */
const idleCells = {
  BlockPeering: [
    when(cmd.blockPeering()).then(emits(ev.peeringBlocked())),
    when(cmd.blockPeering('TokenSecretNotAllowed', 'y'.repeat(1500)), 'a long message').then(emits(ev.peeringBlocked('TokenSecretNotAllowed', 'y'.repeat(1024)))),
  ],
  RecordProviderHealth: when(cmd.recordProviderHealth({ ready: false })).then(nothing),
  RequestIdentityRenewal: when(cmd.requestIdentityRenewal()).then(INVALID),
  RecordRenewedCertificate: when(cmd.recordRenewedCertificate()).then(INVALID),
  RecordRenewalFailure: when(cmd.recordRenewalFailure()).then(INVALID),
  RequestIdentity: when(cmd.requestIdentity()).then(INVALID),
  RecordCertificate: when(cmd.recordCertificate()).then(INVALID),
  RecordAuthenticationFailure: when(cmd.recordAuthenticationFailure()).then(INVALID),
  RequestResources: when(cmd.requestResources()).then(INVALID),
  AcceptOffer: when(cmd.acceptOffer(OFFER_1)).then(INVALID),
  RefuseOffer: when(cmd.refuseOffer(OFFER_1)).then(INVALID),
  CreateVirtualNode: when(cmd.createVirtualNode()).then(INVALID),
  MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  RequestUnpeering: [
    when(cmd.requestUnpeering()).then(nothing),
    when(cmd.requestUnpeering(true), 'forced').then(nothing),
  ],
  MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(nothing),
  RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(nothing),
  MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(nothing),
  DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(nothing),
  WithdrawResourceRequest: when(cmd.withdrawResourceRequest()).then(nothing),
  TerminatePeering: when(cmd.terminatePeering()).then(nothing),
  RecordWithdrawalDelivered: when(cmd.recordWithdrawalDelivered(), 'no notice owed').then(nothing),
  RecordProviderEnded: when(cmd.recordProviderEnded(), 'nothing live to end').then(nothing),
} as const;

/** The offer-related rows of statuses that run a virtual node on OFFER_1. */
const nodeOnOffer1Cells = {
  ...peeredIdentityCells,
  RequestResources: when(cmd.requestResources()).then(nothing),
  ReceiveOffer: [
    when(cmd.receiveOffer(OFFER_1), 'the same generation').then(nothing),
    when(cmd.receiveOffer(OFFER_2), 'a newer generation').then(emits(ev.offerReceived(OFFER_2))),
    when(cmd.receiveOffer({ ...OFFER_2, offerName: 'beta-offer-2', generation: 1 }), 'another offer object').then(
      emits(ev.offerReceived({ ...OFFER_2, offerName: 'beta-offer-2', generation: 1 })),
    ),
  ],
  AcceptOffer: [
    when(cmd.acceptOffer(OFFER_1), 'the accepted offer').then(nothing),
    when(cmd.acceptOffer(OFFER_2), 'an unknown generation').then(throws(ConflictError, 'OfferMismatch')),
  ],
  RefuseOffer: when(cmd.refuseOffer(OFFER_1)).then(INVALID),
  CreateVirtualNode: [
    when(cmd.createVirtualNode(), 'same name').then(nothing),
    when(cmd.createVirtualNode('peerlog-other'), 'another name').then(throws(ConflictError, 'VirtualNodeConflict')),
  ],
} as const;

/** A pending update (OFFER_2) over a node running on OFFER_1. */
const pendingUpdateCells = {
  ...peeredIdentityCells,
  RequestResources: when(cmd.requestResources()).then(nothing),
  ReceiveOffer: [
    when(cmd.receiveOffer(OFFER_2), 'the pending generation').then(nothing),
    when(cmd.receiveOffer(OFFER_1), 'a stale generation').then(nothing),
  ],
  AcceptOffer: [
    when(cmd.acceptOffer(OFFER_2), 'the pending update').then(emits(ev.offerAccepted(OFFER_2))),
    when(cmd.acceptOffer(OFFER_1), 'the superseded offer').then(throws(ConflictError, 'OfferMismatch')),
  ],
  RefuseOffer: [
    when(cmd.refuseOffer(OFFER_2), 'the pending update').then(emits(ev.offerRefused(OFFER_2))),
    when(cmd.refuseOffer(OFFER_1), 'the superseded offer').then(throws(ConflictError, 'OfferMismatch')),
  ],
  CreateVirtualNode: [
    when(cmd.createVirtualNode(), 'the running node').then(nothing),
    when(cmd.createVirtualNode('peerlog-other'), 'another name').then(throws(ConflictError, 'VirtualNodeConflict')),
  ],
} as const;

/** A blocked stream: nothing was granted, so it is idle, and the same blocker again is no news. */
const blockedCells = {
  ...idleCells,
  BlockPeering: [
    when(cmd.blockPeering('TokenMalformed', 'not a peerlog token'), 'the same blocker').then(nothing),
    when(cmd.blockPeering('TokenMalformed', 'another message'), 'the same reason, other words').then(emits(ev.peeringBlocked('TokenMalformed', 'another message'))),
    when(cmd.blockPeering('TokenMissing'), 'another reason').then(emits(ev.peeringBlocked('TokenMissing'))),
  ],
  RequestPeering: [
    when(cmd.requestPeering(), 'the blocker was fixed').then(emits(ev.peeringRequested())),
    when(cmd.requestPeering({ attempt: ATTEMPT }), 'with its attempt').then(emits(ev.peeringRequested({ attempt: ATTEMPT }))),
  ],
  ReceiveOffer: when(cmd.receiveOffer(OFFER_1)).then(INVALID),
} as const;

decideMatrix('outgoing decider', outgoingDecider, statuses, givens, {
  empty: {
    ...idleCells,
    RequestPeering: when(cmd.requestPeering()).then(emits(ev.peeringRequested())),
    ReceiveOffer: when(cmd.receiveOffer(OFFER_1)).then(INVALID),
  },
  blocked: {
    ...blockedCells,
    BlockPeering: [
      when(cmd.blockPeering(), 'the same blocker').then(nothing),
      when(cmd.blockPeering('MissingAuthUrl', 'spec.authUrl is not set'), 'another reason').then(emits(ev.peeringBlocked('MissingAuthUrl', 'spec.authUrl is not set'))),
    ],
  },
  'blocked (an attempt was under way)': blockedCells,
  peeringRequested: {
    ...notYetPeeredCells,
    RequestPeering: [
      when(cmd.requestPeering(), 'same coordinates').then(nothing),
      when(cmd.requestPeering({ authUrl: OTHER_URL }), 'another authUrl').then(
        emits(ev.peeringRequested({ authUrl: OTHER_URL })),
      ),
      when(cmd.requestPeering({ attempt: ATTEMPT }), 'a new attempt while one is under way').then(nothing),
      when(cmd.requestPeering({ remoteClusterId: 'gamma' }), 'another cluster').then(
        throws(ConflictError, 'RemoteClusterMismatch'),
      ),
    ],
    RequestIdentity: when(cmd.requestIdentity()).then(emits(ev.identityRequested())),
    RecordCertificate: when(cmd.recordCertificate()).then(INVALID),
    RecordAuthenticationFailure: when(cmd.recordAuthenticationFailure(), 'endpoint unreachable').then(
      emits(ev.authenticationFailed()),
    ),
  },
  identityRequested: {
    ...notYetPeeredCells,
    RequestPeering: [
      when(cmd.requestPeering(), 'same coordinates').then(nothing),
      when(cmd.requestPeering({ remoteClusterName: 'beta-renamed' }), 'another name').then(
        emits(ev.peeringRequested({ remoteClusterName: 'beta-renamed' })),
      ),
    ],
    RequestIdentity: [
      when(cmd.requestIdentity(), 'same key').then(nothing),
      when(cmd.requestIdentity(OTHER_KEY, OTHER_CSR), 'a new key').then(emits(ev.identityRequested(OTHER_KEY, OTHER_CSR))),
      when(cmd.requestIdentity(KEY, CSR, PIN), 'same key, the endpoint certificate learned').then(emits(ev.identityRequested(KEY, CSR, PIN))),
    ],
    RecordCertificate: [
      when(cmd.recordCertificate()).then(emits(ev.certIssued())),
      when(cmd.recordCertificate(CERT, '2025-02-01T00:00:00.000Z'), 'already expired').then(
        throws(ValidationError, 'ValidationFailed'),
      ),
    ],
    RecordAuthenticationFailure: when(cmd.recordAuthenticationFailure()).then(emits(ev.authenticationFailed())),
  },
  authenticationFailed: {
    ...notYetPeeredCells,
    RequestPeering: [
      when(cmd.requestPeering(), 'same coordinates, no attempt named').then(nothing),
      when(cmd.requestPeering({ attempt: ATTEMPT }), 'the refused attempt again').then(nothing),
      when(cmd.requestPeering({ attempt: '2/8' }), 'a new attempt (the token Secret changed)').then(emits(ev.peeringRequested({ attempt: '2/8' }))),
      when(cmd.requestPeering({ authUrl: OTHER_URL }), 'another authUrl').then(emits(ev.peeringRequested({ authUrl: OTHER_URL }))),
    ],
    RequestIdentity: when(cmd.requestIdentity(), 'a retry').then(emits(ev.identityRequested())),
    RecordCertificate: when(cmd.recordCertificate()).then(INVALID),
    RecordAuthenticationFailure: [
      when(cmd.recordAuthenticationFailure('TokenRejected', { authUrl: REMOTE.authUrl, message: 'the token does not match' }), 'the same failure').then(nothing),
      when(cmd.recordAuthenticationFailure(), 'the same reason, without its words').then(emits(ev.authenticationFailed())),
      when(cmd.recordAuthenticationFailure('Unreachable', { authUrl: REMOTE.authUrl, message: 'connect ECONNREFUSED 127.0.0.1:7443' }), 'another failure').then(
        emits(ev.authenticationFailed('Unreachable', { authUrl: REMOTE.authUrl, message: 'connect ECONNREFUSED 127.0.0.1:7443' })),
      ),
      when(cmd.recordAuthenticationFailure('TokenRejected', { authUrl: REMOTE.authUrl, detail: 'z'.repeat(200), message: 'm'.repeat(2000) }), 'words past their bounds').then(
        emits(ev.authenticationFailed('TokenRejected', { authUrl: REMOTE.authUrl, detail: 'z'.repeat(128), message: 'm'.repeat(1024) })),
      ),
    ],
  },
  authenticated: {
    ...peeredIdentityCells,
    RequestResources: when(cmd.requestResources()).then(emits(ev.resourceRequested())),
    ReceiveOffer: when(cmd.receiveOffer(OFFER_1), 'before any request').then(INVALID),
    AcceptOffer: when(cmd.acceptOffer(OFFER_1)).then(INVALID),
    RefuseOffer: when(cmd.refuseOffer(OFFER_1)).then(INVALID),
    CreateVirtualNode: when(cmd.createVirtualNode()).then(INVALID),
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  },
  resourcesRequested: {
    ...peeredIdentityCells,
    RequestResources: when(cmd.requestResources()).then(nothing),
    ReceiveOffer: when(cmd.receiveOffer(OFFER_1)).then(emits(ev.offerReceived(OFFER_1))),
    AcceptOffer: when(cmd.acceptOffer(OFFER_1)).then(INVALID),
    RefuseOffer: when(cmd.refuseOffer(OFFER_1)).then(INVALID),
    CreateVirtualNode: when(cmd.createVirtualNode()).then(INVALID),
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  },
  offerReceived: {
    ...peeredIdentityCells,
    RequestResources: when(cmd.requestResources()).then(nothing),
    ReceiveOffer: [
      when(cmd.receiveOffer(OFFER_1), 'the same generation').then(nothing),
      when(cmd.receiveOffer(OFFER_2), 'a newer generation').then(emits(ev.offerReceived(OFFER_2))),
    ],
    AcceptOffer: [
      when(cmd.acceptOffer(OFFER_1), 'the pending offer').then(emits(ev.offerAccepted(OFFER_1))),
      when(cmd.acceptOffer(OFFER_2), 'an unknown generation').then(throws(ConflictError, 'OfferMismatch')),
    ],
    RefuseOffer: [
      when(cmd.refuseOffer(OFFER_1), 'the pending offer').then(emits(ev.offerRefused(OFFER_1))),
      when(cmd.refuseOffer(OFFER_2), 'an unknown generation').then(throws(ConflictError, 'OfferMismatch')),
    ],
    CreateVirtualNode: when(cmd.createVirtualNode(), 'before acceptance').then(INVALID),
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  },
  'offerReceived (update of a ready node)': {
    ...pendingUpdateCells,
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(nothing),
  },
  'offerReceived (update of a node not yet ready)': {
    ...pendingUpdateCells,
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(emits(ev.virtualNodeReady())),
  },
  offerAccepted: {
    ...peeredIdentityCells,
    RequestResources: when(cmd.requestResources()).then(nothing),
    ReceiveOffer: [
      when(cmd.receiveOffer(OFFER_1), 'the same generation').then(nothing),
      when(cmd.receiveOffer(OFFER_2), 'a newer generation').then(emits(ev.offerReceived(OFFER_2))),
    ],
    AcceptOffer: [
      when(cmd.acceptOffer(OFFER_1), 'the accepted offer').then(nothing),
      when(cmd.acceptOffer(OFFER_2), 'an unknown generation').then(throws(ConflictError, 'OfferMismatch')),
    ],
    RefuseOffer: when(cmd.refuseOffer(OFFER_1)).then(INVALID),
    CreateVirtualNode: when(cmd.createVirtualNode()).then(emits(ev.virtualNodeCreated(OFFER_1))),
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  },
  offerRefused: {
    ...peeredIdentityCells,
    RequestResources: when(cmd.requestResources(), 'the request still stands').then(nothing),
    ReceiveOffer: [
      when(cmd.receiveOffer(OFFER_1), 'the refused generation').then(nothing),
      when(cmd.receiveOffer(OFFER_2), 'a newer generation').then(emits(ev.offerReceived(OFFER_2))),
    ],
    AcceptOffer: [
      when(cmd.acceptOffer(OFFER_1), 'reversing the refusal').then(emits(ev.offerAccepted(OFFER_1))),
      when(cmd.acceptOffer(OFFER_2), 'an unknown generation').then(throws(ConflictError, 'OfferMismatch')),
    ],
    RefuseOffer: [
      when(cmd.refuseOffer(OFFER_1), 'the refused offer').then(nothing),
      when(cmd.refuseOffer(OFFER_2), 'an unknown generation').then(throws(ConflictError, 'OfferMismatch')),
    ],
    CreateVirtualNode: when(cmd.createVirtualNode()).then(INVALID),
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(INVALID),
  },
  virtualNodeCreated: {
    ...nodeOnOffer1Cells,
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(emits(ev.virtualNodeReady())),
  },
  virtualNodeReady: {
    ...nodeOnOffer1Cells,
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(nothing),
  },
  'virtualNodeReady (provider unreachable)': {
    ...nodeOnOffer1Cells,
    MarkVirtualNodeReady: when(cmd.markVirtualNodeReady()).then(nothing),
    RecordProviderHealth: [
      when(cmd.recordProviderHealth({ ready: false, reason: 'ProviderUnreachable', message: 'connect ECONNREFUSED 127.0.0.1:6443' }), 'the same answer').then(nothing),
      when(cmd.recordProviderHealth({ ready: false, reason: 'ProviderUnreachable', message: 'i/o timeout' }), 'the same reason for another cause').then(
        emits(ev.providerHealthChanged(false, 'ProviderUnreachable', 'i/o timeout')),
      ),
      when(cmd.recordProviderHealth({ ready: true, reason: 'ProviderUnreachable', message: 'ignored' }), 'answering again').then(emits(ev.providerHealthChanged(true))),
      when(cmd.recordProviderHealth({ ready: false, reason: 'IdentityExpired', message: 'the certificate expired' }), 'another reason').then(
        emits(ev.providerHealthChanged(false, 'IdentityExpired', 'the certificate expired')),
      ),
    ],
  },
  unpeeringRequested: {
    ...unpeeringCells,
    RequestUnpeering: [
      when(cmd.requestUnpeering(), 'again').then(nothing),
      when(cmd.requestUnpeering(false, false), 'without a drain, once a drain was asked').then(nothing),
      when(cmd.requestUnpeering(true), 'escalating to force').then(emits(ev.unpeeringRequested(true))),
    ],
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(emits(ev.virtualNodeCordoned())),
    RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(emits(ev.virtualNodeDrainWaiting())),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(emits(ev.virtualNodeDrained())),
    DeleteVirtualNode: when(cmd.deleteVirtualNode(), 'before the drain').then(INVALID),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest(), 'while the node exists').then(INVALID),
    TerminatePeering: when(cmd.terminatePeering(), 'while the node exists').then(INVALID),
  },
  'unpeeringRequested (forced)': {
    ...unpeeringCells,
    RequestUnpeering: [
      when(cmd.requestUnpeering(true), 'forced again').then(nothing),
      when(cmd.requestUnpeering(false), 'not forced').then(nothing),
    ],
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(emits(ev.virtualNodeCordoned())),
    RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(emits(ev.virtualNodeDrainWaiting())),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(emits(ev.virtualNodeDrained())),
    DeleteVirtualNode: when(cmd.deleteVirtualNode(), 'skipping the drain').then(emits(ev.virtualNodeDeleted())),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest(), 'while the node exists').then(INVALID),
    TerminatePeering: when(cmd.terminatePeering(), 'while the node exists').then(INVALID),
  },
  'unpeeringRequested (no virtual node)': {
    ...unpeeringCells,
    RequestUnpeering: when(cmd.requestUnpeering()).then(nothing),
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned(), 'no node to cordon').then(nothing),
    RecordDrainWaiting: when(cmd.recordDrainWaiting(), 'no node to drain').then(nothing),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained(), 'nothing to drain').then(nothing),
    DeleteVirtualNode: when(cmd.deleteVirtualNode(), 'nothing to delete').then(nothing),
    WithdrawResourceRequest: [
      when(cmd.withdrawResourceRequest(), 'the request is gone').then(emits(ev.resourceRequestWithdrawn())),
      when(cmd.withdrawResourceRequest(false), 'the provider not reached, not forced').then(INVALID),
    ],
    TerminatePeering: when(cmd.terminatePeering(), 'before the request is withdrawn').then(INVALID),
  },
  'unpeeringRequested (cordoned)': {
    ...unpeeringCells,
    RequestUnpeering: when(cmd.requestUnpeering()).then(nothing),
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned(), 'seen again').then(nothing),
    RecordDrainWaiting: [
      when(cmd.recordDrainWaiting()).then(emits(ev.virtualNodeDrainWaiting())),
      when(cmd.recordDrainWaiting({ remaining: -1 }), 'a negative count').then(throws(ValidationError, 'ValidationFailed')),
      when(cmd.recordDrainWaiting({ message: 'z'.repeat(1500) }), 'a long message').then(emits(ev.virtualNodeDrainWaiting({ message: 'z'.repeat(1024) }))),
    ],
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(emits(ev.virtualNodeDrained())),
    DeleteVirtualNode: when(cmd.deleteVirtualNode(), 'before the drain').then(INVALID),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest(), 'while the node exists').then(INVALID),
    TerminatePeering: when(cmd.terminatePeering(), 'while the node exists').then(INVALID),
  },
  'unpeeringRequested (cordoned, without a drain)': {
    ...unpeeringCells,
    RequestUnpeering: [
      when(cmd.requestUnpeering(false, false), 'again').then(nothing),
      when(cmd.requestUnpeering(), 'now with a drain').then(emits(ev.unpeeringRequested(false, true))),
    ],
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(nothing),
    RecordDrainWaiting: when(cmd.recordDrainWaiting({ reason: 'WaitingForPods', pod: '', budget: '', message: '2 pod(s) still run' })).then(
      emits(ev.virtualNodeDrainWaiting({ reason: 'WaitingForPods', pod: null, budget: null, message: '2 pod(s) still run' })),
    ),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(emits(ev.virtualNodeDrained())),
    DeleteVirtualNode: when(cmd.deleteVirtualNode(), 'before the pods finished').then(INVALID),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest()).then(INVALID),
    TerminatePeering: when(cmd.terminatePeering()).then(INVALID),
  },
  'unpeeringRequested (drain waiting on a budget)': {
    ...unpeeringCells,
    RequestUnpeering: when(cmd.requestUnpeering()).then(nothing),
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(nothing),
    RecordDrainWaiting: [
      when(cmd.recordDrainWaiting(), 'the same refusal').then(nothing),
      when(cmd.recordDrainWaiting({ remaining: 2 }), 'one pod fewer').then(emits(ev.virtualNodeDrainWaiting({ remaining: 2 }))),
      when(cmd.recordDrainWaiting({ budget: 'other-pdb' }), 'another budget').then(emits(ev.virtualNodeDrainWaiting({ budget: 'other-pdb' }))),
    ],
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained(), 'the budget was removed').then(emits(ev.virtualNodeDrained())),
    DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(INVALID),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest()).then(INVALID),
    TerminatePeering: when(cmd.terminatePeering()).then(INVALID),
  },
  virtualNodeDrained: {
    ...unpeeringCells,
    RequestUnpeering: when(cmd.requestUnpeering()).then(nothing),
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(nothing),
    RecordDrainWaiting: when(cmd.recordDrainWaiting(), 'a late refusal').then(nothing),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(nothing),
    DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(emits(ev.virtualNodeDeleted())),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest(), 'while the node exists').then(INVALID),
    TerminatePeering: when(cmd.terminatePeering(), 'while the node exists').then(INVALID),
  },
  virtualNodeDeleted: {
    ...unpeeringCells,
    RequestUnpeering: [
      when(cmd.requestUnpeering()).then(nothing),
      when(cmd.requestUnpeering(true), 'escalating to force').then(emits(ev.unpeeringRequested(true))),
    ],
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(nothing),
    RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(nothing),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(nothing),
    DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(nothing),
    WithdrawResourceRequest: [
      when(cmd.withdrawResourceRequest(), 'the request is gone').then(emits(ev.resourceRequestWithdrawn())),
      when(cmd.withdrawResourceRequest(false), 'the provider not reached, not forced').then(INVALID),
      when(cmd.withdrawResourceRequest(false, NOTICE, true), 'not reached within the deadline, with a notice').then(emits(ev.resourceRequestWithdrawn(false, NOTICE))),
      when(cmd.withdrawResourceRequest(true, NOTICE), 'reached, yet with a notice').then(INVALID),
    ],
    TerminatePeering: when(cmd.terminatePeering(), 'before the request is withdrawn').then(INVALID),
  },
  requestWithdrawn: {
    ...unpeeringCells,
    RequestUnpeering: when(cmd.requestUnpeering()).then(nothing),
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(nothing),
    RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(nothing),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(nothing),
    DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(nothing),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest(), 'again').then(nothing),
    TerminatePeering: when(cmd.terminatePeering()).then(emits(ev.peeringTerminated(false))),
  },
  terminated: {
    ...idleCells,
    RequestPeering: when(cmd.requestPeering(), 'peering again').then(emits(ev.peeringRequested())),
    ReceiveOffer: when(cmd.receiveOffer(OFFER_1), 'a late offer').then(nothing),
  },
  'requestWithdrawn (forced, provider not reached)': {
    ...unpeeringCells,
    RequestUnpeering: when(cmd.requestUnpeering(true)).then(nothing),
    MarkVirtualNodeCordoned: when(cmd.markVirtualNodeCordoned()).then(nothing),
    RecordDrainWaiting: when(cmd.recordDrainWaiting()).then(nothing),
    MarkVirtualNodeDrained: when(cmd.markVirtualNodeDrained()).then(nothing),
    DeleteVirtualNode: when(cmd.deleteVirtualNode()).then(nothing),
    WithdrawResourceRequest: when(cmd.withdrawResourceRequest(false, NOTICE), 'again').then(nothing),
    TerminatePeering: when(cmd.terminatePeering()).then(emits(ev.peeringTerminated(true))),
    // The notice is owed once the peering is terminated; before, nothing was sent.
    RecordWithdrawalDelivered: when(cmd.recordWithdrawalDelivered(), 'not terminated yet').then(nothing),
  },
  'terminated (a withdrawal notice owed)': {
    ...idleCells,
    RequestPeering: when(cmd.requestPeering(), 'peering again').then(emits(ev.peeringRequested())),
    ReceiveOffer: when(cmd.receiveOffer(OFFER_1), 'a late offer').then(nothing),
    RecordWithdrawalDelivered: [
      when(cmd.recordWithdrawalDelivered(), 'the provider revoked the identity').then(emits(ev.withdrawalDelivered())),
      when(cmd.recordWithdrawalDelivered('Refused', 'r'.repeat(1500)), 'refused, with long words').then(emits(ev.withdrawalDelivered('Refused', 'r'.repeat(1024)))),
    ],
  },
  'terminated (the notice delivered)': {
    ...idleCells,
    RequestPeering: when(cmd.requestPeering(), 'peering again').then(emits(ev.peeringRequested())),
    ReceiveOffer: when(cmd.receiveOffer(OFFER_1), 'a late offer').then(nothing),
    RecordWithdrawalDelivered: when(cmd.recordWithdrawalDelivered(), 'a second answer').then(nothing),
  },
  'peeringRequested (a withdrawal notice owed)': {
    ...notYetPeeredCells,
    RequestPeering: when(cmd.requestPeering(), 'same coordinates').then(nothing),
    RequestIdentity: when(cmd.requestIdentity()).then(emits(ev.identityRequested())),
    RecordCertificate: when(cmd.recordCertificate()).then(INVALID),
    RecordAuthenticationFailure: when(cmd.recordAuthenticationFailure(), 'endpoint unreachable').then(emits(ev.authenticationFailed())),
    RecordWithdrawalDelivered: when(cmd.recordWithdrawalDelivered('AlreadyEnded', 'the provider had ended it'), 'before authenticating again').then(emits(ev.withdrawalDelivered('AlreadyEnded', 'the provider had ended it'))),
  },
});

// ---- evolve: the states that matter to others ------------------------------------------------------------

describe('outgoing: the provider ends the peering', () => {
  it('ProviderEndedPeering starts the same teardown as one asked here (drained, not forced) and keeps its cause with the remote, through to Terminated', () => {
    const ended = foldEvents(outgoingDecider, [...nodeReady, ev.providerEndedPeering()]);
    assert.equal(ended.status, 'unpeeringRequested');
    const u = ended as Extract<OutgoingState, { status: 'unpeeringRequested' }>;
    assert.deepEqual([u.force, u.drain, u.cordoned, u.virtualNode?.nodeName], [false, true, false, NODE]);
    assert.deepEqual(u.remote.endedByProvider, { reason: 'IncomingDisabled', message: 'cluster beta no longer accepts incoming peerings from alpha' });
    const done = foldEvents(outgoingDecider, [...nodeReady, ev.providerEndedPeering(), ev.virtualNodeCordoned(), ev.virtualNodeDrained(), ev.virtualNodeDeleted(), ev.resourceRequestWithdrawn(), ev.peeringTerminated()]);
    assert.equal(done.status, 'terminated');
    assert.deepEqual((done as Extract<OutgoingState, { status: 'terminated' }>).remote.endedByProvider?.reason, 'IncomingDisabled');
    // Peering again starts with a clean slate: the cause is not carried into the next attempt.
    const again = foldEvents(outgoingDecider, [...nodeReady, ev.providerEndedPeering(), ev.virtualNodeCordoned(), ev.virtualNodeDrained(), ev.virtualNodeDeleted(), ev.resourceRequestWithdrawn(), ev.peeringTerminated(), ev.peeringRequested()]);
    assert.equal((again as Extract<OutgoingState, { status: 'peeringRequested' }>).remote.endedByProvider, undefined);
  });
});

describe('outgoing renewal', () => {
  const pending = [...nodeReady, ev.identityRenewalRequested()];
  const decide = (history: readonly OutgoingEvent[], c: OutgoingCommand) => outgoingDecider.decide(c, foldEvents(outgoingDecider, history));

  it('given a pending renewal, when the same new key asks again, then nothing new is recorded', () => {
    assert.deepEqual(decide(pending, cmd.requestIdentityRenewal(OTHER_KEY, 'f'.repeat(63) + '0')), []);
  });

  it('given a pending renewal, when its certificate comes back, then CertRenewed names the previous certificate', () => {
    assert.deepEqual(decide(pending, cmd.recordRenewedCertificate()), [ev.certRenewed()]);
  });

  it('a renewed certificate that moves the tenant namespace or the API server, or is already expired, is refused', () => {
    assert.throws(() => decide(pending, cmd.recordRenewedCertificate({ tenant: 'kube-system' })), ValidationError);
    assert.throws(() => decide(pending, cmd.recordRenewedCertificate({ apiServer: 'https://10.0.0.1:443' })), ValidationError);
    assert.throws(() => decide(pending, cmd.recordRenewedCertificate({ notAfter: '2025-01-01T00:00:00.000Z' })), ValidationError);
  });

  it('the same failure twice is recorded once; another failure is recorded', () => {
    const failed = [...pending, ev.identityRenewalFailed()];
    assert.deepEqual(decide(failed, cmd.recordRenewalFailure()), []);
    assert.deepEqual(decide(failed, cmd.recordRenewalFailure('PolicyRefused')), [ev.identityRenewalFailed('PolicyRefused')]);
  });

  it('given a ready node, when the certificate is renewed, then the identity holds the new key and certificate and the node stays ready', () => {
    const before = foldEvents(outgoingDecider, nodeReady);
    const after = foldEvents(outgoingDecider, [...pending, ev.identityRenewalFailed(), ev.certRenewed()]);
    assert.equal(after.status, 'virtualNodeReady');
    assert.deepEqual(after, {
      ...before,
      identity: { publicKeyFingerprint: OTHER_KEY, certFingerprint: OTHER_CERT, notAfter: RENEWED_NOT_AFTER, tenantNamespace: TENANT, apiServerUrl: API_SERVER },
    });
    const mid = foldEvents(outgoingDecider, [...pending, ev.identityRenewalFailed('PolicyRefused')]);
    assert.deepEqual('identity' in mid && mid.identity?.renewal, {
      publicKeyFingerprint: OTHER_KEY, csrFingerprint: OTHER_CSR, failure: { reason: 'PolicyRefused', httpStatus: 403, authUrl: null, detail: null, message: null },
    });
  });
});

describe('outgoing evolve', () => {
  it('given a ready node, when an offer update is accepted, then the node stays ready on the new offer', () => {
    const state = foldEvents(outgoingDecider, [...nodeReady, ev.offerReceived(OFFER_2), ev.offerAccepted(OFFER_2)]);
    assert.deepEqual(state, {
      status: 'virtualNodeReady',
      remote: { clusterId: REMOTE.remoteClusterId, clusterName: REMOTE.remoteClusterName, authUrl: REMOTE.authUrl, attempt: null, authFingerprint: null },
      identity: {
        publicKeyFingerprint: KEY,
        certFingerprint: CERT,
        notAfter: NOT_AFTER,
        tenantNamespace: TENANT,
        apiServerUrl: API_SERVER,
      },
      offer: OFFER_2,
      virtualNode: { nodeName: NODE, ready: true },
    });
  });

  it('given a ready node, when an offer update is refused, then the earlier offer stays in force', () => {
    const state = foldEvents(outgoingDecider, [...nodeReady, ev.offerReceived(OFFER_2), ev.offerRefused(OFFER_2)]);
    assert.equal(state.status, 'virtualNodeReady');
    assert.deepEqual(state.status === 'virtualNodeReady' && state.offer, OFFER_1);
  });

  it('given an accepted offer without a node, when an update is refused, then the earlier acceptance stands', () => {
    const state = foldEvents(outgoingDecider, [...offerAccepted, ev.offerReceived(OFFER_2), ev.offerRefused(OFFER_2)]);
    assert.deepEqual(state.status === 'offerAccepted' && state.offer, OFFER_1);
  });

  it('given an update pending over a node not yet ready, when the node turns ready, then acceptance lands on virtualNodeReady', () => {
    const state = foldEvents(outgoingDecider, [
      ...nodeCreated,
      ev.offerReceived(OFFER_2),
      ev.virtualNodeReady(),
      ev.offerAccepted(OFFER_2),
    ]);
    assert.equal(state.status, 'virtualNodeReady');
  });

  it('given a running node, when unpeering is requested, then the node is remembered for the drain', () => {
    const state = foldEvents(outgoingDecider, unpeeringWithNode);
    assert.deepEqual(state.status === 'unpeeringRequested' && state.virtualNode, { nodeName: NODE, ready: true });
  });

  it('when an event does not fit the state, then the state is left unchanged', () => {
    const empty = outgoingDecider.initialState;
    assert.equal(evolve(empty, ev.virtualNodeReady()), empty);
    assert.equal(evolve(empty, ev.certIssued()), empty);
  });

  it('when an event of another aggregate arrives, then evolve refuses it', () => {
    assert.throws(
      () => evolve(outgoingDecider.initialState, { type: 'PodOffloaded' } as unknown as OutgoingEvent),
      (error: unknown) => error instanceof PeerlogError && error.code === 'UnexpectedEvent',
    );
  });

  it('when a command of another aggregate arrives, then decide refuses it', () => {
    assert.throws(
      () => decide({ type: 'OffloadPod', data: {}, metadata } as unknown as OutgoingCommand, outgoingDecider.initialState),
      (error: unknown) => error instanceof ValidationError && error.code === 'UnknownCommand',
    );
  });

  it('only terminated is terminal', () => {
    for (const given of Object.values(givens)) {
      assert.equal(isTerminal(foldEvents(outgoingDecider, given.history)), given.status === 'terminated');
    }
  });

  it('a whole lifecycle, then a second one on the same stream, folds without loss', () => {
    const history = [...nodeDeleted, ev.peeringTerminated(), ev.peeringRequested({ authUrl: OTHER_URL })];
    const state = foldEvents(outgoingDecider, history);
    assert.deepEqual(state, {
      status: 'peeringRequested',
      remote: { clusterId: REMOTE.remoteClusterId, clusterName: REMOTE.remoteClusterName, authUrl: OTHER_URL, attempt: null, authFingerprint: null },
    });
  });
});

describe('outgoing evolve: blockers, the endpoint pin and the provider\'s health', () => {
  const REMOTE_STATE = { clusterId: REMOTE.remoteClusterId, clusterName: REMOTE.remoteClusterName, authUrl: REMOTE.authUrl };

  it('a peering blocked before anything was asked holds the reason, the message and no coordinates', () => {
    assert.deepEqual(foldEvents(outgoingDecider, [ev.peeringBlocked()]), {
      status: 'blocked', reason: 'TokenMissing', message: 'secret peerlog/beta-token does not exist', remote: null,
    });
  });

  it('a peering blocked while authenticating keeps the coordinates and the pin of the attempt', () => {
    const state = foldEvents(outgoingDecider, [ev.peeringRequested({ attempt: ATTEMPT }), ev.identityRequested(KEY, CSR, PIN), ev.peeringBlocked('TokenMalformed', 'not a peerlog token')]);
    assert.deepEqual(state, {
      status: 'blocked', reason: 'TokenMalformed', message: 'not a peerlog token', remote: { ...REMOTE_STATE, attempt: ATTEMPT, authFingerprint: PIN },
    });
  });

  it('a blocker seen once an identity is held changes nothing', () => {
    const before = foldEvents(outgoingDecider, nodeReady);
    assert.deepEqual(foldEvents(outgoingDecider, [...nodeReady, ev.peeringBlocked()]), before);
  });

  it('the endpoint pin learned on first contact survives a refused attempt retried on the same endpoint, not a move to another', () => {
    const refused = [ev.peeringRequested({ attempt: ATTEMPT }), ev.identityRequested(KEY, CSR, PIN), ev.authenticationFailed('TokenRejected', { authUrl: REMOTE.authUrl, detail: 'TokenMismatch', message: 'the token does not match' })];
    assert.deepEqual(foldEvents(outgoingDecider, refused), {
      status: 'authenticationFailed', remote: { ...REMOTE_STATE, attempt: ATTEMPT, authFingerprint: PIN },
      reason: 'TokenRejected', httpStatus: 401, authUrl: REMOTE.authUrl, detail: 'TokenMismatch', message: 'the token does not match',
    });
    assert.deepEqual(foldEvents(outgoingDecider, [...refused, ev.peeringRequested({ attempt: '2/8' })]), {
      status: 'peeringRequested', remote: { ...REMOTE_STATE, attempt: '2/8', authFingerprint: PIN },
    });
    assert.deepEqual(foldEvents(outgoingDecider, [...refused, ev.peeringRequested({ authUrl: OTHER_URL })]), {
      status: 'peeringRequested', remote: { ...REMOTE_STATE, authUrl: OTHER_URL, attempt: null, authFingerprint: null },
    });
  });

  it('a v1 AuthenticationFailed (no words) folds to nulls for them', () => {
    const v1 = { type: 'AuthenticationFailed', data: { reason: 'Unreachable', httpStatus: null } } as OutgoingEvent;
    const state = foldEvents(outgoingDecider, [{ type: 'PeeringRequested', data: { ...REMOTE } } as OutgoingEvent, v1]);
    assert.deepEqual(state, {
      status: 'authenticationFailed', remote: { ...REMOTE_STATE, attempt: null, authFingerprint: null },
      reason: 'Unreachable', httpStatus: null, authUrl: null, detail: null, message: null,
    });
  });

  it('the provider\'s health is kept with the identity, and across a renewal', () => {
    const down = [...nodeReady, ev.providerHealthChanged(false, 'ProviderUnauthorized', 'the provider answered 403')];
    const state = foldEvents(outgoingDecider, [...down, ev.identityRenewalRequested(), ev.certRenewed()]);
    assert.deepEqual(state.status === 'virtualNodeReady' && state.identity, {
      publicKeyFingerprint: OTHER_KEY, certFingerprint: OTHER_CERT, notAfter: RENEWED_NOT_AFTER, tenantNamespace: TENANT, apiServerUrl: API_SERVER,
      health: { ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403' },
    });
    assert.deepEqual(foldEvents(outgoingDecider, [ev.providerHealthChanged(false, 'ProviderUnreachable', 'x')]), { status: 'empty' });
  });
});
