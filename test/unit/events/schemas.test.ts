import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import type { EventType } from '../../../src/events/catalogue.js';
import { FORBIDDEN_FIELD_NAME } from '../../../src/events/constants.js';
import { EventSchemaError } from '../../../src/events/errors.js';
import { sealEvent } from '../../../src/events/hash.js';
import { fieldNames } from '../../../src/events/schema.js';
import {
  EVENT_SCHEMAS,
  EVENT_TYPES,
  currentSchemaVersion,
  isKnownEventType,
  parseEvent,
  parseEventJson,
  serializeEvent,
  validateEventData,
} from '../../../src/events/schemas.js';
import { canonicalJson as canonicalJsonOf } from '../../../src/events/hash.js';
import * as events from '../../../src/events/index.js';
import { EARLIER_SAMPLES, SAMPLES, sampleLog as sampleLogForText, sealed, unsealed } from './samples.js';
import { GENESIS_HASH as GENESIS } from '../../../src/events/constants.js';

/** The names DESIGN §2 makes part of the public contract. */
const CONTRACT: readonly string[] = [
  'PeeringRequested',
  'IdentityRequested',
  'CertIssued',
  'ResourceRequested',
  'OfferReceived',
  'OfferAccepted',
  'OfferRefused',
  'VirtualNodeCreated',
  'VirtualNodeReady',
  'UnpeeringRequested',
  'VirtualNodeDrained',
  'VirtualNodeDeleted',
  'PeeringTerminated',
  'TokenValidated',
  'TokenRejected',
  'ResourceRequestReceived',
  'OfferIssued',
  'OfferUpdated',
  'OfferWithdrawn',
  'IdentityRevoked',
  'PodOffloaded',
  'PodStatusReflected',
  'PodReclaimed',
];

function expectSchemaError(run: () => unknown, code: string, field: string | null, eventType?: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof EventSchemaError, `expected EventSchemaError, got ${String(error)}`);
    assert.ok(error instanceof ValidationError);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    assert.equal(error.retriable, false);
    if (field !== null) assert.ok(error.message.includes(field), `message names ${field}: ${error.message}`);
    if (eventType !== undefined) {
      assert.equal(error.eventType, eventType);
      assert.ok(error.message.includes(eventType), `message names ${eventType}: ${error.message}`);
    }
    return true;
  });
}

/** An envelope as plain JSON, ready to be tampered with. */
function raw(type: EventType, index = 0): Record<string, unknown> {
  return JSON.parse(JSON.stringify(sealed(type, SAMPLES[type][index] as never))) as Record<string, unknown>;
}

/** Re-seals a tampered envelope so that only the schema, not the hash, can refuse it. */
function resealed(value: Record<string, unknown>): Record<string, unknown> {
  const { hash: _h, prevHash, ...rest } = value;
  return sealEvent(rest as never, prevHash as string) as unknown as Record<string, unknown>;
}

describe('event catalogue', () => {
  it('holds every name of the public contract, and samples cover every type', () => {
    for (const name of CONTRACT) assert.ok(isKnownEventType(name), name);
    assert.deepEqual([...EVENT_TYPES].sort(), Object.keys(SAMPLES).sort());
  });

  it('two types are at schema version 3, eight at version 2, every other type at version 1', () => {
    const v3 = ['CertIssued', 'CertRenewed'];
    const v2 = ['AuthenticationFailed', 'IdentityRenewalFailed', 'IdentityRequested', 'PeeringRequested', 'PodOffloaded', 'PodStatusReflected', 'ResourceRequestWithdrawn', 'UnpeeringRequested'];
    assert.deepEqual(EVENT_TYPES.filter((t) => currentSchemaVersion(t) === 3).sort(), v3);
    assert.deepEqual(EVENT_TYPES.filter((t) => currentSchemaVersion(t) === 2).sort(), v2);
    for (const type of EVENT_TYPES) assert.equal(currentSchemaVersion(type), v3.includes(type) ? 3 : v2.includes(type) ? 2 : 1, type);
    // A newer type still reads its older events.
    for (const type of v2) assert.ok(EVENT_SCHEMAS[type as EventType][1] !== undefined, type);
    for (const type of v3) for (const v of [1, 2]) assert.ok(EVENT_SCHEMAS[type as EventType][v] !== undefined, `${type} v${v}`);
  });

  it('CertIssued and CertRenewed v3 name the signer on the provider side; v1 and v2 events without it still decode', () => {
    for (const signer of ['ca-key', 'csr-api']) {
      assert.equal((validateEventData('CertIssued', { ...SAMPLES.CertIssued[1]!, signer }) as { signer?: string }).signer, signer);
    }
    assert.throws(() => validateEventData('CertIssued', { ...SAMPLES.CertIssued[1]!, signer: 'openssl' }), /signer/);
    const { signer: _dropped, ...withoutSigner } = SAMPLES.CertIssued[1] as unknown as Record<string, unknown>;
    assert.throws(() => validateEventData('CertIssued', withoutSigner), /signer/);
    assert.equal((validateEventData('CertIssued', withoutSigner, 2) as { signer?: string }).signer, undefined);
    assert.equal((validateEventData('CertIssued', EARLIER_SAMPLES.CertIssued![1]![1], 1) as { signer?: string }).signer, undefined);
    // The consumer's side has no signer, in any version.
    assert.throws(() => validateEventData('CertIssued', { ...SAMPLES.CertIssued[0]!, signer: 'csr-api' }), /signer/);
    assert.equal((validateEventData('CertRenewed', { ...SAMPLES.CertRenewed[1]!, signer: 'csr-api' }) as { signer?: string }).signer, 'csr-api');
  });

  it('every schema version of every type has samples: the current in SAMPLES, the older in EARLIER_SAMPLES', () => {
    for (const type of EVENT_TYPES) {
      const older = Object.keys(EVENT_SCHEMAS[type]).map(Number).filter((v) => v !== currentSchemaVersion(type)).sort();
      assert.deepEqual(Object.keys(EARLIER_SAMPLES[type] ?? {}).map(Number).sort(), older, type);
      assert.ok(SAMPLES[type].length > 0, type);
      for (const v of older) assert.ok((EARLIER_SAMPLES[type]![v] ?? []).length > 0, `${type} v${v}`);
    }
  });

  it('the new offloading types are in the catalogue, with the reasons of the contract', () => {
    for (const name of ['PodOffloadFailed', 'NamespaceOffloadRequested', 'NamespaceOffloadGranted', 'NamespaceOffloadRefused',
      'NamespaceOffloadReceived', 'RemoteNamespaceCreated', 'RemoteNamespaceRefused']) {
      assert.ok(isKnownEventType(name), name);
      assert.equal(currentSchemaVersion(name as EventType), 1, name);
    }
    for (const reason of ['ProviderRefused', 'DaemonSetPod', 'NamespaceRefused']) {
      assert.equal(validateEventData('PodOffloadFailed', { ...SAMPLES.PodOffloadFailed[0]!, reason }).reason, reason);
    }
    for (const reason of ['NamespaceExists', 'NotOffered', 'CreationFailed']) {
      assert.equal(validateEventData('NamespaceOffloadRefused', { ...SAMPLES.NamespaceOffloadRefused[0]!, reason }).reason, reason);
      assert.equal(validateEventData('RemoteNamespaceRefused', { ...SAMPLES.RemoteNamespaceRefused[0]!, reason }).reason, reason);
    }
  });

  it('isKnownEventType refuses unknown names, inherited keys and non-strings', () => {
    assert.equal(isKnownEventType('PeeringStarted'), false);
    assert.equal(isKnownEventType('toString'), false);
    assert.equal(isKnownEventType('__proto__'), false);
    assert.equal(isKnownEventType(42), false);
  });

  it('no schema declares a field that could hold a secret', () => {
    for (const type of EVENT_TYPES) {
      for (const [version, schema] of Object.entries(EVENT_SCHEMAS[type])) {
        for (const name of fieldNames(schema)) {
          assert.doesNotMatch(name, FORBIDDEN_FIELD_NAME, `${type} v${version} declares ${name}`);
        }
      }
    }
  });

  it('fieldNames reaches nested and union fields', () => {
    const names = fieldNames(EVENT_SCHEMAS.PodStatusReflected[1]!);
    assert.ok(names.includes('restartCount') && names.includes('phase'));
    assert.ok(fieldNames(EVENT_SCHEMAS.CertIssued[1]!).includes('serialNumber'));
  });

  it('the package index exposes the boundary functions', () => {
    assert.equal(events.parseEvent, parseEvent);
    assert.equal(typeof events.sealEvent, 'function');
    assert.equal(typeof events.toCloudEventHeaders, 'function');
    assert.equal(typeof events.toMilli, 'function');
  });
});

describe('parseEvent', () => {
  for (const type of Object.keys(SAMPLES) as EventType[]) {
    SAMPLES[type].forEach((data, index) => {
      it(`round-trips ${type}${SAMPLES[type].length > 1 ? ` #${index + 1}` : ''} through JSON`, () => {
        const envelope = sealed(type, data as never);
        const parsed = parseEventJson(JSON.stringify(envelope));
        assert.deepEqual(parsed, envelope);
        assert.notEqual(parsed, envelope);
        assert.deepEqual(parseEventJson(Buffer.from(JSON.stringify(envelope))), envelope);
      });
    });
  }

  for (const type of Object.keys(EARLIER_SAMPLES) as EventType[]) {
    for (const [version, samples] of Object.entries(EARLIER_SAMPLES[type]!)) {
      (samples as readonly unknown[]).forEach((data, index) => {
        it(`round-trips a v${version} ${type}${samples.length > 1 ? ` #${index + 1}` : ''} through JSON, as written`, () => {
          const envelope = sealed(type, data as never, GENESIS, Number(version));
          assert.equal(envelope.schemaVersion, Number(version));
          const parsed = parseEventJson(serializeEvent(envelope));
          assert.deepEqual(parsed, envelope);
          assert.deepEqual(parsed.data, data);
        });
      });
    }
  }

  it('reads the canonical text the relay writes, and refuses that text once its content is changed', () => {
    for (const envelope of sampleLogForText()) {
      const text = serializeEvent(envelope);
      assert.equal(text, canonicalJsonOf(envelope));
      assert.deepEqual(parseEventJson(text), envelope);
      assert.deepEqual(parseEventJson(Buffer.from(text)), envelope);
    }
    const text = serializeEvent(sealed('VirtualNodeReady', { nodeName: 'peerlog-beta' }));
    expectSchemaError(() => parseEventJson(text.replace('peerlog-beta', 'peerlog-gamma')), 'EventHashMismatch', 'hash', 'VirtualNodeReady');
    expectSchemaError(() => parseEventJson(text.replace('"streamVersion":1', '"streamVersion":2')), 'EventHashMismatch', 'hash', 'VirtualNodeReady');
    // The same change in another writer's layout is refused by the canonical check.
    const other = JSON.stringify(JSON.parse(text.replace('peerlog-beta', 'peerlog-gamma')), null, 1);
    expectSchemaError(() => parseEventJson(other), 'EventHashMismatch', 'hash', 'VirtualNodeReady');
  });

  it('checks the bytes of non-ASCII text as well as of plain ASCII', () => {
    const envelope = sealEvent({ ...unsealed('VirtualNodeReady', { nodeName: 'peerlog-beta' }), actor: { kind: 'user', name: 'José Åström' } } as never, GENESIS);
    const text = serializeEvent(envelope as never);
    assert.deepEqual(parseEventJson(Buffer.from(text)), envelope);
    expectSchemaError(() => parseEventJson(Buffer.from(text.replace('Åström', 'Astrom'))), 'EventHashMismatch', 'hash', 'VirtualNodeReady');
    expectSchemaError(() => parseEventJson(Buffer.from(text.replace('peerlog-beta', 'peerlog-gamm'))), 'EventHashMismatch', 'hash', 'VirtualNodeReady');
  });

  it('refuses times and versions PostgreSQL could not store, which would stop the read models at every retry', () => {
    for (const occurredAt of ['2025-02-30T00:00:00.000Z', '2023-02-29T12:00:00Z', '0000-01-01T00:00:00Z', '2025-01-01T24:00:00Z',
      '2025-13-01T00:00:00Z', '2025-04-31T00:00:00Z', '2025-01-01T23:60:00Z', '2025-01-01T23:59:60Z', '2025-00-10T00:00:00Z', '2025-01-00T00:00:00Z']) {
      expectSchemaError(() => parseEvent(resealed({ ...raw('VirtualNodeReady'), occurredAt })), 'EventSchemaInvalid', 'envelope.occurredAt', 'VirtualNodeReady');
    }
    for (const occurredAt of ['2024-02-29T23:59:59.999999999Z', '2000-02-29T00:00:00Z', '0001-01-01T00:00:00Z', '2025-12-31T23:59:59Z']) {
      assert.equal(parseEvent(resealed({ ...raw('VirtualNodeReady'), occurredAt })).occurredAt, occurredAt);
    }
    expectSchemaError(() => parseEvent(resealed({ ...raw('VirtualNodeReady'), streamVersion: 2 ** 31 })), 'EventSchemaInvalid', 'envelope.streamVersion', 'VirtualNodeReady');
    assert.equal(parseEvent(resealed({ ...raw('VirtualNodeReady'), streamVersion: 2 ** 31 - 1 })).streamVersion, 2 ** 31 - 1);
  });

  it('a hash member copied into the data does not stand in for the envelope\'s own', () => {
    const envelope = sealed('VirtualNodeReady', { nodeName: 'peerlog-beta' });
    const text = serializeEvent(envelope).replace('"data":{', `"data":{"hash":"${envelope.hash}",`);
    expectSchemaError(() => parseEventJson(text), 'EventSchemaInvalid', 'data.hash', 'VirtualNodeReady');
  });

  it('returns a copy: later changes to the input do not reach the parsed event', () => {
    const input = raw('OfferIssued');
    const parsed = parseEvent(input);
    ((input['data'] as Record<string, unknown>)['resources'] as Record<string, unknown>)['cpu'] = '999';
    assert.equal(parsed.type === 'OfferIssued' && parsed.data.resources.cpu, '4');
  });

  const dataCases: ReadonlyArray<readonly [string, EventType, number, (data: Record<string, unknown>) => void, string]> = [
    ['an ftp auth URL', 'PeeringRequested', 0, (d) => (d['authUrl'] = 'ftp://beta'), 'data.authUrl'],
    ['credentials inside the auth URL', 'PeeringRequested', 0, (d) => (d['authUrl'] = 'https://u:p@beta'), 'data.authUrl'],
    ['a cluster id that is no label value', 'PeeringRequested', 0, (d) => (d['remoteClusterId'] = 'beta/../x'), 'data.remoteClusterId'],
    ['a missing field', 'TokenValidated', 0, (d) => delete d['remoteClusterName'], 'data.remoteClusterName'],
    ['a token field', 'TokenRejected', 0, (d) => (d['token'] = 's3cr3t'), 'data.token'],
    ['a free-text rejection reason', 'TokenRejected', 0, (d) => (d['reason'] = 'token was s3cr3t'), 'data.reason'],
    ['a private key field', 'IdentityRequested', 0, (d) => (d['privateKey'] = '-----BEGIN'), 'data.privateKey'],
    ['an uppercase fingerprint', 'IdentityRequested', 0, (d) => (d['csrFingerprint'] = 'B'.repeat(64)), 'data.csrFingerprint'],
    ['a CertIssued of no side', 'CertIssued', 0, (d) => (d['side'] = 'both'), 'data.side'],
    ['a provider field on the consumer side', 'CertIssued', 0, (d) => (d['serialNumber'] = '7e'), 'data.serialNumber'],
    ['a consumer field on the provider side', 'CertIssued', 1, (d) => (d['apiServerUrl'] = 'https://x'), 'data.apiServerUrl'],
    ['a timestamp with an offset', 'CertIssued', 1, (d) => (d['notAfter'] = '2026-01-01T00:00:00+02:00'), 'data.notAfter'],
    ['an impossible date', 'CertIssued', 1, (d) => (d['notAfter'] = '2026-13-45T00:00:00Z'), 'data.notAfter'],
    ['an HTTP status out of range', 'AuthenticationFailed', 0, (d) => (d['httpStatus'] = 99), 'data.httpStatus'],
    ['generation zero', 'OfferReceived', 0, (d) => (d['generation'] = 0), 'data.generation'],
    ['a fractional generation', 'OfferReceived', 0, (d) => (d['generation'] = 1.5), 'data.generation'],
    ['a negative quantity', 'OfferReceived', 0, (d) => ((d['resources'] as Record<string, unknown>)['cpu'] = '-1'), 'data.resources.cpu'],
    ['a quantity that is no quantity', 'OfferIssued', 0, (d) => ((d['resources'] as Record<string, unknown>)['memory'] = 'lots'), 'data.resources.memory'],
    ['a numeric quantity', 'OfferIssued', 0, (d) => ((d['resources'] as Record<string, unknown>)['pods'] = 110), 'data.resources.pods'],
    ['resources without memory', 'VirtualNodeCreated', 0, (d) => delete (d['resources'] as Record<string, unknown>)['memory'], 'data.resources.memory'],
    ['a bad resource name', 'OfferAccepted', 0, (d) => ((d['resources'] as Record<string, unknown>)['-gpu'] = '1'), 'data.resources.-gpu'],
    ['a node name with capitals', 'VirtualNodeReady', 0, (d) => (d['nodeName'] = 'Peerlog-Beta'), 'data.nodeName'],
    ['force as a string', 'UnpeeringRequested', 0, (d) => (d['force'] = 'true'), 'data.force'],
    ['an unknown revocation reason', 'IdentityRevoked', 0, (d) => (d['reason'] = 'Whim'), 'data.reason'],
    ['a serial number with spaces', 'IdentityRevoked', 0, (d) => (d['certSerialNumber'] = '7e 01'), 'data.certSerialNumber'],
    [
      'a condition status out of the enum',
      'PodStatusReflected',
      0,
      (d) => (((d['status'] as Record<string, unknown>)['conditions'] as Record<string, unknown>[])[0]!['status'] = 'Yes'),
      'data.status.conditions[0].status',
    ],
    [
      'a negative restart count',
      'PodStatusReflected',
      0,
      (d) => (((d['status'] as Record<string, unknown>)['containerStatuses'] as Record<string, unknown>[])[0]!['restartCount'] = -1),
      'data.status.containerStatuses[0].restartCount',
    ],
    [
      'too many conditions',
      'PodStatusReflected',
      0,
      (d) => ((d['status'] as Record<string, unknown>)['conditions'] = Array.from({ length: 33 }, () => ({ type: 'X', status: 'True', reason: null, message: null }))),
      'data.status.conditions',
    ],
    ['an oversized pod name', 'PodReclaimed', 0, (d) => (d['name'] = 'a'.repeat(254)), 'data.name'],
    ['a v2 PodOffloaded without its node', 'PodOffloaded', 0, (d) => delete d['nodeName'], 'data.nodeName'],
    ['a node name with capitals', 'PodOffloaded', 0, (d) => (d['nodeName'] = 'Peerlog-Beta'), 'data.nodeName'],
    ['a spec hash that is no SHA-256', 'PodOffloaded', 0, (d) => (d['specHash'] = 'F'.repeat(64)), 'data.specHash'],
    ['an offload failure reason out of the enum', 'PodOffloadFailed', 0, (d) => (d['reason'] = 'Quota'), 'data.reason'],
    ['an offload failure message longer than 1024 characters', 'PodOffloadFailed', 0, (d) => (d['message'] = 'x'.repeat(1025)), 'data.message'],
    ['an offload failure without a message', 'PodOffloadFailed', 2, (d) => delete d['message'], 'data.message'],
    [
      'a transition time with an offset',
      'PodStatusReflected',
      0,
      (d) => (((d['status'] as Record<string, unknown>)['conditions'] as Record<string, unknown>[])[0]!['lastTransitionTime'] = '2025-03-01T13:00:05+01:00'),
      'data.status.conditions[0].lastTransitionTime',
    ],
    [
      'an image longer than 2048 characters',
      'PodStatusReflected',
      0,
      (d) => (((d['status'] as Record<string, unknown>)['containerStatuses'] as Record<string, unknown>[])[0]!['image'] = 'x'.repeat(2049)),
      'data.status.containerStatuses[0].image',
    ],
    [
      'an impossible finish time',
      'PodStatusReflected',
      0,
      (d) => (((d['status'] as Record<string, unknown>)['containerStatuses'] as Record<string, unknown>[])[1]!['finishedAt'] = '2025-02-30T00:00:00Z'),
      'data.status.containerStatuses[1].finishedAt',
    ],
    ['a pod message longer than 1024 characters', 'PodStatusReflected', 2, (d) => ((d['status'] as Record<string, unknown>)['message'] = 'x'.repeat(1025)), 'data.status.message'],
    ['a pod reason longer than 128 characters', 'PodStatusReflected', 2, (d) => ((d['status'] as Record<string, unknown>)['reason'] = 'x'.repeat(129)), 'data.status.reason'],
    ['a start time that is a number', 'PodStatusReflected', 2, (d) => ((d['status'] as Record<string, unknown>)['startTime'] = 1740830400), 'data.status.startTime'],
    ['a start time in local time', 'PodStatusReflected', 0, (d) => ((d['status'] as Record<string, unknown>)['startTime'] = '2025-03-01 12:00:00'), 'data.status.startTime'],
    ['a remote namespace that is no DNS label', 'NamespaceOffloadRequested', 0, (d) => (d['remoteNamespace'] = 'Shop_Alpha'), 'data.remoteNamespace'],
    ['a remote namespace longer than 63 characters', 'NamespaceOffloadGranted', 0, (d) => (d['remoteNamespace'] = 'a'.repeat(64)), 'data.remoteNamespace'],
    ['a namespace refusal reason out of the enum', 'NamespaceOffloadRefused', 0, (d) => (d['reason'] = 'Whim'), 'data.reason'],
    ['a namespace refusal without a message', 'RemoteNamespaceRefused', 0, (d) => delete d['message'], 'data.message'],
    ['a namespace refusal message longer than 1024 characters', 'RemoteNamespaceRefused', 0, (d) => (d['message'] = 'x'.repeat(1025)), 'data.message'],
    ['a field the schema does not know', 'NamespaceOffloadReceived', 0, (d) => (d['quota'] = '4'), 'data.quota'],
    ['a created namespace without its remote name', 'RemoteNamespaceCreated', 0, (d) => delete d['remoteNamespace'], 'data.remoteNamespace'],
    ['data that is an array', 'PodOffloaded', 0, (d) => Object.assign(d, { namespace: ['shop'] }), 'data.namespace'],
  ];

  for (const [what, type, index, mutate, field] of dataCases) {
    it(`refuses ${what} in ${type}, naming ${field}`, () => {
      const value = raw(type, index);
      mutate(value['data'] as Record<string, unknown>);
      expectSchemaError(() => parseEvent(resealed(value)), 'EventSchemaInvalid', field, type);
      // The same check guards the write side before anything is sealed.
      expectSchemaError(() => validateEventData(type, value['data']), 'EventSchemaInvalid', field, type);
    });
  }

  const envelopeCases: ReadonlyArray<readonly [string, (e: Record<string, unknown>) => void, string]> = [
    ['an id that is no UUID', (e) => (e['id'] = 'event-1'), 'envelope.id'],
    ['stream version zero', (e) => (e['streamVersion'] = 0), 'envelope.streamVersion'],
    ['a stream id without a prefix', (e) => (e['streamId'] = 'beta'), 'envelope.streamId'],
    ['a local-time occurredAt', (e) => (e['occurredAt'] = '2025-03-01 12:00:00'), 'envelope.occurredAt'],
    ['an unknown actor kind', (e) => (e['actor'] = { kind: 'robot', name: 'r2' }), 'envelope.actor.kind'],
    ['an extra envelope field', (e) => (e['token'] = 'x'), 'envelope.token'],
    ['a missing correlation id', (e) => delete e['correlationId'], 'envelope.correlationId'],
    ['a malformed prevHash', (e) => (e['prevHash'] = 'abc'), 'envelope.prevHash'],
    ['an uppercase prevHash', (e) => (e['prevHash'] = 'A'.repeat(64)), 'envelope.prevHash'],
    ['a prevHash with a letter past f', (e) => (e['prevHash'] = `${'a'.repeat(63)}g`), 'envelope.prevHash'],
    ['an uppercase UUID', (e) => (e['id'] = '0000000A-0000-4000-8000-000000000001'), 'envelope.id'],
    ['a UUID with a dash out of place', (e) => (e['id'] = '00000000-00004-000-8000-000000000001'), 'envelope.id'],
    ['a UUID with no dashes but its length', (e) => (e['id'] = '0'.repeat(36)), 'envelope.id'],
    ['a missing data', (e) => delete e['data'], 'data'],
  ];

  for (const [what, mutate, field] of envelopeCases) {
    it(`refuses ${what}, naming ${field}`, () => {
      const value = raw('PeeringRequested');
      mutate(value);
      expectSchemaError(() => parseEvent(value, { verifyHash: false }), 'EventSchemaInvalid', field, 'PeeringRequested');
    });
  }

  it('refuses an unknown type, naming the type field', () => {
    const value = raw('PeeringRequested');
    value['type'] = 'PeeringStarted';
    expectSchemaError(() => parseEvent(value), 'UnknownEventType', 'type');
    delete value['type'];
    expectSchemaError(() => parseEvent(value), 'UnknownEventType', 'type');
    expectSchemaError(() => validateEventData('PeeringStarted', {}), 'UnknownEventType', 'type');
  });

  it('refuses a schema version it does not know', () => {
    const value = raw('OfferIssued');
    value['schemaVersion'] = 2;
    expectSchemaError(() => parseEvent(resealed(value)), 'UnsupportedSchemaVersion', 'schemaVersion', 'OfferIssued');
  });

  it('refuses an event whose content no longer matches its hash, unless told not to check', () => {
    const value = raw('OfferIssued');
    (value['data'] as Record<string, unknown>)['offerName'] = 'tampered-offer';
    expectSchemaError(() => parseEvent(value), 'EventHashMismatch', 'hash', 'OfferIssued');
    assert.equal(parseEvent(value, { verifyHash: false }).type, 'OfferIssued');
  });

  it('refuses what is not a JSON object', () => {
    for (const value of [null, [], 'PeeringRequested', 42]) {
      expectSchemaError(() => parseEvent(value), 'EventSchemaInvalid', null);
    }
    expectSchemaError(() => parseEventJson('{"type":'), 'EventSchemaInvalid', null);
    expectSchemaError(() => parseEventJson(new Uint8Array([0xff, 0xfe])), 'EventSchemaInvalid', null);
  });

  it('accepts an unsealed sample only once sealed', () => {
    const value = unsealed('VirtualNodeReady', { nodeName: 'peerlog-beta' });
    expectSchemaError(() => parseEvent(value), 'EventSchemaInvalid', 'envelope.prevHash', 'VirtualNodeReady');
  });
});

describe('schema versions 1 and 2 of the outgoing events', () => {
  const URL = 'https://127.0.0.1:7443';
  const FP = 'a'.repeat(64);

  it('a v1 AuthenticationFailed without authUrl, detail and message still parses, as written', () => {
    const e = sealed('AuthenticationFailed', { reason: 'TokenRejected', httpStatus: 401 }, GENESIS, 1);
    assert.deepEqual(parseEventJson(serializeEvent(e)).data, { reason: 'TokenRejected', httpStatus: 401 });
    assert.deepEqual(validateEventData('AuthenticationFailed', { reason: 'Unreachable', httpStatus: null }, 1), { reason: 'Unreachable', httpStatus: null });
  });

  it('a v2 AuthenticationFailed with authUrl, detail and message parses', () => {
    const data = { reason: 'PolicyRefused', httpStatus: 403, authUrl: URL, detail: 'ClusterIdMismatch', message: 'the token is bound to cluster gamma' } as const;
    const e = sealed('AuthenticationFailed', data, GENESIS, 2);
    assert.equal(e.schemaVersion, 2);
    assert.deepEqual(parseEventJson(serializeEvent(e)).data, data);
  });

  it('a v2 AuthenticationFailed must name authUrl, detail and message (null when unknown)', () => {
    expectSchemaError(() => validateEventData('AuthenticationFailed', { reason: 'Unreachable', httpStatus: null }, 2), 'EventSchemaInvalid', 'data.authUrl', 'AuthenticationFailed');
    expectSchemaError(() => validateEventData('AuthenticationFailed', { reason: 'Unreachable', httpStatus: null, authUrl: null, detail: null }), 'EventSchemaInvalid', 'data.message', 'AuthenticationFailed');
  });

  it('v2 fields in an event that says v1 are refused (the v1 schema is closed)', () => {
    const value = raw('AuthenticationFailed');
    value['schemaVersion'] = 1;
    expectSchemaError(() => parseEvent(resealed(value)), 'EventSchemaInvalid', 'data.authUrl', 'AuthenticationFailed');
    const peering = raw('PeeringRequested');
    peering['schemaVersion'] = 1;
    expectSchemaError(() => parseEvent(resealed(peering)), 'EventSchemaInvalid', 'data.attempt', 'PeeringRequested');
  });

  const limits: ReadonlyArray<readonly [string, EventType, number, (d: Record<string, unknown>) => void, string]> = [
    ['a message longer than 1024 characters', 'AuthenticationFailed', 0, (d) => (d['message'] = 'x'.repeat(1025)), 'data.message'],
    ['a detail longer than 128 characters', 'AuthenticationFailed', 0, (d) => (d['detail'] = 'x'.repeat(129)), 'data.detail'],
    ['an ftp authUrl', 'AuthenticationFailed', 0, (d) => (d['authUrl'] = 'ftp://127.0.0.1'), 'data.authUrl'],
    ['a renewal failure message longer than 1024 characters', 'IdentityRenewalFailed', 0, (d) => (d['message'] = 'x'.repeat(1025)), 'data.message'],
    ['an authFingerprint that is no SHA-256', 'IdentityRequested', 0, (d) => (d['authFingerprint'] = 'sha256:' + 'a'.repeat(64)), 'data.authFingerprint'],
    ['an attempt without a generation', 'PeeringRequested', 0, (d) => (d['attempt'] = 'v41877'), 'data.attempt'],
    ['a block reason out of the enum', 'PeeringBlocked', 0, (d) => (d['reason'] = 'Unreachable'), 'data.reason'],
    ['an empty block message', 'PeeringBlocked', 0, (d) => (d['message'] = ''), 'data.message'],
    ['a block message longer than 1024 characters', 'PeeringBlocked', 0, (d) => (d['message'] = 'x'.repeat(1025)), 'data.message'],
    ['a health reason out of the enum', 'ProviderHealthChanged', 0, (d) => (d['reason'] = 'TokenMissing'), 'data.reason'],
    ['ready as a string', 'ProviderHealthChanged', 0, (d) => (d['ready'] = 'false'), 'data.ready'],
    ['a health message longer than 1024 characters', 'ProviderHealthChanged', 0, (d) => (d['message'] = 'x'.repeat(1025)), 'data.message'],
  ];
  for (const [what, type, index, mutate, field] of limits) {
    it(`refuses ${what} in ${type}, naming ${field}`, () => {
      const value = raw(type, index);
      mutate(value['data'] as Record<string, unknown>);
      expectSchemaError(() => parseEvent(resealed(value)), 'EventSchemaInvalid', field, type);
      expectSchemaError(() => validateEventData(type, value['data']), 'EventSchemaInvalid', field, type);
    });
  }

  it('accepts a message of exactly 1024 characters', () => {
    const data = { reason: 'Unreachable', httpStatus: null, authUrl: URL, detail: null, message: 'x'.repeat(1024) } as const;
    assert.deepEqual(validateEventData('AuthenticationFailed', data), data);
  });

  it('a v1 CertIssued and CertRenewed of the provider (no lifetime) still parse, and are refused at v2', () => {
    const issued = { side: 'provider', publicKeyFingerprint: 'a'.repeat(64), certFingerprint: 'c'.repeat(64), serialNumber: '7e', notAfter: '2026-01-01T00:00:00Z', tenantNamespace: 'peerlog-tenant-beta' } as const;
    const renewed = { side: 'provider', previousCertFingerprint: 'c'.repeat(64), publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), serialNumber: '7f', notAfter: '2026-01-01T00:00:00Z' } as const;
    assert.deepEqual(parseEventJson(serializeEvent(sealed('CertIssued', issued, GENESIS, 1))).data, issued);
    assert.deepEqual(parseEventJson(serializeEvent(sealed('CertRenewed', renewed, GENESIS, 1))).data, renewed);
    expectSchemaError(() => validateEventData('CertIssued', issued), 'EventSchemaInvalid', 'data.lifetime', 'CertIssued');
    expectSchemaError(() => validateEventData('CertRenewed', renewed), 'EventSchemaInvalid', 'data.lifetime', 'CertRenewed');
    // A lifetime in an event that says v1 is refused (the v1 schema is closed), and 0 is no lifetime.
    expectSchemaError(() => validateEventData('CertIssued', { ...issued, lifetime: 1 }, 1), 'EventSchemaInvalid', 'data.lifetime', 'CertIssued');
    expectSchemaError(() => validateEventData('CertRenewed', { ...renewed, lifetime: 0 }), 'EventSchemaInvalid', 'data.lifetime', 'CertRenewed');
  });

  it('a v1 PeeringRequested and a v1 IdentityRequested (no attempt, no pin) still parse', () => {
    const peering = { remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta', authUrl: URL };
    assert.deepEqual(parseEventJson(serializeEvent(sealed('PeeringRequested', peering, GENESIS, 1))).data, peering);
    const identity = { publicKeyFingerprint: FP, csrFingerprint: 'b'.repeat(64) };
    assert.deepEqual(parseEventJson(serializeEvent(sealed('IdentityRequested', identity, GENESIS, 1))).data, identity);
    expectSchemaError(() => validateEventData('IdentityRequested', identity), 'EventSchemaInvalid', 'data.authFingerprint', 'IdentityRequested');
  });
});

describe('schema versions 1 and 2 of the pods events', () => {
  it('v2 pod fields in an event that says v1 are refused (the v1 schemas are closed)', () => {
    const offloaded = raw('PodOffloaded');
    offloaded['schemaVersion'] = 1;
    expectSchemaError(() => parseEvent(resealed(offloaded)), 'EventSchemaInvalid', 'data.nodeName', 'PodOffloaded');
    const reflected = raw('PodStatusReflected');
    reflected['schemaVersion'] = 1;
    expectSchemaError(() => parseEvent(resealed(reflected)), 'EventSchemaInvalid', 'data.status.startTime', 'PodStatusReflected');
  });

  it('a v1 PodOffloaded (no node, no spec hash) still parses, and is refused at v2', () => {
    const v1 = { namespace: 'shop', name: 'web-0', uid: 'u-1', remoteNamespace: 'shop-alpha', remoteName: 'web-0' };
    assert.deepEqual(parseEventJson(serializeEvent(sealed('PodOffloaded', v1, GENESIS, 1))).data, v1);
    expectSchemaError(() => validateEventData('PodOffloaded', v1), 'EventSchemaInvalid', 'data.nodeName', 'PodOffloaded');
  });

  it('a v1 status of only v1 fields still parses at v2, where the v2 fields are optional', () => {
    const data = EARLIER_SAMPLES.PodStatusReflected![1]![0]!;
    assert.deepEqual(validateEventData('PodStatusReflected', data), data);
    assert.deepEqual(validateEventData('PodStatusReflected', data, 1), data);
  });
});
