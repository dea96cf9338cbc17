// Valid data for every event type (a Record, so the compiler refuses a missing type) and helpers
// that seal them into envelopes.
import type { EventDataMap, EventType } from '../../../src/events/catalogue.js';
import type { EventEnvelope, UnsealedEvent } from '../../../src/events/envelope.js';
import { GENESIS_HASH } from '../../../src/events/constants.js';
import { sealEvent } from '../../../src/events/hash.js';
import { currentSchemaVersion } from '../../../src/events/schemas.js';

const FP = 'a'.repeat(64);
const RESOURCES = { cpu: '4', memory: '8Gi', pods: '110' };

export const SAMPLES: { readonly [T in EventType]: readonly EventDataMap[T][] } = {
  // Samples are written at each type's current schema version (v2 for the seven types that have one);
  // EARLIER_SAMPLES below holds data as older writers recorded it.
  PeeringRequested: [
    { remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta', authUrl: 'https://127.0.0.1:7443', attempt: '3/41877' },
    { remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta', authUrl: 'https://127.0.0.1:7443', attempt: null },
  ],
  PeeringBlocked: [
    { reason: 'TokenMissing', message: 'secret peerlog/beta-token does not exist' },
    { reason: 'MissingAuthUrl', message: 'spec.authUrl is needed to authenticate with the provider' },
  ],
  IdentityRequested: [
    { publicKeyFingerprint: FP, csrFingerprint: 'b'.repeat(64), authFingerprint: 'c'.repeat(64) },
    { publicKeyFingerprint: FP, csrFingerprint: 'b'.repeat(64), authFingerprint: null },
  ],
  IdentityRenewalRequested: [{ publicKeyFingerprint: 'd'.repeat(64), csrFingerprint: 'b'.repeat(64) }],
  CertRenewed: [
    { side: 'consumer', previousCertFingerprint: FP, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), notAfter: '2026-01-01T00:00:00.000Z' },
    { side: 'provider', previousCertFingerprint: FP, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), serialNumber: '7f', notAfter: '2026-01-01T00:00:00Z', lifetime: 2, signer: 'csr-api' },
    { side: 'provider', previousCertFingerprint: FP, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), serialNumber: '7f', notAfter: '2026-01-01T00:00:00Z', lifetime: 3, signer: 'ca-key' },
  ],
  IdentityRenewalFailed: [
    { reason: 'Unreachable', httpStatus: null, authUrl: 'https://127.0.0.1:7443', detail: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:7443' },
    { reason: 'PolicyRefused', httpStatus: 403, authUrl: null, detail: null, message: null },
  ],
  CertIssued: [
    {
      side: 'consumer',
      certFingerprint: FP,
      notAfter: '2026-01-01T00:00:00.000Z',
      tenantNamespace: 'peerlog-tenant-alpha',
      apiServerUrl: 'https://127.0.0.1:6443',
    },
    {
      side: 'provider',
      publicKeyFingerprint: FP,
      certFingerprint: 'c'.repeat(64),
      serialNumber: '7e',
      notAfter: '2026-01-01T00:00:00Z',
      tenantNamespace: 'peerlog-tenant-beta',
      lifetime: 1,
      signer: 'csr-api',
    },
    {
      side: 'provider',
      publicKeyFingerprint: FP,
      certFingerprint: 'c'.repeat(64),
      serialNumber: '7e',
      notAfter: '2026-01-01T00:00:00Z',
      tenantNamespace: 'peerlog-tenant-beta',
      lifetime: 2,
      signer: 'ca-key',
    },
  ],
  AuthenticationFailed: [
    { reason: 'TokenRejected', httpStatus: 401, authUrl: 'https://127.0.0.1:7443', detail: 'TokenMismatch', message: 'the token does not match' },
    { reason: 'Unreachable', httpStatus: null, authUrl: 'https://127.0.0.1:7443', detail: null, message: 'connect ECONNREFUSED 127.0.0.1:7443' },
    { reason: 'PolicyRefused', httpStatus: 403, authUrl: null, detail: null, message: null },
  ],
  ProviderHealthChanged: [
    { ready: false, reason: 'ProviderUnauthorized', message: 'the provider answered 403 to the current identity' },
    { ready: true, reason: null, message: null },
  ],
  ResourceRequested: [{ tenantNamespace: 'peerlog-tenant-alpha' }],
  OfferReceived: [{ offerName: 'beta-offer', generation: 1, resources: RESOURCES }],
  OfferAccepted: [{ offerName: 'beta-offer', generation: 2, resources: { ...RESOURCES, 'nvidia.com/gpu': '2', 'ephemeral-storage': '100Gi' } }],
  OfferRefused: [{ offerName: 'beta-offer', generation: 1, reason: 'UserRefused' }],
  VirtualNodeCreated: [{ nodeName: 'peerlog-beta', resources: { cpu: '3500m', memory: '7.5Gi', pods: '55' } }],
  VirtualNodeReady: [{ nodeName: 'peerlog-beta' }],
  UnpeeringRequested: [{ force: false, drain: true }, { force: true, drain: false }],
  VirtualNodeCordoned: [{ nodeName: 'peerlog-beta' }],
  VirtualNodeDrainWaiting: [
    { nodeName: 'peerlog-beta', reason: 'PodDisruptionBudget', remaining: 3, pod: 'web/web-0', budget: 'web-pdb', message: 'evicting web/web-0 would violate PodDisruptionBudget web/web-pdb' },
    { nodeName: 'peerlog-beta', reason: 'WaitingForPods', remaining: 1, pod: null, budget: null, message: '1 pod(s) still run on peerlog-beta' },
  ],
  VirtualNodeDrained: [{ nodeName: 'peerlog-beta' }],
  VirtualNodeDeleted: [{ nodeName: 'peerlog-beta' }],
  ResourceRequestWithdrawn: [
    { tenantNamespace: 'peerlog-tenant-alpha', providerReached: true, notice: null },
    { tenantNamespace: 'peerlog-tenant-alpha', providerReached: false, notice: { certFingerprint: 'c'.repeat(64), signedAt: '2026-12-03T09:00:00.000Z', signature: 'MEUCIQDx+/w==' } },
  ],
  PeeringTerminated: [{ force: false }],
  ProviderEndedPeering: [{ reason: 'IncomingDisabled', message: 'cluster beta no longer accepts incoming peerings from alpha' }],
  WithdrawalDelivered: [{ outcome: 'Revoked', message: 'the provider revoked the identity' }, { outcome: 'Refused', message: '' }],
  TokenValidated: [{ remoteClusterId: 'alpha-01', remoteClusterName: 'alpha' }],
  TokenRejected: [{ reason: 'TokenMismatch' }],
  ResourceRequestReceived: [{ requestName: 'alpha-request', tenantNamespace: 'peerlog-tenant-alpha' }],
  OfferIssued: [{ offerName: 'alpha-offer', resources: RESOURCES }],
  OfferUpdated: [{ offerName: 'alpha-offer', resources: { cpu: '5', memory: '8Gi', pods: '110' } }],
  OfferWithdrawn: [{ offerName: 'alpha-offer', reason: 'IncomingDisabled' }],
  CheckpointSigned: [{ chainLength: 1000, head: FP, keyId: 'f'.repeat(64), signature: 'A'.repeat(85) + 'w' }],
  IdentityRevoked: [
    { reason: 'ConsumerUnpeered', certSerialNumber: '7e' },
    { reason: 'IncomingDisabled', certSerialNumber: null },
  ],
  PodOffloaded: [
    { namespace: 'shop', name: 'web-0', uid: 'u-1', remoteNamespace: 'shop-alpha', remoteName: 'web-0', nodeName: 'peerlog-beta', specHash: 'f'.repeat(64) },
  ],
  PodOffloadFailed: [
    { namespace: 'shop', name: 'web-0', uid: 'u-1', reason: 'ProviderRefused', message: 'pods "web-0" is forbidden: exceeded quota: peerlog-offloading' },
    { namespace: 'kube-system', name: 'kube-proxy-x7k2p', uid: 'u-2', reason: 'DaemonSetPod', message: 'DaemonSet pods are not offloaded' },
    { namespace: 'blog', name: 'ghost-0', uid: 'u-3', reason: 'NamespaceRefused', message: '' },
  ],
  PodStatusReflected: [
    {
      namespace: 'shop',
      name: 'web-0',
      uid: 'u-1',
      status: {
        phase: 'Running',
        podIp: 'fd00::7',
        conditions: [
          { type: 'Ready', status: 'True', reason: null, message: '', lastTransitionTime: '2025-03-01T12:00:05Z' },
          { type: 'PodScheduled', status: 'True', reason: null, message: null, lastTransitionTime: null },
        ],
        containerStatuses: [
          {
            name: 'web', ready: true, restartCount: 2, state: 'running', reason: null, exitCode: null,
            image: 'docker.io/library/nginx:1.27', imageId: 'docker.io/library/nginx@sha256:' + 'c'.repeat(64),
            startedAt: '2025-03-01T12:00:04.123Z', finishedAt: null,
          },
          {
            name: 'migrate', ready: false, restartCount: 0, state: 'terminated', reason: 'Completed', exitCode: 0,
            image: 'registry.example/shop/migrate:7', imageId: null, startedAt: '2025-03-01T12:00:01Z', finishedAt: '2025-03-01T12:00:03Z',
          },
        ],
        startTime: '2025-03-01T12:00:00Z',
        reason: null,
        message: null,
      },
    },
    {
      // A v2 status with none of the v2 fields: they are optional, so v1-shaped data stays valid.
      namespace: 'shop',
      name: 'web-1',
      uid: 'u-4',
      status: {
        phase: 'Failed',
        podIp: null,
        conditions: [],
        containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: 'waiting', reason: 'ContainerCreating', exitCode: null }],
      },
    },
    {
      namespace: 'shop',
      name: 'web-2',
      uid: 'u-5',
      status: {
        phase: 'Failed', podIp: '10.244.1.9', conditions: [], containerStatuses: [], startTime: null,
        reason: 'Evicted', message: 'The node was low on resource: memory.',
      },
    },
  ],
  OffloadingEnded: [{ nodeName: 'peerlog-beta' }],
  PodReclaimed: [{ namespace: 'shop', name: 'web-0', uid: 'u-1', reason: 'Evicted' }],
  NamespaceOffloadRequested: [{ namespace: 'shop', remoteNamespace: 'shop-alpha' }],
  NamespaceOffloadGranted: [{ namespace: 'shop', remoteNamespace: 'shop-alpha' }],
  NamespaceOffloadRefused: [
    { namespace: 'shop', remoteNamespace: 'shop-alpha', reason: 'NamespaceExists', message: 'namespace shop-alpha exists and was not made by peerlog' },
    { namespace: 'blog', remoteNamespace: 'blog-alpha', reason: 'NotOffered', message: '' },
  ],
  NamespaceOffloadReceived: [{ namespace: 'shop', remoteNamespace: 'shop-alpha' }],
  RemoteNamespaceCreated: [{ namespace: 'shop', remoteNamespace: 'shop-alpha' }],
  RemoteNamespaceRefused: [
    { namespace: 'shop', remoteNamespace: 'shop-alpha', reason: 'CreationFailed', message: 'resourcequotas "peerlog-offloading" is forbidden' },
    { namespace: 'very-long-namespace', remoteNamespace: 'very-long-namespace-alpha--0123456789abcdef', reason: 'NotOffered', message: 'there is no offer in force' },
  ],
};

/**
 * Data as writers of older schema versions recorded it, by type and version: every version of every
 * type has samples here or, for the current one, in SAMPLES (the schema tests check both).
 */
export const EARLIER_SAMPLES: { readonly [T in EventType]?: Readonly<Record<number, readonly EventDataMap[T][]>> } = {
  PeeringRequested: { 1: [{ remoteClusterId: 'beta-7f3c', remoteClusterName: 'beta', authUrl: 'https://127.0.0.1:7443' }] },
  IdentityRequested: { 1: [{ publicKeyFingerprint: FP, csrFingerprint: 'b'.repeat(64) }] },
  CertIssued: {
    1: [
      { side: 'consumer', certFingerprint: FP, notAfter: '2026-01-01T00:00:00.000Z', tenantNamespace: 'peerlog-tenant-alpha', apiServerUrl: 'https://127.0.0.1:6443' },
      { side: 'provider', publicKeyFingerprint: FP, certFingerprint: 'c'.repeat(64), serialNumber: '7e', notAfter: '2026-01-01T00:00:00Z', tenantNamespace: 'peerlog-tenant-beta' },
    ],
    2: [
      { side: 'consumer', certFingerprint: FP, notAfter: '2026-01-01T00:00:00.000Z', tenantNamespace: 'peerlog-tenant-alpha', apiServerUrl: 'https://127.0.0.1:6443' },
      { side: 'provider', publicKeyFingerprint: FP, certFingerprint: 'c'.repeat(64), serialNumber: '7e', notAfter: '2026-01-01T00:00:00Z', tenantNamespace: 'peerlog-tenant-beta', lifetime: 1 },
    ],
  },
  CertRenewed: {
    1: [
      { side: 'consumer', previousCertFingerprint: FP, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), notAfter: '2026-01-01T00:00:00.000Z' },
      { side: 'provider', previousCertFingerprint: FP, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), serialNumber: '7f', notAfter: '2026-01-01T00:00:00Z' },
    ],
    2: [
      { side: 'consumer', previousCertFingerprint: FP, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), notAfter: '2026-01-01T00:00:00.000Z' },
      { side: 'provider', previousCertFingerprint: FP, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), serialNumber: '7f', notAfter: '2026-01-01T00:00:00Z', lifetime: 2 },
    ],
  },
  IdentityRenewalFailed: { 1: [{ reason: 'Unreachable', httpStatus: null }] },
  AuthenticationFailed: { 1: [{ reason: 'TokenRejected', httpStatus: 401 }, { reason: 'Unreachable', httpStatus: null }] },
  PodOffloaded: { 1: [{ namespace: 'shop', name: 'web-0', uid: 'u-1', remoteNamespace: 'shop-alpha', remoteName: 'web-0' }] },
  UnpeeringRequested: { 1: [{ force: false }, { force: true }] },
  ResourceRequestWithdrawn: { 1: [{ tenantNamespace: 'peerlog-tenant-alpha', providerReached: true }, { tenantNamespace: 'peerlog-tenant-alpha', providerReached: false }] },
  PodStatusReflected: {
    1: [
      {
        namespace: 'shop',
        name: 'web-0',
        uid: 'u-1',
        status: {
          phase: 'Running',
          podIp: 'fd00::7',
          conditions: [{ type: 'Ready', status: 'True', reason: null, message: '' }],
          containerStatuses: [{ name: 'web', ready: true, restartCount: 2, state: 'running', reason: null, exitCode: null }],
        },
      },
    ],
  },
};

let counter = 0;

/** A fresh lowercase UUID-shaped id, deterministic across runs. */
export function nextId(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}

/** An envelope at the type's current schema version unless another is named (an older writer's event). */
export function unsealed<T extends EventType>(type: T, data: EventDataMap[T], streamVersion = 1, schemaVersion = currentSchemaVersion(type)): UnsealedEvent {
  return {
    id: nextId(),
    type,
    streamId: 'outgoing-beta-7f3c',
    streamVersion,
    clusterId: 'alpha-01',
    occurredAt: '2025-03-01T12:00:00.000Z',
    actor: { kind: 'user', name: 'kubernetes-admin' },
    correlationId: 'corr-1',
    causationId: 'cmd-1',
    schemaVersion,
    data,
  } as UnsealedEvent;
}

export function sealed<T extends EventType>(type: T, data: EventDataMap[T], prevHash = GENESIS_HASH, schemaVersion = currentSchemaVersion(type)): EventEnvelope {
  return sealEvent(unsealed(type, data, 1, schemaVersion), prevHash) as EventEnvelope;
}

/** Every sample, sealed into one chained cluster log. */
export function sampleLog(): readonly EventEnvelope[] {
  const log: EventEnvelope[] = [];
  let prev = GENESIS_HASH;
  for (const type of Object.keys(SAMPLES) as EventType[]) {
    for (const data of SAMPLES[type]) {
      const envelope = sealed(type, data as never, prev);
      log.push(envelope);
      prev = envelope.hash;
    }
  }
  return log;
}
