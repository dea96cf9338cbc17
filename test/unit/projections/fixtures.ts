// Literal event sequences of one outgoing and one incoming stream, as envelopes the views fold, and
// a fold over them. The fold reads type, data, streamId, streamVersion and occurredAt only.
import type { EventDataMap, EventType } from '../../../src/events/catalogue.js';
import type { EventEnvelope } from '../../../src/events/envelope.js';
import { foldView, type PeeringView } from '../../../src/projections/views/view.js';

export const REMOTE_ID = 'beta-7f3c';
export const OUT = `outgoing-${REMOTE_ID}`;
export const IN = `incoming-${REMOTE_ID}`;
export const AUTH_URL = 'https://127.0.0.1:7443';
export const PIN = '9'.repeat(64);
export const KEY = 'a'.repeat(64);
export const CSR = 'b'.repeat(64);
export const CERT = 'c'.repeat(64);
export const NOT_AFTER = '2026-03-01T12:00:00.000Z';
export const TENANT = 'peerlog-tenant-alpha-01';
export const API_SERVER = 'https://127.0.0.1:6443';
export const NODE = 'peerlog-beta-7f3c';
export const OFFER_1 = { offerName: 'offer-beta-7f3c', generation: 1, resources: { cpu: '4', memory: '8Gi', pods: '110' } };
export const OFFER_2 = { offerName: 'offer-beta-7f3c', generation: 2, resources: { cpu: '6', memory: '12Gi', pods: '110' } };

/** `2025-03-01T12:00:0<n>.000Z`-style times, one per event, so that each condition's time names its event. */
export const t = (n: number): string => `2025-03-01T12:${String(n).padStart(2, '0')}:00.000Z`;

export type Step = { readonly [K in EventType]: readonly [K, EventDataMap[K]] }[EventType];

/** Envelopes of one stream numbered from `from`, the n-th at t(from + n). */
export function envelopes(streamId: string, steps: readonly Step[], from = 1): EventEnvelope[] {
  return steps.map(([type, data], i) => ({
    id: `00000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`,
    type, data, streamId, streamVersion: from + i, clusterId: 'alpha-01', occurredAt: t(from + i),
    actor: { kind: 'controller', name: 'peerlog-operator' }, correlationId: 'c', causationId: 'c', schemaVersion: 1,
    prevHash: '0'.repeat(64), hash: '0'.repeat(64),
  }) as EventEnvelope);
}

export function fold(events: readonly EventEnvelope[], from?: PeeringView): PeeringView | undefined {
  return events.reduce<PeeringView | undefined>((v, e) => foldView(v, e), from);
}

export const OUTGOING_STEPS: readonly Step[] = [
  ['PeeringRequested', { remoteClusterId: REMOTE_ID, remoteClusterName: 'beta', authUrl: AUTH_URL, attempt: '3/41877' }],
  ['IdentityRequested', { publicKeyFingerprint: KEY, csrFingerprint: CSR, authFingerprint: PIN }],
  ['CertIssued', { side: 'consumer', certFingerprint: CERT, notAfter: NOT_AFTER, tenantNamespace: TENANT, apiServerUrl: API_SERVER }],
  ['ResourceRequested', { tenantNamespace: TENANT }],
  ['OfferReceived', OFFER_1],
  ['OfferAccepted', OFFER_1],
  ['VirtualNodeCreated', { nodeName: NODE, resources: OFFER_1.resources }],
  ['VirtualNodeReady', { nodeName: NODE }],
  ['ProviderHealthChanged', { ready: false, reason: 'ProviderUnreachable', message: 'connect ECONNREFUSED 127.0.0.1:6443' }],
  ['ProviderHealthChanged', { ready: true, reason: null, message: null }],
];

export const INCOMING_STEPS: readonly Step[] = [
  ['TokenValidated', { remoteClusterId: REMOTE_ID, remoteClusterName: 'beta' }],
  ['CertIssued', { side: 'provider', publicKeyFingerprint: KEY, certFingerprint: CERT, serialNumber: '7e', notAfter: NOT_AFTER, tenantNamespace: 'peerlog-tenant-beta-7f3c' }],
  ['ResourceRequestReceived', { requestName: 'alpha-01', tenantNamespace: 'peerlog-tenant-beta-7f3c' }],
  ['OfferIssued', { offerName: 'offer-alpha-01', resources: { cpu: '2', memory: '4Gi', pods: '55' } }],
];

export const REMOTE_STATE = { clusterId: REMOTE_ID, clusterName: 'beta', authUrl: AUTH_URL, attempt: '3/41877', authFingerprint: PIN };
export const IDENTITY = { publicKeyFingerprint: KEY, certFingerprint: CERT, notAfter: NOT_AFTER, tenantNamespace: TENANT, apiServerUrl: API_SERVER };
