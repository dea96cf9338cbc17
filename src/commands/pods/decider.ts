// Offloading through one virtual node: which local pods run remotely, their reflected status, and
// their reclaim. One stream per virtual node keeps per-pod traffic out of the peering's stream.
import type { PodsEvent } from '../../events/catalogue.js';
import { canonicalJson } from '../../events/hash.js';
import { unexpectedEvent, unknownCommand, type Decider } from '../decider.js';
import { ConflictError, DomainError, ERROR_CODES } from '../../errors.js';
import type { PodsCommand } from './commands.js';
import { initialState, podKey, type OffloadedPod, type OffloadedPods, type PodsState } from './state.js';

export { initialState };
export type { PodsCommand } from './commands.js';
export type { PodsState } from './state.js';

type Events = readonly PodsEvent[];

function tracked(state: PodsState, namespace: string, name: string): OffloadedPod | null {
  return state.status === 'active' ? (state.pods[podKey(namespace, name)] ?? null) : null;
}

/** A pod recreated under the same name is another pod; mixing them up would mirror the wrong one. */
function assertSamePod(pod: OffloadedPod, command: PodsCommand): void {
  if (pod.uid !== command.data.uid) {
    throw new ConflictError(
      ERROR_CODES.PodConflict,
      `${command.type}: pod ${podKey(pod.namespace, pod.name)} is offloaded as uid ${pod.uid}, not ${command.data.uid}`,
    );
  }
}

export function decide(command: PodsCommand, state: PodsState): Events {
  switch (command.type) {
    case 'OffloadPod': {
      const { namespace, name, uid, remoteNamespace, remoteName } = command.data;
      const pod = tracked(state, namespace, name);
      if (pod !== null) {
        assertSamePod(pod, command);
        return [];
      }
      return [{ type: 'PodOffloaded', data: { namespace, name, uid, remoteNamespace, remoteName } }];
    }
    case 'ReflectPodStatus': {
      const { namespace, name, uid, status } = command.data;
      const pod = tracked(state, namespace, name);
      if (pod === null) {
        throw new DomainError(ERROR_CODES.PodNotOffloaded, `pod ${podKey(namespace, name)} is not offloaded`);
      }
      assertSamePod(pod, command);
      // Watches resend unchanged objects; only a real change is worth an event.
      if (pod.status !== null && canonicalJson(pod.status) === canonicalJson(status)) return [];
      return [{ type: 'PodStatusReflected', data: { namespace, name, uid, status } }];
    }
    case 'ReclaimPod': {
      const { namespace, name, uid, reason } = command.data;
      const pod = tracked(state, namespace, name);
      if (pod === null) return [];
      assertSamePod(pod, command);
      return [{ type: 'PodReclaimed', data: { namespace, name, uid, reason } }];
    }
    default:
      return unknownCommand(command);
  }
}

export function evolve(state: PodsState, event: PodsEvent): PodsState {
  const pods: OffloadedPods = state.status === 'active' ? state.pods : {};
  const key = podKey(event.data.namespace, event.data.name);
  switch (event.type) {
    case 'PodOffloaded': {
      const { namespace, name, uid, remoteNamespace, remoteName } = event.data;
      return { status: 'active', pods: { ...pods, [key]: { namespace, name, uid, remoteNamespace, remoteName, status: null } } };
    }
    case 'PodStatusReflected': {
      const pod = pods[key];
      if (pod === undefined || pod.uid !== event.data.uid) return state;
      return { status: 'active', pods: { ...pods, [key]: { ...pod, status: event.data.status } } };
    }
    case 'PodReclaimed': {
      const pod = pods[key];
      if (pod === undefined || pod.uid !== event.data.uid) return state;
      const { [key]: _reclaimed, ...rest } = pods;
      return Object.keys(rest).length === 0 ? { status: 'idle' } : { status: 'active', pods: rest };
    }
    default:
      return unexpectedEvent(event);
  }
}

/** Never terminal: the stream lives as long as its virtual node, and an idle node may take pods again. */
export function isTerminal(_state: PodsState): boolean {
  return false;
}

export const podsDecider: Decider<PodsCommand, PodsEvent, PodsState> = {
  initialState,
  decide,
  evolve,
  isTerminal,
};
