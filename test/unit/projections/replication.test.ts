// What the consumer's view replicates to the provider: the ResourceRequest, then the acceptance or
// refusal on the provider's offer. Expected objects are written out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutgoingState } from '../../../src/commands/outgoing/state.js';
import type { IncomingState } from '../../../src/commands/incoming/state.js';
import { forgeConsumerReplicas, forgeProviderTenant, namesOnly } from '../../../src/projections/replication/index.js';
import type { IncomingView, OutgoingView } from '../../../src/projections/views/view.js';
import { CERT, IN, INCOMING_STEPS, KEY, NOT_AFTER, OFFER_1, OFFER_2, OUT, OUTGOING_STEPS, envelopes, fold } from './fixtures.js';

const CONSUMER = { clusterId: 'alpha-01', clusterName: 'alpha' };
const stateAfter = (n: number, extra: Parameters<typeof envelopes>[1] = []): OutgoingState =>
  (fold(envelopes(OUT, [...OUTGOING_STEPS.slice(0, n), ...extra])) as OutgoingView).state;

const REQUEST = {
  apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceRequest',
  metadata: { name: 'peerlog-request', namespace: 'peerlog-tenant-alpha-01', labels: { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'alpha-01' } },
  spec: { clusterId: 'alpha-01', clusterName: 'alpha' },
};
const offerStatus = (status: Record<string, unknown>) => ({
  apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ResourceOffer', metadata: { name: 'offer-beta-7f3c', namespace: 'peerlog-tenant-alpha-01' }, status,
});

describe('forgeConsumerReplicas', () => {
  it('nothing before resources are requested', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, { status: 'empty' }), []);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(2)), []);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(3)), []);
  });

  it('resources requested, or an offer received and not decided: the request only', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(4)), [REQUEST]);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(5)), [REQUEST]);
  });

  it('an offer accepted: the request and the acceptance, without a node', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(6)), [REQUEST, offerStatus({ phase: 'Accepted', acceptedGeneration: 1 })]);
  });

  it('a node running on the accepted offer: the acceptance names it', () => {
    const withNode = offerStatus({ phase: 'Accepted', acceptedGeneration: 1, virtualNode: 'peerlog-beta-7f3c' });
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(7)), [REQUEST, withNode]);
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(10)), [REQUEST, withNode]);
  });

  it('an update received over a running node: the acceptance in force stays (generation 1)', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(8, [['OfferReceived', OFFER_2]])), [
      REQUEST, offerStatus({ phase: 'Accepted', acceptedGeneration: 1, virtualNode: 'peerlog-beta-7f3c' }),
    ]);
  });

  it('an offer refused: the request and the refusal', () => {
    const refused = stateAfter(5, [['OfferRefused', { offerName: OFFER_1.offerName, generation: 1, reason: 'InsufficientResources' }]]);
    assert.equal(refused.status, 'offerRefused');
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, refused), [REQUEST, offerStatus({ phase: 'Refused', acceptedGeneration: 1 })]);
  });

  it('unpeering: nothing is kept at the provider', () => {
    assert.deepEqual(forgeConsumerReplicas(CONSUMER, stateAfter(8, [['UnpeeringRequested', { force: false }]])), []);
  });
});

describe('forgeProviderTenant', () => {
  const TENANT_NS = 'peerlog-tenant-beta-7f3c';
  const labels = { 'app.kubernetes.io/managed-by': 'peerlog', 'peerlog.dev/remote-cluster-id': 'beta-7f3c', 'peerlog.dev/tenant': 'true' };
  const incomingAfter = (steps: Parameters<typeof envelopes>[1]): IncomingState => (fold(envelopes(IN, steps)) as IncomingView).state;
  const issued = (lifetime: number) => ['CertIssued', {
    side: 'provider', publicKeyFingerprint: KEY, certFingerprint: CERT, serialNumber: '7e', notAfter: NOT_AFTER, tenantNamespace: TENANT_NS, lifetime,
  }] as const;
  const renewed = (lifetime: number) => ['CertRenewed', {
    side: 'provider', previousCertFingerprint: CERT, publicKeyFingerprint: 'd'.repeat(64), certFingerprint: 'e'.repeat(64), serialNumber: '7f', notAfter: NOT_AFTER, lifetime,
  }] as const;
  const validated = INCOMING_STEPS[0]!;
  const bindingOf = (objs: readonly { kind?: string }[]) => objs.find((o) => o.kind === 'RoleBinding') as { subjects?: unknown } | undefined;
  const user = (name: string) => [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }];

  it('nothing before an identity is issued, nor once it is revoked', () => {
    assert.deepEqual(forgeProviderTenant('beta-7f3c', { status: 'empty' }), []);
    assert.deepEqual(forgeProviderTenant('beta-7f3c', incomingAfter([validated])), []);
    const revoked = incomingAfter([validated, issued(1), ['IdentityRevoked', { reason: 'ConsumerUnpeered', certSerialNumber: '7e' }]]);
    assert.equal(revoked.status, 'revoked');
    assert.deepEqual(forgeProviderTenant('beta-7f3c', revoked), []);
  });

  it('an identity issued: the tenant namespace, its quota, its Role and the RoleBinding to lifetime 1, in that order', () => {
    const objs = forgeProviderTenant('beta-7f3c', incomingAfter([validated, issued(1)]));
    assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata?.name}`), ['Namespace/peerlog-tenant-beta-7f3c', 'ResourceQuota/peerlog-tenant', 'Role/peerlog-tenant', 'RoleBinding/peerlog-tenant']);
    assert.deepEqual(bindingOf(objs), {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
      metadata: { name: 'peerlog-tenant', namespace: TENANT_NS, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'peerlog-tenant' },
      subjects: user('peerlog:cluster:beta-7f3c:1'),
    });
  });

  it('a renewal in the log: the new lifetime\'s user alone, the replaced one unbound', () => {
    assert.deepEqual(bindingOf(forgeProviderTenant('beta-7f3c', incomingAfter([validated, issued(1), renewed(2)])))?.subjects, user('peerlog:cluster:beta-7f3c:2'));
    assert.deepEqual(bindingOf(forgeProviderTenant('beta-7f3c', incomingAfter([validated, issued(1), renewed(2), renewed(3)])))?.subjects, user('peerlog:cluster:beta-7f3c:3'));
  });

  it('a peering again after revocation: the lifetime after the last one', () => {
    const again = incomingAfter([validated, issued(1), renewed(2), ['IdentityRevoked', { reason: 'ConsumerUnpeered', certSerialNumber: '7f' }], validated, issued(3)]);
    assert.deepEqual(bindingOf(forgeProviderTenant('beta-7f3c', again))?.subjects, user('peerlog:cluster:beta-7f3c:3'));
  });

  it('a certificate recorded by a v1 event: the plain user it carries', () => {
    assert.deepEqual(bindingOf(forgeProviderTenant('beta-7f3c', incomingAfter(INCOMING_STEPS)))?.subjects, user('peerlog:cluster:beta-7f3c'));
  });
});

describe('namesOnly', () => {
  const u = 'peerlog:cluster:beta:3';
  it('takes the one user, whatever order the apiserver writes its keys in', () => {
    assert.equal(namesOnly([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: u }], u), true);
    assert.equal(namesOnly([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: u }], u), true);
  });
  it('refuses another user, a second subject, a group or a service account of that name, and no subjects', () => {
    assert.equal(namesOnly([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'peerlog:cluster:beta:2' }], u), false);
    assert.equal(namesOnly([{ kind: 'User', name: u }, { kind: 'User', name: 'peerlog:cluster:beta:2' }], u), false);
    assert.equal(namesOnly([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: u }], u), false);
    assert.equal(namesOnly([{ kind: 'ServiceAccount', name: u, namespace: 'default' }], u), false);
    assert.equal(namesOnly(undefined, u), false);
    assert.equal(namesOnly([], u), false);
  });
});
