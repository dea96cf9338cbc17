// CloudEvents Kafka binding (binary mode) headers forged from an envelope, and read back, so that
// any Kafka tool can tell what a message is without parsing its value.
import { CLOUDEVENTS_SPEC_VERSION, JSON_CONTENT_TYPE } from './constants.js';
import type { EventEnvelope } from './envelope.js';
import { EventSchemaError, EVENT_ERROR_CODES } from './errors.js';

/** A type literal, not an interface, so that it fits Kafka clients' `{ [header: string]: … }` maps. */
export type CloudEventHeaders = {
  readonly ce_id: string;
  readonly ce_type: string;
  readonly ce_source: string;
  readonly ce_specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  readonly ce_time: string;
  readonly ce_subject: string;
  readonly 'content-type': typeof JSON_CONTENT_TYPE;
};

/** The attributes as read back; `subject` is the stream id. */
export interface CloudEventAttributes {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  readonly time: string;
  readonly subject: string;
  readonly datacontenttype: string;
}

/** Header values as Kafka clients hand them over, without depending on one. */
export type RawHeaderValue = string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined;

/** A URI reference naming the cluster log an event was written to. */
export function cloudEventSource(clusterId: string): string {
  return `/peerlog/clusters/${encodeURIComponent(clusterId)}`;
}

export function toCloudEventHeaders(envelope: EventEnvelope, source: string): CloudEventHeaders {
  return {
    ce_id: envelope.id,
    ce_type: envelope.type,
    ce_source: source,
    ce_specversion: CLOUDEVENTS_SPEC_VERSION,
    ce_time: envelope.occurredAt,
    ce_subject: envelope.streamId,
    'content-type': JSON_CONTENT_TYPE,
  };
}

export function fromCloudEventHeaders(headers: Readonly<Record<string, RawHeaderValue>>): CloudEventAttributes {
  const read = (name: string): string => {
    const value = headerText(headers[name]);
    if (value === undefined || value === '') {
      throw new EventSchemaError(EVENT_ERROR_CODES.CloudEventHeadersInvalid, `header ${name} is missing`, { field: name });
    }
    return value;
  };
  const specversion = read('ce_specversion');
  if (specversion !== CLOUDEVENTS_SPEC_VERSION) {
    throw new EventSchemaError(
      EVENT_ERROR_CODES.CloudEventHeadersInvalid,
      `header ce_specversion must be ${CLOUDEVENTS_SPEC_VERSION}, got ${JSON.stringify(specversion)}`,
      { field: 'ce_specversion' },
    );
  }
  return {
    id: read('ce_id'),
    type: read('ce_type'),
    source: read('ce_source'),
    specversion,
    time: read('ce_time'),
    subject: read('ce_subject'),
    datacontenttype: headerText(headers['content-type']) ?? JSON_CONTENT_TYPE,
  };
}

/** Refuses a message whose headers and value disagree, which would mislead tools that read headers only. */
export function assertHeadersMatch(envelope: EventEnvelope, attributes: CloudEventAttributes): void {
  const pairs: ReadonlyArray<readonly [string, string, string]> = [
    ['ce_id', attributes.id, envelope.id],
    ['ce_type', attributes.type, envelope.type],
    ['ce_time', attributes.time, envelope.occurredAt],
    ['ce_subject', attributes.subject, envelope.streamId],
  ];
  for (const [name, header, value] of pairs) {
    if (header !== value) {
      throw new EventSchemaError(
        EVENT_ERROR_CODES.CloudEventHeadersInvalid,
        `header ${name} is ${JSON.stringify(header)} but the event says ${JSON.stringify(value)}`,
        { field: name, eventType: envelope.type },
      );
    }
  }
}

function headerText(value: RawHeaderValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  // Repeated headers: the last one wins, as in most Kafka header readers.
  const last = value[value.length - 1];
  return last === undefined ? undefined : headerText(last);
}
