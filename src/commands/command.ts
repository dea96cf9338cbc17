// The shape shared by every command: what to do (`type`, `data`) and who asked when (`metadata`).
import type { Actor } from '../events/catalogue.js';

export interface CommandMetadata {
  /** The handler's clock reading, ISO 8601 UTC; deciders never read a clock themselves. */
  readonly now: string;
  readonly actor: Actor;
  /** Shared by every command and event of one user intent (a `peerlog peer` run, one apply). */
  readonly correlationId: string;
  /** Becomes the causationId of the events this command produces. */
  readonly commandId: string;
}

export interface Command<T extends string, D> {
  readonly type: T;
  readonly data: D;
  readonly metadata: CommandMetadata;
}

/** Data of commands that need nothing beyond their name and metadata. */
export type NoData = Readonly<Record<string, never>>;
