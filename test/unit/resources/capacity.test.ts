import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  OFFERED_RESOURCES, computeOffer, isTerminal, isVirtualNode, podRequests, type NodeFacts, type PodFacts,
} from '../../../src/resources/capacity.js';

const node = (name: string, allocatable: Record<string, string>, over: Partial<NodeFacts> = {}): NodeFacts =>
  ({ name, labels: {}, ready: true, unschedulable: false, allocatable, ...over });

const pod = (nodeName: string | undefined, requests: Record<string, string>, over: Partial<PodFacts> = {}): PodFacts =>
  ({ nodeName, phase: 'Running', labels: {}, requests, ...over });

const VIRTUAL = { 'peerlog.dev/type': 'virtual-node', 'peerlog.dev/remote-cluster-id': 'gamma' };
const OFFLOADED_BY = (id: string) => ({ 'peerlog.dev/remote-cluster-id': id });

const W1 = node('worker-1', { cpu: '4', memory: '8Gi', pods: '110' });
const W2 = node('worker-2', { cpu: '2', memory: '4Gi', pods: '110' });

describe('isVirtualNode', () => {
  it('recognises the peerlog virtual node label', () => {
    assert.equal(isVirtualNode({ labels: VIRTUAL }), true);
    assert.equal(isVirtualNode({ labels: { 'peerlog.dev/type': 'virtual-node' } }), true);
  });

  it('does not take other nodes for virtual ones', () => {
    assert.equal(isVirtualNode({ labels: {} }), false);
    assert.equal(isVirtualNode({ labels: { 'peerlog.dev/type': 'worker' } }), false);
    assert.equal(isVirtualNode({ labels: { 'peerlog.dev/remote-cluster-id': 'gamma' } }), false);
    assert.equal(isVirtualNode({ labels: { type: 'virtual-node' } }), false);
  });
});

describe('isTerminal', () => {
  for (const phase of ['Succeeded', 'Failed']) it(`takes ${phase} for terminal`, () => assert.equal(isTerminal(phase), true));
  for (const phase of ['Pending', 'Running', 'Unknown', undefined]) {
    it(`does not take ${phase} for terminal`, () => assert.equal(isTerminal(phase), false));
  }
});

describe('OFFERED_RESOURCES', () => {
  it('is cpu, memory and pods', () => assert.deepEqual(OFFERED_RESOURCES, ['cpu', 'memory', 'pods']));
});

describe('computeOffer', () => {
  it('sums the allocatable of Ready, schedulable, real nodes', () => {
    assert.deepEqual(computeOffer([W1, W2], [], 100), { cpu: '6', memory: '12Gi', pods: '220' });
  });

  it('offers zeros with no node', () => {
    assert.deepEqual(computeOffer([], [], 50), { cpu: '0', memory: '0', pods: '0' });
  });

  it('leaves out NotReady, unschedulable and virtual nodes', () => {
    const nodes = [
      W1,
      node('not-ready', { cpu: '16', memory: '64Gi', pods: '110' }, { ready: false }),
      node('cordoned', { cpu: '16', memory: '64Gi', pods: '110' }, { unschedulable: true }),
      node('peerlog-gamma', { cpu: '16', memory: '64Gi', pods: '110' }, { labels: VIRTUAL }),
    ];
    assert.deepEqual(computeOffer(nodes, [], 100), { cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('subtracts the requests of pods bound to usable nodes, and counts them', () => {
    const pods = [
      pod('worker-1', { cpu: '500m', memory: '1Gi' }),
      pod('worker-2', { cpu: '250m', memory: '512Mi' }),
      pod('worker-2', {}, { phase: 'Pending' }),
    ];
    assert.deepEqual(computeOffer([W1, W2], pods, 100), { cpu: '5250m', memory: '10752Mi', pods: '217' });
  });

  it('counts pods whose phase is not known yet', () => {
    assert.deepEqual(computeOffer([W1], [pod('worker-1', { cpu: '1' }, { phase: undefined })], 100), { cpu: '3', memory: '8Gi', pods: '109' });
  });

  it('ignores pods on virtual, NotReady, unschedulable or unknown nodes', () => {
    const nodes = [
      W1,
      node('not-ready', { cpu: '16', memory: '64Gi', pods: '110' }, { ready: false }),
      node('cordoned', { cpu: '16', memory: '64Gi', pods: '110' }, { unschedulable: true }),
      node('peerlog-gamma', { cpu: '16', memory: '64Gi', pods: '110' }, { labels: VIRTUAL }),
    ];
    const pods = ['not-ready', 'cordoned', 'peerlog-gamma', 'elsewhere'].map((n) => pod(n, { cpu: '1', memory: '1Gi' }));
    assert.deepEqual(computeOffer(nodes, pods, 100), { cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('ignores unbound pods', () => {
    const pods = [pod(undefined, { cpu: '1', memory: '1Gi' }, { phase: 'Pending' }), pod('', { cpu: '1' }, { phase: 'Pending' })];
    assert.deepEqual(computeOffer([W1], pods, 100), { cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('ignores Succeeded and Failed pods', () => {
    const pods = [pod('worker-1', { cpu: '1', memory: '1Gi' }, { phase: 'Succeeded' }), pod('worker-1', { cpu: '1', memory: '1Gi' }, { phase: 'Failed' })];
    assert.deepEqual(computeOffer([W1], pods, 100), { cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('leaves out the pods the consumer offloaded when asked to', () => {
    const pods = [
      pod('worker-1', { cpu: '1', memory: '1Gi' }, { labels: OFFLOADED_BY('alpha') }),
      pod('worker-1', { cpu: '500m', memory: '1Gi' }, { labels: OFFLOADED_BY('delta') }),
      pod('worker-1', { cpu: '500m', memory: '2Gi' }),
    ];
    assert.deepEqual(computeOffer([W1], pods, 100, 'alpha'), { cpu: '3', memory: '5Gi', pods: '108' });
  });

  it('counts the consumer\'s pods like any other without excludeConsumer', () => {
    const pods = [
      pod('worker-1', { cpu: '1', memory: '1Gi' }, { labels: OFFLOADED_BY('alpha') }),
      pod('worker-1', { cpu: '500m', memory: '1Gi' }, { labels: OFFLOADED_BY('delta') }),
      pod('worker-1', { cpu: '500m', memory: '2Gi' }),
    ];
    assert.deepEqual(computeOffer([W1], pods, 100), { cpu: '2', memory: '4Gi', pods: '107' });
  });

  it('multiplies by the sharing percentage: 50% of 3 CPU is 1500m', () => {
    const n = node('w', { cpu: '3', memory: '3Gi', pods: '111' });
    assert.deepEqual(computeOffer([n], [], 50), { cpu: '1500m', memory: '1536Mi', pods: '55' });
  });

  it('rounds down after the percentage', () => {
    const n = node('w', { cpu: '1001m', memory: '1001', pods: '3' });
    assert.deepEqual(computeOffer([n], [], 50), { cpu: '500m', memory: '500', pods: '1' });
  });

  it('accepts a percentage with decimals and still rounds down', () => {
    const n = node('w', { cpu: '3', memory: '3Gi', pods: '110' });
    // 3000m × 33.33% = 999.9m; 3221225472 B × 33.33% = 1073634449.8 B; 110 × 33.33% = 36.663.
    assert.deepEqual(computeOffer([n], [], 33.33), { cpu: '999m', memory: '1073634449', pods: '36' });
  });

  it('applies the percentage to what is free, not to the allocatable', () => {
    const pods = [pod('worker-1', { cpu: '2', memory: '2Gi' })];
    assert.deepEqual(computeOffer([W1], pods, 50), { cpu: '1', memory: '3Gi', pods: '54' });
  });

  it('offers nothing at 0% and everything free at 100%', () => {
    assert.deepEqual(computeOffer([W1], [], 0), { cpu: '0', memory: '0', pods: '0' });
    assert.deepEqual(computeOffer([W1], [], 100), { cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('floors an overcommitted resource at zero, never negative', () => {
    const n = node('w', { cpu: '1', memory: '1Gi', pods: '1' });
    const pods = [pod('w', { cpu: '1500m', memory: '512Mi' }), pod('w', { cpu: '500m', memory: '256Mi' })];
    assert.deepEqual(computeOffer([n], pods, 100), { cpu: '0', memory: '256Mi', pods: '0' });
    assert.deepEqual(computeOffer([n], pods, 50), { cpu: '0', memory: '128Mi', pods: '0' });
  });

  it('offers only cpu, memory and pods', () => {
    const n = node('w', { cpu: '2', memory: '2Gi', pods: '10', 'ephemeral-storage': '100Gi', 'nvidia.com/gpu': '4', 'hugepages-2Mi': '1Gi' });
    const pods = [pod('w', { cpu: '1', 'ephemeral-storage': '1Gi', 'nvidia.com/gpu': '1' })];
    assert.deepEqual(computeOffer([n], pods, 100), { cpu: '1', memory: '2Gi', pods: '9' });
  });

  it('counts a node without some resource as offering none of it', () => {
    const n = node('w', { cpu: '2' });
    assert.deepEqual(computeOffer([n, W2], [], 100), { cpu: '4', memory: '4Gi', pods: '110' });
  });

  it('counts pods by number, whatever a pod claims to request in pods', () => {
    const pods = [pod('worker-1', { pods: '50' })];
    assert.deepEqual(computeOffer([W1], pods, 100), { cpu: '4', memory: '8Gi', pods: '109' });
  });

  it('adds quantities written in different units', () => {
    const nodes = [node('a', { cpu: '1500m', memory: '1G', pods: '10' }), node('b', { cpu: '0.5', memory: '1000M', pods: '10' })];
    const pods = [pod('a', { cpu: '100m', memory: '1Mi' })];
    // 2000m − 100m; 2000000000 B − 1048576 B = 1998951424 B = 1952101 × 1024 B.
    assert.deepEqual(computeOffer(nodes, pods, 100), { cpu: '1900m', memory: '1952101Ki', pods: '19' });
  });

  it('refuses a sharing percentage outside 0..100', () => {
    assert.throws(() => computeOffer([W1], [], 101));
    assert.throws(() => computeOffer([W1], [], -1));
    assert.throws(() => computeOffer([W1], [], Number.NaN));
  });
});

describe('podRequests', () => {
  const requests = (r: Record<string, string>) => ({ resources: { requests: r } });

  it('sums the containers\' requests', () => {
    assert.deepEqual(podRequests([requests({ cpu: '100m', memory: '64Mi' }), requests({ cpu: '250m', memory: '64Mi' })]), { cpu: '350m', memory: '128Mi' });
  });

  it('writes sums in the shortest exact form', () => {
    assert.deepEqual(podRequests([requests({ cpu: '0.5', memory: '1.5Gi' }), requests({ cpu: '500m', memory: '512Mi' })]), { cpu: '1', memory: '2Gi' });
  });

  it('takes an init container\'s request when it is larger than the sum', () => {
    const containers = [requests({ cpu: '100m', memory: '64Mi' }), requests({ cpu: '250m', memory: '64Mi' })];
    const init = [requests({ cpu: '500m' }), requests({ cpu: '200m', memory: '256Mi' })];
    assert.deepEqual(podRequests(containers, init), { cpu: '500m', memory: '256Mi' });
  });

  it('keeps the sum when init containers ask for less', () => {
    const containers = [requests({ cpu: '300m', memory: '128Mi' }), requests({ cpu: '300m', memory: '128Mi' })];
    const init = [requests({ cpu: '500m', memory: '200Mi' })];
    assert.deepEqual(podRequests(containers, init), { cpu: '600m', memory: '256Mi' });
  });

  it('takes the maximum of init containers, not their sum', () => {
    assert.deepEqual(podRequests([], [requests({ cpu: '300m' }), requests({ cpu: '400m' })]), { cpu: '400m' });
  });

  it('keeps a resource only init containers ask for', () => {
    assert.deepEqual(podRequests([requests({ cpu: '1' })], [requests({ 'ephemeral-storage': '1Gi' })]), { cpu: '1', 'ephemeral-storage': '1Gi' });
  });

  it('skips containers without resources or requests', () => {
    assert.deepEqual(podRequests([{}, { resources: {} }, requests({ cpu: '1' })], [{}]), { cpu: '1' });
  });

  it('gives nothing for a pod that requests nothing', () => {
    assert.deepEqual(podRequests([{}]), {});
    assert.deepEqual(podRequests([]), {});
  });

  it('feeds computeOffer', () => {
    const r = podRequests([requests({ cpu: '250m', memory: '256Mi' }), requests({ cpu: '250m', memory: '256Mi' })], [requests({ cpu: '1' })]);
    assert.deepEqual(computeOffer([W1], [pod('worker-1', r)], 100), { cpu: '3', memory: '7680Mi', pods: '109' });
  });
});
