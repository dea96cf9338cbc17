// The CustomResourceDefinitions of peering.peerlog.dev (DESIGN §5), forged as plain objects.
import { CLUSTER_ID_PATTERN, DNS_LABEL_PATTERN } from '../events/constants.js';
import { API_GROUP, API_VERSION, PEERING_SWITCH } from './constants.js';

type Schema = Record<string, unknown>;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });

const CONDITIONS: Schema = {
  type: 'array',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: {
    type: 'object',
    required: ['type', 'status', 'reason', 'lastTransitionTime'],
    properties: {
      type: str(),
      status: str({ enum: ['True', 'False', 'Unknown'] }),
      reason: str({ pattern: '^[A-Z][A-Za-z0-9]*$', description: 'UpperCamelCase reason' }),
      message: str({ maxLength: 32768 }),
      lastTransitionTime: str({ format: 'date-time' }),
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    },
  },
};

const RESOURCES: Schema = {
  type: 'object',
  description: 'Kubernetes quantities by resource name (cpu, memory, pods, ...)',
  additionalProperties: { 'x-kubernetes-int-or-string': true, pattern: '^[0-9.]+[a-zA-Z]*$' },
};

// The rules the event log holds ids and names to, so that the apiserver refuses at `kubectl apply`
// what the control plane could never record (instead of a reconcile failing every 15 s).
const CLUSTER_ID: Schema = str({ pattern: CLUSTER_ID_PATTERN.source, maxLength: 63 });
const CLUSTER_NAME: Schema = str({ pattern: DNS_LABEL_PATTERN.source, maxLength: 63, description: 'a DNS label (lowercase letters, digits, \'-\')' });

interface CrdSpec {
  readonly kind: string;
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
  readonly spec: Schema;
  readonly status: Schema;
  readonly columns: readonly { name: string; type: string; jsonPath: string; description?: string }[];
}

function forgeCrd(c: CrdSpec): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${c.plural}.${API_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'peerlog' } },
    spec: {
      group: API_GROUP,
      scope: c.scope,
      names: { kind: c.kind, listKind: `${c.kind}List`, plural: c.plural, singular: c.kind.toLowerCase(), shortNames: [...c.shortNames], categories: ['peerlog'] },
      versions: [{
        name: API_VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [...c.columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
        schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { spec: c.spec, status: c.status } } },
      }],
    },
  };
}

export const FOREIGN_CLUSTER_CRD = forgeCrd({
  kind: 'ForeignCluster',
  plural: 'foreignclusters',
  shortNames: ['fc'],
  scope: 'Cluster',
  spec: {
    type: 'object',
    required: ['clusterId'],
    properties: {
      clusterId: CLUSTER_ID,
      clusterName: CLUSTER_NAME,
      authUrl: str({ pattern: '^https://', maxLength: 2048 }),
      authFingerprint: str({ pattern: '^(sha256:)?[0-9a-fA-F:]{64,95}$', description: 'SHA-256 fingerprint of the authentication endpoint\'s certificate; unset trusts the first one seen' }),
      outgoing: str({ enum: [...PEERING_SWITCH], default: 'Enabled' }),
      incoming: str({ enum: [...PEERING_SWITCH], default: 'Enabled' }),
      tokenSecretRef: {
        type: 'object',
        required: ['name'],
        properties: { name: str(), namespace: str(), key: str({ default: 'token' }) },
      },
      unpeering: {
        type: 'object',
        description: 'how the outgoing peering is torn down once outgoing is Disabled or the object is deleted',
        properties: {
          drain: { type: 'boolean', default: true, description: 'evict the virtual node\'s pods (respecting PodDisruptionBudgets); false cordons it and waits for them to finish' },
          force: { type: 'boolean', default: false, description: 'for a provider that is gone: clean up this side at once, without draining or reaching the provider' },
        },
      },
    },
  },
  status: {
    type: 'object',
    properties: {
      conditions: CONDITIONS,
      outgoing: {
        type: 'object',
        properties: { phase: str(), tenantNamespace: str(), virtualNode: str(), authFingerprint: str(), lastEventVersion: { type: 'integer' } },
      },
      incoming: {
        type: 'object',
        properties: { phase: str(), tenantNamespace: str(), lastEventVersion: { type: 'integer' } },
      },
    },
  },
  columns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterId' },
    { name: 'Outgoing', type: 'string', jsonPath: '.status.outgoing.phase', description: 'phase of the outgoing peering (this cluster consumes)' },
    { name: 'Incoming', type: 'string', jsonPath: '.status.incoming.phase', description: 'phase of the incoming peering (this cluster provides)' },
    { name: 'VirtualNode', type: 'string', jsonPath: '.status.outgoing.virtualNode' },
  ],
});

export const RESOURCE_REQUEST_CRD = forgeCrd({
  kind: 'ResourceRequest',
  plural: 'resourcerequests',
  shortNames: ['rr'],
  scope: 'Namespaced',
  spec: {
    type: 'object',
    required: ['clusterId'],
    properties: {
      clusterId: CLUSTER_ID, clusterName: CLUSTER_NAME,
      namespaces: {
        type: 'array', maxItems: 1000, 'x-kubernetes-list-type': 'set',
        description: 'the consumer\'s namespaces whose pods it offloads; the provider makes <namespace>-<consumer id> for each',
        items: str({ pattern: DNS_LABEL_PATTERN.source, maxLength: 63 }),
      },
    },
  },
  status: {
    type: 'object',
    properties: {
      conditions: CONDITIONS, offerName: str(), phase: str(),
      // Withdrawn by the provider (phase Withdrawn): why, for the consumer to read.
      reason: str(), message: str({ maxLength: 1024 }),
      namespaces: {
        type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['namespace'],
        description: 'the provider\'s answer for each requested namespace',
        items: {
          type: 'object', required: ['namespace', 'phase'],
          properties: { namespace: str(), remoteNamespace: str(), phase: str({ enum: ['Requested', 'Granted', 'Refused'] }), reason: str(), message: str({ maxLength: 1024 }) },
        },
      },
    },
  },
  columns: [
    { name: 'Consumer', type: 'string', jsonPath: '.spec.clusterId' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Offer', type: 'string', jsonPath: '.status.offerName' },
  ],
});

export const RESOURCE_OFFER_CRD = forgeCrd({
  kind: 'ResourceOffer',
  plural: 'resourceoffers',
  shortNames: ['ro'],
  scope: 'Namespaced',
  spec: {
    type: 'object',
    required: ['clusterId', 'resources'],
    properties: { clusterId: CLUSTER_ID, clusterName: CLUSTER_NAME, requestName: str(), resources: RESOURCES },
  },
  status: {
    type: 'object',
    properties: { conditions: CONDITIONS, phase: str({ enum: ['Pending', 'Accepted', 'Refused'] }), virtualNode: str(), acceptedGeneration: { type: 'integer' } },
  },
  columns: [
    { name: 'Provider', type: 'string', jsonPath: '.spec.clusterId' },
    { name: 'CPU', type: 'string', jsonPath: '.spec.resources.cpu' },
    { name: 'Memory', type: 'string', jsonPath: '.spec.resources.memory' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  ],
});

export const PEERLOG_CRDS: readonly Schema[] = [FOREIGN_CLUSTER_CRD, RESOURCE_REQUEST_CRD, RESOURCE_OFFER_CRD];
