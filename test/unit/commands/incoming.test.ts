import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldEvents } from '../../../src/commands/decider.js';
import { ConflictError, InvalidTransitionError, ValidationError } from '../../../src/errors.js';
import type { IncomingCommand } from '../../../src/commands/incoming/commands.js';
import { incomingDecider, isTerminal, nextLifetime } from '../../../src/commands/incoming/decider.js';
import type { IncomingState } from '../../../src/commands/incoming/state.js';
import type { IncomingEvent, NamespaceRefusalReason, Resources, TokenRejectionReason } from '../../../src/events/catalogue.js';
import type { NamespacePair } from '../../../src/commands/incoming/commands.js';
import { decideMatrix, emits, metadata, nothing, throws, when, type Given } from './harness.js';

// ---- fixtures -----------------------------------------------------------------------------------------

const CONSUMER = { remoteClusterId: 'alpha-01', remoteClusterName: 'alpha' };
const KEY = 'a'.repeat(64);
const OTHER_KEY = 'e'.repeat(64);
const CERT = 'c'.repeat(64);
const SERIAL = '0f3a';
const RENEWED_CERT = 'd'.repeat(64);
const RENEWED_SERIAL = '1b2c';
const RENEWED_NOT_AFTER = '2026-06-01T12:00:00.000Z';
const NOT_AFTER = '2026-03-01T12:00:00.000Z';
const TENANT = 'peerlog-tenant-alpha-01';
const REQUEST = 'alpha-request';
const OFFER = 'alpha-offer';
const RESOURCES: Resources = { cpu: '4', memory: '8Gi', pods: '110' };
/** cpu +3%: under the default 5% threshold. */
const NUDGED: Resources = { cpu: '4120m', memory: '8Gi', pods: '110' };
/** cpu +10%: over it. */
const GROWN: Resources = { cpu: '4400m', memory: '8Gi', pods: '110' };
/** The consumer's namespaces and the provider namespaces made for them (`<namespace>-<consumer id>`). */
const SHOP: NamespacePair = { namespace: 'shop', remoteNamespace: 'shop-alpha-01' };
const BLOG: NamespacePair = { namespace: 'blog', remoteNamespace: 'blog-alpha-01' };
const TAKEN = 'namespace shop-alpha-01 exists and was not made by peerlog for alpha-01';

const cmd = {
  validToken: (remoteClusterId = CONSUMER.remoteClusterId): IncomingCommand => ({
    type: 'ValidateToken',
    data: { remoteClusterId, remoteClusterName: CONSUMER.remoteClusterName, outcome: 'valid' },
    metadata,
  }),
  invalidToken: (reason: TokenRejectionReason = 'TokenMismatch'): IncomingCommand => ({
    type: 'ValidateToken',
    data: { ...CONSUMER, outcome: 'invalid', reason },
    metadata,
  }),
  issueCertificate: (publicKeyFingerprint = KEY, notAfter = NOT_AFTER, lifetime = 1): IncomingCommand => ({
    type: 'IssueCertificate',
    data: { publicKeyFingerprint, certFingerprint: CERT, serialNumber: SERIAL, notAfter, tenantNamespace: TENANT, lifetime, signer: 'csr-api' },
    metadata,
  }),
  receiveResourceRequest: (requestName = REQUEST): IncomingCommand => ({
    type: 'ReceiveResourceRequest',
    data: { requestName },
    metadata,
  }),
  issueOffer: (resources: Resources = RESOURCES, offerName = OFFER): IncomingCommand => ({
    type: 'IssueOffer',
    data: { offerName, resources },
    metadata,
  }),
  updateOffer: (resources: Resources, thresholdPercent?: number): IncomingCommand => ({
    type: 'UpdateOffer',
    data: thresholdPercent === undefined ? { resources } : { resources, thresholdPercent },
    metadata,
  }),
  withdrawOffer: (): IncomingCommand => ({ type: 'WithdrawOffer', data: { reason: 'ResourceRequestWithdrawn' }, metadata }),
  revokeIdentity: (): IncomingCommand => ({ type: 'RevokeIdentity', data: { reason: 'ConsumerUnpeered' }, metadata }),
  renewCertificate: (previousCertFingerprint = CERT, notAfter = RENEWED_NOT_AFTER, lifetime = 2): IncomingCommand => ({
    type: 'RenewCertificate',
    data: { previousCertFingerprint, publicKeyFingerprint: OTHER_KEY, certFingerprint: RENEWED_CERT, serialNumber: RENEWED_SERIAL, notAfter, lifetime, signer: 'csr-api' },
    metadata,
  }),
  receiveNamespaces: (...namespaces: NamespacePair[]): IncomingCommand => ({ type: 'ReceiveNamespaceOffload', data: { namespaces }, metadata }),
  namespaceCreated: (pair: NamespacePair = SHOP): IncomingCommand => ({ type: 'RecordRemoteNamespace', data: { ...pair, created: true }, metadata }),
  namespaceRefused: (message = TAKEN, reason: NamespaceRefusalReason = 'NamespaceExists', pair: NamespacePair = SHOP): IncomingCommand => ({
    type: 'RecordRemoteNamespace', data: { ...pair, created: false, reason, message }, metadata,
  }),
};

const ev = {
  tokenValidated: (): IncomingEvent => ({ type: 'TokenValidated', data: { ...CONSUMER } }),
  tokenRejected: (reason: TokenRejectionReason = 'TokenMismatch'): IncomingEvent => ({ type: 'TokenRejected', data: { reason } }),
  certIssued: (lifetime = 1): IncomingEvent => ({
    type: 'CertIssued',
    data: {
      side: 'provider',
      publicKeyFingerprint: KEY,
      certFingerprint: CERT,
      serialNumber: SERIAL,
      notAfter: NOT_AFTER,
      tenantNamespace: TENANT,
      lifetime,
      signer: 'csr-api',
    },
  }),
  resourceRequestReceived: (): IncomingEvent => ({
    type: 'ResourceRequestReceived',
    data: { requestName: REQUEST, tenantNamespace: TENANT },
  }),
  offerIssued: (resources: Resources = RESOURCES): IncomingEvent => ({ type: 'OfferIssued', data: { offerName: OFFER, resources } }),
  offerUpdated: (resources: Resources): IncomingEvent => ({ type: 'OfferUpdated', data: { offerName: OFFER, resources } }),
  offerWithdrawn: (): IncomingEvent => ({ type: 'OfferWithdrawn', data: { offerName: OFFER, reason: 'ResourceRequestWithdrawn' } }),
  certRenewed: (lifetime = 2): IncomingEvent => ({
    type: 'CertRenewed',
    data: {
      side: 'provider', previousCertFingerprint: CERT, publicKeyFingerprint: OTHER_KEY, certFingerprint: RENEWED_CERT,
      serialNumber: RENEWED_SERIAL, notAfter: RENEWED_NOT_AFTER, lifetime, signer: 'csr-api',
    },
  }),
  identityRevoked: (certSerialNumber: string | null = SERIAL): IncomingEvent => ({
    type: 'IdentityRevoked',
    data: { reason: 'ConsumerUnpeered', certSerialNumber },
  }),
  namespaceReceived: (pair: NamespacePair = SHOP): IncomingEvent => ({ type: 'NamespaceOffloadReceived', data: { ...pair } }),
  namespaceCreated: (pair: NamespacePair = SHOP): IncomingEvent => ({ type: 'RemoteNamespaceCreated', data: { ...pair } }),
  namespaceRefused: (message = TAKEN, reason: NamespaceRefusalReason = 'NamespaceExists', pair: NamespacePair = SHOP): IncomingEvent => ({
    type: 'RemoteNamespaceRefused', data: { ...pair, reason, message },
  }),
};

const authenticated = [ev.tokenValidated(), ev.certIssued()];
const requested = [...authenticated, ev.resourceRequestReceived()];
const offered = [...requested, ev.offerIssued()];
const withdrawn = [...offered, ev.offerWithdrawn()];
const received = [...offered, ev.namespaceReceived()];
const created = [...received, ev.namespaceCreated()];
const refused = [...received, ev.namespaceRefused()];

type Label =
  | 'empty'
  | 'tokenRejected'
  | 'tokenValidated'
  | 'authenticated'
  | 'resourcesRequested'
  | 'offered'
  | 'offered (namespace received)'
  | 'offered (namespace created)'
  | 'offered (namespace refused)'
  | 'offerWithdrawn'
  | 'offerWithdrawn (namespace created)'
  | 'revoked';

const givens: { readonly [K in Label]: Given<IncomingEvent, IncomingState['status']> } = {
  empty: { status: 'empty', history: [] },
  tokenRejected: { status: 'tokenRejected', history: [ev.tokenRejected()] },
  tokenValidated: { status: 'tokenValidated', history: [ev.tokenValidated()] },
  authenticated: { status: 'authenticated', history: authenticated },
  resourcesRequested: { status: 'resourcesRequested', history: requested },
  offered: { status: 'offered', history: offered },
  'offered (namespace received)': { status: 'offered', history: received },
  'offered (namespace created)': { status: 'offered', history: created },
  'offered (namespace refused)': { status: 'offered', history: refused },
  offerWithdrawn: { status: 'offerWithdrawn', history: withdrawn },
  'offerWithdrawn (namespace created)': { status: 'offerWithdrawn', history: [...created, ev.offerWithdrawn()] },
  revoked: { status: 'revoked', history: [...withdrawn, ev.identityRevoked()] },
};

const statuses: { readonly [K in IncomingState['status']]: true } = {
  empty: true,
  tokenRejected: true,
  tokenValidated: true,
  authenticated: true,
  resourcesRequested: true,
  offered: true,
  offerWithdrawn: true,
  revoked: true,
};

const INVALID = throws(InvalidTransitionError, 'InvalidTransition');
const MISMATCH = throws(ConflictError, 'RemoteClusterMismatch');

/** Token checks once the consumer is known: a valid token is already satisfied, a bad one is recorded. */
const knownTokenCells = {
  ValidateToken: [
    when(cmd.validToken(), 'valid').then(nothing),
    when(cmd.invalidToken(), 'invalid').then(emits(ev.tokenRejected())),
    when(cmd.validToken('gamma'), 'another cluster').then(MISMATCH),
  ],
  IssueCertificate: [
    when(cmd.issueCertificate(), 'same key').then(nothing),
    when(cmd.issueCertificate(OTHER_KEY), 'another key').then(throws(ConflictError, 'IdentityConflict')),
  ],
  RenewCertificate: [
    when(cmd.renewCertificate(), 'from the current certificate').then(emits(ev.certRenewed())),
    when(cmd.renewCertificate(OTHER_KEY), 'from a certificate replaced meanwhile').then(throws(ConflictError, 'IdentityConflict')),
    when(cmd.renewCertificate(CERT, '2025-01-01T00:00:00.000Z'), 'expiring before now').then(throws(ValidationError, 'ValidationFailed')),
    when(cmd.renewCertificate(CERT, RENEWED_NOT_AFTER, 1), 'signed for the current lifetime').then(throws(ConflictError, 'IdentityConflict')),
    when(cmd.renewCertificate(CERT, RENEWED_NOT_AFTER, 3), 'signed for a lifetime past the next').then(throws(ConflictError, 'IdentityConflict')),
  ],
} as const;

const NOT_RENEWABLE = { RenewCertificate: when(cmd.renewCertificate()).then(INVALID) } as const;

/** No offer in force: no namespace is taken, and an outcome for a namespace never received is not news. */
const noOfferNamespaceCells = {
  ReceiveNamespaceOffload: when(cmd.receiveNamespaces(SHOP), 'no offer in force').then(INVALID),
  RecordRemoteNamespace: [
    when(cmd.namespaceCreated(), 'created, never received').then(nothing),
    when(cmd.namespaceRefused(), 'refused, never received').then(nothing),
  ],
} as const;

/** Nothing was granted yet: everything past the token needs one. */
const ungrantedCells = {
  ...NOT_RENEWABLE,
  ...noOfferNamespaceCells,
  ReceiveResourceRequest: when(cmd.receiveResourceRequest()).then(INVALID),
  IssueOffer: when(cmd.issueOffer()).then(INVALID),
  UpdateOffer: when(cmd.updateOffer(GROWN)).then(INVALID),
  WithdrawOffer: when(cmd.withdrawOffer(), 'nothing offered').then(nothing),
} as const;

/** An offer in force: the cells that do not depend on the namespaces received. */
const offeredCells = {
  ...knownTokenCells,
  ReceiveResourceRequest: [
    when(cmd.receiveResourceRequest(), 'same request').then(nothing),
    when(cmd.receiveResourceRequest('alpha-request-2'), 'another request').then(
      throws(ConflictError, 'ResourceRequestConflict'),
    ),
  ],
  IssueOffer: [
    when(cmd.issueOffer(), 'same offer').then(nothing),
    when(cmd.issueOffer({ cpu: '4000m', memory: '8192Mi', pods: '110' }), 'same amounts written differently').then(nothing),
    when(cmd.issueOffer(GROWN), 'other amounts').then(throws(ConflictError, 'OfferConflict')),
    when(cmd.issueOffer(RESOURCES, 'alpha-offer-2'), 'another name').then(throws(ConflictError, 'OfferConflict')),
  ],
  UpdateOffer: [
    when(cmd.updateOffer(GROWN), 'cpu +10%').then(emits(ev.offerUpdated(GROWN))),
    when(cmd.updateOffer(NUDGED), 'cpu +3%, default threshold').then(nothing),
    when(cmd.updateOffer(NUDGED, 2), 'cpu +3%, threshold 2%').then(emits(ev.offerUpdated(NUDGED))),
    when(cmd.updateOffer({ cpu: '4', memory: '7Gi', pods: '110' }), 'memory −12.5%').then(
      emits(ev.offerUpdated({ cpu: '4', memory: '7Gi', pods: '110' })),
    ),
    when(cmd.updateOffer({ ...RESOURCES, 'nvidia.com/gpu': '1' }), 'a new resource').then(
      emits(ev.offerUpdated({ ...RESOURCES, 'nvidia.com/gpu': '1' })),
    ),
    when(cmd.updateOffer(RESOURCES), 'unchanged').then(nothing),
    when(cmd.updateOffer(GROWN, 150), 'a threshold beyond 100%').then(throws(ValidationError, 'ValidationFailed')),
  ],
  WithdrawOffer: when(cmd.withdrawOffer()).then(emits(ev.offerWithdrawn())),
  RevokeIdentity: when(cmd.revokeIdentity(), 'with the offer still out').then(INVALID),
} as const;

/** An offer withdrawn: the peering is being torn down. */
const withdrawnCells = {
  ...NOT_RENEWABLE,
  ValidateToken: [
    when(cmd.validToken(), 'valid, during teardown').then(INVALID),
    when(cmd.invalidToken(), 'invalid').then(emits(ev.tokenRejected())),
  ],
  IssueCertificate: [
    when(cmd.issueCertificate(), 'same key').then(nothing),
    when(cmd.issueCertificate(OTHER_KEY), 'another key').then(throws(ConflictError, 'IdentityConflict')),
  ],
  ReceiveResourceRequest: when(cmd.receiveResourceRequest()).then(INVALID),
  IssueOffer: when(cmd.issueOffer()).then(INVALID),
  UpdateOffer: when(cmd.updateOffer(GROWN)).then(INVALID),
  WithdrawOffer: when(cmd.withdrawOffer()).then(nothing),
  RevokeIdentity: when(cmd.revokeIdentity()).then(emits(ev.identityRevoked())),
} as const;

decideMatrix('incoming decider', incomingDecider, statuses, givens, {
  empty: {
    ...ungrantedCells,
    ValidateToken: [
      when(cmd.validToken(), 'valid').then(emits(ev.tokenValidated())),
      when(cmd.invalidToken(), 'invalid').then(emits(ev.tokenRejected())),
    ],
    IssueCertificate: when(cmd.issueCertificate()).then(INVALID),
    RevokeIdentity: when(cmd.revokeIdentity(), 'nothing granted').then(nothing),
  },
  tokenRejected: {
    ...ungrantedCells,
    ValidateToken: [
      when(cmd.validToken(), 'valid').then(emits(ev.tokenValidated())),
      when(cmd.invalidToken('TokenMalformed'), 'invalid again').then(emits(ev.tokenRejected('TokenMalformed'))),
    ],
    IssueCertificate: when(cmd.issueCertificate()).then(INVALID),
    RevokeIdentity: when(cmd.revokeIdentity(), 'nothing granted').then(nothing),
  },
  tokenValidated: {
    ...ungrantedCells,
    ValidateToken: [
      when(cmd.validToken(), 'valid').then(nothing),
      when(cmd.invalidToken(), 'invalid').then(emits(ev.tokenRejected())),
      when(cmd.validToken('gamma'), 'another cluster').then(MISMATCH),
    ],
    IssueCertificate: [
      when(cmd.issueCertificate()).then(emits(ev.certIssued())),
      when(cmd.issueCertificate(KEY, '2025-01-01T00:00:00.000Z'), 'expiring before now').then(
        throws(ValidationError, 'ValidationFailed'),
      ),
      when(cmd.issueCertificate(KEY, NOT_AFTER, 2), 'signed for a lifetime past the next').then(throws(ConflictError, 'IdentityConflict')),
    ],
    RevokeIdentity: when(cmd.revokeIdentity(), 'before any certificate').then(emits(ev.identityRevoked(null))),
  },
  authenticated: {
    ...knownTokenCells,
    ...noOfferNamespaceCells,
    ReceiveResourceRequest: when(cmd.receiveResourceRequest()).then(emits(ev.resourceRequestReceived())),
    IssueOffer: when(cmd.issueOffer(), 'before any request').then(INVALID),
    UpdateOffer: when(cmd.updateOffer(GROWN)).then(INVALID),
    WithdrawOffer: when(cmd.withdrawOffer(), 'nothing offered').then(nothing),
    RevokeIdentity: when(cmd.revokeIdentity()).then(emits(ev.identityRevoked())),
  },
  resourcesRequested: {
    ...knownTokenCells,
    ...noOfferNamespaceCells,
    ReceiveResourceRequest: [
      when(cmd.receiveResourceRequest(), 'same request').then(nothing),
      when(cmd.receiveResourceRequest('alpha-request-2'), 'another request').then(
        throws(ConflictError, 'ResourceRequestConflict'),
      ),
    ],
    IssueOffer: when(cmd.issueOffer()).then(emits(ev.offerIssued())),
    UpdateOffer: when(cmd.updateOffer(GROWN), 'before any offer').then(INVALID),
    WithdrawOffer: when(cmd.withdrawOffer(), 'nothing offered').then(nothing),
    RevokeIdentity: when(cmd.revokeIdentity()).then(emits(ev.identityRevoked())),
  },
  offered: {
    ...offeredCells,
    ReceiveNamespaceOffload: [
      when(cmd.receiveNamespaces(SHOP), 'one namespace').then(emits(ev.namespaceReceived())),
      when(cmd.receiveNamespaces(SHOP, BLOG, SHOP), 'two namespaces, one twice').then(emits(ev.namespaceReceived(), ev.namespaceReceived(BLOG))),
      when(cmd.receiveNamespaces(), 'none').then(nothing),
    ],
    RecordRemoteNamespace: [
      when(cmd.namespaceCreated(), 'created, never received').then(nothing),
      when(cmd.namespaceRefused(), 'refused, never received').then(nothing),
    ],
  },
  'offered (namespace received)': {
    ...offeredCells,
    ReceiveNamespaceOffload: [
      when(cmd.receiveNamespaces(SHOP), 'received already').then(nothing),
      when(cmd.receiveNamespaces({ namespace: 'shop', remoteNamespace: 'shop-gamma' }), 'received already, under another name').then(nothing),
      when(cmd.receiveNamespaces(SHOP, BLOG), 'one received, one new').then(emits(ev.namespaceReceived(BLOG))),
    ],
    RecordRemoteNamespace: [
      when(cmd.namespaceCreated(), 'created').then(emits(ev.namespaceCreated())),
      when(cmd.namespaceRefused(), 'refused').then(emits(ev.namespaceRefused())),
      when(cmd.namespaceCreated({ namespace: 'shop', remoteNamespace: 'shop-gamma' }), 'created under another name').then(nothing),
      when(cmd.namespaceCreated(BLOG), 'created, never received').then(nothing),
    ],
  },
  'offered (namespace created)': {
    ...offeredCells,
    ReceiveNamespaceOffload: when(cmd.receiveNamespaces(SHOP), 'created already').then(nothing),
    RecordRemoteNamespace: [
      when(cmd.namespaceCreated(), 'created again').then(nothing),
      when(cmd.namespaceRefused('the quota could not be applied', 'CreationFailed'), 'failing to apply it again').then(nothing),
      when(cmd.namespaceRefused(), 'refused once created').then(nothing),
    ],
  },
  'offered (namespace refused)': {
    ...offeredCells,
    ReceiveNamespaceOffload: when(cmd.receiveNamespaces(SHOP), 'refused already').then(nothing),
    RecordRemoteNamespace: [
      when(cmd.namespaceRefused(), 'the same refusal').then(nothing),
      when(cmd.namespaceRefused('namespace shop-alpha-01 is terminating'), 'the same reason, another message').then(
        emits(ev.namespaceRefused('namespace shop-alpha-01 is terminating')),
      ),
      when(cmd.namespaceRefused('the quota could not be applied', 'CreationFailed'), 'another reason').then(
        emits(ev.namespaceRefused('the quota could not be applied', 'CreationFailed')),
      ),
      when(cmd.namespaceCreated(), 'created at last').then(emits(ev.namespaceCreated())),
    ],
  },
  offerWithdrawn: {
    ...withdrawnCells,
    ...noOfferNamespaceCells,
  },
  'offerWithdrawn (namespace created)': {
    ...withdrawnCells,
    ReceiveNamespaceOffload: when(cmd.receiveNamespaces(BLOG), 'no offer in force').then(INVALID),
    RecordRemoteNamespace: [
      when(cmd.namespaceCreated(), 'created again').then(nothing),
      when(cmd.namespaceRefused(), 'refused once created').then(nothing),
    ],
  },
  revoked: {
    ...NOT_RENEWABLE,
    ...noOfferNamespaceCells,
    ValidateToken: [
      when(cmd.validToken(), 'peering again').then(emits(ev.tokenValidated())),
      when(cmd.invalidToken(), 'invalid').then(emits(ev.tokenRejected())),
      when(cmd.validToken('gamma'), 'another cluster').then(MISMATCH),
    ],
    IssueCertificate: when(cmd.issueCertificate()).then(INVALID),
    ReceiveResourceRequest: when(cmd.receiveResourceRequest()).then(INVALID),
    IssueOffer: when(cmd.issueOffer()).then(INVALID),
    UpdateOffer: when(cmd.updateOffer(GROWN)).then(INVALID),
    WithdrawOffer: when(cmd.withdrawOffer()).then(nothing),
    RevokeIdentity: when(cmd.revokeIdentity()).then(nothing),
  },
});

describe('incoming evolve', () => {
  it('given consecutive bad tokens, then the failures are counted for rate limiting', () => {
    const state = foldEvents(incomingDecider, [ev.tokenRejected(), ev.tokenRejected('TokenMissing')]);
    assert.deepEqual(state, { status: 'tokenRejected', reason: 'TokenMissing', failedAttempts: 2 });
  });

  it('given a granted peering, when a bad token is recorded, then the grant is untouched', () => {
    const before = foldEvents(incomingDecider, offered);
    assert.deepEqual(foldEvents(incomingDecider, [ev.tokenRejected()], before), before);
  });

  it('given an offer, when it is updated, then the state holds the new amounts', () => {
    const state = foldEvents(incomingDecider, [...offered, ev.offerUpdated(GROWN)]);
    assert.deepEqual(state, {
      status: 'offered',
      remote: { clusterId: CONSUMER.remoteClusterId, clusterName: CONSUMER.remoteClusterName },
      identity: {
        publicKeyFingerprint: KEY,
        certFingerprint: CERT,
        serialNumber: SERIAL,
        notAfter: NOT_AFTER,
        tenantNamespace: TENANT,
        lifetime: 1,
      },
      requestName: REQUEST,
      offer: { offerName: OFFER, resources: GROWN },
    });
  });

  it('small drifts accumulate against the last issued offer until they cross the threshold', () => {
    // +3% then +6% of the issued 4 cpu: the second command crosses 5% even though it moved 3% itself.
    const state = foldEvents(incomingDecider, offered);
    assert.deepEqual(incomingDecider.decide(cmd.updateOffer(NUDGED), state), []);
    const drifted: Resources = { cpu: '4240m', memory: '8Gi', pods: '110' };
    assert.deepEqual(incomingDecider.decide(cmd.updateOffer(drifted), state), [ev.offerUpdated(drifted)]);
  });

  it('given an offer, when the certificate is renewed, then the identity holds the new key and certificate, the rest stays', () => {
    const before = foldEvents(incomingDecider, offered);
    const after = foldEvents(incomingDecider, [ev.certRenewed()], before);
    assert.deepEqual(after, {
      ...before,
      identity: { publicKeyFingerprint: OTHER_KEY, certFingerprint: RENEWED_CERT, serialNumber: RENEWED_SERIAL, notAfter: RENEWED_NOT_AFTER, tenantNamespace: TENANT, lifetime: 2 },
    });
    // The same renewal recorded again is a repeat; another one from the replaced certificate lost a race.
    assert.deepEqual(incomingDecider.decide(cmd.renewCertificate(), after), []);
    const late = { ...cmd.renewCertificate(), data: { ...(cmd.renewCertificate().data as object), certFingerprint: 'f'.repeat(64) } } as IncomingCommand;
    assert.throws(() => incomingDecider.decide(late, after), ConflictError);
  });

  it('a namespace goes Received, then Created or Refused, kept by the consumer\'s namespace name', () => {
    const first = foldEvents(incomingDecider, received);
    assert.deepEqual(first.status === 'offered' && first.namespaces, {
      shop: { namespace: 'shop', remoteNamespace: 'shop-alpha-01', phase: 'Received', reason: null, message: null },
    });
    const state = foldEvents(incomingDecider, [...created, ev.namespaceReceived(BLOG), ev.namespaceRefused('the quota could not be applied', 'CreationFailed', BLOG)]);
    assert.deepEqual('namespaces' in state && state.namespaces, {
      shop: { namespace: 'shop', remoteNamespace: 'shop-alpha-01', phase: 'Created', reason: null, message: null },
      blog: { namespace: 'blog', remoteNamespace: 'blog-alpha-01', phase: 'Refused', reason: 'CreationFailed', message: 'the quota could not be applied' },
    });
  });

  it('an outcome for a namespace never received leaves the state as it was', () => {
    const before = foldEvents(incomingDecider, received);
    assert.equal(incomingDecider.evolve(before, ev.namespaceCreated(BLOG)), before);
    assert.equal(incomingDecider.evolve(before, ev.namespaceRefused(TAKEN, 'NamespaceExists', BLOG)), before);
  });

  it('a namespace created never turns Refused, whatever comes after', () => {
    let state = foldEvents(incomingDecider, created);
    for (const command of [cmd.namespaceRefused(), cmd.namespaceRefused('apply failed', 'CreationFailed'), cmd.namespaceRefused('no offer', 'NotOffered')]) {
      const events = incomingDecider.decide(command, state);
      assert.deepEqual(events, []);
      state = foldEvents(incomingDecider, events, state);
    }
    assert.equal(state.status === 'offered' && state.namespaces?.['shop']?.phase, 'Created');
  });

  it('namespaces survive an offer update, a renewal and the withdrawal; revocation ends them with the identity', () => {
    const namespaces = { shop: { namespace: 'shop', remoteNamespace: 'shop-alpha-01', phase: 'Created', reason: null, message: null } };
    const updated = foldEvents(incomingDecider, [...created, ev.offerUpdated(GROWN)]);
    assert.deepEqual(updated, {
      status: 'offered',
      remote: { clusterId: 'alpha-01', clusterName: 'alpha' },
      identity: { publicKeyFingerprint: KEY, certFingerprint: CERT, serialNumber: SERIAL, notAfter: NOT_AFTER, tenantNamespace: TENANT, lifetime: 1 },
      requestName: REQUEST,
      offer: { offerName: OFFER, resources: GROWN },
      namespaces,
    });
    const renewed = foldEvents(incomingDecider, [ev.certRenewed()], updated);
    assert.deepEqual('namespaces' in renewed && renewed.namespaces, namespaces);
    const withdrawnState = foldEvents(incomingDecider, [ev.offerWithdrawn()], renewed);
    assert.deepEqual(withdrawnState.status === 'offerWithdrawn' && withdrawnState.namespaces, namespaces);
    const revoked = foldEvents(incomingDecider, [ev.identityRevoked()], withdrawnState);
    assert.deepEqual(revoked, { status: 'revoked', remote: { clusterId: 'alpha-01', clusterName: 'alpha' }, lastLifetime: 2 });
    // Peering again starts with no namespace: the consumer asks again.
    const again = foldEvents(incomingDecider, [ev.tokenValidated(), ev.certIssued(3), ev.resourceRequestReceived(), ev.offerIssued()], revoked);
    assert.deepEqual(incomingDecider.decide(cmd.receiveNamespaces(SHOP), again), [ev.namespaceReceived()]);
  });

  it('every certificate opens the next lifetime, counted across revocation and a peering again', () => {
    const lifetimes = (history: IncomingEvent[]) => nextLifetime(foldEvents(incomingDecider, history));
    assert.equal(lifetimes([]), 1);
    assert.equal(lifetimes([ev.tokenRejected()]), 1);
    assert.equal(lifetimes([ev.tokenValidated()]), 1);
    assert.equal(lifetimes(authenticated), 2);
    assert.equal(lifetimes([...offered, ev.certRenewed()]), 3);
    const revokedAfterRenewal = [...offered, ev.certRenewed(), ev.offerWithdrawn(), ev.identityRevoked()];
    assert.equal(lifetimes(revokedAfterRenewal), 3);
    assert.equal(lifetimes([...revokedAfterRenewal, ev.tokenRejected()]), 3);
    assert.equal(lifetimes([...revokedAfterRenewal, ev.tokenValidated()]), 3);
    assert.equal(lifetimes([...revokedAfterRenewal, ev.tokenValidated(), ev.certIssued(3)]), 4);
    // Revoked before any certificate of the new peering: the count stands.
    assert.equal(lifetimes([...revokedAfterRenewal, ev.tokenValidated(), ev.identityRevoked(null)]), 3);
  });

  it('given a revoked peering of two lifetimes, when it peers again, then only lifetime 3 is taken', () => {
    const state = foldEvents(incomingDecider, [...offered, ev.certRenewed(), ev.offerWithdrawn(), ev.identityRevoked(), ev.tokenValidated()]);
    assert.deepEqual(state, { status: 'tokenValidated', remote: { clusterId: 'alpha-01', clusterName: 'alpha' }, lastLifetime: 2 });
    assert.deepEqual(incomingDecider.decide(cmd.issueCertificate(KEY, NOT_AFTER, 3), state), [ev.certIssued(3)]);
    for (const stale of [1, 2, 4]) {
      assert.throws(() => incomingDecider.decide(cmd.issueCertificate(KEY, NOT_AFTER, stale), state), (e: ConflictError) => e.code === 'IdentityConflict', `lifetime ${stale}`);
    }
  });

  it('a v1 certificate (no lifetime) is kept without one; its renewal opens lifetime 1', () => {
    const v1 = { type: 'CertIssued', data: { side: 'provider', publicKeyFingerprint: KEY, certFingerprint: CERT, serialNumber: SERIAL, notAfter: NOT_AFTER, tenantNamespace: TENANT } } as IncomingEvent;
    const state = foldEvents(incomingDecider, [ev.tokenValidated(), v1]);
    assert.deepEqual(state, {
      status: 'authenticated', remote: { clusterId: 'alpha-01', clusterName: 'alpha' },
      identity: { publicKeyFingerprint: KEY, certFingerprint: CERT, serialNumber: SERIAL, notAfter: NOT_AFTER, tenantNamespace: TENANT },
    });
    assert.equal(nextLifetime(state), 1);
    assert.deepEqual(incomingDecider.decide(cmd.renewCertificate(CERT, RENEWED_NOT_AFTER, 1), state), [ev.certRenewed(1)]);
  });

  it('only revoked is terminal', () => {
    for (const given of Object.values(givens)) {
      assert.equal(isTerminal(foldEvents(incomingDecider, given.history)), given.status === 'revoked');
    }
  });
});
