// Offloading through one virtual node: which local pods run remotely, their reflected status, their
// refusals and reclaim, and the namespaces asked of the provider. One stream per virtual node keeps
// per-pod traffic out of the peering's stream. Pure: see ../decider.ts.
import type { PodsEvent } from '../../events/catalogue.js';
import { canonicalJson } from '../../events/hash.js';
import { unexpectedEvent, unknownCommand, type Decider } from '../decider.js';
import { ConflictError, ERROR_CODES } from '../../errors.js';
import type { PodRef, PodsCommand } from './commands.js';
import { initialState, isTerminalPhase, own, podKey, type OffloadedNamespace, type OffloadedPod, type PodsState } from './state.js';

export { initialState };
export type { PodsCommand } from './commands.js';
export type { PodsState } from './state.js';

type Events = readonly PodsEvent[];

/** A pod recreated under the same name is another pod; mixing them up would mirror the wrong one. */
function samePod(pod: OffloadedPod, ref: PodRef): boolean {
  return pod.uid === ref.uid;
}

function conflict(pod: OffloadedPod, ref: PodRef, command: string): never {
  throw new ConflictError(ERROR_CODES.PodConflict, `${command}: pod ${podKey(pod.namespace, pod.name)} is tracked as uid ${pod.uid}, not ${ref.uid}`);
}

export function decide(command: PodsCommand, state: PodsState): Events {
  switch (command.type) {
    case 'RequestNamespaceOffload': {
      const out: PodsEvent[] = [];
      const seen = new Set<string>();
      for (const { namespace, remoteNamespace } of command.data.namespaces) {
        if (seen.has(namespace)) continue;
        seen.add(namespace);
        const known = own(state.namespaces, namespace);
        // Asked already (granted, refused or waiting): the provider's answer stands until unpeering.
        if (known) continue;
        out.push({ type: 'NamespaceOffloadRequested', data: { namespace, remoteNamespace } });
      }
      return out;
    }
    case 'RecordNamespaceAnswer': {
      const d = command.data;
      const known = own(state.namespaces, d.namespace);
      // An answer for a namespace never asked (or for another remote name) is not this peering's.
      if (!known || known.remoteNamespace !== d.remoteNamespace) return [];
      if (d.granted) {
        return known.phase === 'Granted' ? [] : [{ type: 'NamespaceOffloadGranted', data: { namespace: d.namespace, remoteNamespace: d.remoteNamespace } }];
      }
      if (known.phase === 'Refused' && known.reason === d.reason && known.message === d.message) return [];
      return [{ type: 'NamespaceOffloadRefused', data: { namespace: d.namespace, remoteNamespace: d.remoteNamespace, reason: d.reason, message: d.message } }];
    }
    case 'OffloadPods': {
      const out: PodsEvent[] = [];
      for (const p of command.data.pods) {
        const known = state.pods[podKey(p.namespace, p.name)];
        if (known && !samePod(known, p)) conflict(known, p, command.type);
        if (known?.offloaded) continue;
        const ns = own(state.namespaces, p.namespace);
        // Only into a namespace the provider granted, under the name it granted.
        if (ns?.phase !== 'Granted' || ns.remoteNamespace !== p.remoteNamespace) continue;
        if (out.some((e) => e.type === 'PodOffloaded' && e.data.namespace === p.namespace && e.data.name === p.name)) continue;
        out.push({ type: 'PodOffloaded', data: { namespace: p.namespace, name: p.name, uid: p.uid, remoteNamespace: p.remoteNamespace, remoteName: p.remoteName, nodeName: p.nodeName, specHash: p.specHash } });
      }
      return out;
    }
    case 'RecordPodOffloadFailure': {
      const d = command.data;
      const known = state.pods[podKey(d.namespace, d.name)];
      if (known && !samePod(known, d)) conflict(known, d, command.type);
      // The same refusal again (a retry refused alike) is not news.
      if (known?.failure && known.failure.reason === d.reason && known.failure.message === d.message) return [];
      return [{ type: 'PodOffloadFailed', data: { namespace: d.namespace, name: d.name, uid: d.uid, reason: d.reason, message: d.message } }];
    }
    case 'ReflectPodStatus': {
      const out: PodsEvent[] = [];
      for (const p of command.data.pods) {
        const known = state.pods[podKey(p.namespace, p.name)];
        // Not (or no longer) offloaded, or another pod of that name: nothing to reflect onto.
        if (!known?.offloaded || known.uid !== p.uid) continue;
        // Terminal is final: a remote pod made again after completing does not reopen the local one.
        if (isTerminalPhase(known.status?.phase)) continue;
        // One status per pod and command: the first given.
        if (out.some((e) => e.type === 'PodStatusReflected' && e.data.namespace === p.namespace && e.data.name === p.name)) continue;
        // Watches resend unchanged objects; only a real change is worth an event.
        if (known.status !== null && canonicalJson(known.status) === canonicalJson(p.status)) continue;
        out.push({ type: 'PodStatusReflected', data: { namespace: p.namespace, name: p.name, uid: p.uid, status: p.status } });
      }
      return out;
    }
    case 'ReclaimPods': {
      const out: PodsEvent[] = [];
      for (const p of command.data.pods) {
        const known = state.pods[podKey(p.namespace, p.name)];
        if (!known || known.uid !== p.uid) continue;
        if (out.some((e) => e.type === 'PodReclaimed' && e.data.namespace === p.namespace && e.data.name === p.name)) continue;
        out.push({ type: 'PodReclaimed', data: { namespace: p.namespace, name: p.name, uid: p.uid, reason: p.reason } });
      }
      return out;
    }
    case 'EndOffloading': {
      if (state.status === 'idle') return [];
      const out: PodsEvent[] = Object.values(state.pods).map((p) => ({ type: 'PodReclaimed', data: { namespace: p.namespace, name: p.name, uid: p.uid, reason: 'VirtualNodeDeleted' } }));
      out.push({ type: 'OffloadingEnded', data: { nodeName: command.data.nodeName } });
      return out;
    }
    default:
      return unknownCommand(command);
  }
}

/**
 * The maps of a fold in progress: fresh copies of the state's, changed in place and never shared
 * with a state until the fold ends, so the fold stays pure from the outside.
 */
interface Draft {
  readonly pods: Record<string, OffloadedPod>;
  readonly namespaces: Record<string, OffloadedNamespace>;
}

/** One event into the draft; false when it changes nothing. */
function apply(d: Draft, event: PodsEvent): boolean {
  switch (event.type) {
    case 'NamespaceOffloadRequested': {
      const { namespace, remoteNamespace } = event.data;
      d.namespaces[namespace] = { namespace, remoteNamespace, phase: 'Requested', reason: null, message: null };
      return true;
    }
    case 'NamespaceOffloadGranted':
    case 'NamespaceOffloadRefused': {
      const known = own(d.namespaces, event.data.namespace);
      if (!known) return false;
      d.namespaces[known.namespace] = event.type === 'NamespaceOffloadGranted'
        ? { ...known, phase: 'Granted', reason: null, message: null }
        : { ...known, phase: 'Refused', reason: event.data.reason, message: event.data.message };
      return true;
    }
    case 'PodOffloaded': {
      const { namespace, name, uid, remoteNamespace, remoteName } = event.data;
      const key = podKey(namespace, name);
      const before = d.pods[key];
      const keep = before && before.uid === uid ? before : undefined;
      d.pods[key] = {
        namespace, name, uid, remoteNamespace, remoteName,
        nodeName: event.data.nodeName ?? null, specHash: event.data.specHash ?? null,
        offloaded: true, status: keep?.status ?? null, failure: keep?.offloaded ? keep.failure : null,
      };
      return true;
    }
    case 'PodOffloadFailed': {
      const { namespace, name, uid, reason, message } = event.data;
      const key = podKey(namespace, name);
      const before = d.pods[key];
      if (before && before.uid !== uid) return false;
      const ns = own(d.namespaces, namespace);
      d.pods[key] = before
        ? { ...before, failure: { reason, message } }
        : { namespace, name, uid, remoteNamespace: ns?.remoteNamespace ?? namespace, remoteName: name, nodeName: null, specHash: null, offloaded: false, status: null, failure: { reason, message } };
      return true;
    }
    case 'PodStatusReflected': {
      const key = podKey(event.data.namespace, event.data.name);
      const pod = d.pods[key];
      if (pod === undefined || pod.uid !== event.data.uid) return false;
      d.pods[key] = { ...pod, status: event.data.status, failure: null };
      return true;
    }
    case 'PodReclaimed': {
      const key = podKey(event.data.namespace, event.data.name);
      const pod = d.pods[key];
      if (pod === undefined || pod.uid !== event.data.uid) return false;
      delete d.pods[key];
      return true;
    }
    case 'OffloadingEnded':
      for (const k of Object.keys(d.pods)) delete d.pods[k];
      for (const k of Object.keys(d.namespaces)) delete d.namespaces[k];
      return true;
    default:
      return unexpectedEvent(event);
  }
}

const isEmpty = (record: object): boolean => {
  for (const _ in record) return false;
  return true;
};

/**
 * Folds events at once: the maps are copied once per fold, not once per event (a burst is
 * thousands of events over a thousand pods). The same as folding `evolve` one event at a time.
 */
export function evolveAll(state: PodsState, events: readonly PodsEvent[]): PodsState {
  const d: Draft = { pods: { ...state.pods }, namespaces: { ...state.namespaces } };
  let changed = false;
  for (const e of events) changed = apply(d, e) || changed;
  if (!changed) return state;
  return { status: isEmpty(d.pods) && isEmpty(d.namespaces) ? 'idle' : 'active', pods: d.pods, namespaces: d.namespaces };
}

export function evolve(state: PodsState, event: PodsEvent): PodsState {
  return evolveAll(state, [event]);
}

/** Never terminal: the stream lives as long as its virtual node, and an idle node may take pods again. */
export function isTerminal(_state: PodsState): boolean {
  return false;
}

export const podsDecider: Decider<PodsCommand, PodsEvent, PodsState> = {
  initialState,
  decide,
  evolve,
  evolveAll,
  isTerminal,
};
