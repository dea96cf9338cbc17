// The operator of one control plane: watches observe (ForeignClusters, ResourceRequests, the
// provider's ResourceOffers, nodes and pods, the log itself) and enqueue reconciles; reconcilers
// read the aggregates' state and send commands — the only way state changes — then make the
// clusters match what the log says (replicated objects, the virtual node, ForeignCluster status).
import { randomUUID } from 'node:crypto';
import type { PeerlogConfig } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient, KubeObject, k8s } from '../adapters/kubernetes/client.js';
import { readPeeringToken } from '../adapters/kubernetes/secrets.js';
import { ProviderUnreachableError } from '../adapters/http/auth-client.js';
import type { Actor, Resources } from '../events/catalogue.js';
import type { OutgoingCommand } from '../commands/outgoing/commands.js';
import type { IncomingCommand } from '../commands/incoming/commands.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import { parseStreamId, type StreamRef } from '../commands/registry.js';
import { obtainIdentity, type ConsumerPorts } from '../auth/consumer.js';
import { AuthenticationFailedError } from '../auth/errors.js';
import { isWellFormedToken } from '../auth/token.js';
import { ANNOTATIONS, GROUP_VERSION, LABELS, OUTGOING_FINALIZER, TOKEN_SECRET_NAME } from '../resources/constants.js';
import { tenantNamespaceFor, virtualNodeNameFor } from '../resources/names.js';
import { computeOffer, isVirtualNode, podRequests, type NodeFacts, type PodFacts } from '../resources/capacity.js';
import { forgeOfferStatus, forgeRequestStatus, forgeResourceOffer, forgeResourceRequest, REQUEST_NAME } from '../resources/objects.js';
import { forgeForeignClusterStatus, type Condition, type OutgoingDetail } from '../resources/status.js';
import { backoffDelay, createWorkQueue, type WorkQueue } from './work.js';
import { createVirtualKubelet } from './virtual-kubelet.js';
import { createIdentityKeeper } from './identity.js';

const FC_PATH = `/apis/${GROUP_VERSION}/foreignclusters`;
const RR_PATH = `/apis/${GROUP_VERSION}/resourcerequests`;
const CONTROLLER: Actor = { kind: 'controller', name: 'peerlog-operator' };

interface ForeignCluster extends KubeObject {
  spec: {
    clusterId: string; clusterName?: string; authUrl?: string; authFingerprint?: string;
    outgoing?: 'Enabled' | 'Disabled'; incoming?: 'Enabled' | 'Disabled';
    tokenSecretRef?: { name: string; namespace?: string; key?: string };
  };
  status?: { conditions?: Condition[]; outgoing?: { authFingerprint?: string } };
}

interface Offer extends KubeObject { spec: { clusterId?: string; resources: Resources } }

/** Provider-side states whose offer follows this cluster's capacity. */
const OFFERING: readonly string[] = ['resourcesRequested', 'offered'];
/** Provider-side states with an identity granted: the peerings this cluster serves. */
const GRANTED: readonly string[] = ['authenticated', 'resourcesRequested', 'offered', 'offerWithdrawn'];
/** Consumer-side states in which an offer seen on the provider is recorded (ReceiveOffer). */
const TAKES_OFFERS: ReadonlySet<string> = new Set(['resourcesRequested', 'offerReceived', 'offerAccepted', 'offerRefused', 'virtualNodeCreated', 'virtualNodeReady']);
/** Watch restarts back off from 1 s to a minute; a watch that ran this long first starts again from 1 s. */
const WATCH_BACKOFF = { baseMs: 1000, maxMs: 60_000, healthyMs: 60_000 } as const;

/** The stream a log event belongs to, or undefined for a kind this release does not know. */
function streamRefOf(streamId: string): StreamRef | undefined {
  try { return parseStreamId(streamId); } catch { return undefined; }
}

const sameFingerprint = (a: string, b: string) => {
  const norm = (f: string) => f.trim().replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  return norm(a) === norm(b);
};

export interface Operator {
  /** Whether this cluster accepts incoming peerings from `clusterId` (a ForeignCluster may disable it). */
  incomingAllowed(clusterId: string): boolean;
  /** A projection of the log that wakes the reconcilers of the streams it sees. */
  readonly projection: { name: string; tables: readonly string[]; apply(tx: unknown, batch: { readonly events: Iterable<{ readonly streamId: string }> }): Promise<void> };
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface OperatorDeps {
  readonly config: PeerlogConfig;
  readonly rt: Runtime;
  readonly kube: KubeClient;
  readonly consumer: ConsumerPorts;
  readonly logger: Logger;
}

export async function startOperator(d: OperatorDeps): Promise<Operator> {
  const { config, rt, kube } = d;
  const log = d.logger.child({ component: 'operator' });
  const details = new Map<string, OutgoingDetail>();
  /** Endpoint certificates learned on first contact (trust on first use), kept in the status too. */
  const pins = new Map<string, string>();
  /** FC generation and token already tried after a definitive refusal: not retried until either changes. */
  const refused = new Map<string, string>();
  /** One watch of the provider's offers per remote, tied to the client (identity) it was opened with. */
  const offerWatches = new Map<string, { client: KubeClient; informer: k8s.Informer<Offer> & k8s.ObjectCache<Offer> }>();
  const kubelet = createVirtualKubelet(kube, log.child({ component: 'virtual-kubelet' }));
  const stoppers: (() => Promise<void> | void)[] = [];
  /** Pending watch restarts, cleared on stop so that none holds the process open. */
  const restarts = new Set<NodeJS.Timeout>();
  /** Set first thing on stop: an informer's error on being stopped must not restart it. */
  let stopping = false;

  const meta = (actor: Actor = CONTROLLER) => ({ now: new Date().toISOString(), actor, correlationId: randomUUID(), commandId: randomUUID() });
  const outgoing = (remote: string, c: Omit<OutgoingCommand, 'metadata'>, actor?: Actor) => rt.bus.outgoing(remote, { ...c, metadata: meta(actor) } as OutgoingCommand);
  const incoming = (remote: string, c: Omit<IncomingCommand, 'metadata'>, actor?: Actor) => rt.bus.incoming(remote, { ...c, metadata: meta(actor) } as IncomingCommand);

  // ---- watches ------------------------------------------------------------------------------------
  const fcs = kube.informer<ForeignCluster>(FC_PATH, config.foreignClusterSelector || undefined);
  // Only the one request name the protocol uses: whatever else a tenant creates is neither cached nor answered.
  const rrs = kube.informer<KubeObject & { spec?: { clusterId?: string } }>(RR_PATH, { fieldSelector: `metadata.name=${REQUEST_NAME}` });
  const nodes = kube.informer<k8s.V1Node & KubeObject>('/api/v1/nodes');
  const pods = kube.informer<k8s.V1Pod & KubeObject>('/api/v1/pods');
  const fcFor = (clusterId: string) => fcs.list().find((f) => f.spec?.clusterId === clusterId);

  const queue: WorkQueue = createWorkQueue(async (key) => {
    const [kind, ...rest] = key.split(':');
    const arg = rest.join(':');
    switch (kind) {
      case 'fc': return reconcileForeignCluster(arg);
      case 'outgoing': return reconcileOutgoing(arg);
      case 'incoming': return reconcileIncoming(arg);
      case 'rr': return reconcileRequest(arg);
      case 'status': return syncStatus(arg);
      default: log.warn('unknown work key', { key });
    }
  }, log);

  /**
   * Starts an informer; if it is no longer wanted once started (the operator stopped, or a new
   * identity replaced the watch, while its list was in flight), stops it again: a stop during the
   * start does not reach the watch the start opens last, which would hold the process open.
   */
  const startInformer = async (informer: k8s.Informer<never>, wanted: () => boolean): Promise<void> => {
    await informer.start();
    if (!wanted()) await informer.stop();
  };

  /**
   * Restarts a watch after an error (a failed list, a dropped connection, 401/403 alike) with
   * jittered exponential backoff, so that an apiserver refusing or away is not hammered.
   */
  const restartOnError = (name: string, informer: k8s.Informer<never>, wanted: () => boolean, fields: Record<string, unknown> = {}) => {
    let attempt = 0;
    let since = Date.now();
    let pending: NodeJS.Timeout | undefined;
    const failed = (e: unknown): void => {
      // One restart at a time: a second error while one is pending would open a second watch.
      if (!wanted() || pending) return;
      if (Date.now() - since > WATCH_BACKOFF.healthyMs) attempt = 0;
      attempt++;
      const delay = backoffDelay(attempt, WATCH_BACKOFF.baseMs, WATCH_BACKOFF.maxMs);
      const status = (e as { statusCode?: number; status?: number }).statusCode ?? (e as { status?: number }).status;
      log.warn('watch interrupted; restarting', { watch: name, ...fields, attempt, retryInMs: delay, ...(status ? { httpStatus: status } : {}), error: e });
      const timer = setTimeout(() => {
        restarts.delete(timer);
        pending = undefined;
        if (!wanted()) return;
        since = Date.now();
        startInformer(informer, wanted).catch(failed);
      }, delay);
      restarts.add(timer);
      pending = timer;
    };
    informer.on('error', failed);
  };

  const watch = <T extends KubeObject>(name: string, informer: k8s.Informer<T>, onChange: (o: T, verb: string) => void) => {
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (o) => onChange(o, verb));
    restartOnError(name, informer as unknown as k8s.Informer<never>, () => !stopping);
    stoppers.push(() => informer.stop());
  };
  watch('foreignclusters', fcs, (fc) => queue.enqueue(`fc:${fc.metadata!.name!}`));
  watch('resourcerequests', rrs, (rr, verb) => {
    if (verb !== 'delete' && rr.metadata?.name === REQUEST_NAME) queue.enqueue(`rr:${rr.metadata.namespace}/${rr.metadata.name}`);
  });
  let capacityTimer: NodeJS.Timeout | undefined;
  const capacityChanged = () => {
    // Pods come and go in bursts: one recomputation per quarter second is enough.
    if (capacityTimer) return;
    capacityTimer = setTimeout(() => {
      capacityTimer = undefined;
      // Only the peerings whose offer follows capacity: others have nothing to recompute.
      streamsOf('incoming', OFFERING).then((ids) => ids.forEach((id) => queue.enqueue(`incoming:${id}`)), (e: unknown) => log.warn('listing incoming peerings failed', { error: e }));
    }, 250);
  };
  watch('nodes', nodes, (n, verb) => {
    if (isVirtualNode({ labels: n.metadata?.labels ?? {} })) {
      // A deleted virtual node is recreated if the log says it exists.
      const remote = n.metadata?.labels?.[LABELS.remoteClusterId];
      if (verb === 'delete' && remote) queue.enqueue(`outgoing:${remote}`);
      return;
    }
    capacityChanged();
  });
  watch('pods', pods, () => capacityChanged());

  /** Remote cluster ids of this cluster's streams of one kind, optionally only in the given statuses. */
  async function streamsOf(kind: 'incoming' | 'outgoing', statuses?: readonly string[]): Promise<string[]> {
    // TODO(issue 12): read from the log-driven state once the operator folds its own; today the
    // aggregates' rows are the only index of streams by status.
    const rows = (statuses
      ? await rt.ds.query(`select stream_id from peerlog_streams where stream_type = $1 and state->>'status' = any($2)`, [kind, statuses])
      : await rt.ds.query('select stream_id from peerlog_streams where stream_type = $1', [kind])) as { stream_id: string }[];
    return rows.flatMap((r) => { const ref = streamRefOf(r.stream_id); return ref ? [ref.remoteClusterId] : []; });
  }

  /** Everything again, now and then: an observation or a reconcile that failed for good is tried afresh. */
  function resync(): void {
    for (const fc of fcs.list()) if (fc.metadata?.name) queue.enqueue(`fc:${fc.metadata.name}`);
    streamsOf('outgoing').then((ids) => ids.forEach((id) => queue.enqueue(`outgoing:${id}`)), (e: unknown) => log.warn('resync: listing outgoing peerings failed', { error: e }));
    streamsOf('incoming', GRANTED).then((ids) => ids.forEach((id) => queue.enqueue(`incoming:${id}`)), (e: unknown) => log.warn('resync: listing incoming peerings failed', { error: e }));
  }

  // ---- consumer side --------------------------------------------------------------------------------
  /**
   * The token a ForeignCluster points at, if the Secret is meant for that peering: never this
   * cluster's own provider token, only a Secret labelled with the FC's cluster id, and only towards
   * the endpoint (and certificate, when recorded) kept with the token. A refusal is a reason for
   * the condition; nothing is sent.
   */
  async function readToken(fc: ForeignCluster): Promise<{ token?: string; pin?: string; refused?: string }> {
    const ref = fc.spec.tokenSecretRef;
    if (!ref) return {};
    const where = `secret ${ref.namespace ?? config.systemNamespace}/${ref.name}`;
    if (ref.name === TOKEN_SECRET_NAME) return { refused: `${where} is this cluster's own provider token, which is never sent anywhere; name the Secret holding ${fc.spec.clusterId}'s token` };
    const secret = await readPeeringToken(kube, ref.namespace ?? config.systemNamespace, ref.name, ref.key ?? 'token');
    if (!secret) return {};
    const remote = fc.spec.clusterId;
    if (secret.remoteClusterId !== remote) {
      return { refused: `${where} is not bound to cluster ${remote}: it needs the label ${LABELS.remoteClusterId}=${remote} (it has ${secret.remoteClusterId === undefined ? 'none' : JSON.stringify(secret.remoteClusterId)}); nothing was sent` };
    }
    if (!secret.authUrl) return { refused: `${where} holds no authUrl: a token is sent only to the endpoint recorded with it; nothing was sent` };
    if (secret.authUrl !== fc.spec.authUrl) {
      return { refused: `${where} holds the token for ${secret.authUrl}, not for spec.authUrl ${fc.spec.authUrl ?? ''}; nothing was sent` };
    }
    if (secret.authFingerprint && fc.spec.authFingerprint && !sameFingerprint(secret.authFingerprint, fc.spec.authFingerprint)) {
      return { refused: `${where} pins the endpoint certificate ${secret.authFingerprint}, not spec.authFingerprint ${fc.spec.authFingerprint}; nothing was sent` };
    }
    return { ...(secret.token === undefined ? {} : { token: secret.token.trim() }), ...(secret.authFingerprint ? { pin: secret.authFingerprint } : {}) };
  }

  function actorOf(fc: ForeignCluster): Actor {
    const requested = fc.metadata?.annotations?.[ANNOTATIONS.requestedBy];
    if (requested?.startsWith('cli:')) return { kind: 'cli', name: requested.slice(4) || 'unknown' };
    const manager = (fc.metadata?.managedFields ?? []).map((m) => m.manager).find((m) => m && m !== 'peerlog');
    return { kind: 'user', name: manager ?? 'kubectl' };
  }

  async function reconcileForeignCluster(name: string): Promise<void> {
    const fc = fcs.get(name);
    if (!fc?.spec?.clusterId) return;
    const remote = fc.spec.clusterId;
    if (fc.spec.outgoing === 'Disabled' || fc.metadata?.deletionTimestamp) {
      const state = await rt.bus.loadOutgoing(remote);
      const granted = 'identity' in state && state.identity !== null;
      if (!granted) {
        // Nothing was granted on the provider: nothing to undo, the object may go.
        if (fc.metadata?.deletionTimestamp) await setFinalizer(fc, false);
        return status(remote);
      }
      const deleting = Boolean(fc.metadata?.deletionTimestamp);
      // TODO(unpeering): run the unpeering commands here; the issue that builds them lifts this refusal.
      details.set(remote, {
        reason: 'UnpeeringNotSupported',
        message: deleting
          ? `deletion waits: unpeering is not implemented yet, so the peering stays; remove the finalizer ${OUTGOING_FINALIZER} to drop the object anyway`
          : 'outgoing is Disabled, but unpeering is not implemented yet: the peering stays as it is',
      });
      return status(remote);
    }
    await setFinalizer(fc, true);
    const state = await rt.bus.loadOutgoing(remote);
    if ('identity' in state && state.identity) {
      if (details.get(remote)?.reason === 'UnpeeringNotSupported') details.delete(remote);
      queue.enqueue(`outgoing:${remote}`);
      return;
    }
    if (!fc.spec.authUrl) {
      details.set(remote, { reason: 'MissingAuthUrl', message: 'spec.authUrl is needed to authenticate with the provider' });
      return status(remote);
    }
    // The operator reads Secrets with its own rights: only from its namespace, and only a token.
    const ref = fc.spec.tokenSecretRef;
    if (ref?.namespace && ref.namespace !== config.systemNamespace) {
      details.set(remote, { reason: 'TokenSecretNotAllowed', message: `tokenSecretRef must name a Secret in ${config.systemNamespace}, not ${ref.namespace}` });
      return status(remote);
    }
    const { token, pin: recordedPin, refused: notAllowed } = await readToken(fc);
    if (notAllowed) {
      details.set(remote, { reason: 'TokenSecretNotAllowed', message: notAllowed });
      return status(remote);
    }
    if (token !== undefined && !isWellFormedToken(token)) {
      details.set(remote, { reason: 'TokenMalformed', message: `secret ${config.systemNamespace}/${ref!.name} does not hold a peerlog token (base64url, at least 43 characters); nothing was sent` });
      return status(remote);
    }
    if (!token) {
      const ref = fc.spec.tokenSecretRef;
      details.set(remote, { reason: 'TokenMissing', message: ref ? `secret ${ref.namespace ?? config.systemNamespace}/${ref.name} has no key ${ref.key ?? 'token'}` : 'spec.tokenSecretRef is not set' });
      status(remote);
      throw new ProviderUnreachableError(fc.spec.authUrl, 'no token yet'); // retried: the Secret may come
    }
    const pin = recordedPin ?? fc.spec.authFingerprint ?? pins.get(remote) ?? fc.status?.outgoing?.authFingerprint;
    const attempt = `${fc.metadata?.generation ?? 0}/${token}`;
    if (refused.get(remote) === attempt) return;
    try {
      await obtainIdentity(d.consumer, {
        remoteClusterId: remote, remoteClusterName: fc.spec.clusterName ?? remote, authUrl: fc.spec.authUrl,
        ...(pin ? { authFingerprint: pin } : {}),
        learned: (fp) => { pins.set(remote, fp); },
      }, token, { actor: actorOf(fc), correlationId: randomUUID() });
      details.delete(remote);
      refused.delete(remote);
    } catch (e) {
      if (e instanceof ProviderUnreachableError) {
        details.set(remote, { reason: 'ProviderUnreachable', message: e.message });
        status(remote);
        throw e;
      }
      if (e instanceof AuthenticationFailedError) {
        details.set(remote, { reason: 'AuthenticationFailed', message: `${e.message}` });
        status(remote);
        if (e.retriable) throw e;
        refused.set(remote, attempt);
        return;
      }
      const err = e as { code?: string; message?: string };
      details.set(remote, { reason: 'AuthenticationFailed', message: `${err.code ?? 'Error'}: ${err.message ?? String(e)}` });
      status(remote);
      throw e;
    }
    await reconcileOutgoing(remote);
  }

  /** Adds or removes the outgoing finalizer with a merge patch (an apply would take over the spec). */
  async function setFinalizer(fc: ForeignCluster, present: boolean): Promise<void> {
    const current = fc.metadata?.finalizers ?? [];
    if (current.includes(OUTGOING_FINALIZER) === present) return;
    const finalizers = present ? [...current, OUTGOING_FINALIZER] : current.filter((f) => f !== OUTGOING_FINALIZER);
    await kube.request('PATCH', `${FC_PATH}/${encodeURIComponent(fc.metadata!.name!)}`,
      { metadata: { finalizers, resourceVersion: fc.metadata!.resourceVersion } }, 'application/merge-patch+json');
  }

  const identities = createIdentityKeeper({
    kube, rt, consumer: d.consumer, clusterId: config.clusterId, log,
    detail: {
      set: (remote, detail) => { details.set(remote, detail); status(remote); },
      clear: (remote, reason) => { if (details.get(remote)?.reason === reason) { details.delete(remote); status(remote); } },
    },
    status, wake: (remote) => queue.enqueue(`outgoing:${remote}`),
    pinOf: (remote) => { const fc = fcFor(remote); return fc?.spec.authFingerprint ?? pins.get(remote) ?? fc?.status?.outgoing?.authFingerprint; },
  });
  stoppers.push(() => identities.stop());
  const remoteClient = identities.client;

  function watchOffers(remote: string, client: KubeClient, namespace: string): void {
    const current = offerWatches.get(remote);
    if (current?.client === client) return;
    // A new identity means a new client: the old watch would keep using the old certificate.
    if (current) void current.informer.stop().catch(() => undefined);
    const informer = client.informer<Offer>(`/apis/${GROUP_VERSION}/namespaces/${namespace}/resourceoffers`);
    // The watch only wakes the reconciler, which records the offer from the cache: an observation
    // that fails to be recorded is tried again by the queue's backoff and the periodic resync.
    const onOffer = () => queue.enqueue(`outgoing:${remote}`);
    informer.on('add', onOffer);
    informer.on('update', onOffer);
    const wanted = (): boolean => !stopping && offerWatches.get(remote)?.informer === informer;
    restartOnError('resourceoffers', informer as never, wanted, { remoteClusterId: remote });
    offerWatches.set(remote, { client, informer });
    startInformer(informer as never, wanted).catch((e: unknown) => log.warn('offer watch failed to start', { remoteClusterId: remote, error: e }));
  }

  /**
   * Records the provider's offer to this cluster as the watch's cache holds it (the provider names
   * itself in spec.clusterId). True when that was news, so that another pass acts on it.
   */
  async function receiveCachedOffer(remote: string, state: OutgoingState): Promise<boolean> {
    if (!TAKES_OFFERS.has(state.status)) return false;
    const offer = offerWatches.get(remote)?.informer.list().find((o) => o.spec?.clusterId === remote && o.metadata?.name);
    if (!offer) return false;
    const offerName = offer.metadata!.name!;
    const generation = offer.metadata?.generation ?? 1;
    const known = 'offer' in state ? state.offer : undefined;
    if (known && known.offerName === offerName && known.generation === generation) return false;
    const handled = await outgoing(remote, { type: 'ReceiveOffer', data: { offerName, generation, resources: offer.spec.resources } }, { kind: 'remote-cluster', name: remote });
    return handled.events.length > 0;
  }

  async function reconcileOutgoing(remote: string): Promise<void> {
    // 1. Commands, each on fresh state: one that changed the state means another pass, at once.
    //    The node is written before MarkVirtualNodeReady, so Ready in the log means Ready in the cluster.
    let nodeWritten = false;
    let state = await rt.bus.loadOutgoing(remote);
    for (let pass = 0; pass < 10; pass++) {
      if (!('identity' in state) || !state.identity) { status(remote); return; }
      let command: Omit<OutgoingCommand, 'metadata'> | undefined;
      switch (state.status) {
        case 'authenticated':
          command = { type: 'RequestResources', data: {} };
          break;
        case 'offerReceived':
          if (config.offerAcceptance === 'auto') command = { type: 'AcceptOffer', data: { offerName: state.offer.offerName, generation: state.offer.generation } };
          break;
        case 'offerAccepted':
          // Named after the remote's id, not the name it announces: two providers may announce one name.
          command = { type: 'CreateVirtualNode', data: { nodeName: virtualNodeNameFor(remote) } };
          break;
        case 'virtualNodeCreated':
          await kubelet.ensure({ nodeName: state.virtualNode.nodeName, remoteClusterId: remote, remoteClusterName: state.remote.clusterName, resources: state.offer.resources, check: () => identities.health(remote) });
          nodeWritten = true;
          command = { type: 'MarkVirtualNodeReady', data: {} };
          break;
        default:
          break;
      }
      if (!command || (await outgoing(remote, command)).events.length === 0) break;
      state = await rt.bus.loadOutgoing(remote);
    }
    if (!('identity' in state) || !state.identity) { status(remote); return; }
    // 2. The identity renewed before it runs out (a new key, a new certificate, in the log).
    state = await identities.ensureRenewed(remote, state);
    if (!('identity' in state) || !state.identity) { status(remote); return; }

    // 3. The clusters made to match the final state, once per reconcile.
    if (state.status === 'virtualNodeReady' && !nodeWritten) {
      await kubelet.ensure({ nodeName: state.virtualNode.nodeName, remoteClusterId: remote, remoteClusterName: state.remote.clusterName, resources: state.offer.resources, check: () => identities.health(remote) });
    }
    const client = await remoteClient(remote, state);
    const tenant = state.identity.tenantNamespace;
    if (state.status !== 'authenticated' && state.status !== 'unpeeringRequested') {
      await client.apply(forgeResourceRequest({ consumerId: config.clusterId, consumerName: config.clusterName, namespace: tenant }) as KubeObject);
      watchOffers(remote, client, tenant);
      if (await receiveCachedOffer(remote, state)) queue.enqueue(`outgoing:${remote}`);
    }
    if (state.status === 'offerAccepted' || state.status === 'virtualNodeCreated' || state.status === 'virtualNodeReady') {
      await client.applyStatus(forgeOfferStatus({
        namespace: tenant, offerName: state.offer.offerName, phase: 'Accepted', generation: state.offer.generation,
        ...('virtualNode' in state ? { virtualNode: state.virtualNode.nodeName } : {}),
      }) as KubeObject).catch((e: unknown) => log.debug('offer status not written', { error: e }));
    }
    status(remote);
  }

  // ---- provider side ----------------------------------------------------------------------------------
  function freeCapacity(consumer: string): Resources {
    const nodeFacts: NodeFacts[] = nodes.list().map((n) => ({
      name: n.metadata!.name!, labels: n.metadata?.labels ?? {}, unschedulable: n.spec?.unschedulable === true,
      ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      allocatable: (n.status?.allocatable ?? {}) as Record<string, string>,
    }));
    const podFacts: PodFacts[] = pods.list().map((p) => ({
      nodeName: p.spec?.nodeName, phase: p.status?.phase, labels: p.metadata?.labels ?? {},
      requests: podRequests((p.spec?.containers ?? []) as never, (p.spec?.initContainers ?? []) as never),
    }));
    return computeOffer(nodeFacts, podFacts, config.sharingPercent, consumer);
  }

  const offerNameFor = () => `offer-${config.clusterId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 253);

  async function reconcileIncoming(remote: string): Promise<void> {
    for (let pass = 0; pass < 5; pass++) {
      const state = await rt.bus.loadIncoming(remote);
      let changed = false;
      const step = async (c: Omit<IncomingCommand, 'metadata'>) => { changed = (await incoming(remote, c)).events.length > 0 || changed; };
      if (state.status === 'resourcesRequested') {
        await step({ type: 'IssueOffer', data: { offerName: offerNameFor(), resources: freeCapacity(remote) } });
      } else if (state.status === 'offered') {
        await step({ type: 'UpdateOffer', data: { resources: freeCapacity(remote), thresholdPercent: config.offerThresholdPercent } });
        if (!changed) {
          await kube.apply(forgeResourceOffer({
            providerId: config.clusterId, providerName: config.clusterName, namespace: state.identity.tenantNamespace,
            offerName: state.offer.offerName, requestName: state.requestName, consumerId: remote, resources: state.offer.resources,
          }) as KubeObject);
          // The request's status flows back from this side: which offer answers it.
          await kube.applyStatus(forgeRequestStatus({ namespace: state.identity.tenantNamespace, requestName: state.requestName, offerName: state.offer.offerName }) as KubeObject)
            .catch((e: unknown) => log.debug('request status not written', { error: e }));
        }
      }
      if (!changed) break;
    }
    status(remote);
  }

  async function reconcileRequest(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const rr = rrs.get(name, namespace);
    const consumer = rr?.spec?.clusterId;
    if (!rr || !consumer || name !== REQUEST_NAME) return;
    const state = await rt.bus.loadIncoming(consumer);
    // Only a consumer this cluster authenticated, in its own tenant namespace, is answered.
    if (!('identity' in state) || state.identity.tenantNamespace !== namespace) return;
    await incoming(consumer, { type: 'ReceiveResourceRequest', data: { requestName: name } }, { kind: 'remote-cluster', name: consumer });
    await reconcileIncoming(consumer);
  }

  // ---- ForeignCluster status -----------------------------------------------------------------------------
  /**
   * Status is written through its own queue key: one writer per remote at a time, always reading
   * the latest state, so a slower pass can never overwrite a newer status with an older one.
   */
  function status(remote: string): void {
    queue.enqueue(`status:${remote}`);
  }

  async function syncStatus(remote: string): Promise<void> {
    const out = await rt.bus.loadOutgoing(remote);
    const inc = await rt.bus.loadIncoming(remote);
    let fc = fcFor(remote);
    // Only a consumer granted an identity gets a ForeignCluster here: failed attempts by strangers
    // stay in the log (TokenRejected) without creating objects in the cluster.
    if (!fc && !('identity' in inc)) return;
    if (!fc) {
      // A consumer that peered with this cluster appears here too, incoming only.
      // Created, never applied: a ForeignCluster of that name made meanwhile by a user (or by
      // `peerlog peer`) is theirs, and this must not overwrite its spec.
      const name = tenantNamespaceFor(remote).slice('peerlog-tenant-'.length);
      try {
        fc = await kube.create({
          apiVersion: GROUP_VERSION, kind: 'ForeignCluster', metadata: { name, labels: { [LABELS.remoteClusterId]: remote } },
          spec: { clusterId: remote, clusterName: 'remote' in inc ? inc.remote.clusterName : remote, outgoing: 'Disabled', incoming: 'Enabled' },
        } as KubeObject) as ForeignCluster;
      } catch (e) {
        if ((e as { status?: number }).status !== 409) throw e;
        fc = await kube.get<ForeignCluster>(GROUP_VERSION, 'ForeignCluster', name);
        if (!fc || fc.spec?.clusterId !== remote) return;
      }
    }
    const pinned = pins.get(remote) ?? fc.status?.outgoing?.authFingerprint;
    const status = forgeForeignClusterStatus({
      ...(pinned ? { authFingerprint: pinned } : {}),
      ...(out.status !== 'empty' || fc.spec.outgoing !== 'Disabled' ? { outgoing: out } : {}),
      ...(inc.status !== 'empty' ? { incoming: inc } : {}),
      detail: details.get(remote) ?? {}, previous: fc.status?.conditions ?? [], now: new Date().toISOString(),
    });
    await kube.applyStatus({ apiVersion: GROUP_VERSION, kind: 'ForeignCluster', metadata: { name: fc.metadata!.name! }, status } as KubeObject);
  }

  // ---- start ----------------------------------------------------------------------------------------------
  // A watch that cannot start yet (a CRD whose storage is still initialising, an apiserver that
  // blinks) is retried in the background; the first list of each is awaited when it works at once.
  const startWatch = async (name: string, informer: k8s.Informer<KubeObject>, delay = 500): Promise<void> => {
    try {
      await startInformer(informer as never, () => !stopping);
    } catch (e) {
      if (stopping) return;
      log.warn('watch cannot start yet; retrying', { watch: name, retryInMs: delay, error: e });
      setTimeout(() => { if (!stopping) void startWatch(name, informer, Math.min(delay * 2, 10_000)); }, delay);
    }
  };
  await Promise.all([
    startWatch('foreignclusters', fcs as unknown as k8s.Informer<KubeObject>), startWatch('resourcerequests', rrs as unknown as k8s.Informer<KubeObject>),
    startWatch('nodes', nodes as unknown as k8s.Informer<KubeObject>), startWatch('pods', pods as unknown as k8s.Informer<KubeObject>),
  ]);
  for (const id of await streamsOf('outgoing')) queue.enqueue(`outgoing:${id}`);
  for (const id of await streamsOf('incoming', GRANTED)) queue.enqueue(`incoming:${id}`);
  const resyncTimer = setInterval(resync, Math.min(config.resyncSeconds * 1000, 2 ** 31 - 1));

  return {
    incomingAllowed: (clusterId) => fcFor(clusterId)?.spec.incoming !== 'Disabled',
    projection: {
      name: 'operator',
      tables: [],
      async apply(_tx, batch) {
        for (const e of batch.events) {
          // A stream of a kind this release does not know (a newer peer's, during an upgrade) wakes nothing.
          const ref = streamRefOf(e.streamId);
          if (ref?.kind === 'outgoing' || ref?.kind === 'incoming') queue.enqueue(`${ref.kind}:${ref.remoteClusterId}`);
        }
      },
    },
    idle: () => queue.idle(),
    async stop() {
      stopping = true;
      clearInterval(resyncTimer);
      for (const t of restarts) clearTimeout(t);
      restarts.clear();
      await queue.stop();
      kubelet.stop();
      clearTimeout(capacityTimer);
      for (const w of offerWatches.values()) await w.informer.stop().catch(() => undefined);
      for (const s of stoppers.reverse()) await Promise.resolve(s()).catch(() => undefined);
    },
  };
}
