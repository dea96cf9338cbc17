// The audit aggregate: the cluster log's signed checkpoints, stream audit-<clusterId>.
export * from './decider.js';
