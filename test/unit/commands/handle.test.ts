// The generic handler with an in-memory store: what it appends is what the log's readers accept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handleCommand, type AppendRequest, type EventStorePort } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import type { OutgoingCommand } from '../../../src/commands/outgoing/commands.js';
import type { UnsealedEvent } from '../../../src/events/envelope.js';
import { GENESIS_HASH } from '../../../src/events/constants.js';
import { sealEvent } from '../../../src/events/hash.js';
import { parseEventJson, serializeEvent } from '../../../src/events/schemas.js';
import { metadata } from './harness.js';
import { createStreamCache } from '../../../src/commands/cache.js';
import { podsDecider } from '../../../src/commands/pods/decider.js';
import type { PodsCommand } from '../../../src/commands/pods/commands.js';
import type { PodsState } from '../../../src/commands/pods/state.js';

function memoryStore(): EventStorePort & { appended: UnsealedEvent[] } {
  const streams = new Map<string, { state: unknown; version: number }>();
  const appended: UnsealedEvent[] = [];
  return {
    appended,
    async load<S>(id: string) { return streams.get(id) as { state: S; version: number } | undefined; },
    async append<S>(req: AppendRequest<S>) {
      streams.set(req.streamId, { state: req.newState, version: req.expectedVersion + req.events.length });
      appended.push(...req.events);
      return req.events;
    },
  };
}

describe('handleCommand', () => {
  it('stamps each event with its type\'s current schema version, so that the log\'s readers accept it', async () => {
    const store = memoryStore();
    let n = 0;
    const ports = { store, clusterId: 'alpha-01', newId: () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}` };
    const stream = { id: 'outgoing-beta-7f3c', type: 'outgoing' };
    const send = (command: Omit<OutgoingCommand, 'metadata'>) => handleCommand(ports, outgoingDecider, stream, { ...command, metadata } as OutgoingCommand);
    await send({ type: 'RequestPeering', data: { remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta', authUrl: 'https://127.0.0.1:7443', attempt: '3/41877' } });
    await send({ type: 'RecordAuthenticationFailure', data: { reason: 'Unreachable', authUrl: 'https://127.0.0.1:7443', message: 'connect ECONNREFUSED 127.0.0.1:7443' } });
    await send({ type: 'BlockPeering', data: { reason: 'TokenMissing', message: 'secret peerlog/beta-token does not exist' } });
    assert.deepEqual(store.appended.map((e) => [e.type, e.schemaVersion]), [['PeeringRequested', 2], ['AuthenticationFailed', 2], ['PeeringBlocked', 1]]);
    let prev = GENESIS_HASH;
    for (const e of store.appended) {
      const sealed = sealEvent(e, prev);
      prev = sealed.hash;
      assert.deepEqual(parseEventJson(serializeEvent(sealed as never)), sealed);
    }
  });

  it('the state kept for the next command holds none of the command\'s objects: a caller changing them later changes nothing there', async () => {
    const cache = createStreamCache();
    let n = 0;
    const ports = { store: memoryStore(), cache, clusterId: 'alpha-01', newId: () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}` };
    const stream = { id: 'pods-beta-7f3c', type: 'pods' };
    const send = (command: Omit<PodsCommand, 'metadata'>) => handleCommand(ports, podsDecider, stream, { ...command, metadata } as PodsCommand);
    const uid = '6f1c2a9e-0000-4000-8000-000000000001';
    await send({ type: 'RequestNamespaceOffload', data: { namespaces: [{ namespace: 'shop', remoteNamespace: 'shop-alpha' }] } });
    await send({ type: 'RecordNamespaceAnswer', data: { namespace: 'shop', remoteNamespace: 'shop-alpha', granted: true } });
    await send({ type: 'OffloadPods', data: { pods: [{ namespace: 'shop', name: 'web-0', uid, remoteNamespace: 'shop-alpha', remoteName: 'web-0', nodeName: 'peerlog-beta-7f3c', specHash: '3b'.repeat(32) }] } });
    const status = { phase: 'Running', podIp: '10.244.1.7', conditions: [], containerStatuses: [], startTime: '2025-03-01T12:00:01Z', reason: null, message: null };
    await send({ type: 'ReflectPodStatus', data: { pods: [{ namespace: 'shop', name: 'web-0', uid, status }] } } as Omit<PodsCommand, 'metadata'>);
    status.phase = 'Failed';
    status.podIp = '10.244.9.9';
    const kept = cache.get<PodsState>(stream.id)!.state.pods['shop/web-0']!.status;
    assert.equal(kept?.phase, 'Running');
    assert.equal(kept?.podIp, '10.244.1.7');
  });
});
