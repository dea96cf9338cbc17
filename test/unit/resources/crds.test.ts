import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FOREIGN_CLUSTER_CRD, PEERLOG_CRDS, RESOURCE_OFFER_CRD, RESOURCE_REQUEST_CRD } from '../../../src/resources/crds.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Crd = any;

const version = (crd: Crd): Crd => crd.spec.versions[0];
const columns = (crd: Crd): string[] => version(crd).additionalPrinterColumns.map((c: { name: string }) => c.name);
const conditionReason = (crd: Crd): Crd => version(crd).schema.openAPIV3Schema.properties.status.properties.conditions.items.properties.reason;

describe('PEERLOG_CRDS', () => {
  it('holds the three CRDs, ForeignCluster first', () => {
    assert.deepEqual(PEERLOG_CRDS, [FOREIGN_CLUSTER_CRD, RESOURCE_REQUEST_CRD, RESOURCE_OFFER_CRD]);
  });

  const expected: ReadonlyArray<readonly [Crd, string, string, string, string, 'Cluster' | 'Namespaced']> = [
    [FOREIGN_CLUSTER_CRD, 'ForeignCluster', 'foreignclusters', 'foreigncluster', 'fc', 'Cluster'],
    [RESOURCE_REQUEST_CRD, 'ResourceRequest', 'resourcerequests', 'resourcerequest', 'rr', 'Namespaced'],
    [RESOURCE_OFFER_CRD, 'ResourceOffer', 'resourceoffers', 'resourceoffer', 'ro', 'Namespaced'],
  ];
  for (const [crd, kind, plural, singular, shortName, scope] of expected) {
    describe(kind, () => {
      it(`is named ${plural}.peering.peerlog.dev`, () => {
        assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
        assert.equal(crd.kind, 'CustomResourceDefinition');
        assert.equal(crd.metadata.name, `${plural}.peering.peerlog.dev`);
        assert.equal(crd.spec.group, 'peering.peerlog.dev');
      });

      it(`is ${scope}`, () => assert.equal(crd.spec.scope, scope));

      it(`has the names of ${kind} and the short name ${shortName}`, () => {
        assert.deepEqual(crd.spec.names, {
          kind, listKind: `${kind}List`, plural, singular, shortNames: [shortName], categories: ['peerlog'],
        });
      });

      it('serves and stores v1alpha1 only, with a status subresource', () => {
        assert.equal(crd.spec.versions.length, 1);
        const v = version(crd);
        assert.equal(v.name, 'v1alpha1');
        assert.equal(v.served, true);
        assert.equal(v.storage, true);
        assert.deepEqual(v.subresources, { status: {} });
      });

      it('requires a spec holding the cluster id', () => {
        const schema = version(crd).schema.openAPIV3Schema;
        assert.deepEqual(schema.required, ['spec']);
        assert.ok(schema.properties.spec.required.includes('clusterId'));
        assert.equal(schema.properties.spec.properties.clusterId.maxLength, 63);
      });

      it('holds clusterId and clusterName to the rules of the event log', () => {
        const props = version(crd).schema.openAPIV3Schema.properties.spec.properties;
        const id = new RegExp(props.clusterId.pattern);
        const name = new RegExp(props.clusterName.pattern);
        for (const ok of ['beta', 'Beta_7.f', 'a'.repeat(63)]) assert.match(ok, id);
        for (const bad of ['', '-beta', 'beta eu', 'beta/x', 'a'.repeat(64)]) assert.doesNotMatch(bad, id);
        for (const ok of ['beta', 'alpha-eu', '0', 'a'.repeat(63)]) assert.match(ok, name);
        for (const bad of ['Alpha EU', 'Alpha', 'alpha_eu', 'alpha.eu', '-alpha', 'alpha-', 'a'.repeat(64)]) assert.doesNotMatch(bad, name);
        assert.equal(props.clusterName.maxLength, 63);
      });

      it('ends its printer columns with Age', () => {
        assert.deepEqual(version(crd).additionalPrinterColumns.at(-1), { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
      });

      it('requires UpperCamelCase condition reasons', () => {
        const reason = conditionReason(crd);
        assert.equal(reason.type, 'string');
        const pattern = new RegExp(reason.pattern);
        for (const ok of ['TokenRejected', 'Authenticated', 'A', 'Http2Failed']) assert.match(ok, pattern);
        for (const bad of ['tokenRejected', 'Token_Rejected', 'Token Rejected', 'Token-Rejected', '', '1Failed']) {
          assert.doesNotMatch(bad, pattern);
        }
      });
    });
  }

  it('shows Outgoing, Incoming, VirtualNode and Age for ForeignCluster', () => {
    const names = columns(FOREIGN_CLUSTER_CRD);
    for (const name of ['Outgoing', 'Incoming', 'VirtualNode', 'Age']) assert.ok(names.includes(name), name);
    assert.deepEqual(names, ['Cluster', 'Outgoing', 'Incoming', 'VirtualNode', 'Age']);
    const byName = Object.fromEntries(version(FOREIGN_CLUSTER_CRD).additionalPrinterColumns.map((c: Crd) => [c.name, c.jsonPath]));
    assert.equal(byName.Outgoing, '.status.outgoing.phase');
    assert.equal(byName.Incoming, '.status.incoming.phase');
    assert.equal(byName.VirtualNode, '.status.outgoing.virtualNode');
  });

  it('shows Consumer, Phase, Offer and Age for ResourceRequest', () => {
    assert.deepEqual(columns(RESOURCE_REQUEST_CRD), ['Consumer', 'Phase', 'Offer', 'Age']);
  });

  it('shows Provider, CPU, Memory, Phase and Age for ResourceOffer', () => {
    assert.deepEqual(columns(RESOURCE_OFFER_CRD), ['Provider', 'CPU', 'Memory', 'Phase', 'Age']);
  });

  it('makes conditions a map list keyed by type with the usual required fields', () => {
    for (const crd of PEERLOG_CRDS) {
      const conditions = (version(crd).schema.openAPIV3Schema.properties.status.properties as Crd).conditions;
      assert.equal(conditions['x-kubernetes-list-type'], 'map');
      assert.deepEqual(conditions['x-kubernetes-list-map-keys'], ['type']);
      assert.deepEqual(conditions.items.required, ['type', 'status', 'reason', 'lastTransitionTime']);
      assert.deepEqual(conditions.items.properties.status.enum, ['True', 'False', 'Unknown']);
    }
  });

  it('defaults both ForeignCluster switches to Enabled', () => {
    const spec = version(FOREIGN_CLUSTER_CRD).schema.openAPIV3Schema.properties.spec.properties;
    for (const field of ['outgoing', 'incoming']) {
      assert.deepEqual(spec[field], { type: 'string', enum: ['Enabled', 'Disabled'], default: 'Enabled' });
    }
  });
});
