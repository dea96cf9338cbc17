import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldEvents } from '../../../src/commands/decider.js';
import { ConflictError, DomainError } from '../../../src/errors.js';
import type { PodsCommand } from '../../../src/commands/pods/commands.js';
import { isTerminal, podsDecider } from '../../../src/commands/pods/decider.js';
import type { PodsState } from '../../../src/commands/pods/state.js';
import type { PodStatusSnapshot, PodsEvent } from '../../../src/events/catalogue.js';
import { decideMatrix, emits, metadata, nothing, throws, when, type Given } from './harness.js';

const POD = { namespace: 'shop', name: 'web-0', uid: '6f1c2a9e-0000-4000-8000-000000000001' };
const RECREATED = { ...POD, uid: '6f1c2a9e-0000-4000-8000-000000000002' };
const OTHER = { namespace: 'shop', name: 'db-0', uid: '6f1c2a9e-0000-4000-8000-000000000003' };
const remoteOf = (pod: typeof POD) => ({ remoteNamespace: `${pod.namespace}-alpha`, remoteName: pod.name });

const PENDING: PodStatusSnapshot = { phase: 'Pending', podIp: null, conditions: [], containerStatuses: [] };
const RUNNING: PodStatusSnapshot = {
  phase: 'Running',
  podIp: '10.244.1.7',
  conditions: [{ type: 'Ready', status: 'True', reason: null, message: null }],
  containerStatuses: [{ name: 'web', ready: true, restartCount: 0, state: 'running', reason: null, exitCode: null }],
};
/** RUNNING with keys in another order: the same status as far as reflection is concerned. */
const RUNNING_REORDERED = JSON.parse(
  '{"containerStatuses":[{"exitCode":null,"reason":null,"state":"running","restartCount":0,"ready":true,"name":"web"}],' +
    '"conditions":[{"message":null,"reason":null,"status":"True","type":"Ready"}],"podIp":"10.244.1.7","phase":"Running"}',
) as PodStatusSnapshot;

const cmd = {
  offload: (pod = POD): PodsCommand => ({ type: 'OffloadPod', data: { ...pod, ...remoteOf(pod) }, metadata }),
  reflect: (status: PodStatusSnapshot, pod = POD): PodsCommand => ({ type: 'ReflectPodStatus', data: { ...pod, status }, metadata }),
  reclaim: (pod = POD): PodsCommand => ({ type: 'ReclaimPod', data: { ...pod, reason: 'Deleted' }, metadata }),
};

const ev = {
  offloaded: (pod = POD): PodsEvent => ({ type: 'PodOffloaded', data: { ...pod, ...remoteOf(pod) } }),
  reflected: (status: PodStatusSnapshot, pod = POD): PodsEvent => ({ type: 'PodStatusReflected', data: { ...pod, status } }),
  reclaimed: (pod = POD): PodsEvent => ({ type: 'PodReclaimed', data: { ...pod, reason: 'Deleted' } }),
};

type Label = 'idle' | 'active (pod offloaded)' | 'active (pod running)' | 'active (another pod only)' | 'idle (after reclaim)';

const givens: { readonly [K in Label]: Given<PodsEvent, PodsState['status']> } = {
  idle: { status: 'idle', history: [] },
  'active (pod offloaded)': { status: 'active', history: [ev.offloaded()] },
  'active (pod running)': { status: 'active', history: [ev.offloaded(), ev.reflected(RUNNING)] },
  'active (another pod only)': { status: 'active', history: [ev.offloaded(OTHER)] },
  'idle (after reclaim)': { status: 'idle', history: [ev.offloaded(), ev.reflected(RUNNING), ev.reclaimed()] },
};

const statuses: { readonly [K in PodsState['status']]: true } = { idle: true, active: true };

const NOT_OFFLOADED = throws(DomainError, 'PodNotOffloaded');
const CONFLICT = throws(ConflictError, 'PodConflict');

const untrackedCells = {
  OffloadPod: when(cmd.offload()).then(emits(ev.offloaded())),
  ReflectPodStatus: when(cmd.reflect(RUNNING)).then(NOT_OFFLOADED),
  ReclaimPod: when(cmd.reclaim(), 'already gone').then(nothing),
} as const;

decideMatrix('pods decider', podsDecider, statuses, givens, {
  idle: untrackedCells,
  'idle (after reclaim)': {
    ...untrackedCells,
    OffloadPod: [
      when(cmd.offload(), 'the same pod again').then(emits(ev.offloaded())),
      when(cmd.offload(RECREATED), 'recreated under the same name').then(emits(ev.offloaded(RECREATED))),
    ],
  },
  'active (pod offloaded)': {
    OffloadPod: [
      when(cmd.offload(), 'same pod').then(nothing),
      when(cmd.offload(RECREATED), 'same name, another uid').then(CONFLICT),
      when(cmd.offload(OTHER), 'another pod').then(emits(ev.offloaded(OTHER))),
    ],
    ReflectPodStatus: [
      when(cmd.reflect(PENDING), 'first status').then(emits(ev.reflected(PENDING))),
      when(cmd.reflect(PENDING, RECREATED), 'another uid').then(CONFLICT),
      when(cmd.reflect(PENDING, OTHER), 'an untracked pod').then(NOT_OFFLOADED),
    ],
    ReclaimPod: [
      when(cmd.reclaim()).then(emits(ev.reclaimed())),
      when(cmd.reclaim(RECREATED), 'another uid').then(CONFLICT),
      when(cmd.reclaim(OTHER), 'an untracked pod').then(nothing),
    ],
  },
  'active (pod running)': {
    OffloadPod: when(cmd.offload(), 'same pod').then(nothing),
    ReflectPodStatus: [
      when(cmd.reflect(RUNNING), 'unchanged').then(nothing),
      when(cmd.reflect(RUNNING_REORDERED), 'unchanged, keys reordered').then(nothing),
      when(cmd.reflect({ ...RUNNING, phase: 'Succeeded' }), 'changed phase').then(
        emits(ev.reflected({ ...RUNNING, phase: 'Succeeded' })),
      ),
      when(cmd.reflect({ ...RUNNING, podIp: '10.244.1.8' }), 'changed IP').then(
        emits(ev.reflected({ ...RUNNING, podIp: '10.244.1.8' })),
      ),
    ],
    ReclaimPod: when(cmd.reclaim()).then(emits(ev.reclaimed())),
  },
  'active (another pod only)': untrackedCells,
});

describe('pods evolve', () => {
  it('given two pods, when one is reclaimed, then only the other remains', () => {
    const state = foldEvents(podsDecider, [ev.offloaded(), ev.offloaded(OTHER), ev.reflected(RUNNING), ev.reclaimed()]);
    assert.deepEqual(state, {
      status: 'active',
      pods: { 'shop/db-0': { ...OTHER, ...remoteOf(OTHER), status: null } },
    });
  });

  it('given a pod, when its status is reflected, then the state keeps the latest status', () => {
    const state = foldEvents(podsDecider, [ev.offloaded(), ev.reflected(PENDING), ev.reflected(RUNNING)]);
    assert.deepEqual(state, { status: 'active', pods: { 'shop/web-0': { ...POD, ...remoteOf(POD), status: RUNNING } } });
  });

  it('when a reclaim names another uid than the tracked pod, then evolve leaves the pod in place', () => {
    const before = foldEvents(podsDecider, [ev.offloaded()]);
    assert.equal(podsDecider.evolve(before, ev.reclaimed(RECREATED)), before);
  });

  it('is never terminal: a node that ran dry may take pods again', () => {
    for (const given of Object.values(givens)) assert.equal(isTerminal(foldEvents(podsDecider, given.history)), false);
  });
});
