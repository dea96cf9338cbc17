import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncomingState } from '../../../src/commands/incoming/state.js';
import type { OutgoingState } from '../../../src/commands/outgoing/state.js';
import { AUTHENTICATION_FAILURE_REASONS } from '../../../src/events/constants.js';
import { forgeForeignClusterStatus, incomingPhase, outgoingPhase, type Condition } from '../../../src/resources/status.js';

const NOW = '2024-05-01T10:00:00.000Z';
const EARLIER = '2024-04-30T09:00:00.000Z';
const REASON = /^[A-Z][A-Za-z0-9]*$/;

const remote = { clusterId: 'beta-7f3c', clusterName: 'beta', authUrl: 'https://beta.example:8443' };
const identity = {
  publicKeyFingerprint: 'sha256:aa', certFingerprint: 'sha256:bb', notAfter: '2025-01-01T00:00:00.000Z',
  tenantNamespace: 'peerlog-tenant-alpha-1a2b', apiServerUrl: 'https://beta.example:6443',
};
const offer = { offerName: 'offer-alpha', generation: 2, resources: { cpu: '1500m', memory: '4Gi', pods: '55' } };
const starting = { nodeName: 'peerlog-beta', ready: false };
const ready = { nodeName: 'peerlog-beta', ready: true };

const peer = { remote: { clusterId: 'alpha-1a2b', clusterName: 'alpha' } };
const issued = {
  publicKeyFingerprint: 'sha256:cc', certFingerprint: 'sha256:dd', serialNumber: '01',
  notAfter: '2025-01-01T00:00:00.000Z', tenantNamespace: 'peerlog-tenant-alpha-1a2b',
};
const issuedOffer = { offerName: 'offer-alpha', resources: { cpu: '2', memory: '8Gi', pods: '55' } };

const OUTGOING: { readonly [S in OutgoingState['status']]: Extract<OutgoingState, { status: S }> } = {
  empty: { status: 'empty' },
  peeringRequested: { status: 'peeringRequested', remote },
  identityRequested: { status: 'identityRequested', remote, publicKeyFingerprint: 'sha256:aa', csrFingerprint: 'sha256:ee' },
  authenticationFailed: { status: 'authenticationFailed', remote, reason: 'TokenRejected', httpStatus: 401 },
  authenticated: { status: 'authenticated', remote, identity },
  resourcesRequested: { status: 'resourcesRequested', remote, identity },
  offerReceived: { status: 'offerReceived', remote, identity, offer, accepted: null },
  offerAccepted: { status: 'offerAccepted', remote, identity, offer },
  offerRefused: { status: 'offerRefused', remote, identity, offer, reason: 'InsufficientResources' },
  virtualNodeCreated: { status: 'virtualNodeCreated', remote, identity, offer, virtualNode: starting },
  virtualNodeReady: { status: 'virtualNodeReady', remote, identity, offer, virtualNode: ready },
  unpeeringRequested: { status: 'unpeeringRequested', remote, identity, virtualNode: ready, force: false },
  virtualNodeDrained: { status: 'virtualNodeDrained', remote, identity, virtualNode: starting, force: false },
  virtualNodeDeleted: { status: 'virtualNodeDeleted', remote, identity, force: false },
  terminated: { status: 'terminated', remote },
};

const INCOMING: { readonly [S in IncomingState['status']]: Extract<IncomingState, { status: S }> } = {
  empty: { status: 'empty' },
  tokenRejected: { status: 'tokenRejected', reason: 'TokenMismatch', failedAttempts: 3 },
  tokenValidated: { status: 'tokenValidated', ...peer },
  authenticated: { status: 'authenticated', ...peer, identity: issued },
  resourcesRequested: { status: 'resourcesRequested', ...peer, identity: issued, requestName: 'peerlog-request' },
  offered: { status: 'offered', ...peer, identity: issued, requestName: 'peerlog-request', offer: issuedOffer },
  offerWithdrawn: { status: 'offerWithdrawn', ...peer, identity: issued, requestName: 'peerlog-request', offer: issuedOffer, reason: 'IncomingDisabled' },
  revoked: { status: 'revoked', ...peer },
};

const c = (type: string, status: Condition['status'], reason: string, message: string, lastTransitionTime = NOW): Condition =>
  ({ type, status, reason, message, lastTransitionTime });

const AUTHENTICATED = c('Authenticated', 'True', 'IdentityIssued',
  'identity valid until 2025-01-01T00:00:00.000Z, tenant namespace peerlog-tenant-alpha-1a2b at https://beta.example:6443');
const AUTHENTICATING = c('Authenticated', 'Unknown', 'Authenticating', 'asking the provider for an identity');
const NO_NODE = c('VirtualNodeReady', 'False', 'NoVirtualNode', 'no virtual node for this peering');
const NODE_STARTING = c('VirtualNodeReady', 'False', 'NodeStarting', 'node peerlog-beta created, not Ready yet');
const NODE_READY = c('VirtualNodeReady', 'True', 'NodeReady', 'node peerlog-beta is Ready');
const inProgress = (phase: string) => c('OutgoingPeering', 'Unknown', phase, `peering in progress: ${phase}`);

type Outgoing = { phase: string; tenantNamespace?: string; virtualNode?: string };
const EXPECTED_OUTGOING: { readonly [S in OutgoingState['status']]: { outgoing: Outgoing; conditions: Condition[] } } = {
  empty: {
    outgoing: { phase: 'None' },
    conditions: [c('OutgoingPeering', 'False', 'NotPeered', 'no outgoing peering'), NO_NODE],
  },
  peeringRequested: {
    outgoing: { phase: 'Authenticating' },
    conditions: [AUTHENTICATING, inProgress('Authenticating'), NO_NODE],
  },
  identityRequested: {
    outgoing: { phase: 'Authenticating' },
    conditions: [AUTHENTICATING, inProgress('Authenticating'), NO_NODE],
  },
  authenticationFailed: {
    outgoing: { phase: 'AuthenticationFailed' },
    conditions: [
      c('Authenticated', 'False', 'TokenRejected', 'the provider answered 401 (TokenRejected)'),
      c('OutgoingPeering', 'False', 'TokenRejected', 'authentication failed: the provider answered 401 (TokenRejected)'),
      NO_NODE,
    ],
  },
  authenticated: {
    outgoing: { phase: 'Authenticated', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    conditions: [AUTHENTICATED, inProgress('Authenticated'), NO_NODE],
  },
  resourcesRequested: {
    outgoing: { phase: 'ResourcesRequested', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    conditions: [AUTHENTICATED, inProgress('ResourcesRequested'), NO_NODE],
  },
  offerReceived: {
    outgoing: { phase: 'OfferReceived', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    conditions: [AUTHENTICATED, inProgress('OfferReceived'), NO_NODE],
  },
  offerAccepted: {
    outgoing: { phase: 'OfferAccepted', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    conditions: [AUTHENTICATED, inProgress('OfferAccepted'), NO_NODE],
  },
  offerRefused: {
    outgoing: { phase: 'OfferRefused', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    conditions: [AUTHENTICATED, c('OutgoingPeering', 'False', 'OfferRefused', 'offer offer-alpha refused (InsufficientResources)'), NO_NODE],
  },
  virtualNodeCreated: {
    outgoing: { phase: 'VirtualNodeCreated', tenantNamespace: 'peerlog-tenant-alpha-1a2b', virtualNode: 'peerlog-beta' },
    conditions: [AUTHENTICATED, inProgress('VirtualNodeCreated'), NODE_STARTING],
  },
  virtualNodeReady: {
    outgoing: { phase: 'Established', tenantNamespace: 'peerlog-tenant-alpha-1a2b', virtualNode: 'peerlog-beta' },
    conditions: [
      AUTHENTICATED,
      c('OutgoingPeering', 'True', 'Established', 'virtual node peerlog-beta offers 1500m CPU, 4Gi memory, 55 pods'),
      NODE_READY,
    ],
  },
  unpeeringRequested: {
    outgoing: { phase: 'Unpeering', tenantNamespace: 'peerlog-tenant-alpha-1a2b', virtualNode: 'peerlog-beta' },
    conditions: [AUTHENTICATED, inProgress('Unpeering'), NODE_READY],
  },
  virtualNodeDrained: {
    outgoing: { phase: 'Unpeering', tenantNamespace: 'peerlog-tenant-alpha-1a2b', virtualNode: 'peerlog-beta' },
    conditions: [AUTHENTICATED, inProgress('Unpeering'), NODE_STARTING],
  },
  virtualNodeDeleted: {
    outgoing: { phase: 'Unpeering', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    conditions: [AUTHENTICATED, inProgress('Unpeering'), NO_NODE],
  },
  terminated: {
    outgoing: { phase: 'Terminated' },
    conditions: [c('OutgoingPeering', 'False', 'Terminated', 'no outgoing peering'), NO_NODE],
  },
};

type Incoming = { phase: string; tenantNamespace?: string };
const EXPECTED_INCOMING: { readonly [S in IncomingState['status']]: { incoming: Incoming; condition: Condition } } = {
  empty: { incoming: { phase: 'None' }, condition: c('IncomingPeering', 'False', 'NotPeered', 'no incoming peering') },
  tokenRejected: {
    incoming: { phase: 'AuthenticationFailed' },
    condition: c('IncomingPeering', 'False', 'TokenRejected', 'the last 3 attempt(s) presented a bad token (TokenMismatch)'),
  },
  tokenValidated: {
    incoming: { phase: 'Authenticating' },
    condition: c('IncomingPeering', 'Unknown', 'Authenticating', 'incoming peering in progress: Authenticating'),
  },
  authenticated: {
    incoming: { phase: 'Authenticated', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    condition: c('IncomingPeering', 'Unknown', 'Authenticated', 'incoming peering in progress: Authenticated'),
  },
  resourcesRequested: {
    incoming: { phase: 'ResourcesRequested', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    condition: c('IncomingPeering', 'Unknown', 'ResourcesRequested', 'incoming peering in progress: ResourcesRequested'),
  },
  offered: {
    incoming: { phase: 'Established', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    condition: c('IncomingPeering', 'True', 'Established', 'offering 2 CPU, 8Gi memory, 55 pods as offer-alpha'),
  },
  offerWithdrawn: {
    incoming: { phase: 'Withdrawn', tenantNamespace: 'peerlog-tenant-alpha-1a2b' },
    condition: c('IncomingPeering', 'False', 'OfferWithdrawn', 'offer withdrawn (IncomingDisabled)'),
  },
  revoked: { incoming: { phase: 'Revoked' }, condition: c('IncomingPeering', 'False', 'IdentityRevoked', 'the identity was revoked') },
};

const statuses = <T extends object>(table: T) => Object.keys(table) as (keyof T & string)[];

describe('outgoingPhase', () => {
  it('names the phase of every outgoing status', () => {
    const phases = Object.fromEntries(statuses(OUTGOING).map((s) => [s, outgoingPhase(OUTGOING[s])]));
    assert.deepEqual(phases, {
      empty: 'None', peeringRequested: 'Authenticating', identityRequested: 'Authenticating',
      authenticationFailed: 'AuthenticationFailed', authenticated: 'Authenticated', resourcesRequested: 'ResourcesRequested',
      offerReceived: 'OfferReceived', offerAccepted: 'OfferAccepted', offerRefused: 'OfferRefused',
      virtualNodeCreated: 'VirtualNodeCreated', virtualNodeReady: 'Established', unpeeringRequested: 'Unpeering',
      virtualNodeDrained: 'Unpeering', virtualNodeDeleted: 'Unpeering', terminated: 'Terminated',
    });
  });
});

describe('incomingPhase', () => {
  it('names the phase of every incoming status', () => {
    const phases = Object.fromEntries(statuses(INCOMING).map((s) => [s, incomingPhase(INCOMING[s])]));
    assert.deepEqual(phases, {
      empty: 'None', tokenRejected: 'AuthenticationFailed', tokenValidated: 'Authenticating', authenticated: 'Authenticated',
      resourcesRequested: 'ResourcesRequested', offered: 'Established', offerWithdrawn: 'Withdrawn', revoked: 'Revoked',
    });
  });
});

describe('forgeForeignClusterStatus: outgoing states', () => {
  for (const s of statuses(OUTGOING)) {
    it(`forges the phase and the conditions of ${s}`, () => {
      assert.deepEqual(forgeForeignClusterStatus({ outgoing: OUTGOING[s], now: NOW }), EXPECTED_OUTGOING[s]);
    });
  }

  it('keeps Authenticated out of an unpeering that never got an identity', () => {
    const state: OutgoingState = { status: 'unpeeringRequested', remote, identity: null, virtualNode: null, force: true };
    assert.deepEqual(forgeForeignClusterStatus({ outgoing: state, now: NOW }), {
      outgoing: { phase: 'Unpeering' },
      conditions: [inProgress('Unpeering'), NO_NODE],
    });
  });

  it('uses the detail while authenticating', () => {
    const status = forgeForeignClusterStatus({
      outgoing: OUTGOING.peeringRequested, detail: { reason: 'Retrying', message: 'connection reset, retrying' }, now: NOW,
    });
    assert.deepEqual(status.conditions, [
      c('Authenticated', 'Unknown', 'Retrying', 'connection reset, retrying'),
      c('OutgoingPeering', 'Unknown', 'Retrying', 'connection reset, retrying'),
      NO_NODE,
    ]);
  });
});

describe('forgeForeignClusterStatus: authentication failures', () => {
  it('maps Unreachable to ProviderUnreachable and says nothing answered', () => {
    const state: OutgoingState = { status: 'authenticationFailed', remote, reason: 'Unreachable', httpStatus: null };
    assert.deepEqual(forgeForeignClusterStatus({ outgoing: state, now: NOW }).conditions, [
      c('Authenticated', 'False', 'ProviderUnreachable', 'the provider answered nothing (Unreachable)'),
      c('OutgoingPeering', 'False', 'ProviderUnreachable', 'authentication failed: the provider answered nothing (Unreachable)'),
      NO_NODE,
    ]);
  });

  it('prefers the detail\'s reason and message', () => {
    const state: OutgoingState = { status: 'authenticationFailed', remote, reason: 'Unreachable', httpStatus: null };
    const detail = { reason: 'CertificateMismatch', message: 'the endpoint presented another certificate' };
    assert.deepEqual(forgeForeignClusterStatus({ outgoing: state, detail, now: NOW }).conditions, [
      c('Authenticated', 'False', 'CertificateMismatch', 'the endpoint presented another certificate'),
      c('OutgoingPeering', 'False', 'CertificateMismatch', 'authentication failed: the endpoint presented another certificate'),
      NO_NODE,
    ]);
  });

  it('uses the detail\'s message with the state\'s reason when the detail has no reason', () => {
    const state: OutgoingState = { status: 'authenticationFailed', remote, reason: 'PolicyRefused', httpStatus: 403 };
    const conditions = forgeForeignClusterStatus({ outgoing: state, detail: { message: 'not allowed by beta' }, now: NOW }).conditions;
    assert.deepEqual(conditions.slice(0, 2), [
      c('Authenticated', 'False', 'PolicyRefused', 'not allowed by beta'),
      c('OutgoingPeering', 'False', 'PolicyRefused', 'authentication failed: not allowed by beta'),
    ]);
  });

  for (const reason of AUTHENTICATION_FAILURE_REASONS) {
    it(`gives an UpperCamelCase reason for ${reason}`, () => {
      const state: OutgoingState = { status: 'authenticationFailed', remote, reason, httpStatus: reason === 'Unreachable' ? null : 400 };
      const conditions = forgeForeignClusterStatus({ outgoing: state, now: NOW }).conditions;
      const expected = reason === 'Unreachable' ? 'ProviderUnreachable' : reason;
      assert.deepEqual(conditions.map((x) => [x.type, x.status, x.reason]), [
        ['Authenticated', 'False', expected],
        ['OutgoingPeering', 'False', expected],
        ['VirtualNodeReady', 'False', 'NoVirtualNode'],
      ]);
    });
  }
});

describe('forgeForeignClusterStatus: details before the first command', () => {
  it('reports Authenticated False with the detail\'s reason on an empty state', () => {
    const detail = { reason: 'TokenSecretMissing', message: 'secret peerlog-system/beta-token not found' };
    assert.deepEqual(forgeForeignClusterStatus({ outgoing: OUTGOING.empty, detail, now: NOW }), {
      outgoing: { phase: 'None' },
      conditions: [
        c('Authenticated', 'False', 'TokenSecretMissing', 'secret peerlog-system/beta-token not found'),
        c('OutgoingPeering', 'False', 'TokenSecretMissing', 'secret peerlog-system/beta-token not found'),
        NO_NODE,
      ],
    });
  });

  it('uses the reason as the message when the detail has none', () => {
    const conditions = forgeForeignClusterStatus({ outgoing: OUTGOING.empty, detail: { reason: 'NoAuthUrl' }, now: NOW }).conditions;
    assert.deepEqual(conditions[0], c('Authenticated', 'False', 'NoAuthUrl', 'NoAuthUrl'));
  });

  it('reports Authenticated False with the detail\'s reason on a terminated state', () => {
    const conditions = forgeForeignClusterStatus({ outgoing: OUTGOING.terminated, detail: { reason: 'TokenSecretMissing' }, now: NOW }).conditions;
    assert.deepEqual(conditions.map((x) => [x.type, x.status, x.reason]), [
      ['Authenticated', 'False', 'TokenSecretMissing'],
      ['OutgoingPeering', 'False', 'TokenSecretMissing'],
      ['VirtualNodeReady', 'False', 'NoVirtualNode'],
    ]);
  });
});

describe('forgeForeignClusterStatus: UnpeeringNotSupported', () => {
  it('keeps OutgoingPeering True on an established peering and says why', () => {
    const detail = { reason: 'UnpeeringNotSupported', message: 'outgoing: Disabled is not supported yet' };
    assert.deepEqual(forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, detail, now: NOW }), {
      outgoing: { phase: 'Established', tenantNamespace: 'peerlog-tenant-alpha-1a2b', virtualNode: 'peerlog-beta' },
      conditions: [
        AUTHENTICATED,
        c('OutgoingPeering', 'True', 'UnpeeringNotSupported', 'outgoing: Disabled is not supported yet'),
        NODE_READY,
      ],
    });
  });

  it('has a default message', () => {
    const conditions = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, detail: { reason: 'UnpeeringNotSupported' }, now: NOW }).conditions;
    assert.deepEqual(conditions[1], c('OutgoingPeering', 'True', 'UnpeeringNotSupported', 'unpeering is not implemented yet'));
  });

  it('makes OutgoingPeering Unknown on a peering that is not established', () => {
    const conditions = forgeForeignClusterStatus({ outgoing: OUTGOING.offerAccepted, detail: { reason: 'UnpeeringNotSupported' }, now: NOW }).conditions;
    assert.deepEqual(conditions, [AUTHENTICATED, c('OutgoingPeering', 'Unknown', 'UnpeeringNotSupported', 'unpeering is not implemented yet'), NO_NODE]);
  });
});

describe('forgeForeignClusterStatus: identity problems after authentication', () => {
  it('a refused identity Secret makes Authenticated False with reason IdentitySecretInvalid', () => {
    const detail = { reason: 'IdentitySecretInvalid', message: 'the identity Secret in peerlog-tenant-beta-7f3c is refused: tls.crt is not the certificate the log names' };
    const conditions = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, detail, now: NOW }).conditions;
    assert.deepEqual(conditions[0], c('Authenticated', 'False', 'IdentitySecretInvalid', detail.message));
  });

  it('a failing renewal in the log keeps Authenticated True until notAfter, with reason IdentityRenewalFailed', () => {
    const renewing = {
      ...OUTGOING.virtualNodeReady,
      identity: { ...identity, renewal: { publicKeyFingerprint: 'sha256:ff', csrFingerprint: 'sha256:ee', failure: { reason: 'Unreachable' as const, httpStatus: null } } },
    };
    const conditions = forgeForeignClusterStatus({ outgoing: renewing, now: NOW }).conditions;
    assert.deepEqual(conditions[0], c('Authenticated', 'True', 'IdentityRenewalFailed',
      'identity valid until 2025-01-01T00:00:00.000Z; renewing it failed: the provider answered nothing (Unreachable)'));
    assert.match(conditions[0]!.reason, REASON);
  });

  it('past notAfter, Authenticated is False with IdentityExpired, naming the last renewal failure', () => {
    const expired = {
      ...OUTGOING.virtualNodeReady,
      identity: { ...identity, notAfter: '2024-04-30T00:00:00.000Z', renewal: { publicKeyFingerprint: 'sha256:ff', csrFingerprint: 'sha256:ee', failure: { reason: 'PolicyRefused' as const, httpStatus: 403 } } },
    };
    assert.deepEqual(forgeForeignClusterStatus({ outgoing: expired, now: NOW }).conditions[0], c('Authenticated', 'False', 'IdentityExpired',
      'the identity expired at 2024-04-30T00:00:00.000Z; renewing it failed: the provider answered 403 (PolicyRefused)'));
  });
});

describe('forgeForeignClusterStatus: incoming states', () => {
  for (const s of statuses(INCOMING)) {
    it(`forges the phase and the IncomingPeering condition of ${s}`, () => {
      const { incoming, condition } = EXPECTED_INCOMING[s];
      assert.deepEqual(forgeForeignClusterStatus({ incoming: INCOMING[s], now: NOW }), { incoming, conditions: [condition] });
    });
  }

  it('puts the outgoing conditions first when both directions are passed', () => {
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, incoming: INCOMING.offered, now: NOW });
    assert.deepEqual(status.conditions.map((x) => x.type), ['Authenticated', 'OutgoingPeering', 'VirtualNodeReady', 'IncomingPeering']);
    assert.deepEqual(status.outgoing, EXPECTED_OUTGOING.virtualNodeReady.outgoing);
    assert.deepEqual(status.incoming, EXPECTED_INCOMING.offered.incoming);
  });
});

describe('forgeForeignClusterStatus: sections', () => {
  it('has neither section and no condition when no state is passed', () => {
    assert.deepEqual(forgeForeignClusterStatus({ now: NOW }), { conditions: [] });
  });

  it('has only the outgoing section for an outgoing state', () => {
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.authenticated, now: NOW });
    assert.ok('outgoing' in status);
    assert.ok(!('incoming' in status));
  });

  it('has only the incoming section for an incoming state', () => {
    const status = forgeForeignClusterStatus({ incoming: INCOMING.authenticated, now: NOW });
    assert.ok('incoming' in status);
    assert.ok(!('outgoing' in status));
  });

  it('shows the pinned fingerprint in the outgoing section', () => {
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, authFingerprint: 'sha256:0f1e', now: NOW });
    assert.deepEqual(status.outgoing, {
      phase: 'Established', tenantNamespace: 'peerlog-tenant-alpha-1a2b', virtualNode: 'peerlog-beta', authFingerprint: 'sha256:0f1e',
    });
  });

  it('leaves the fingerprint out when none is given', () => {
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, now: NOW });
    assert.ok(!('authFingerprint' in (status.outgoing ?? {})));
  });

  it('shows no fingerprint and no outgoing section for an incoming state only', () => {
    assert.deepEqual(forgeForeignClusterStatus({ incoming: INCOMING.offered, authFingerprint: 'sha256:0f1e', now: NOW }), {
      incoming: EXPECTED_INCOMING.offered.incoming,
      conditions: [EXPECTED_INCOMING.offered.condition],
    });
  });
});

describe('forgeForeignClusterStatus: lastTransitionTime', () => {
  it('keeps the previous time of a condition whose status did not change', () => {
    const previous = [
      c('Authenticated', 'True', 'IdentityIssued', 'older message', EARLIER),
      c('OutgoingPeering', 'True', 'Established', 'older message', EARLIER),
      c('VirtualNodeReady', 'True', 'NodeReady', 'older message', EARLIER),
    ];
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, previous, now: NOW });
    assert.deepEqual(status.conditions.map((x) => x.lastTransitionTime), [EARLIER, EARLIER, EARLIER]);
    assert.deepEqual(status.conditions[0], { ...AUTHENTICATED, lastTransitionTime: EARLIER });
  });

  it('keeps the previous time when only the reason changed', () => {
    const previous = [c('OutgoingPeering', 'Unknown', 'OfferAccepted', 'peering in progress: OfferAccepted', EARLIER)];
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeCreated, previous, now: NOW });
    assert.deepEqual(status.conditions[1], { ...inProgress('VirtualNodeCreated'), lastTransitionTime: EARLIER });
  });

  it('sets now on a condition whose status changed', () => {
    const previous = [
      c('Authenticated', 'True', 'IdentityIssued', 'x', EARLIER),
      c('OutgoingPeering', 'Unknown', 'VirtualNodeCreated', 'x', EARLIER),
      c('VirtualNodeReady', 'False', 'NodeStarting', 'x', EARLIER),
    ];
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.virtualNodeReady, previous, now: NOW });
    assert.deepEqual(status.conditions.map((x) => [x.type, x.lastTransitionTime]), [
      ['Authenticated', EARLIER],
      ['OutgoingPeering', NOW],
      ['VirtualNodeReady', NOW],
    ]);
  });

  it('sets now on a condition that was not there before', () => {
    const previous = [c('IncomingPeering', 'True', 'Established', 'x', EARLIER)];
    const status = forgeForeignClusterStatus({ outgoing: OUTGOING.authenticated, incoming: INCOMING.offered, previous, now: NOW });
    assert.deepEqual(status.conditions.map((x) => [x.type, x.lastTransitionTime]), [
      ['Authenticated', NOW],
      ['OutgoingPeering', NOW],
      ['VirtualNodeReady', NOW],
      ['IncomingPeering', EARLIER],
    ]);
  });

  it('does not take the time of a condition of another type', () => {
    const previous = [c('OutgoingPeering', 'True', 'Established', 'x', EARLIER)];
    const status = forgeForeignClusterStatus({ incoming: INCOMING.offered, previous, now: NOW });
    assert.deepEqual(status.conditions, [EXPECTED_INCOMING.offered.condition]);
  });
});

describe('forgeForeignClusterStatus: reasons', () => {
  it('gives an UpperCamelCase reason on every condition of every state', () => {
    const details = [undefined, { reason: 'UnpeeringNotSupported' }];
    let checked = 0;
    for (const o of [undefined, ...Object.values(OUTGOING)]) {
      for (const i of [undefined, ...Object.values(INCOMING)]) {
        for (const detail of details) {
          const status = forgeForeignClusterStatus({ ...(o ? { outgoing: o } : {}), ...(i ? { incoming: i } : {}), ...(detail ? { detail } : {}), now: NOW });
          for (const x of status.conditions) {
            assert.match(x.reason, REASON, `${o?.status}/${i?.status}: ${x.type}`);
            assert.ok(['True', 'False', 'Unknown'].includes(x.status));
            assert.ok(['Authenticated', 'OutgoingPeering', 'IncomingPeering', 'VirtualNodeReady'].includes(x.type), x.type);
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 100);
  });
});

describe('an offer update waiting for a decision', () => {
  const update: OutgoingState = {
    status: 'offerReceived', remote, identity, offer: { ...offer, generation: 3 },
    accepted: { offer, virtualNode: ready },
  };
  const before = forgeForeignClusterStatus({ outgoing: { status: 'virtualNodeReady', remote, identity, offer, virtualNode: ready }, now: EARLIER });
  const during = forgeForeignClusterStatus({ outgoing: update, previous: before.conditions, now: NOW });

  it('keeps the running node Ready and the peering Established, with their transition times', () => {
    const node = during.conditions.find((x) => x.type === 'VirtualNodeReady')!;
    assert.deepEqual([node.status, node.reason, node.lastTransitionTime], ['True', 'NodeReady', EARLIER]);
    const peering = during.conditions.find((x) => x.type === 'OutgoingPeering')!;
    assert.deepEqual([peering.status, peering.reason, peering.lastTransitionTime], ['True', 'Established', EARLIER]);
    assert.match(peering.message, /generation 3 awaits a decision/);
  });

  it('shows the phase Established and the node in the status', () => {
    assert.equal(during.outgoing?.phase, 'Established');
    assert.equal(during.outgoing?.virtualNode, 'peerlog-beta');
  });
});
