// Stream ids and the decider behind each: a generic handler or projection finds the aggregate of
// any stream id here, so adding an aggregate touches one table.
import type { DomainEvent } from '../events/catalogue.js';
import { CLUSTER_ID_PATTERN } from '../events/constants.js';
import { STREAM_PREFIXES } from './constants.js';
import type { Decider } from './decider.js';
import { ERROR_CODES, ValidationError } from '../errors.js';
import { incomingDecider } from './incoming/decider.js';
import type { IncomingCommand } from './incoming/commands.js';
import { outgoingDecider } from './outgoing/decider.js';
import type { OutgoingCommand } from './outgoing/commands.js';
import { podsDecider } from './pods/decider.js';
import type { PodsCommand } from './pods/commands.js';

export type StreamKind = keyof typeof STREAM_PREFIXES;
export type AnyCommand = OutgoingCommand | IncomingCommand | PodsCommand;

/**
 * A decider with its types erased, for code that handles every stream alike. Handing it a command of
 * another aggregate fails with ValidationError 'UnknownCommand', never with a wrong event.
 */
export type AnyDecider = Decider<AnyCommand, DomainEvent, unknown>;

export const deciders: { readonly [K in StreamKind]: AnyDecider } = {
  outgoing: outgoingDecider,
  incoming: incomingDecider,
  pods: podsDecider,
};

export interface StreamRef {
  readonly kind: StreamKind;
  readonly remoteClusterId: string;
  readonly streamId: string;
}

const KINDS = Object.keys(STREAM_PREFIXES) as StreamKind[];

export function streamIdOf(kind: StreamKind, remoteClusterId: string): string {
  if (!CLUSTER_ID_PATTERN.test(remoteClusterId)) {
    throw new ValidationError(`${JSON.stringify(remoteClusterId)} is not a valid cluster id`, { field: 'remoteClusterId' });
  }
  return `${STREAM_PREFIXES[kind]}${remoteClusterId}`;
}

export function parseStreamId(streamId: string): StreamRef {
  for (const kind of KINDS) {
    const prefix = STREAM_PREFIXES[kind];
    if (streamId.startsWith(prefix)) {
      const remoteClusterId = streamId.slice(prefix.length);
      if (CLUSTER_ID_PATTERN.test(remoteClusterId)) return { kind, remoteClusterId, streamId };
    }
  }
  throw new ValidationError(
    `${JSON.stringify(streamId)} is not a stream id (expected ${Object.values(STREAM_PREFIXES).join('|')}<clusterId>)`,
    { code: ERROR_CODES.UnknownStream, field: 'streamId' },
  );
}

export function deciderFor(streamId: string): AnyDecider {
  return deciders[parseStreamId(streamId).kind];
}

const COMMAND_KINDS: { readonly [C in AnyCommand['type']]: StreamKind } = {
  RequestPeering: 'outgoing',
  BlockPeering: 'outgoing',
  RecordProviderHealth: 'outgoing',
  RequestIdentity: 'outgoing',
  RecordCertificate: 'outgoing',
  RecordAuthenticationFailure: 'outgoing',
  RequestIdentityRenewal: 'outgoing',
  RecordRenewedCertificate: 'outgoing',
  RecordRenewalFailure: 'outgoing',
  RequestResources: 'outgoing',
  ReceiveOffer: 'outgoing',
  AcceptOffer: 'outgoing',
  RefuseOffer: 'outgoing',
  CreateVirtualNode: 'outgoing',
  MarkVirtualNodeReady: 'outgoing',
  RequestUnpeering: 'outgoing',
  MarkVirtualNodeCordoned: 'outgoing',
  RecordDrainWaiting: 'outgoing',
  MarkVirtualNodeDrained: 'outgoing',
  DeleteVirtualNode: 'outgoing',
  WithdrawResourceRequest: 'outgoing',
  TerminatePeering: 'outgoing',
  RecordWithdrawalDelivered: 'outgoing',
  RecordProviderEnded: 'outgoing',
  ValidateToken: 'incoming',
  IssueCertificate: 'incoming',
  RenewCertificate: 'incoming',
  ReceiveResourceRequest: 'incoming',
  IssueOffer: 'incoming',
  UpdateOffer: 'incoming',
  WithdrawOffer: 'incoming',
  RevokeIdentity: 'incoming',
  RequestNamespaceOffload: 'pods',
  RecordNamespaceAnswer: 'pods',
  OffloadPods: 'pods',
  RecordPodOffloadFailure: 'pods',
  ReflectPodStatus: 'pods',
  ReclaimPods: 'pods',
  EndOffloading: 'pods',
  ReceiveNamespaceOffload: 'incoming',
  RecordRemoteNamespace: 'incoming',
};

/** The aggregate a command type belongs to: lets a caller route a command given only the remote id. */
export function streamKindOfCommand(type: string): StreamKind {
  const kind = Object.prototype.hasOwnProperty.call(COMMAND_KINDS, type)
    ? COMMAND_KINDS[type as AnyCommand['type']]
    : undefined;
  if (kind === undefined) {
    throw new ValidationError(`unknown command ${JSON.stringify(type)}`, { code: ERROR_CODES.UnknownCommand, field: 'type' });
  }
  return kind;
}
