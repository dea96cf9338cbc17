// What the operator's watches read of an object: an update that changes none of it is not observed again.
import type { ForeignClusterObject } from '../projections/kubernetes/index.js';

/**
 * The parts of a ForeignCluster its observation reads (the spec, the deletion, finalizers, labels
 * and annotations), as one string: equal strings, nothing new to observe. Its status and
 * bookkeeping (resourceVersion, managedFields) are left out.
 */
export function observedOf(fc: ForeignClusterObject): string {
  const m = fc.metadata ?? {};
  return JSON.stringify([m.uid, m.generation, m.deletionTimestamp ?? null, m.finalizers ?? [], m.labels ?? {}, m.annotations ?? {}, fc.spec ?? null]);
}
