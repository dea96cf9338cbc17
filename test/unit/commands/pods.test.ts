// The pods aggregate (stream pods-<providerId>, on the consumer): namespaces asked of the provider
// and its answers, pods offloaded into granted namespaces, their refusals, reflected status and
// reclaim. Every command × state in given/when/then form, then evolve by deep equality.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldEvents } from '../../../src/commands/decider.js';
import { ConflictError } from '../../../src/errors.js';
import type { NamespacePair, PodRef, PodsCommand, PodToOffload } from '../../../src/commands/pods/commands.js';
import { isTerminal, podsDecider } from '../../../src/commands/pods/decider.js';
import type { PodsState } from '../../../src/commands/pods/state.js';
import type {
  NamespaceRefusalReason, PodOffloadFailureReason, PodReclaimReason, PodStatusSnapshot, PodsEvent,
} from '../../../src/events/catalogue.js';
import { decideMatrix, emits, metadata, nothing, throws, when, type Given } from './harness.js';

// ---- fixtures -----------------------------------------------------------------------------------------

const SHOP: NamespacePair = { namespace: 'shop', remoteNamespace: 'shop-alpha' };
const BLOG: NamespacePair = { namespace: 'blog', remoteNamespace: 'blog-alpha' };

const POD: PodRef = { namespace: 'shop', name: 'web-0', uid: '6f1c2a9e-0000-4000-8000-000000000001' };
/** The same name, made again: another pod. */
const RECREATED: PodRef = { ...POD, uid: '6f1c2a9e-0000-4000-8000-000000000002' };
const OTHER: PodRef = { namespace: 'shop', name: 'db-0', uid: '6f1c2a9e-0000-4000-8000-000000000003' };
const BLOG_POD: PodRef = { namespace: 'blog', name: 'ghost-0', uid: '6f1c2a9e-0000-4000-8000-000000000004' };

const NODE = 'peerlog-beta-7f3c';
const SPEC_HASH = '3b'.repeat(32);
const OTHER_SPEC_HASH = '4c'.repeat(32);

const QUOTA = 'pods "web-0" is forbidden: exceeded quota: peerlog-offloading, requested: requests.cpu=2, used: requests.cpu=3, limited: requests.cpu=4';
const NOT_OFFERED = 'there is no offer in force';

const PENDING: PodStatusSnapshot = { phase: 'Pending', podIp: null, conditions: [], containerStatuses: [] };
const RUNNING: PodStatusSnapshot = {
  phase: 'Running',
  podIp: '10.244.1.7',
  conditions: [{ type: 'Ready', status: 'True', reason: null, message: null, lastTransitionTime: '2025-03-01T12:00:05Z' }],
  containerStatuses: [{
    name: 'web', ready: true, restartCount: 0, state: 'running', reason: null, exitCode: null,
    image: 'nginx:1.27', imageId: 'docker.io/library/nginx@sha256:' + 'ab'.repeat(32), startedAt: '2025-03-01T12:00:04Z', finishedAt: null,
  }],
  startTime: '2025-03-01T12:00:01Z',
  reason: null,
  message: null,
};
/** RUNNING with every object's keys in another order: the same status as far as reflection goes. */
const RUNNING_REORDERED = JSON.parse(
  '{"message":null,"reason":null,"startTime":"2025-03-01T12:00:01Z",' +
    '"containerStatuses":[{"finishedAt":null,"startedAt":"2025-03-01T12:00:04Z","imageId":"docker.io/library/nginx@sha256:' + 'ab'.repeat(32) + '",' +
    '"image":"nginx:1.27","exitCode":null,"reason":null,"state":"running","restartCount":0,"ready":true,"name":"web"}],' +
    '"conditions":[{"lastTransitionTime":"2025-03-01T12:00:05Z","message":null,"reason":null,"status":"True","type":"Ready"}],"podIp":"10.244.1.7","phase":"Running"}',
) as PodStatusSnapshot;
const SUCCEEDED: PodStatusSnapshot = {
  phase: 'Succeeded',
  podIp: '10.244.1.7',
  conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', message: null, lastTransitionTime: '2025-03-01T12:03:00Z' }],
  containerStatuses: [{
    name: 'web', ready: false, restartCount: 0, state: 'terminated', reason: 'Completed', exitCode: 0,
    image: 'nginx:1.27', imageId: null, startedAt: '2025-03-01T12:00:04Z', finishedAt: '2025-03-01T12:03:00Z',
  }],
  startTime: '2025-03-01T12:00:01Z',
  reason: null,
  message: null,
};
const FAILED: PodStatusSnapshot = { ...SUCCEEDED, phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };

type Offload = PodRef & { remoteNamespace?: string; specHash?: string };

const toOffload = (p: Offload): PodToOffload => ({
  namespace: p.namespace, name: p.name, uid: p.uid,
  remoteNamespace: p.remoteNamespace ?? `${p.namespace}-alpha`, remoteName: p.name, nodeName: NODE, specHash: p.specHash ?? SPEC_HASH,
});

const cmd = {
  end: (): PodsCommand => ({ type: 'EndOffloading', data: { nodeName: 'peerlog-beta' }, metadata }),
  request: (...namespaces: NamespacePair[]): PodsCommand => ({ type: 'RequestNamespaceOffload', data: { namespaces }, metadata }),
  grant: (pair: NamespacePair = SHOP): PodsCommand => ({ type: 'RecordNamespaceAnswer', data: { ...pair, granted: true }, metadata }),
  refuse: (message = NOT_OFFERED, reason: NamespaceRefusalReason = 'NotOffered', pair: NamespacePair = SHOP): PodsCommand => ({
    type: 'RecordNamespaceAnswer', data: { ...pair, granted: false, reason, message }, metadata,
  }),
  offload: (...pods: Offload[]): PodsCommand => ({ type: 'OffloadPods', data: { pods: pods.map(toOffload) }, metadata }),
  fail: (reason: PodOffloadFailureReason = 'ProviderRefused', message = QUOTA, pod: PodRef = POD): PodsCommand => ({
    type: 'RecordPodOffloadFailure', data: { ...pod, reason, message }, metadata,
  }),
  reflect: (...pods: [PodRef, PodStatusSnapshot][]): PodsCommand => ({
    type: 'ReflectPodStatus', data: { pods: pods.map(([pod, status]) => ({ ...pod, status })) }, metadata,
  }),
  reclaim: (...pods: (PodRef & { reason?: PodReclaimReason })[]): PodsCommand => ({
    type: 'ReclaimPods', data: { pods: pods.map((p) => ({ namespace: p.namespace, name: p.name, uid: p.uid, reason: p.reason ?? 'Deleted' })) }, metadata,
  }),
};

const ev = {
  requested: (pair: NamespacePair = SHOP): PodsEvent => ({ type: 'NamespaceOffloadRequested', data: { ...pair } }),
  granted: (pair: NamespacePair = SHOP): PodsEvent => ({ type: 'NamespaceOffloadGranted', data: { ...pair } }),
  refused: (message = NOT_OFFERED, reason: NamespaceRefusalReason = 'NotOffered', pair: NamespacePair = SHOP): PodsEvent => ({
    type: 'NamespaceOffloadRefused', data: { ...pair, reason, message },
  }),
  offloaded: (p: Offload = POD): PodsEvent => ({ type: 'PodOffloaded', data: toOffload(p) }),
  /** As a v1 writer recorded it: no nodeName, no specHash. */
  offloadedV1: (pod: PodRef = POD): PodsEvent => ({ type: 'PodOffloaded', data: { ...pod, remoteNamespace: `${pod.namespace}-alpha`, remoteName: pod.name } }),
  failed: (reason: PodOffloadFailureReason = 'ProviderRefused', message = QUOTA, pod: PodRef = POD): PodsEvent => ({
    type: 'PodOffloadFailed', data: { ...pod, reason, message },
  }),
  reflected: (status: PodStatusSnapshot, pod: PodRef = POD): PodsEvent => ({ type: 'PodStatusReflected', data: { ...pod, status } }),
  reclaimed: (pod: PodRef = POD, reason: PodReclaimReason = 'Deleted'): PodsEvent => ({ type: 'PodReclaimed', data: { ...pod, reason } }),
  ended: (): PodsEvent => ({ type: 'OffloadingEnded', data: { nodeName: 'peerlog-beta' } }),
};

const KEPT_BACK = `the provider did not grant namespace shop-alpha: ${NOT_OFFERED}`;

const asked = [ev.requested()];
const granted = [...asked, ev.granted()];
const refused = [...asked, ev.refused()];
const offloaded = [...granted, ev.offloaded()];
const running = [...offloaded, ev.reflected(RUNNING)];

type Label =
  | 'idle'
  | 'namespace requested'
  | 'namespace granted'
  | 'namespace refused'
  | 'pod offloaded'
  | 'pod running'
  | 'pod succeeded'
  | 'pod failed'
  | 'pod refused by the provider'
  | 'pod kept back (namespace refused)'
  | 'pod reclaimed'
  | 'idle (a v1 pod reclaimed)';

const givens: { readonly [K in Label]: Given<PodsEvent, PodsState['status']> } = {
  idle: { status: 'idle', history: [] },
  'namespace requested': { status: 'active', history: asked },
  'namespace granted': { status: 'active', history: granted },
  'namespace refused': { status: 'active', history: refused },
  'pod offloaded': { status: 'active', history: offloaded },
  'pod running': { status: 'active', history: running },
  'pod succeeded': { status: 'active', history: [...running, ev.reflected(SUCCEEDED)] },
  'pod failed': { status: 'active', history: [...running, ev.reflected(FAILED)] },
  'pod refused by the provider': { status: 'active', history: [...offloaded, ev.failed()] },
  'pod kept back (namespace refused)': { status: 'active', history: [...refused, ev.failed('NamespaceRefused', KEPT_BACK)] },
  'pod reclaimed': { status: 'active', history: [...running, ev.reclaimed()] },
  // A log written before namespaces were asked for: the pod alone made the stream active.
  'idle (a v1 pod reclaimed)': { status: 'idle', history: [ev.offloadedV1(), ev.reclaimed()] },
};

const statuses: { readonly [K in PodsState['status']]: true } = { idle: true, active: true };

const CONFLICT = throws(ConflictError, 'PodConflict');

// ---- cells shared by several states ----------------------------------------------------------------

/** Nothing asked yet: a first request is news, answers are not this peering's. */
const unaskedNamespaceCells = {
  RequestNamespaceOffload: [
    when(cmd.request(SHOP), 'first time').then(emits(ev.requested())),
    when(cmd.request(SHOP, SHOP, BLOG), 'one namespace twice, and another').then(emits(ev.requested(), ev.requested(BLOG))),
    when(cmd.request(), 'no namespace').then(nothing),
  ],
  RecordNamespaceAnswer: [
    when(cmd.grant(), 'a grant never asked for').then(nothing),
    when(cmd.refuse(), 'a refusal never asked for').then(nothing),
  ],
} as const;

/** shop asked already (whatever the answer): asking again is not news; blog is. */
const askedRequestCell = [
  when(cmd.request(SHOP), 'asked already').then(nothing),
  when(cmd.request(SHOP, BLOG), 'one asked, one new').then(emits(ev.requested(BLOG))),
] as const;

/** Pods nobody offloaded: nothing to reflect or reclaim. */
const untrackedPodCells = {
  ReflectPodStatus: when(cmd.reflect([POD, RUNNING]), 'an untracked pod').then(nothing),
  ReclaimPods: when(cmd.reclaim(POD), 'already gone').then(nothing),
} as const;

/** shop granted: answers repeat the grant. */
const grantedAnswerCell = [
  when(cmd.grant(), 'granted again').then(nothing),
  when(cmd.grant({ namespace: 'shop', remoteNamespace: 'shop-gamma' }), 'for another remote name').then(nothing),
] as const;

decideMatrix('pods decider', podsDecider, statuses, givens, {
  idle: {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(nothing),
    ...unaskedNamespaceCells,
    ...untrackedPodCells,
    OffloadPods: when(cmd.offload(POD), 'the namespace was never asked for').then(nothing),
    RecordPodOffloadFailure: when(cmd.fail('DaemonSetPod', 'DaemonSet pods are not offloaded'), 'a pod never offloaded').then(
      emits(ev.failed('DaemonSetPod', 'DaemonSet pods are not offloaded')),
    ),
  },
  'namespace requested': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.ended())),
    ...untrackedPodCells,
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: [
      when(cmd.grant(), 'granted').then(emits(ev.granted())),
      when(cmd.refuse(), 'refused').then(emits(ev.refused())),
      when(cmd.grant({ namespace: 'shop', remoteNamespace: 'shop-gamma' }), 'for another remote name').then(nothing),
      when(cmd.refuse(NOT_OFFERED, 'NotOffered', { namespace: 'shop', remoteNamespace: 'shop-gamma' }), 'refused under another remote name').then(nothing),
      when(cmd.grant(BLOG), 'for a namespace never asked').then(nothing),
    ],
    OffloadPods: when(cmd.offload(POD), 'before the grant').then(nothing),
    RecordPodOffloadFailure: when(cmd.fail()).then(emits(ev.failed())),
  },
  'namespace granted': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.ended())),
    ...untrackedPodCells,
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: [
      ...grantedAnswerCell,
      // The consumer follows the provider's word (its incoming decider never takes a creation back).
      when(cmd.refuse('namespace shop-alpha is taken', 'NamespaceExists'), 'refused after the grant').then(
        emits(ev.refused('namespace shop-alpha is taken', 'NamespaceExists')),
      ),
    ],
    OffloadPods: [
      when(cmd.offload(POD), 'one pod').then(emits(ev.offloaded())),
      when(cmd.offload(POD, OTHER), 'two pods').then(emits(ev.offloaded(), ev.offloaded(OTHER))),
      when(cmd.offload(POD, POD), 'one pod twice in one command').then(emits(ev.offloaded())),
      when(cmd.offload({ ...POD, remoteNamespace: 'shop-gamma' }), 'under another remote name than granted').then(nothing),
      when(cmd.offload(BLOG_POD), 'in a namespace never granted').then(nothing),
      when(cmd.offload(BLOG_POD, POD), 'one granted, one not').then(emits(ev.offloaded())),
    ],
    RecordPodOffloadFailure: when(cmd.fail()).then(emits(ev.failed())),
  },
  'namespace refused': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.ended())),
    ...untrackedPodCells,
    RequestNamespaceOffload: when(cmd.request(SHOP), 'the refusal stands').then(nothing),
    RecordNamespaceAnswer: [
      when(cmd.refuse(), 'the same refusal').then(nothing),
      when(cmd.refuse('namespace shop-alpha is taken', 'NamespaceExists'), 'another reason').then(
        emits(ev.refused('namespace shop-alpha is taken', 'NamespaceExists')),
      ),
      when(cmd.refuse('an offer is being made'), 'the same reason, another message').then(emits(ev.refused('an offer is being made'))),
      when(cmd.grant(), 'granted at last').then(emits(ev.granted())),
    ],
    OffloadPods: when(cmd.offload(POD), 'into a refused namespace').then(nothing),
    RecordPodOffloadFailure: when(cmd.fail('NamespaceRefused', KEPT_BACK)).then(emits(ev.failed('NamespaceRefused', KEPT_BACK))),
  },
  'pod offloaded': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.reclaimed(POD, 'VirtualNodeDeleted'), ev.ended())),
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: grantedAnswerCell,
    OffloadPods: [
      when(cmd.offload(POD), 'the same pod again').then(nothing),
      when(cmd.offload({ ...POD, specHash: OTHER_SPEC_HASH }), 'the same pod, another spec hash').then(nothing),
      when(cmd.offload(RECREATED), 'the same name, another uid').then(CONFLICT),
      when(cmd.offload(OTHER, RECREATED), 'a conflict among other pods').then(CONFLICT),
      when(cmd.offload(OTHER), 'another pod').then(emits(ev.offloaded(OTHER))),
    ],
    RecordPodOffloadFailure: [
      when(cmd.fail()).then(emits(ev.failed())),
      when(cmd.fail('ProviderRefused', QUOTA, RECREATED), 'another uid').then(CONFLICT),
    ],
    ReflectPodStatus: [
      when(cmd.reflect([POD, PENDING]), 'first status').then(emits(ev.reflected(PENDING))),
      when(cmd.reflect([RECREATED, PENDING]), 'another uid').then(nothing),
      when(cmd.reflect([OTHER, PENDING]), 'an untracked pod').then(nothing),
      when(cmd.reflect([OTHER, PENDING], [POD, RUNNING]), 'one tracked, one not').then(emits(ev.reflected(RUNNING))),
    ],
    ReclaimPods: [
      when(cmd.reclaim(POD)).then(emits(ev.reclaimed())),
      when(cmd.reclaim({ ...POD, reason: 'Evicted' }), 'evicted').then(emits(ev.reclaimed(POD, 'Evicted'))),
      when(cmd.reclaim(POD, POD), 'twice in one command').then(emits(ev.reclaimed())),
      when(cmd.reclaim(RECREATED), 'another uid').then(nothing),
      when(cmd.reclaim(OTHER), 'an untracked pod').then(nothing),
    ],
  },
  'pod running': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.reclaimed(POD, 'VirtualNodeDeleted'), ev.ended())),
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: grantedAnswerCell,
    OffloadPods: when(cmd.offload(POD), 'the same pod again').then(nothing),
    RecordPodOffloadFailure: when(cmd.fail()).then(emits(ev.failed())),
    ReflectPodStatus: [
      when(cmd.reflect([POD, RUNNING]), 'unchanged').then(nothing),
      when(cmd.reflect([POD, RUNNING_REORDERED]), 'unchanged, keys in another order').then(nothing),
      when(cmd.reflect([POD, { ...RUNNING, phase: 'Succeeded' }]), 'changed phase').then(emits(ev.reflected({ ...RUNNING, phase: 'Succeeded' }))),
      when(cmd.reflect([POD, { ...RUNNING, podIp: '10.244.1.8' }]), 'changed IP').then(emits(ev.reflected({ ...RUNNING, podIp: '10.244.1.8' }))),
      when(cmd.reflect([POD, { ...RUNNING, startTime: '2025-03-01T12:00:02Z' }]), 'changed start time (a v2 field)').then(
        emits(ev.reflected({ ...RUNNING, startTime: '2025-03-01T12:00:02Z' })),
      ),
      when(cmd.reflect([POD, SUCCEEDED]), 'completed').then(emits(ev.reflected(SUCCEEDED))),
    ],
    ReclaimPods: when(cmd.reclaim(POD)).then(emits(ev.reclaimed())),
  },
  'pod succeeded': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.reclaimed(POD, 'VirtualNodeDeleted'), ev.ended())),
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: grantedAnswerCell,
    OffloadPods: when(cmd.offload(POD), 'the same pod again').then(nothing),
    RecordPodOffloadFailure: when(cmd.fail()).then(emits(ev.failed())),
    ReflectPodStatus: [
      when(cmd.reflect([POD, RUNNING]), 'a twin made again, running').then(nothing),
      when(cmd.reflect([POD, FAILED]), 'another terminal phase').then(nothing),
      when(cmd.reflect([POD, PENDING]), 'pending again').then(nothing),
    ],
    ReclaimPods: when(cmd.reclaim(POD)).then(emits(ev.reclaimed())),
  },
  'pod failed': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.reclaimed(POD, 'VirtualNodeDeleted'), ev.ended())),
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: grantedAnswerCell,
    OffloadPods: when(cmd.offload(POD), 'the same pod again').then(nothing),
    RecordPodOffloadFailure: when(cmd.fail()).then(emits(ev.failed())),
    ReflectPodStatus: [
      when(cmd.reflect([POD, RUNNING]), 'a twin made again, running').then(nothing),
      when(cmd.reflect([POD, SUCCEEDED]), 'another terminal phase').then(nothing),
    ],
    ReclaimPods: when(cmd.reclaim(POD)).then(emits(ev.reclaimed())),
  },
  'pod refused by the provider': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.reclaimed(POD, 'VirtualNodeDeleted'), ev.ended())),
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: grantedAnswerCell,
    OffloadPods: when(cmd.offload(POD), 'still offloaded: the twin is retried').then(nothing),
    RecordPodOffloadFailure: [
      when(cmd.fail(), 'the same refusal again').then(nothing),
      when(cmd.fail('ProviderRefused', 'pods "web-0" is forbidden: violates PodSecurity "baseline:latest": privileged'), 'another message').then(
        emits(ev.failed('ProviderRefused', 'pods "web-0" is forbidden: violates PodSecurity "baseline:latest": privileged')),
      ),
    ],
    ReflectPodStatus: when(cmd.reflect([POD, PENDING]), 'the twin exists at last').then(emits(ev.reflected(PENDING))),
    ReclaimPods: when(cmd.reclaim(POD)).then(emits(ev.reclaimed())),
  },
  'pod kept back (namespace refused)': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.reclaimed(POD, 'VirtualNodeDeleted'), ev.ended())),
    RequestNamespaceOffload: when(cmd.request(SHOP), 'the refusal stands').then(nothing),
    RecordNamespaceAnswer: when(cmd.refuse(), 'the same refusal').then(nothing),
    OffloadPods: [
      when(cmd.offload(POD), 'into the refused namespace').then(nothing),
      when(cmd.offload(RECREATED), 'the same name, another uid').then(CONFLICT),
    ],
    RecordPodOffloadFailure: [
      when(cmd.fail('NamespaceRefused', KEPT_BACK), 'the same refusal again').then(nothing),
      when(cmd.fail('NamespaceRefused', KEPT_BACK, RECREATED), 'another uid').then(CONFLICT),
    ],
    ReflectPodStatus: when(cmd.reflect([POD, PENDING]), 'never offloaded').then(nothing),
    // A record kept for its refusal goes with its pod, like an offloaded one.
    ReclaimPods: when(cmd.reclaim(POD)).then(emits(ev.reclaimed())),
  },
  'pod reclaimed': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(emits(ev.ended())),
    RequestNamespaceOffload: askedRequestCell,
    RecordNamespaceAnswer: grantedAnswerCell,
    OffloadPods: [
      when(cmd.offload(POD), 'the same pod again').then(emits(ev.offloaded())),
      when(cmd.offload(RECREATED), 'recreated under the same name').then(emits(ev.offloaded(RECREATED))),
    ],
    RecordPodOffloadFailure: when(cmd.fail('ProviderRefused', QUOTA, RECREATED), 'the pod made again').then(emits(ev.failed('ProviderRefused', QUOTA, RECREATED))),
    ...untrackedPodCells,
  },
  'idle (a v1 pod reclaimed)': {
    EndOffloading: when(cmd.end(), 'the virtual node is gone').then(nothing),
    ...unaskedNamespaceCells,
    ...untrackedPodCells,
    OffloadPods: when(cmd.offload(POD), 'no namespace granted').then(nothing),
    RecordPodOffloadFailure: when(cmd.fail()).then(emits(ev.failed())),
  },
});

// ---- evolve ----------------------------------------------------------------------------------------

const SHOP_GRANTED = { namespace: 'shop', remoteNamespace: 'shop-alpha', phase: 'Granted', reason: null, message: null } as const;
const WEB = {
  namespace: 'shop', name: 'web-0', uid: '6f1c2a9e-0000-4000-8000-000000000001', remoteNamespace: 'shop-alpha', remoteName: 'web-0',
  nodeName: 'peerlog-beta-7f3c', specHash: '3b'.repeat(32), offloaded: true, status: null, failure: null,
} as const;

describe('pods evolve', () => {
  it('a namespace goes Requested, then Granted; the stream is active from the first request', () => {
    assert.deepEqual(foldEvents(podsDecider, asked), {
      status: 'active', pods: {},
      namespaces: { shop: { namespace: 'shop', remoteNamespace: 'shop-alpha', phase: 'Requested', reason: null, message: null } },
    });
    assert.deepEqual(foldEvents(podsDecider, granted), { status: 'active', pods: {}, namespaces: { shop: SHOP_GRANTED } });
  });

  it('a refusal keeps its reason and message; a later grant clears them', () => {
    assert.deepEqual(foldEvents(podsDecider, refused).namespaces, {
      shop: { namespace: 'shop', remoteNamespace: 'shop-alpha', phase: 'Refused', reason: 'NotOffered', message: 'there is no offer in force' },
    });
    assert.deepEqual(foldEvents(podsDecider, [...refused, ev.granted()]).namespaces, { shop: SHOP_GRANTED });
  });

  it('an answer for a namespace never asked leaves the state as it was', () => {
    const before = foldEvents(podsDecider, granted);
    assert.equal(podsDecider.evolve(before, ev.granted(BLOG)), before);
    assert.equal(podsDecider.evolve(before, ev.refused(NOT_OFFERED, 'NotOffered', BLOG)), before);
  });

  it('a v2 PodOffloaded keeps the node and the spec hash', () => {
    assert.deepEqual(foldEvents(podsDecider, offloaded), { status: 'active', pods: { 'shop/web-0': WEB }, namespaces: { shop: SHOP_GRANTED } });
  });

  it('a v1 PodOffloaded (no nodeName, no specHash) folds with both null', () => {
    assert.deepEqual(foldEvents(podsDecider, [ev.offloadedV1()]), {
      status: 'active',
      pods: { 'shop/web-0': { ...WEB, nodeName: null, specHash: null } },
      namespaces: {},
    });
    // And it is the same pod to later commands: its status is reflected, a second offload is not news.
    const state = foldEvents(podsDecider, [ev.offloadedV1()]);
    assert.deepEqual(podsDecider.decide(cmd.reflect([POD, RUNNING]), state), [ev.reflected(RUNNING)]);
    assert.equal(foldEvents(podsDecider, [ev.offloadedV1(), ev.reflected(RUNNING)]).pods['shop/web-0']?.status, RUNNING);
  });

  it('the latest reflected status is kept, and a status clears a refusal', () => {
    const state = foldEvents(podsDecider, [...offloaded, ev.failed(), ev.reflected(PENDING), ev.reflected(RUNNING)]);
    assert.deepEqual(state.pods, { 'shop/web-0': { ...WEB, status: RUNNING, failure: null } });
  });

  it('a refusal of an offloaded pod is kept on it', () => {
    assert.deepEqual(foldEvents(podsDecider, [...offloaded, ev.failed()]).pods, {
      'shop/web-0': { ...WEB, failure: { reason: 'ProviderRefused', message: QUOTA } },
    });
  });

  it('a pod kept back is recorded, not offloaded, under the namespace\'s remote name; offloading it later clears the failure', () => {
    const kept = foldEvents(podsDecider, [...refused, ev.failed('NamespaceRefused', KEPT_BACK)]);
    assert.deepEqual(kept.pods, {
      'shop/web-0': {
        namespace: 'shop', name: 'web-0', uid: '6f1c2a9e-0000-4000-8000-000000000001', remoteNamespace: 'shop-alpha', remoteName: 'web-0',
        nodeName: null, specHash: null, offloaded: false, status: null,
        failure: { reason: 'NamespaceRefused', message: 'the provider did not grant namespace shop-alpha: there is no offer in force' },
      },
    });
    const later = foldEvents(podsDecider, [ev.granted(), ev.offloaded()], kept);
    assert.deepEqual(later.pods, { 'shop/web-0': WEB });
  });

  it('a refusal naming another uid than the tracked pod leaves the state as it was', () => {
    const before = foldEvents(podsDecider, offloaded);
    assert.equal(podsDecider.evolve(before, ev.failed('ProviderRefused', QUOTA, RECREATED)), before);
  });

  it('given two pods, when one is reclaimed, then only the other remains', () => {
    const state = foldEvents(podsDecider, [...offloaded, ev.offloaded(OTHER), ev.reflected(RUNNING), ev.reclaimed()]);
    assert.deepEqual(state, {
      status: 'active',
      pods: {
        'shop/db-0': {
          namespace: 'shop', name: 'db-0', uid: '6f1c2a9e-0000-4000-8000-000000000003', remoteNamespace: 'shop-alpha', remoteName: 'db-0',
          nodeName: 'peerlog-beta-7f3c', specHash: '3b'.repeat(32), offloaded: true, status: null, failure: null,
        },
      },
      namespaces: { shop: SHOP_GRANTED },
    });
  });

  it('namespaces outlive their pods: the stream stays active once a namespace was asked', () => {
    assert.deepEqual(foldEvents(podsDecider, [...running, ev.reclaimed()]), { status: 'active', pods: {}, namespaces: { shop: SHOP_GRANTED } });
  });

  it('when a reclaim or a status names another uid than the tracked pod, then evolve leaves the pod in place', () => {
    const before = foldEvents(podsDecider, offloaded);
    assert.equal(podsDecider.evolve(before, ev.reclaimed(RECREATED)), before);
    assert.equal(podsDecider.evolve(before, ev.reflected(RUNNING, RECREATED)), before);
  });

  it('a pod recreated under the same name after a reclaim starts afresh (no status of the old one)', () => {
    const state = foldEvents(podsDecider, [...running, ev.reclaimed(), ev.offloaded(RECREATED)]);
    assert.deepEqual(state.pods, { 'shop/web-0': { ...WEB, uid: '6f1c2a9e-0000-4000-8000-000000000002' } });
  });

  it('a pod made again under its name while the old one is still tracked: reclaiming the old one first lets the new one go', () => {
    // What a force-deleted StatefulSet pod looks like to one observation: the new uid bound, the old gone.
    const state = foldEvents(podsDecider, running);
    assert.throws(() => podsDecider.decide(cmd.offload(RECREATED), state), (e: unknown) => e instanceof ConflictError && e.code === 'PodConflict');
    const reclaimed = foldEvents(podsDecider, podsDecider.decide(cmd.reclaim(POD), state), state);
    assert.deepEqual(podsDecider.decide(cmd.offload(RECREATED), reclaimed), [ev.offloaded(RECREATED)]);
  });

  it('a run folded at once gives what one event at a time gives, and leaves the state it starts from as it was', () => {
    const before = foldEvents(podsDecider, offloaded);
    const copy = structuredClone(before);
    const run = [ev.offloaded(OTHER), ev.reflected(RUNNING), ev.reclaimed()];
    const expected = {
      status: 'active',
      pods: {
        'shop/db-0': {
          namespace: 'shop', name: 'db-0', uid: '6f1c2a9e-0000-4000-8000-000000000003', remoteNamespace: 'shop-alpha', remoteName: 'db-0',
          nodeName: 'peerlog-beta-7f3c', specHash: '3b'.repeat(32), offloaded: true, status: null, failure: null,
        },
      },
      namespaces: { shop: SHOP_GRANTED },
    };
    assert.deepEqual(podsDecider.evolveAll!(before, run), expected);
    assert.deepEqual(run.reduce((s, e) => podsDecider.evolve(s, e), before), expected);
    assert.deepEqual(before, copy);
    // Nothing to change: the same state, not a copy.
    assert.equal(podsDecider.evolveAll!(before, [ev.reclaimed(RECREATED), ev.granted(BLOG)]), before);
  });

  it('is never terminal: a node that ran dry may take pods again', () => {
    for (const given of Object.values(givens)) assert.equal(isTerminal(foldEvents(podsDecider, given.history)), false);
  });
});

describe('pods: namespaces named like Object.prototype members', () => {
  // `constructor` and `toString` are valid namespace names; a plain-record lookup would find the
  // inherited members and take the namespace as already asked for.
  it('are asked for, granted and offloaded into like any other', () => {
    const pair = { namespace: 'constructor', remoteNamespace: 'constructor-alpha' };
    const asked = podsDecider.decide(cmd.request(pair, { namespace: 'tostring', remoteNamespace: 'tostring-alpha' }, { namespace: 'toString', remoteNamespace: 'x' }), podsDecider.initialState);
    assert.deepEqual(asked.map((e) => e.data), [
      { namespace: 'constructor', remoteNamespace: 'constructor-alpha' },
      { namespace: 'tostring', remoteNamespace: 'tostring-alpha' },
      { namespace: 'toString', remoteNamespace: 'x' },
    ]);
    const state = asked.reduce(podsDecider.evolve, podsDecider.initialState);
    const granted = podsDecider.decide(cmd.grant(pair), state);
    assert.deepEqual(granted, [{ type: 'NamespaceOffloadGranted', data: pair }]);
  });
  it('an answer for one never asked adds nothing', () => {
    assert.deepEqual(podsDecider.decide(cmd.grant({ namespace: 'constructor', remoteNamespace: 'constructor-alpha' }), podsDecider.initialState), []);
  });
});
