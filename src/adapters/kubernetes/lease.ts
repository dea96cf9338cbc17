// The leader-election Lease (coordination.k8s.io/v1) of one control plane, read and written with
// optimistic concurrency: an update names the resourceVersion it read, so of two replicas that
// both try to take an expired Lease, one gets 409 Conflict and stays a follower.
import type { LeaseRecord } from '../../leader/election.js';
import { objectPath, type KubeClient, type KubeObject } from './client.js';

export interface LeaseStore {
  /** The Lease as stored, or undefined when there is none. */
  get(): Promise<LeaseRecord | undefined>;
  /** Creates the Lease; 409 (KubernetesError) when another replica made it first. */
  create(record: LeaseRecord): Promise<LeaseRecord>;
  /** Replaces the Lease's spec at `record.resourceVersion`; 409 when it moved since it was read. */
  update(record: LeaseRecord): Promise<LeaseRecord>;
}

interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

const API = 'coordination.k8s.io/v1';

function recordOf(o: LeaseObject): LeaseRecord {
  const s = o.spec ?? {};
  return {
    holderIdentity: s.holderIdentity || undefined, leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: s.acquireTime, renewTime: s.renewTime, leaseTransitions: s.leaseTransitions ?? 0,
    ...(o.metadata?.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
  };
}

function objectOf(name: string, namespace: string, r: LeaseRecord): LeaseObject {
  return {
    apiVersion: API, kind: 'Lease',
    metadata: { name, namespace, ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}) },
    spec: {
      ...(r.holderIdentity ? { holderIdentity: r.holderIdentity } : {}), leaseDurationSeconds: r.leaseDurationSeconds,
      ...(r.acquireTime ? { acquireTime: r.acquireTime } : {}), ...(r.renewTime ? { renewTime: r.renewTime } : {}),
      leaseTransitions: r.leaseTransitions,
    },
  };
}

export function createLeaseStore(kube: KubeClient, namespace: string, name: string): LeaseStore {
  return {
    async get() {
      const o = await kube.get<LeaseObject>(API, 'Lease', name, namespace);
      return o ? recordOf(o) : undefined;
    },
    async create(record) {
      const { resourceVersion: _, ...fresh } = record;
      return recordOf(await kube.create<LeaseObject>(objectOf(name, namespace, fresh)));
    },
    async update(record) {
      // PUT, not apply: only a replace carries the resourceVersion precondition.
      return recordOf(await kube.request<LeaseObject>('PUT', objectPath(API, 'Lease', name, namespace), objectOf(name, namespace, record)));
    },
  };
}
