// What a ForeignCluster's observation reads: its status and bookkeeping are not part of it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { observedOf } from '../../../src/operator/observed.js';
import type { ForeignClusterObject } from '../../../src/projections/kubernetes/index.js';

const fc = {
  apiVersion: 'peering.peerlog.dev/v1alpha1', kind: 'ForeignCluster',
  metadata: { name: 'beta', uid: 'u-1', generation: 1, resourceVersion: '100', finalizers: ['peering.peerlog.dev/outgoing'], labels: { a: 'b' } },
  spec: { clusterId: 'beta', clusterName: 'beta', authUrl: 'https://127.0.0.1:1', outgoing: 'Enabled' },
} as unknown as ForeignClusterObject;
const withStatus = (o: ForeignClusterObject, rv: string, reason: string) => ({
  ...o, metadata: { ...o.metadata, resourceVersion: rv, managedFields: [{ manager: 'peerlog', operation: 'Apply' }] },
  status: { conditions: [{ type: 'Authenticated', status: 'True', reason, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
}) as unknown as ForeignClusterObject;

describe('observedOf', () => {
  it('is the same when only the status, resourceVersion or managedFields changed', () => {
    assert.equal(observedOf(withStatus(fc, '101', 'IdentityIssued')), observedOf(fc));
    assert.equal(observedOf(withStatus(fc, '102', 'Other')), observedOf(withStatus(fc, '101', 'IdentityIssued')));
  });

  it('differs when the spec, the deletion, the finalizers, labels, annotations or the object changed', () => {
    const m = fc.metadata!;
    const changed: ForeignClusterObject[] = [
      { ...fc, spec: { ...fc.spec, outgoing: 'Disabled' } } as ForeignClusterObject,
      { ...fc, metadata: { ...m, generation: 2 } } as ForeignClusterObject,
      { ...fc, metadata: { ...m, deletionTimestamp: '2026-01-01T00:00:00Z' } } as unknown as ForeignClusterObject,
      { ...fc, metadata: { ...m, finalizers: [] } } as ForeignClusterObject,
      { ...fc, metadata: { ...m, labels: {} } } as ForeignClusterObject,
      { ...fc, metadata: { ...m, annotations: { 'peerlog.dev/requested-by': 'cli:me' } } } as ForeignClusterObject,
      { ...fc, metadata: { ...m, uid: 'u-2' } } as ForeignClusterObject,
    ];
    for (const c of changed) assert.notEqual(observedOf(c), observedOf(fc));
  });
});
