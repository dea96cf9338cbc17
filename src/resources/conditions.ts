// Condition types and reasons of peerlog's custom resources and virtual nodes: one vocabulary for
// the projections that write them, the operator that observes them and the CLI that reads them.

export const CONDITION_TYPES = {
  /** ForeignCluster: whether this cluster holds a working identity towards the provider. */
  authenticated: 'Authenticated',
  /** ForeignCluster: where the outgoing direction (this cluster as consumer) stands. */
  outgoingPeering: 'OutgoingPeering',
  /** ForeignCluster: where the incoming direction (this cluster as provider) stands. */
  incomingPeering: 'IncomingPeering',
  /** ForeignCluster: whether the virtual node of the outgoing direction is Ready. */
  virtualNodeReady: 'VirtualNodeReady',
  /** Node: the kubelet's Ready. */
  ready: 'Ready',
} as const;

export const REASONS = {
  // outgoing, before or while authenticating
  waitingForLog: 'WaitingForLog',
  authenticating: 'Authenticating',
  tokenMissing: 'TokenMissing',
  tokenMalformed: 'TokenMalformed',
  tokenSecretNotAllowed: 'TokenSecretNotAllowed',
  missingAuthUrl: 'MissingAuthUrl',
  providerUnreachable: 'ProviderUnreachable',
  authenticationFailed: 'AuthenticationFailed',
  identityIssued: 'IdentityIssued',
  identityRenewalFailed: 'IdentityRenewalFailed',
  identityExpired: 'IdentityExpired',
  identitySecretInvalid: 'IdentitySecretInvalid',
  providerUnauthorized: 'ProviderUnauthorized',
  // outgoing, peering
  established: 'Established',
  offerRefused: 'OfferRefused',
  notPeered: 'NotPeered',
  terminated: 'Terminated',
  // outgoing, unpeering (a drain that waits says why: PodDisruptionBudget, EvictionRefused, WaitingForPods)
  cordoning: 'Cordoning',
  draining: 'Draining',
  deletingVirtualNode: 'DeletingVirtualNode',
  withdrawingRequest: 'WithdrawingRequest',
  removingIdentity: 'RemovingIdentity',
  providerNotReached: 'ProviderNotReached',
  /** A forced unpeering's notice, delivered later, was refused by the provider (its words in the message). */
  withdrawalRefused: 'WithdrawalRefused',
  /** The provider ended the peering (its incoming direction disabled for this cluster). */
  providerEnded: 'ProviderEnded',
  // virtual node
  noVirtualNode: 'NoVirtualNode',
  nodeStarting: 'NodeStarting',
  nodeReady: 'NodeReady',
  peeringEstablished: 'PeeringEstablished',
  // incoming
  tokenRejected: 'TokenRejected',
  identityRevoked: 'IdentityRevoked',
  offerWithdrawn: 'OfferWithdrawn',
} as const;

export type ConditionType = (typeof CONDITION_TYPES)[keyof typeof CONDITION_TYPES];
export type Reason = (typeof REASONS)[keyof typeof REASONS];

/** Reasons that say "nothing here yet" rather than "something is wrong": `status` and `peer` skip them. */
export const QUIET_REASONS: ReadonlySet<string> = new Set([REASONS.noVirtualNode, REASONS.notPeered]);
