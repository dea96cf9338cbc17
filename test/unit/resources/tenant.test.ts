import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TENANT_RULES, forgeLocalTenantNamespace, forgeTenantObjects } from '../../../src/resources/tenant.js';

const RULES = [
  { apiGroups: ['peering.peerlog.dev'], resources: ['resourcerequests'], verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'] },
  { apiGroups: ['peering.peerlog.dev'], resources: ['resourcerequests/status'], verbs: ['get'] },
  { apiGroups: ['peering.peerlog.dev'], resources: ['resourceoffers'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['peering.peerlog.dev'], resources: ['resourceoffers/status'], verbs: ['get', 'update', 'patch'] },
];

const LABELS = {
  'app.kubernetes.io/managed-by': 'peerlog',
  'peerlog.dev/remote-cluster-id': 'beta-7f3c',
  'peerlog.dev/tenant': 'true',
};

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }
interface ReadOnlyRule { readonly apiGroups: readonly string[]; readonly resources: readonly string[]; readonly verbs: readonly string[] }

describe('TENANT_RULES', () => {
  it('grants exactly what peering needs', () => {
    assert.deepEqual(TENANT_RULES, RULES);
  });

  it('grants nothing on secrets, namespaces, nodes, RBAC or wildcards', () => {
    const forged = forgeTenantObjects('beta-7f3c', ['peerlog:cluster:beta-7f3c:1']).role.rules as Rule[];
    const all: readonly ReadOnlyRule[] = [...TENANT_RULES, ...forged];
    assert.equal(all.length, 8);
    for (const rule of all) {
      assert.deepEqual(rule.apiGroups, ['peering.peerlog.dev'], 'only the peerlog API group');
      for (const resource of rule.resources) {
        assert.doesNotMatch(resource, /secret|namespace|node|role|\*/i, resource);
      }
      for (const verb of rule.verbs) {
        assert.notEqual(verb, '*');
        assert.ok(!['escalate', 'bind', 'impersonate'].includes(verb), verb);
      }
      for (const group of rule.apiGroups) {
        assert.ok(!['', '*', 'rbac.authorization.k8s.io'].includes(group), group);
      }
    }
  });
});

describe('forgeTenantObjects', () => {
  it('forges the namespace, the Role and the RoleBinding', () => {
    assert.deepEqual(forgeTenantObjects('beta-7f3c', ['peerlog:cluster:beta-7f3c:3']), {
      namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'peerlog-tenant-beta-7f3c', labels: LABELS } },
      role: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role',
        metadata: { name: 'peerlog-tenant', namespace: 'peerlog-tenant-beta-7f3c', labels: LABELS },
        rules: RULES,
      },
      roleBinding: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
        metadata: { name: 'peerlog-tenant', namespace: 'peerlog-tenant-beta-7f3c', labels: LABELS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'peerlog-tenant' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'peerlog:cluster:beta-7f3c:3' }],
      },
      quota: {
        apiVersion: 'v1', kind: 'ResourceQuota',
        metadata: { name: 'peerlog-tenant', namespace: 'peerlog-tenant-beta-7f3c', labels: LABELS },
        spec: { hard: { 'count/resourcerequests.peering.peerlog.dev': '1' } },
      },
    });
  });

  it('binds the users it is given, never the peers group', () => {
    const { roleBinding } = forgeTenantObjects('Prod.EU_west', ['peerlog:cluster:Prod.EU_west:1']);
    const subjects = roleBinding.subjects as { kind: string; name: string }[];
    assert.deepEqual(subjects.map((s) => [s.kind, s.name]), [['User', 'peerlog:cluster:Prod.EU_west:1']]);
    assert.ok(subjects.every((s) => s.kind !== 'Group' && s.name !== 'peerlog:peers'));
  });

  it('binds two lifetimes while a renewal is signed, each once', () => {
    const { roleBinding } = forgeTenantObjects('beta', ['peerlog:cluster:beta:1', 'peerlog:cluster:beta:2', 'peerlog:cluster:beta:1']);
    assert.deepEqual(roleBinding.subjects, [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'peerlog:cluster:beta:1' },
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'peerlog:cluster:beta:2' },
    ]);
  });

  it('puts every object in the hashed tenant namespace of an id that needs one', () => {
    const objects = forgeTenantObjects('Prod.EU_west', ['peerlog:cluster:Prod.EU_west:1']);
    const ns = (objects.namespace.metadata as { name: string }).name;
    assert.match(ns, /^peerlog-tenant-prod-eu-west--[0-9a-f]{16}$/);
    assert.equal((objects.role.metadata as { namespace: string }).namespace, ns);
    assert.equal((objects.roleBinding.metadata as { namespace: string }).namespace, ns);
    assert.equal((objects.quota.metadata as { namespace: string }).namespace, ns);
    assert.equal((objects.namespace.metadata as { labels: Record<string, string> }).labels['peerlog.dev/remote-cluster-id'], 'Prod.EU_west');
  });

  it('hands out fresh rule arrays that do not alias TENANT_RULES', () => {
    const a = forgeTenantObjects('beta', ['peerlog:cluster:beta:1']).role.rules as Rule[];
    a[0]!.verbs.push('*');
    a.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
    assert.deepEqual(TENANT_RULES, RULES);
    assert.deepEqual(forgeTenantObjects('beta', ['peerlog:cluster:beta:1']).role.rules, RULES);
  });
});

describe('forgeLocalTenantNamespace', () => {
  it('forges the same namespace as the provider side', () => {
    assert.deepEqual(forgeLocalTenantNamespace('beta-7f3c'), forgeTenantObjects('beta-7f3c', ['peerlog:cluster:beta-7f3c:1']).namespace);
  });
});
