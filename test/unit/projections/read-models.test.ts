import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventType } from '../../../src/events/catalogue.js';
import type { EventEnvelope } from '../../../src/events/envelope.js';
import { createReadModelForge, forgeAuditRow, type AggregateRow, type StreamFolder } from '../../../src/projections/read-models/forge.js';
import { SAMPLES, sealed } from '../events/samples.js';

/** Folds each stream into the list of its event types: enough to see what forge hands evolve. */
const folder: StreamFolder = {
  kindOf: (streamId) => { const kind = streamId.split('-')[0]; return kind === 'outgoing' || kind === 'incoming' || kind === 'pods' ? kind : undefined; },
  initialState: () => ({ status: 'new', seen: [] }),
  evolve: (_kind, state, event) => ({ status: `after${event.type}`, seen: [...(state as { seen: string[] }).seen, event.type] }),
  statusOf: (state) => (state as { status: string }).status,
  remoteOf: (streamId) => streamId.slice(streamId.indexOf('-') + 1),
};

let minute = 0;
function event<T extends EventType>(type: T, streamId: string, streamVersion: number, data: unknown = SAMPLES[type][0]): EventEnvelope {
  minute += 1;
  const e = sealed(type, data as never);
  return { ...e, streamId, streamVersion, occurredAt: `2025-03-01T12:${String(minute).padStart(2, '0')}:00.000Z` } as EventEnvelope;
}

/** A batch through the forge, one event at a time, as the projection does. */
function forgeReadModelRows(f: StreamFolder, events: readonly EventEnvelope[], prior: ReadonlyMap<string, AggregateRow>) {
  const forge = createReadModelForge(f, prior);
  const audit = events.map((e) => forge.add(e));
  return { audit, ...forge.rows() };
}

describe('createReadModelForge', () => {
  it('writes one audit row per event, and the last state and peering row of each stream', () => {
    minute = 0;
    const events = [
      event('PeeringRequested', 'outgoing-beta', 1),
      event('TokenValidated', 'incoming-gamma', 1),
      event('IdentityRequested', 'outgoing-beta', 2),
      event('PodOffloaded', 'pods-beta', 1),
      event('CertIssued', 'incoming-gamma', 2, SAMPLES.CertIssued[1]),
      event('VirtualNodeReady', 'stray-stream', 1),
    ];
    const rows = forgeReadModelRows(folder, events, new Map());
    assert.deepEqual(rows.audit, events.map(forgeAuditRow));
    assert.deepEqual(rows.aggregates, [
      { streamId: 'outgoing-beta', streamType: 'outgoing', version: 2, state: { status: 'afterIdentityRequested', seen: ['PeeringRequested', 'IdentityRequested'] } },
      { streamId: 'incoming-gamma', streamType: 'incoming', version: 2, state: { status: 'afterCertIssued', seen: ['TokenValidated', 'CertIssued'] } },
      { streamId: 'pods-beta', streamType: 'pods', version: 1, state: { status: 'afterPodOffloaded', seen: ['PodOffloaded'] } },
    ]);
    assert.deepEqual(rows.peerings, [
      {
        streamId: 'outgoing-beta', clusterId: 'alpha-01', remoteClusterId: 'beta', direction: 'outgoing', remoteClusterName: 'beta', phase: 'afterIdentityRequested',
        streamVersion: 2, lastEventType: 'IdentityRequested', updatedAt: '2025-03-01T12:03:00.000Z',
        steps: { PeeringRequested: '2025-03-01T12:01:00.000Z', IdentityRequested: '2025-03-01T12:03:00.000Z' },
      },
      {
        streamId: 'incoming-gamma', clusterId: 'alpha-01', remoteClusterId: 'gamma', direction: 'incoming', remoteClusterName: 'alpha', phase: 'afterCertIssued',
        streamVersion: 2, lastEventType: 'CertIssued', updatedAt: '2025-03-01T12:05:00.000Z',
        steps: { TokenValidated: '2025-03-01T12:02:00.000Z', CertIssued: '2025-03-01T12:05:00.000Z' },
      },
    ]);
  });

  it('continues from the stored state; a remote name only from this batch\'s events (the upsert keeps one stored)', () => {
    minute = 10;
    const prior = new Map<string, AggregateRow>([['outgoing-beta', { streamId: 'outgoing-beta', streamType: 'outgoing', version: 4, state: { status: 'x', seen: ['A', 'B', 'C', 'D'] } }]]);
    const rows = forgeReadModelRows(folder, [event('VirtualNodeReady', 'outgoing-beta', 5)], prior);
    assert.deepEqual(rows.aggregates, [{ streamId: 'outgoing-beta', streamType: 'outgoing', version: 5, state: { status: 'afterVirtualNodeReady', seen: ['A', 'B', 'C', 'D', 'VirtualNodeReady'] } }]);
    assert.equal(rows.peerings[0]!.remoteClusterName, null);
    assert.deepEqual(rows.peerings[0]!.steps, { VirtualNodeReady: '2025-03-01T12:11:00.000Z' }, 'only this batch\'s steps: the upsert merges them with the stored ones');
  });

  it('names no remote when no event of the stream carried one', () => {
    const rows = forgeReadModelRows(folder, [event('VirtualNodeReady', 'outgoing-beta', 1)], new Map());
    assert.equal(rows.peerings[0]!.remoteClusterName, null);
  });

  it('a later step of the same type keeps its latest time', () => {
    minute = 20;
    const rows = forgeReadModelRows(folder, [event('OfferReceived', 'outgoing-beta', 1), event('OfferReceived', 'outgoing-beta', 2)], new Map());
    assert.deepEqual(rows.peerings[0]!.steps, { OfferReceived: '2025-03-01T12:22:00.000Z' });
  });
});

describe('forgeAuditRow', () => {
  it('copies the envelope header', () => {
    const e = sealed('VirtualNodeReady', { nodeName: 'peerlog-beta' });
    assert.deepEqual(forgeAuditRow(e), {
      eventId: e.id, clusterId: 'alpha-01', occurredAt: '2025-03-01T12:00:00.000Z', type: 'VirtualNodeReady', streamId: 'outgoing-beta-7f3c',
      streamVersion: 1, actorKind: 'user', actorName: 'kubernetes-admin', correlationId: 'corr-1', causationId: 'cmd-1', hash: e.hash, prevHash: e.prevHash,
    });
  });
});
