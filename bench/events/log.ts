// The bench logs: whole peerings (8 commands, 8 events each) decided, forged and sealed in memory.
import { randomUUID } from 'node:crypto';
import { outgoingDecider } from '../../src/commands/outgoing/decider.js';
import type { OutgoingCommand } from '../../src/commands/outgoing/commands.js';
import { forgeUnsealedEvents, type EventEnvelope } from '../../src/events/index.js';
import { sealEvent } from '../../src/events/hash.js';
import { GENESIS_HASH } from '../../src/events/constants.js';
import { uuidv7 } from '../../src/adapters/ids/index.js';

function meta(t: number) {
  return { now: new Date(Date.UTC(2026, 10, 24) + t * 1000).toISOString(), actor: { kind: 'cli' as const, name: 'bench' }, correlationId: randomUUID(), commandId: randomUUID() };
}
export function script(remote: string): OutgoingCommand[] {
  return [
    { type: 'RequestPeering', data: { remoteClusterId: remote, remoteClusterName: remote, authUrl: `https://127.0.0.1:1/${remote}` }, metadata: meta(1) },
    { type: 'RequestIdentity', data: { publicKeyFingerprint: 'a'.repeat(64), csrFingerprint: 'b'.repeat(64) }, metadata: meta(2) },
    { type: 'RecordCertificate', data: { certFingerprint: 'c'.repeat(64), notAfter: '2027-11-24T08:00:00.000Z', tenantNamespace: `peerlog-tenant-${remote}`, apiServerUrl: 'https://127.0.0.1:6443' }, metadata: meta(3) },
    { type: 'RequestResources', data: {}, metadata: meta(4) },
    { type: 'ReceiveOffer', data: { offerName: `offer-${remote}`, generation: 1, resources: { cpu: '4', memory: '8Gi', pods: '110' } }, metadata: meta(5) },
    { type: 'AcceptOffer', data: { offerName: `offer-${remote}`, generation: 1 }, metadata: meta(6) },
    { type: 'CreateVirtualNode', data: { nodeName: `peerlog-${remote}` }, metadata: meta(7) },
    { type: 'MarkVirtualNodeReady', data: {}, metadata: meta(8) },
  ] as OutgoingCommand[];
}

/** The events of `streams` whole peerings, decided, forged and sealed in memory (no I/O). */
export function* forgeLog(clusterId: string, streams: number, prefix: string): Generator<EventEnvelope[]> {
  let prev = GENESIS_HASH;
  for (let s = 0; s < streams; s++) {
    const remote = `${prefix}${s}`;
    let state = outgoingDecider.initialState;
    let version = 0;
    const out: EventEnvelope[] = [];
    for (const c of script(remote)) {
      const decided = outgoingDecider.decide(c, state);
      const unsealed = forgeUnsealedEvents(decided, { streamId: `outgoing-${remote}`, expectedVersion: version, clusterId, occurredAt: c.metadata.now, actor: c.metadata.actor, correlationId: c.metadata.correlationId, causationId: c.metadata.commandId, eventIds: decided.map(() => uuidv7()) });
      for (const u of unsealed) {
        const sealed = sealEvent(u, prev) as EventEnvelope;
        prev = sealed.hash;
        out.push(sealed);
        state = outgoingDecider.evolve(state, { type: u.type, data: u.data } as never);
      }
      version += unsealed.length;
    }
    yield out;
  }
}

