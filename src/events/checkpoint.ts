// What a signed checkpoint signs: fixed bytes from (cluster, chain length, head), so a signature
// can be checked by any tool that knows Ed25519, and one cluster's checkpoint never stands for another's.
import { CLUSTER_ID_PATTERN, isSha256Hex } from './constants.js';
import { ValidationError } from '../errors.js';

/** The domain separator and version of the signed text: a new layout gets a new prefix. */
export const CHECKPOINT_MESSAGE_PREFIX = 'peerlog-checkpoint:v1';

/** `peerlog-checkpoint:v1\n<clusterId>\n<chainLength>\n<head>\n` as UTF-8 (it is all ASCII). */
export function checkpointMessage(clusterId: string, chainLength: number, head: string): Buffer {
  if (!CLUSTER_ID_PATTERN.test(clusterId)) throw new ValidationError(`${JSON.stringify(clusterId)} is not a cluster id`, { field: 'clusterId' });
  if (!Number.isSafeInteger(chainLength) || chainLength < 1) throw new ValidationError(`chainLength must be a positive integer, got ${chainLength}`, { field: 'chainLength' });
  if (!isSha256Hex(head)) throw new ValidationError('head must be 64 lowercase hex characters', { field: 'head' });
  return Buffer.from(`${CHECKPOINT_MESSAGE_PREFIX}\n${clusterId}\n${chainLength}\n${head}\n`, 'ascii');
}
