// The audit aggregate, one per cluster log: stream audit-<clusterId>, holding the log's signed
// checkpoints. It is not a peering aggregate, so it stays out of the registry: read models and views
// leave its stream alone (they skip stream kinds they do not know), and only `audit verify` reads it.
import type { AuditEvent } from '../../events/catalogue.js';
import type { CommandMetadata } from '../command.js';
import { unexpectedEvent, unknownCommand, type Decider } from '../decider.js';
import { ValidationError } from '../../errors.js';

export const AUDIT_STREAM_PREFIX = 'audit-';

export function auditStreamId(clusterId: string): string {
  return `${AUDIT_STREAM_PREFIX}${clusterId}`;
}

/** Sign the chain head: the head, its position and the signature are made by the caller (a key is I/O). */
export interface SignCheckpoint {
  readonly type: 'SignCheckpoint';
  readonly data: { readonly chainLength: number; readonly head: string; readonly keyId: string; readonly signature: string };
  readonly metadata: CommandMetadata;
}

export type AuditCommand = SignCheckpoint;

export interface AuditState {
  /** The chain length the last checkpoint covers; 0 before the first. */
  readonly chainLength: number;
  readonly head: string | null;
}

export const auditDecider: Decider<AuditCommand, AuditEvent, AuditState> = {
  initialState: { chainLength: 0, head: null },
  decide(command, state) {
    switch (command.type) {
      case 'SignCheckpoint': {
        // A head already covered (a second control plane, or a retry) is satisfied, never signed twice.
        if (command.data.chainLength <= state.chainLength) return [];
        return [{ type: 'CheckpointSigned', data: { ...command.data } }];
      }
      default:
        return unknownCommand(command as never);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'CheckpointSigned':
        if (event.data.chainLength <= state.chainLength) {
          throw new ValidationError(`checkpoint at chain length ${event.data.chainLength} does not follow ${state.chainLength}`, { field: 'chainLength' });
        }
        return { chainLength: event.data.chainLength, head: event.data.head };
      default:
        return unexpectedEvent(event as never);
    }
  },
  isTerminal: () => false,
};
