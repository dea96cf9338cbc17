// Versioned schemas of every event type and the boundary check `parseEvent`: whatever is read from
// Kafka, the outbox or a file goes through here before any code trusts it.
import {
  ACTOR_KINDS,
  AUTHENTICATION_FAILURE_REASONS,
  CERTIFICATE_SIGNERS,
  CLUSTER_ID_PATTERN,
  CONDITION_STATUSES,
  CONTAINER_STATES,
  DNS_LABEL_PATTERN,
  DRAIN_WAIT_REASONS,
  DNS_SUBDOMAIN_PATTERN,
  IDENTITY_REVOCATION_REASONS,
  isLowercaseUuid,
  isSha256Hex,
  LIMITS,
  OFFER_REFUSAL_REASONS,
  OFFER_WITHDRAWAL_REASONS,
  PEERING_BLOCK_REASONS,
  PROVIDER_HEALTH_REASONS,
  POD_PHASES,
  POD_RECLAIM_REASONS,
  POD_OFFLOAD_FAILURE_REASONS,
  NAMESPACE_REFUSAL_REASONS,
  SERIAL_NUMBER_PATTERN,
  STREAM_ID_MAX,
  STREAM_ID_PATTERN,
  STREAM_VERSION_MAX,
  TIMESTAMP_PATTERN,
  TOKEN_REJECTION_REASONS,
  WITHDRAWAL_OUTCOMES,
} from './constants.js';
import type { Actor, CertIssuedData, CertRenewedData, EventDataMap, EventType, PodStatusSnapshot } from './catalogue.js';
import type { EventEnvelope } from './envelope.js';
import { EventSchemaError, EVENT_ERROR_CODES } from './errors.js';
import { canonicalJson, computeHash, sha256Hex, sha256HexWithout } from './hash.js';
import {
  array,
  boolean,
  enumOf,
  integer,
  isPlainObject,
  literal,
  nullable,
  object,
  optional,
  quantities,
  rooted,
  string,
  taggedUnion,
  type Schema,
} from './schema.js';
import { InternalError, ValidationError } from '../errors.js';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const digit = (s: string, at: number): number => s.charCodeAt(at) - 48;

/**
 * A TIMESTAMP_PATTERN match that names a real instant from year 1: Date.parse would take 2025-02-30
 * (as March 2nd), 24:00 and year 0, which PostgreSQL refuses, so such an event would fail every
 * attempt to write its read models instead of being refused at the boundary.
 */
function isCalendarTimestamp(s: string): boolean {
  const year = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3);
  const month = digit(s, 5) * 10 + digit(s, 6);
  const day = digit(s, 8) * 10 + digit(s, 9);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  if (digit(s, 11) * 10 + digit(s, 12) > 23 || digit(s, 14) * 10 + digit(s, 15) > 59 || digit(s, 17) * 10 + digit(s, 18) > 59) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

// ---- field schemas shared by many events ----------------------------------------------------------

const timestamp = string({
  max: 35,
  pattern: TIMESTAMP_PATTERN,
  format: 'an RFC 3339 UTC timestamp',
  check: isCalendarTimestamp,
});
const clusterId = string({ max: LIMITS.shortString, pattern: CLUSTER_ID_PATTERN, format: 'a cluster id' });
const clusterName = string({ max: LIMITS.shortString, pattern: DNS_LABEL_PATTERN, format: 'a DNS label' });
const namespace = string({ max: LIMITS.shortString, pattern: DNS_LABEL_PATTERN, format: 'a namespace name' });
const objectName = string({ max: LIMITS.name, pattern: DNS_SUBDOMAIN_PATTERN, format: 'a Kubernetes object name' });
const fingerprint = string({ min: 64, max: 64, check: isSha256Hex, format: 'a lowercase SHA-256 hex fingerprint' });
const serialNumber = string({ max: 40, pattern: SERIAL_NUMBER_PATTERN, format: 'a lowercase hex serial number' });
const httpsUrl = string({ max: LIMITS.url, format: 'an http(s) URL', check: isHttpUrl });
const generation = integer({ min: 1 });
const uid = string({ max: LIMITS.uid, format: 'a uid' });
const reasonText = nullable(string({ max: LIMITS.reason }));
const messageText = nullable(string({ min: 0, max: LIMITS.message }));

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    // Credentials in a URL would put a secret into the log.
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

const podRef = { namespace, name: objectName, uid } as const;
const nodeRef = object({ nodeName: objectName });
const offerData = object({ offerName: objectName, generation, resources: quantities() });

const podIp = nullable(string({ max: LIMITS.ip, pattern: /^[0-9a-fA-F.:]+$/, format: 'an IP address' }));
const containerName = string({ max: LIMITS.shortString, pattern: DNS_LABEL_PATTERN, format: 'a container name' });
const image = nullable(string({ max: LIMITS.url }));
const conditionV1 = { type: string({ max: LIMITS.shortString }), status: enumOf(CONDITION_STATUSES), reason: reasonText, message: messageText } as const;
const containerV1 = {
  name: containerName, ready: boolean(), restartCount: integer({ min: 0 }), state: enumOf(CONTAINER_STATES), reason: reasonText, exitCode: nullable(integer()),
} as const;

const podStatus: Schema<PodStatusSnapshot> = object({
  phase: enumOf(POD_PHASES),
  podIp,
  conditions: array(object(conditionV1), { max: LIMITS.podConditions }),
  containerStatuses: array(object(containerV1), { max: LIMITS.containerStatuses }),
});

/** v2: v1 and the timestamps that mark a change, the images, and the pod's own reason and message. */
const podStatusV2: Schema<PodStatusSnapshot> = object({
  phase: enumOf(POD_PHASES),
  podIp,
  conditions: array(object({ ...conditionV1, lastTransitionTime: optional(nullable(timestamp)) }), { max: LIMITS.podConditions }),
  containerStatuses: array(object({
    ...containerV1, image: optional(image), imageId: optional(image), startedAt: optional(nullable(timestamp)), finishedAt: optional(nullable(timestamp)),
  }), { max: LIMITS.containerStatuses }),
  startTime: optional(nullable(timestamp)),
  reason: optional(reasonText),
  message: optional(messageText),
});

const namespaceOffload = object({ namespace, remoteNamespace: namespace });
const namespaceRefused = object({ namespace, remoteNamespace: namespace, reason: enumOf(NAMESPACE_REFUSAL_REASONS), message: string({ min: 0, max: LIMITS.message }) });

const certIssuedV1Sides = {
  consumer: object({
    side: literal('consumer'),
    certFingerprint: fingerprint,
    notAfter: timestamp,
    tenantNamespace: namespace,
    apiServerUrl: httpsUrl,
  }),
  providerFields: {
    side: literal('provider'),
    publicKeyFingerprint: fingerprint,
    certFingerprint: fingerprint,
    serialNumber,
    notAfter: timestamp,
    tenantNamespace: namespace,
  },
} as const;
const certIssuedV1: Schema<CertIssuedData> = taggedUnion<CertIssuedData>('side', {
  consumer: certIssuedV1Sides.consumer,
  provider: object(certIssuedV1Sides.providerFields),
});

const certRenewedV1Sides = {
  consumer: object({
    side: literal('consumer'),
    previousCertFingerprint: fingerprint,
    publicKeyFingerprint: fingerprint,
    certFingerprint: fingerprint,
    notAfter: timestamp,
  }),
  providerFields: {
    side: literal('provider'),
    previousCertFingerprint: fingerprint,
    publicKeyFingerprint: fingerprint,
    certFingerprint: fingerprint,
    serialNumber,
    notAfter: timestamp,
  },
} as const;
const certRenewedV1: Schema<CertRenewedData> = taggedUnion<CertRenewedData>('side', {
  consumer: certRenewedV1Sides.consumer,
  provider: object(certRenewedV1Sides.providerFields),
});

/** v2: the provider's side names the identity lifetime the certificate opened; the consumer's is unchanged. */
const lifetime = integer({ min: 1, max: STREAM_VERSION_MAX });
const certIssuedV2: Schema<CertIssuedData> = taggedUnion<CertIssuedData>('side', {
  consumer: certIssuedV1Sides.consumer,
  provider: object({ ...certIssuedV1Sides.providerFields, lifetime }),
});
const certRenewedV2: Schema<CertRenewedData> = taggedUnion<CertRenewedData>('side', {
  consumer: certRenewedV1Sides.consumer,
  provider: object({ ...certRenewedV1Sides.providerFields, lifetime }),
});

/** v3: the provider's side names what signed the certificate (the CA key or the Kubernetes CSR API). */
const signer = enumOf(CERTIFICATE_SIGNERS);
const certIssuedV3: Schema<CertIssuedData> = taggedUnion<CertIssuedData>('side', {
  consumer: certIssuedV1Sides.consumer,
  provider: object({ ...certIssuedV1Sides.providerFields, lifetime, signer }),
});
const certRenewedV3: Schema<CertRenewedData> = taggedUnion<CertRenewedData>('side', {
  consumer: certRenewedV1Sides.consumer,
  provider: object({ ...certRenewedV1Sides.providerFields, lifetime, signer }),
});

const authenticationFailedV1 = object({ reason: enumOf(AUTHENTICATION_FAILURE_REASONS), httpStatus: nullable(integer({ min: 100, max: 599 })) });
/** v2: the endpoint tried, the refusal's own code and its message (bounded). */
const authenticationFailedV2 = object({
  reason: enumOf(AUTHENTICATION_FAILURE_REASONS), httpStatus: nullable(integer({ min: 100, max: 599 })),
  authUrl: nullable(httpsUrl), detail: reasonText, message: messageText,
});

type SchemaTable = { readonly [T in EventType]: Readonly<Record<number, Schema<EventDataMap[T]>>> };

/**
 * Schemas by type and schema version. Today every type is at version 1. When a type's data changes
 * shape, its new version goes here next to the old one and an upcaster turns old data into the new
 * shape, so that readers only ever see the current types of catalogue.ts.
 */
export const EVENT_SCHEMAS: SchemaTable = {
  PeeringRequested: {
    1: object({ remoteClusterId: clusterId, remoteClusterName: clusterName, authUrl: httpsUrl }),
    2: object({ remoteClusterId: clusterId, remoteClusterName: clusterName, authUrl: httpsUrl, attempt: nullable(string({ max: LIMITS.shortString, pattern: /^[0-9]+\/[0-9A-Za-z._-]*$/, format: 'generation/resourceVersion' })) }),
  },
  PeeringBlocked: { 1: object({ reason: enumOf(PEERING_BLOCK_REASONS), message: string({ min: 1, max: LIMITS.message }) }) },
  IdentityRequested: {
    1: object({ publicKeyFingerprint: fingerprint, csrFingerprint: fingerprint }),
    2: object({ publicKeyFingerprint: fingerprint, csrFingerprint: fingerprint, authFingerprint: nullable(fingerprint) }),
  },
  CertIssued: { 1: certIssuedV1, 2: certIssuedV2, 3: certIssuedV3 },
  IdentityRenewalRequested: { 1: object({ publicKeyFingerprint: fingerprint, csrFingerprint: fingerprint }) },
  CertRenewed: { 1: certRenewedV1, 2: certRenewedV2, 3: certRenewedV3 },
  IdentityRenewalFailed: { 1: authenticationFailedV1, 2: authenticationFailedV2 },
  AuthenticationFailed: { 1: authenticationFailedV1, 2: authenticationFailedV2 },
  ProviderHealthChanged: { 1: object({ ready: boolean(), reason: nullable(enumOf(PROVIDER_HEALTH_REASONS)), message: messageText }) },
  ResourceRequested: { 1: object({ tenantNamespace: namespace }) },
  OfferReceived: { 1: offerData },
  OfferAccepted: { 1: offerData },
  OfferRefused: { 1: object({ offerName: objectName, generation, reason: enumOf(OFFER_REFUSAL_REASONS) }) },
  VirtualNodeCreated: { 1: object({ nodeName: objectName, resources: quantities() }) },
  VirtualNodeReady: { 1: nodeRef },
  UnpeeringRequested: { 1: object({ force: boolean() }), 2: object({ force: boolean(), drain: boolean() }) },
  VirtualNodeCordoned: { 1: nodeRef },
  VirtualNodeDrainWaiting: {
    1: object({
      nodeName: objectName, reason: enumOf(DRAIN_WAIT_REASONS), remaining: integer({ min: 0 }),
      pod: nullable(string({ max: LIMITS.shortString })), budget: nullable(objectName), message: string({ min: 0, max: LIMITS.message }),
    }),
  },
  VirtualNodeDrained: { 1: nodeRef },
  VirtualNodeDeleted: { 1: nodeRef },
  ResourceRequestWithdrawn: {
    1: object({ tenantNamespace: namespace, providerReached: boolean() }),
    2: object({
      tenantNamespace: namespace, providerReached: boolean(),
      notice: nullable(object({ certFingerprint: fingerprint, signedAt: timestamp, signature: string({ min: 1, max: 2048, pattern: /^[A-Za-z0-9+/]+=*$/, format: 'base64' }) })),
    }),
  },
  PeeringTerminated: { 1: object({ force: boolean() }) },
  WithdrawalDelivered: { 1: object({ outcome: enumOf(WITHDRAWAL_OUTCOMES), message: string({ min: 0, max: LIMITS.message }) }) },
  ProviderEndedPeering: { 1: object({ reason: enumOf(OFFER_WITHDRAWAL_REASONS), message: string({ min: 0, max: LIMITS.message }) }) },
  TokenValidated: { 1: object({ remoteClusterId: clusterId, remoteClusterName: clusterName }) },
  TokenRejected: { 1: object({ reason: enumOf(TOKEN_REJECTION_REASONS) }) },
  ResourceRequestReceived: { 1: object({ requestName: objectName, tenantNamespace: namespace }) },
  OfferIssued: { 1: object({ offerName: objectName, resources: quantities() }) },
  OfferUpdated: { 1: object({ offerName: objectName, resources: quantities() }) },
  OfferWithdrawn: { 1: object({ offerName: objectName, reason: enumOf(OFFER_WITHDRAWAL_REASONS) }) },
  IdentityRevoked: {
    1: object({ reason: enumOf(IDENTITY_REVOCATION_REASONS), certSerialNumber: nullable(serialNumber) }),
  },
  PodOffloaded: {
    1: object({ ...podRef, remoteNamespace: namespace, remoteName: objectName }),
    2: object({ ...podRef, remoteNamespace: namespace, remoteName: objectName, nodeName: objectName, specHash: fingerprint }),
  },
  PodOffloadFailed: {
    1: object({ ...podRef, reason: enumOf(POD_OFFLOAD_FAILURE_REASONS), message: string({ min: 0, max: LIMITS.message }) }),
  },
  PodStatusReflected: { 1: object({ ...podRef, status: podStatus }), 2: object({ ...podRef, status: podStatusV2 }) },
  PodReclaimed: { 1: object({ ...podRef, reason: enumOf(POD_RECLAIM_REASONS) }) },
  OffloadingEnded: { 1: nodeRef },
  NamespaceOffloadRequested: { 1: namespaceOffload },
  NamespaceOffloadGranted: { 1: namespaceOffload },
  NamespaceOffloadRefused: { 1: namespaceRefused },
  NamespaceOffloadReceived: { 1: namespaceOffload },
  RemoteNamespaceCreated: { 1: namespaceOffload },
  RemoteNamespaceRefused: { 1: namespaceRefused },
  CheckpointSigned: {
    1: object({
      chainLength: integer({ min: 1 }), head: fingerprint, keyId: fingerprint,
      // 64 bytes of Ed25519 signature in base64url without padding are 86 characters.
      signature: string({ min: 86, max: 86, pattern: /^[A-Za-z0-9_-]{86}$/, format: 'an Ed25519 signature in base64url' }),
    }),
  },
};

export const EVENT_TYPES: readonly EventType[] = Object.freeze(Object.keys(EVENT_SCHEMAS) as EventType[]);

export function isKnownEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, type);
}

/** The version new events of this type are written with. */
export function currentSchemaVersion(type: EventType): number {
  return Math.max(...Object.keys(EVENT_SCHEMAS[type]).map(Number));
}

const actor: Schema<Actor> = object({ kind: enumOf(ACTOR_KINDS), name: string({ max: LIMITS.name }) });

const HEADER_FIELDS = {
  id: string({ min: 36, max: 36, check: isLowercaseUuid, format: 'a lowercase UUID' }),
  type: string({ max: LIMITS.shortString }),
  streamId: string({ max: STREAM_ID_MAX, pattern: STREAM_ID_PATTERN, format: 'a stream id' }),
  streamVersion: integer({ min: 1, max: STREAM_VERSION_MAX }),
  clusterId,
  occurredAt: timestamp,
  actor,
  correlationId: string({ max: LIMITS.correlationId }),
  causationId: string({ max: LIMITS.correlationId }),
  schemaVersion: integer({ min: 1 }),
  prevHash: fingerprint,
  hash: fingerprint,
} as const;

const header = object(HEADER_FIELDS);

/**
 * The whole envelope of each (type, version): the header's fields, then the data under its own
 * path, so that a valid event is checked and copied in one pass.
 */
const ENVELOPE_SCHEMAS: { readonly [T in EventType]: Readonly<Record<number, Schema<EventEnvelope<T>>>> } = Object.fromEntries(
  Object.entries(EVENT_SCHEMAS).map(([type, versions]) => [type, Object.fromEntries(
    Object.entries(versions as Record<number, Schema<unknown>>).map(([version, data]) => [version, object({ ...HEADER_FIELDS, data: rooted(data, 'data') })]),
  )]),
) as never;

/**
 * Checks data against the schema of (type, version) and returns a fresh copy. The command handler
 * runs this on what a decider emitted before sealing, so a bad command value fails before the log.
 */
export function validateEventData<T extends EventType>(type: T, data: unknown, schemaVersion?: number): EventDataMap[T];
export function validateEventData(type: string, data: unknown, schemaVersion?: number): EventDataMap[EventType];
export function validateEventData(type: string, data: unknown, schemaVersion?: number): EventDataMap[EventType] {
  if (!isKnownEventType(type)) {
    throw new EventSchemaError(EVENT_ERROR_CODES.UnknownEventType, `unknown event type ${JSON.stringify(type)}`, {
      field: 'type',
      eventType: String(type),
    });
  }
  const version = schemaVersion ?? currentSchemaVersion(type);
  const schema = EVENT_SCHEMAS[type][version] as Schema<EventDataMap[EventType]> | undefined;
  if (schema === undefined) {
    throw new EventSchemaError(
      EVENT_ERROR_CODES.UnsupportedSchemaVersion,
      `${type}: schemaVersion ${version} is not supported (known: ${Object.keys(EVENT_SCHEMAS[type]).join(', ')})`,
      { field: 'schemaVersion', eventType: type },
    );
  }
  return withContext(type, () => schema.parse(data, 'data'));
}

export interface ParseOptions {
  /**
   * Check the hash and refuse a mismatch (default true): parseEvent recomputes it from the
   * canonical JSON; parseEventJson first checks it on the text's own bytes (see textHashes).
   * Chain links need verifyChain.
   */
  readonly verifyHash?: boolean;
}

/**
 * Validates an envelope and its data for its type and version and returns a fresh, fully checked
 * copy, or throws an EventSchemaError naming the field and the type. Never returns a partial object.
 */
export function parseEvent(value: unknown, options: ParseOptions = {}): EventEnvelope {
  if (!isPlainObject(value)) {
    throw new EventSchemaError(EVENT_ERROR_CODES.EventSchemaInvalid, 'an event must be a JSON object');
  }
  const claimedType = typeof value['type'] === 'string' ? value['type'] : null;
  // Type first, so that every later message can name it.
  if (!isKnownEventType(claimedType)) {
    throw new EventSchemaError(
      EVENT_ERROR_CODES.UnknownEventType,
      `unknown event type ${JSON.stringify(value['type'] ?? null)}`,
      { field: 'type', eventType: claimedType },
    );
  }
  const version = value['schemaVersion'];
  const schema = typeof version === 'number' ? ENVELOPE_SCHEMAS[claimedType][version] : undefined;
  let envelope: EventEnvelope;
  if (schema !== undefined) {
    try {
      envelope = schema.parse(value, 'envelope') as EventEnvelope;
    } catch (error) {
      throw inContext(claimedType, error);
    }
  } else {
    refuseWithoutSchema(value, claimedType);
  }
  if ((options.verifyHash ?? true) && computeHash(envelope) !== envelope.hash) throw hashMismatch(envelope);
  return envelope;
}

/**
 * Names what is wrong with an envelope whose claimed schema version has no schema: the header
 * first, then a missing data, then the version itself (validateEventData refuses it).
 */
function refuseWithoutSchema(value: Readonly<Record<string, unknown>>, claimedType: EventType): never {
  const { data, ...rest } = value;
  const parsedHeader = withContext(claimedType, () => header.parse(rest, 'envelope'));
  if (!Object.prototype.hasOwnProperty.call(value, 'data')) {
    throw new EventSchemaError(EVENT_ERROR_CODES.EventSchemaInvalid, `${claimedType}: data is required`, {
      field: 'data',
      eventType: claimedType,
    });
  }
  validateEventData(claimedType, data, parsedHeader.schemaVersion);
  throw new InternalError('Unreachable', `unreachable: ${claimedType} schemaVersion ${parsedHeader.schemaVersion} has a data schema but no envelope schema`);
}

/**
 * parseEvent for raw bytes or text, as read from a Kafka message value or a file.
 *
 * The hash is checked on the text first: the relay writes each event as its canonical JSON
 * (`serializeEvent`), so the text less its `"hash"` member is exactly what was hashed, and one
 * SHA-256 over it proves nothing changed since sealing, without writing the envelope out again.
 * Text laid out otherwise (another writer's key order or spacing) is checked the long way, on the
 * canonical JSON of the parsed envelope.
 */
export function parseEventJson(text: string | Uint8Array, options: ParseOptions = {}): EventEnvelope {
  let json: string;
  let value: unknown;
  try {
    json = typeof text === 'string' ? text : UTF8.decode(text);
    value = JSON.parse(json);
  } catch (cause) {
    throw new EventSchemaError(EVENT_ERROR_CODES.EventSchemaInvalid, 'an event must be valid UTF-8 JSON', { cause });
  }
  const envelope = parseEvent(value, { verifyHash: false });
  if ((options.verifyHash ?? true) && !textHashes(json, typeof text === 'string' ? undefined : text, envelope.hash)
    && computeHash(envelope) !== envelope.hash) {
    throw hashMismatch(envelope);
  }
  return envelope;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * True when `json` less one `,"hash":"<hash>"` member hashes to `hash`: those are then the very
 * bytes that were hashed, unchanged since. Which such member is removed does not matter, since no
 * one can write text that holds its own SHA-256. The check is for change, not for layout: text
 * hashed in another layout (a writer that did not write canonical JSON, or one that repeats a key)
 * passes here as the bytes it was sealed as, and `verifyChain`, which recomputes every hash from
 * the canonical JSON, is where a log of such text is found out.
 */
function textHashes(json: string, bytes: Uint8Array | undefined, hash: string): boolean {
  // Canonical text opens with the first key in order; other text (older writers) goes the long way at once.
  if (!json.startsWith('{"actor":')) return false;
  const member = `,"hash":"${hash}"`;
  const at = json.indexOf(member);
  if (at < 0) return false;
  // Plain ASCII text (the usual event) has its characters where its bytes are: hash the bytes.
  if (bytes !== undefined && bytes.length === json.length) return sha256HexWithout(bytes, at, at + member.length) === hash;
  return sha256Hex(json.slice(0, at) + json.slice(at + member.length)) === hash;
}

/** The text an event is written as in the log: its canonical JSON, the form `parseEventJson` checks fastest. */
export function serializeEvent(envelope: EventEnvelope): string {
  return canonicalJson(envelope);
}

function hashMismatch(envelope: EventEnvelope): EventSchemaError {
  return new EventSchemaError(
    EVENT_ERROR_CODES.EventHashMismatch,
    `${envelope.type} ${envelope.id}: hash does not match the content`,
    { field: 'hash', eventType: envelope.type },
  );
}

function withContext<R>(eventType: string, run: () => R): R {
  try {
    return run();
  } catch (error) {
    throw inContext(eventType, error);
  }
}

/** A ValidationError from a schema, as the EventSchemaError of the event type it was checked for. */
function inContext(eventType: string, error: unknown): unknown {
  if (error instanceof EventSchemaError || !(error instanceof ValidationError)) return error;
  return new EventSchemaError(EVENT_ERROR_CODES.EventSchemaInvalid, `${eventType}: ${error.message}`, {
    field: error.field,
    eventType,
    cause: error,
  });
}
