// Signed checkpoints of the cluster log (time-based): every interval, when events were sealed since
// the last checkpoint, the control plane signs the sealed chain head (peerlog_log_head: its length
// and last hash, which only the relay's sealing moves) and appends a CheckpointSigned event to the
// stream audit-<clusterId> through the ordinary write path. The checkpoint is sealed into the chain
// later, after its head, like any event; `audit verify` checks it against the chain as it walks.
// Signing a head that is already sealed (rather than the relay writing checkpoints as it seals)
// keeps the relay's order of publishing intact and the checkpoint an ordinary, deduped event.
import type { DataSource } from 'typeorm';
import { auditDecider, auditStreamId, type AuditState } from '../../commands/audit/decider.js';
import { handleCommand, type HandlerPorts } from '../../commands/handle.js';
import { checkpointMessage } from '../../events/checkpoint.js';
import type { CheckpointKey } from '../crypto/checkpoint-key.js';
import type { Logger } from '../log/index.js';

export interface CheckpointerOptions {
  readonly ds: DataSource;
  readonly ports: HandlerPorts;
  readonly clusterId: string;
  readonly key: CheckpointKey;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly now?: () => Date;
}

export interface Checkpointer {
  /** Signs the current head if it moved since the last checkpoint; the chain length signed, or undefined. */
  checkpointOnce(): Promise<number | undefined>;
  start(): void;
  stop(): Promise<void>;
}

export function createCheckpointer(o: CheckpointerOptions): Checkpointer {
  const log = o.logger.child({ component: 'checkpointer', clusterId: o.clusterId });
  const streamId = auditStreamId(o.clusterId);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  async function checkpointOnce(): Promise<number | undefined> {
    const rows = await o.ds.query('select last_hash, events from peerlog_log_head where cluster_id = $1', [o.clusterId]) as { last_hash: string; events: string | number }[];
    const head = rows[0];
    if (!head || Number(head.events) === 0) return undefined;
    const chainLength = Number(head.events);
    const stored = await o.ports.store.load<AuditState>(streamId);
    const last = stored?.state.chainLength ?? 0;
    // The last checkpoint is itself sealed after its head: a head that moved only by it needs none.
    if (chainLength <= last + 1) return undefined;
    const data = { chainLength, head: head.last_hash, keyId: o.key.keyId, signature: o.key.sign(checkpointMessage(o.clusterId, chainLength, head.last_hash)) };
    const id = o.ports.newId();
    const handled = await handleCommand(o.ports, auditDecider, { id: streamId, type: 'audit' }, {
      type: 'SignCheckpoint', data,
      metadata: { now: (o.now?.() ?? new Date()).toISOString(), actor: { kind: 'controller', name: 'checkpointer' }, correlationId: id, commandId: id },
    });
    if (handled.events.length === 0) return undefined;
    log.debug('signed the chain head', { chainLength, head: head.last_hash, keyId: o.key.keyId });
    return chainLength;
  }

  return {
    checkpointOnce,
    start() {
      timer = setInterval(() => {
        running = checkpointOnce().catch((error: unknown) => log.warn('could not sign a checkpoint; the next interval tries again', { error }));
      }, o.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
