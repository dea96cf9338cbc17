// The ForeignCluster status (DESIGN §5), forged from the views of both directions: phases, the
// conditions the log's events set (with the events' times), tenant namespaces and the endpoint
// certificate trusted. Pure: the same views and spec give the same status.
import { CONDITION_TYPES as T, REASONS as R } from '../../resources/conditions.js';
import { stamp, nodeOf, outgoingPhase, INCOMING_PHASES, type Condition, type RemoteViews } from '../views/view.js';

export interface ForeignClusterStatus {
  readonly conditions: Condition[];
  readonly outgoing?: { phase: string; tenantNamespace?: string; virtualNode?: string; authFingerprint?: string };
  readonly incoming?: { phase: string; tenantNamespace?: string };
}

/** What of the ForeignCluster itself the status depends on: the user's intent for the outgoing side. */
export interface ForeignClusterIntent {
  readonly outgoingDisabled: boolean;
  readonly deleting: boolean;
}

export function forgeForeignClusterStatus(views: RemoteViews, intent: ForeignClusterIntent): ForeignClusterStatus {
  const conditions: Condition[] = [];
  let outgoing: ForeignClusterStatus['outgoing'];
  let incoming: ForeignClusterStatus['incoming'];
  const out = views.outgoing;
  if (out && !(out.state.status === 'empty' && intent.outgoingDisabled)) {
    const s = out.state;
    const identity = 'identity' in s && s.identity ? s.identity : null;
    conditions.push(...out.conditions);
    const node = nodeOf(s);
    const pin = 'remote' in s && s.remote ? s.remote.authFingerprint : null;
    outgoing = {
      phase: outgoingPhase(s),
      ...(identity ? { tenantNamespace: identity.tenantNamespace } : {}),
      ...(node ? { virtualNode: node.nodeName } : {}),
      ...(pin ? { authFingerprint: pin } : {}),
    };
  }
  const inc = views.incoming;
  if (inc && inc.state.status !== 'empty') {
    conditions.push(...inc.conditions);
    const s = inc.state;
    incoming = { phase: INCOMING_PHASES[s.status], ...('identity' in s ? { tenantNamespace: s.identity.tenantNamespace } : {}) };
  }
  return { conditions, ...(outgoing ? { outgoing } : {}), ...(incoming ? { incoming } : {}) };
}

/**
 * The status while the log cannot be reached: the intent was accepted (its event waits in the
 * outbox) but nothing acted on it yet. Replaced by the projection's status once the log is back.
 */
export function forgeWaitingForLog(previous: readonly Condition[], brokers: string, now: string): Condition[] {
  const draft = { type: T.outgoingPeering, status: 'Unknown' as const, reason: R.waitingForLog, message: `the request is recorded and waits in the outbox for the log (Kafka at ${brokers} does not answer); nothing was sent to the provider yet` };
  return [...stamp([draft], previous, now), ...previous.filter((c) => c.type !== T.outgoingPeering)];
}
