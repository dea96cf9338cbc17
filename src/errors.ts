// The one error hierarchy of the project, rooted in PeerlogError. Every failure carries a stable
// `code` (what callers and logs branch on), `retriable` (whether trying again from fresh state can
// succeed) and an optional `cause` (the underlying error an adapter translated). This module imports
// nothing, so every layer (src/events and src/commands included) depends on it and on nothing else
// for its errors.

export interface PeerlogErrorOptions {
  readonly cause?: unknown;
  readonly retriable?: boolean;
}

/** Codes raised by the domain layer. Adapters add their own codes; `code` stays a plain string. */
export const ERROR_CODES = {
  ValidationFailed: 'ValidationFailed',
  UnknownCommand: 'UnknownCommand',
  UnknownStream: 'UnknownStream',
  UnexpectedEvent: 'UnexpectedEvent',
  UnknownStatus: 'UnknownStatus',
  InvalidTransition: 'InvalidTransition',
  ConcurrencyConflict: 'ConcurrencyConflict',
  RemoteClusterMismatch: 'RemoteClusterMismatch',
  PeeringConflict: 'PeeringConflict',
  IdentityConflict: 'IdentityConflict',
  OfferMismatch: 'OfferMismatch',
  OfferConflict: 'OfferConflict',
  ResourceRequestConflict: 'ResourceRequestConflict',
  VirtualNodeConflict: 'VirtualNodeConflict',
  PodConflict: 'PodConflict',
  PodNotOffloaded: 'PodNotOffloaded',
} as const;

export type DomainErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class PeerlogError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: PeerlogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Input that can never succeed as given: a malformed command, event or setting. */
export class ValidationError extends PeerlogError {
  /** Dotted path of the offending field, when one field is to blame. */
  readonly field: string | null;

  constructor(
    message: string,
    options: { readonly code?: string; readonly field?: string | null; readonly cause?: unknown } = {},
  ) {
    super(options.code ?? ERROR_CODES.ValidationFailed, message, { cause: options.cause, retriable: false });
    this.field = options.field ?? null;
  }
}

/** A business rule refused the command; retrying the same command against the same facts fails again. */
export class DomainError extends PeerlogError {
  constructor(code: string, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, { cause: options.cause, retriable: false });
  }
}

/** The command does not apply to the aggregate's current status. */
export class InvalidTransitionError extends DomainError {
  readonly command: string;
  readonly status: string;

  constructor(command: string, status: string, why: string) {
    super(ERROR_CODES.InvalidTransition, `${command} is not allowed while ${status}: ${why}`);
    this.command = command;
    this.status = status;
  }
}

/** The command contradicts a fact already recorded (another key, another offer, another cluster). */
export class ConflictError extends DomainError {
  constructor(code: string, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * Another writer appended to the stream between read and append. Retriable: the handler reads the
 * fresh state and decides again, which either succeeds or turns into a non-retriable domain error.
 */
export class ConcurrencyError extends PeerlogError {
  readonly streamId: string;
  readonly expectedVersion: number;
  readonly actualVersion: number | null;

  constructor(
    streamId: string,
    expectedVersion: number,
    actualVersion: number | null,
    options: { readonly cause?: unknown } = {},
  ) {
    const actual = actualVersion === null ? 'unknown' : String(actualVersion);
    super(
      ERROR_CODES.ConcurrencyConflict,
      `stream ${streamId} moved on: expected version ${expectedVersion}, found ${actual}`,
      { cause: options.cause, retriable: true },
    );
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A flag or argument of a CLI verb that can never work as given; the CLI answers with exit code 2. */
export class UsageError extends ValidationError {
  constructor(message: string, options: { readonly field?: string | null; readonly cause?: unknown } = {}) {
    super(message, { ...options, code: 'Usage' });
  }
}

/**
 * A fault of this program or of data it wrote itself (a broken invariant, a record the log names
 * but the store lacks), not of a caller's input: never retried, and never answered as a refusal.
 */
export class InternalError extends PeerlogError {
  constructor(code: string, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, { cause: options.cause, retriable: false });
  }
}

/** Something did not happen within the time it was given. */
export class TimeoutError extends PeerlogError {
  constructor(code: string, message: string, options: PeerlogErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The work was stopped on purpose (an abort signal, a released session). */
export class AbortedError extends PeerlogError {
  constructor(message: string, options: PeerlogErrorOptions = {}) {
    super('Aborted', message, options);
  }
}

/** A start-up step failed; the message names the step and what it reached for. */
export class StartError extends PeerlogError {
  constructor(stepName: string, target: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('StartFailed', `cannot start (${stepName}): ${target}: ${why}`, { cause, retriable: isRetriable(cause) });
  }
}

/** Another process holds a projection's lock; it can be taken once that process stops. */
export class ProjectionLockedError extends PeerlogError {
  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super('ProjectionLocked', message, { cause: options.cause, retriable: true });
  }
}

/** The database schema lacks peerlog's tables or some of its migrations, and the verb may not migrate it. */
export class SchemaNotMigratedError extends PeerlogError {
  readonly pending: readonly string[];

  constructor(schema: string, pending: readonly string[], total: number) {
    const what = pending.length === total
      ? `holds no peerlog tables`
      : `lacks ${pending.length} of peerlog's migrations (${pending.join(', ')})`;
    super('SchemaNotMigrated', `schema ${schema} ${what}: run \`peerlog serve\` for this cluster once (it migrates the schema), or check --db-schema and --cluster-id`);
    this.pending = pending;
  }
}

/** A request body larger than the endpoint accepts. */
export class BodyTooLargeError extends PeerlogError {
  constructor(limitBytes: number) {
    super('PayloadTooLarge', `the body exceeds ${limitBytes} bytes`);
  }
}

/** A PROXY protocol header that is malformed, too large or missing where one is required. */
export class ProxyHeaderError extends PeerlogError {
  constructor(message: string) {
    super('ProxyHeaderInvalid', message);
  }
}

export function isPeerlogError(error: unknown): error is PeerlogError {
  return error instanceof PeerlogError;
}

/** Unknown errors are programming errors or unclassified library failures: never retried blindly. */
export function isRetriable(error: unknown): boolean {
  return error instanceof PeerlogError && error.retriable;
}

/** Thrown to have a work queue come back later (its backoff), without an error to report. */
export class RetryLater extends PeerlogError {
  constructor(why: string) { super('RetryLater', why, { retriable: true }); }
}
