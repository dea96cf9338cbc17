// What the read models say a cluster has right now, as the label values of /metrics gauges. Pure.
import type { OutgoingState } from '../../commands/outgoing/state.js';

/** The states a virtual node is counted in. */
export const VIRTUAL_NODE_STATES = ['Ready', 'NotReady', 'Draining'] as const;
export type VirtualNodeState = (typeof VIRTUAL_NODE_STATES)[number];

/**
 * The state of the virtual node an outgoing peering holds, or null when it holds none: Ready when
 * the log has it Ready and the provider answers its identity, NotReady before that or while the
 * provider does not, Draining from UnpeeringRequested until it is deleted.
 */
export function virtualNodeStateOf(state: OutgoingState): VirtualNodeState | null {
  switch (state.status) {
    case 'virtualNodeCreated':
    case 'virtualNodeReady': {
      const healthy = state.identity.health?.ready !== false;
      return state.virtualNode.ready && healthy ? 'Ready' : 'NotReady';
    }
    case 'offerReceived': {
      const node = state.accepted?.virtualNode;
      if (!node) return null;
      return node.ready && state.identity.health?.ready !== false ? 'Ready' : 'NotReady';
    }
    case 'unpeeringRequested':
      return state.virtualNode ? 'Draining' : null;
    case 'virtualNodeDrained':
      return 'Draining';
    default:
      return null;
  }
}

/** The phase an offloaded pod is counted in: its remote phase, Unknown before any, NotOffloaded when kept back. */
export function offloadedPodPhaseOf(row: { readonly offloaded: boolean; readonly phase: string | null }): string {
  if (!row.offloaded) return 'NotOffloaded';
  return row.phase ?? 'Unknown';
}
