// Errors raised at the log's boundary, part of the hierarchy rooted in src/errors.ts.
import { ValidationError } from '../errors.js';

export const EVENT_ERROR_CODES = {
  EventSchemaInvalid: 'EventSchemaInvalid',
  UnknownEventType: 'UnknownEventType',
  UnsupportedSchemaVersion: 'UnsupportedSchemaVersion',
  EventHashMismatch: 'EventHashMismatch',
  CloudEventHeadersInvalid: 'CloudEventHeadersInvalid',
} as const;

export type EventErrorCode = (typeof EVENT_ERROR_CODES)[keyof typeof EVENT_ERROR_CODES];

/** An event that cannot enter or leave the log as it is: the message names the field and the type. */
export class EventSchemaError extends ValidationError {
  /** The event type when it could be read, else null. */
  readonly eventType: string | null;

  constructor(
    code: EventErrorCode,
    message: string,
    options: { readonly field?: string | null; readonly eventType?: string | null; readonly cause?: unknown } = {},
  ) {
    super(message, { code, field: options.field ?? null, cause: options.cause });
    this.eventType = options.eventType ?? null;
  }
}
