import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertHeadersMatch,
  cloudEventSource,
  fromCloudEventHeaders,
  toCloudEventHeaders,
} from '../../../src/events/cloudevents.js';
import { EventSchemaError } from '../../../src/events/errors.js';
import { sealed } from './samples.js';

const event = sealed('VirtualNodeReady', { nodeName: 'peerlog-beta' });
const SOURCE = cloudEventSource('alpha-01');

describe('CloudEvents headers', () => {
  it('forges the Kafka binary-mode headers from an envelope', () => {
    assert.deepEqual(toCloudEventHeaders(event, SOURCE), {
      ce_id: event.id,
      ce_type: 'VirtualNodeReady',
      ce_source: '/peerlog/clusters/alpha-01',
      ce_specversion: '1.0',
      ce_time: '2025-03-01T12:00:00.000Z',
      ce_subject: 'outgoing-beta-7f3c',
      'content-type': 'application/json',
    });
  });

  it('reads them back, from strings or bytes as Kafka clients deliver them', () => {
    const headers = toCloudEventHeaders(event, SOURCE);
    const expected = {
      id: event.id,
      type: 'VirtualNodeReady',
      source: SOURCE,
      specversion: '1.0',
      time: event.occurredAt,
      subject: event.streamId,
      datacontenttype: 'application/json',
    };
    assert.deepEqual(fromCloudEventHeaders(headers), expected);
    const asBytes = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
    assert.deepEqual(fromCloudEventHeaders(asBytes), expected);
    assert.deepEqual(fromCloudEventHeaders({ ...headers, ce_type: [Buffer.from('Old'), 'VirtualNodeReady'] }), expected);
    assertHeadersMatch(event, fromCloudEventHeaders(headers));
  });

  it('refuses missing headers and other spec versions, naming the header', () => {
    const headers = toCloudEventHeaders(event, SOURCE);
    const { ce_subject: _s, ...withoutSubject } = headers;
    for (const [bad, field] of [
      [withoutSubject, 'ce_subject'],
      [{ ...headers, ce_specversion: '0.3' }, 'ce_specversion'],
      [{ ...headers, ce_id: '' }, 'ce_id'],
    ] as const) {
      assert.throws(
        () => fromCloudEventHeaders(bad),
        (e: unknown) => e instanceof EventSchemaError && e.code === 'CloudEventHeadersInvalid' && e.field === field,
      );
    }
  });

  it('refuses headers that disagree with the event they travel with', () => {
    const other = sealed('VirtualNodeDrained', { nodeName: 'peerlog-beta' });
    assert.throws(
      () => assertHeadersMatch(event, fromCloudEventHeaders(toCloudEventHeaders(other, SOURCE))),
      (e: unknown) => e instanceof EventSchemaError && e.field === 'ce_id',
    );
  });
});
