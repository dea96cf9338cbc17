// The consumer side of the operator. Observations become commands: a ForeignCluster (the user's
// intent: RequestPeering, or BlockPeering when its token Secret or spec lacks something), the
// provider's ResourceOffer (ReceiveOffer), the virtual node seen Ready with its Lease
// (MarkVirtualNodeReady). Process steps run on the process projection's view of the log and report
// their outcome as commands: authenticate with the provider, request resources, accept the offer,
// create the virtual node, renew the identity before it expires.
import { randomUUID } from 'node:crypto';
import type { PeerlogConfig } from '../config.js';
import type { Logger } from '../adapters/log/index.js';
import type { KubeClient, KubeObject, ListedInformer, k8s } from '../adapters/kubernetes/client.js';
import { readPeeringToken } from '../adapters/kubernetes/secrets.js';
import type { HandledCommand } from '../commands/handle.js';
import type { Actor, OfferWithdrawalReason, PeeringBlockReason, Resources } from '../events/catalogue.js';
import { OFFER_WITHDRAWAL_REASONS } from '../events/constants.js';
import { REQUEST_NAME } from '../resources/objects.js';
import type { OutgoingCommand } from '../commands/outgoing/commands.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import { deliverWithdrawal, obtainIdentity, pinOf, renewIdentityIfDue, type ConsumerPorts, type WithdrawalDelivery } from '../auth/consumer.js';
import { AuthenticationFailedError } from '../auth/errors.js';
import { isWellFormedToken } from '../auth/token.js';
import { ANNOTATIONS, GROUP_VERSION, LABELS, OUTGOING_FINALIZER, TOKEN_SECRET_NAME } from '../resources/constants.js';
import { virtualNodeNameFor } from '../resources/names.js';
import { CONDITION_TYPES } from '../resources/conditions.js';
import { RetryLater } from '../errors.js';
import type { ForeignClusterObject } from '../projections/kubernetes/index.js';
import { forgeWaitingForLog } from '../projections/kubernetes/forge.js';
import type { OutgoingView, RemoteViews } from '../projections/views/view.js';
import type { IdentityKeeper, Peered } from './identity.js';
import type { Watches } from './watches.js';
import type { UnpeeringSteps } from './unpeering.js';

const FC_PATH = `/apis/${GROUP_VERSION}/foreignclusters`;
const CONTROLLER: Actor = { kind: 'controller', name: 'peerlog-operator' };
/** Consumer-side states in which an offer seen on the provider is recorded (ReceiveOffer). */
const TAKES_OFFERS: ReadonlySet<string> = new Set(['resourcesRequested', 'offerReceived', 'offerAccepted', 'offerRefused', 'virtualNodeCreated', 'virtualNodeReady']);
const RENEWAL_RETRY_MS = 10_000;
/** Timers hold at most ~24 days; a later due date is looked at again after an hour. */
const MAX_TIMER_MS = 3_600_000;
/** How long after an event a check looks whether it came back through the log. */
const LOG_CHECK_MS = 3000;

interface Offer extends KubeObject { spec: { clusterId?: string; resources: Resources } }

/** A failure worth trying again by itself: nothing answered, or the provider asked to come back later. */
export function isRetriableFailure(s: { reason: string; httpStatus: number | null }): boolean {
  return s.reason === 'Unreachable' || s.reason === 'TooManyAttempts' || (s.httpStatus !== null && (s.httpStatus === 429 || s.httpStatus >= 500));
}


export interface ConsumerSideDeps {
  readonly config: PeerlogConfig;
  readonly kube: KubeClient;
  readonly consumer: ConsumerPorts;
  readonly identities: IdentityKeeper;
  readonly watches: Watches;
  readonly log: Logger;
  send(remote: string, command: Omit<OutgoingCommand, 'metadata'>, actor?: Actor): Promise<HandledCommand>;
  /** The aggregate's state as the write side has it: what a command would be decided against. */
  load(remote: string): Promise<OutgoingState>;
  foreignClusterOf(remote: string): ForeignClusterObject | undefined;
  foreignClusterNamed(name: string): ForeignClusterObject | undefined;
  /** The kubernetes projection's views: whether an event came back through the log. */
  statusViews(remote: string): Promise<RemoteViews>;
  /** Has the process projection look at a remote again (a renewal came due, an offer was seen). */
  wakeProcess(remote: string): void;
  /** Has the kubernetes projection apply a remote's status again (the ForeignCluster changed). */
  wakeStatus(remote: string): void;
  /** The teardown's steps. */
  readonly unpeering: UnpeeringSteps;
}

type Intent =
  | { readonly token: string; readonly pin?: string; readonly attempt: string }
  | { readonly blocked: PeeringBlockReason; readonly message: string };

export interface ConsumerSide {
  /** A ForeignCluster added or changed. */
  observeForeignCluster(name: string): Promise<void>;
  /** A virtual node seen on the apiserver (or gone). */
  observeVirtualNode(remote: string, node: (k8s.V1Node & KubeObject) | undefined): Promise<void>;
  /** The process step of one remote's outgoing view. */
  step(remote: string, view: OutgoingView | undefined): Promise<void>;
  /** Drops the offer watch and renewal timer of a peering that ended. */
  forget(remote: string): Promise<void>;
  stop(): Promise<void>;
}

export function createConsumerSide(d: ConsumerSideDeps): ConsumerSide {
  const { config, kube, log } = d;
  /** One watch of the provider's offers per remote, tied to the client (identity) it was opened with. */
  const offerWatches = new Map<string, { client: KubeClient; informer: ListedInformer<Offer> }>();
  /** When each remote's current certificate is due for renewal, and the timer that wakes it then. */
  const renewals = new Map<string, { certFingerprint: string; dueAt: number; timer: NodeJS.Timeout }>();
  const logChecks = new Set<NodeJS.Timeout>();
  let stopped = false;

  function actorOf(fc: ForeignClusterObject): Actor {
    const requested = fc.metadata?.annotations?.[ANNOTATIONS.requestedBy];
    if (requested?.startsWith('cli:')) return { kind: 'cli', name: requested.slice(4) || 'unknown' };
    const manager = (fc.metadata?.managedFields ?? []).map((m) => m.manager).find((m) => m && m !== 'peerlog');
    return { kind: 'user', name: manager ?? 'kubectl' };
  }

  /**
   * What the ForeignCluster asks, checked before anything is sent: an auth URL, and a token Secret
   * meant for that peering — never this cluster's own provider token, only a Secret labelled with
   * the FC's cluster id, in the operator's namespace, and only towards the endpoint (and
   * certificate, when recorded) kept with the token.
   */
  async function intentOf(fc: ForeignClusterObject): Promise<Intent> {
    const remote = fc.spec.clusterId;
    if (!fc.spec.authUrl) return { blocked: 'MissingAuthUrl', message: 'spec.authUrl is needed to authenticate with the provider' };
    const ref = fc.spec.tokenSecretRef;
    if (!ref) return { blocked: 'TokenMissing', message: 'spec.tokenSecretRef is not set' };
    // The operator reads Secrets with its own rights: only from its namespace, and only a token.
    if (ref.namespace && ref.namespace !== config.systemNamespace) {
      return { blocked: 'TokenSecretNotAllowed', message: `tokenSecretRef must name a Secret in ${config.systemNamespace}, not ${ref.namespace}` };
    }
    const where = `secret ${config.systemNamespace}/${ref.name}`;
    if (ref.name === TOKEN_SECRET_NAME) {
      return { blocked: 'TokenSecretNotAllowed', message: `${where} is this cluster's own provider token, which is never sent anywhere; name the Secret holding ${remote}'s token` };
    }
    const secret = await readPeeringToken(kube, config.systemNamespace, ref.name, ref.key ?? 'token');
    if (!secret) return { blocked: 'TokenMissing', message: `${where} does not exist` };
    if (secret.remoteClusterId !== remote) {
      return { blocked: 'TokenSecretNotAllowed', message: `${where} is not bound to cluster ${remote}: it needs the label ${LABELS.remoteClusterId}=${remote} (it has ${secret.remoteClusterId === undefined ? 'none' : JSON.stringify(secret.remoteClusterId)}); nothing was sent` };
    }
    if (!secret.authUrl) return { blocked: 'TokenSecretNotAllowed', message: `${where} holds no authUrl: a token is sent only to the endpoint recorded with it; nothing was sent` };
    if (secret.authUrl !== fc.spec.authUrl) {
      return { blocked: 'TokenSecretNotAllowed', message: `${where} holds the token for ${secret.authUrl}, not for spec.authUrl ${fc.spec.authUrl}; nothing was sent` };
    }
    if (secret.authFingerprint && fc.spec.authFingerprint && pinOf(secret.authFingerprint) !== pinOf(fc.spec.authFingerprint)) {
      return { blocked: 'TokenSecretNotAllowed', message: `${where} pins the endpoint certificate ${secret.authFingerprint}, not spec.authFingerprint ${fc.spec.authFingerprint}; nothing was sent` };
    }
    const token = secret.token?.trim();
    if (!token) return { blocked: 'TokenMissing', message: `${where} has no key ${ref.key ?? 'token'}` };
    if (!isWellFormedToken(token)) return { blocked: 'TokenMalformed', message: `${where} does not hold a peerlog token (base64url, at least 43 characters); nothing was sent` };
    const pin = secret.authFingerprint ?? fc.spec.authFingerprint;
    return { token, ...(pin ? { pin } : {}), attempt: `${fc.metadata?.generation ?? 0}/${secret.resourceVersion ?? ''}` };
  }

  /** Adds or removes the outgoing finalizer with a merge patch (an apply would take over the spec). */
  async function setFinalizer(fc: ForeignClusterObject, present: boolean): Promise<void> {
    const current = fc.metadata?.finalizers ?? [];
    if (current.includes(OUTGOING_FINALIZER) === present) return;
    const finalizers = present ? [...current, OUTGOING_FINALIZER] : current.filter((f) => f !== OUTGOING_FINALIZER);
    await kube.request('PATCH', `${FC_PATH}/${encodeURIComponent(fc.metadata!.name!)}`,
      { metadata: { finalizers, resourceVersion: fc.metadata!.resourceVersion } }, 'application/merge-patch+json');
  }

  /**
   * Says on the ForeignCluster that its intent waits for the log, if the event has not come back
   * through it a few seconds after it was appended (Kafka away): the projection replaces this
   * status as soon as the event arrives.
   */
  function checkLogLater(fcName: string, remote: string, version: number): void {
    const timer = setTimeout(() => {
      logChecks.delete(timer);
      if (stopped) return;
      void (async () => {
        if (((await d.statusViews(remote)).outgoing?.version ?? 0) >= version) return;
        const fc = d.foreignClusterOf(remote);
        if (!fc || fc.metadata?.name !== fcName) return;
        const conditions = forgeWaitingForLog((fc.status?.conditions ?? []) as never, config.kafkaBrokers.join(','), new Date().toISOString());
        await kube.applyStatus({ apiVersion: GROUP_VERSION, kind: 'ForeignCluster', metadata: { name: fcName }, status: { conditions } } as KubeObject);
        log.warn('the peering request waits for the log', { remoteClusterId: remote, version, brokers: config.kafkaBrokers });
      })().catch((e: unknown) => log.debug('could not tell the ForeignCluster it waits for the log', { error: e }));
    }, LOG_CHECK_MS);
    logChecks.add(timer);
  }

  async function observe(fc: ForeignClusterObject): Promise<void> {
    const remote = fc.spec.clusterId;
    const state = await d.load(remote);
    const granted = 'identity' in state && state.identity !== null;
    if (fc.spec.outgoing === 'Disabled' || fc.metadata?.deletionTimestamp) {
      const idle = state.status === 'empty' || state.status === 'blocked' || state.status === 'terminated';
      if (idle) {
        // Nothing stands at the provider (or no longer): the object may go.
        if (fc.metadata?.deletionTimestamp) await setFinalizer(fc, false);
      } else {
        const how = fc.spec.unpeering ?? {};
        await d.send(remote, { type: 'RequestUnpeering', data: { force: how.force === true, drain: how.drain !== false } }, actorOf(fc));
        d.wakeProcess(remote);
      }
      d.wakeStatus(remote);
      return;
    }
    if (state.status === 'unpeeringRequested' || state.status === 'virtualNodeDrained' || state.status === 'virtualNodeDeleted' || state.status === 'requestWithdrawn') {
      // Enabled again while a teardown runs: it finishes first (each step is already under way),
      // and the peering starts afresh after it.
      d.wakeStatus(remote);
      d.wakeProcess(remote);
      return;
    }
    await setFinalizer(fc, true);
    d.wakeStatus(remote);
    if (granted) { d.wakeProcess(remote); return; }
    const intent = await intentOf(fc);
    // The provider ended the last peering: this cluster does not knock again on its own, only
    // once its intent changes (the ForeignCluster edited, or its token Secret replaced).
    if (state.status === 'terminated' && state.remote.endedByProvider && !('blocked' in intent) && intent.attempt === state.remote.attempt) return;
    const handled = 'blocked' in intent
      ? await d.send(remote, { type: 'BlockPeering', data: { reason: intent.blocked, message: intent.message } }, actorOf(fc))
      : await d.send(remote, { type: 'RequestPeering', data: { remoteClusterId: remote, remoteClusterName: fc.spec.clusterName ?? remote, authUrl: fc.spec.authUrl!, attempt: intent.attempt } }, actorOf(fc));
    if (handled.events.length > 0) checkLogLater(fc.metadata!.name!, remote, handled.version);
    // A retriable failure is tried again now that something may have changed.
    d.wakeProcess(remote);
  }

  async function authenticate(remote: string, s: Extract<OutgoingState, { remote: unknown }>): Promise<void> {
    const fc = d.foreignClusterOf(remote);
    if (!fc || fc.spec.outgoing === 'Disabled' || fc.metadata?.deletionTimestamp || !s.remote) return;
    // The ForeignCluster moved on (another endpoint): its watch is sending the new intent.
    if (fc.spec.authUrl !== s.remote.authUrl) return;
    // The view is folded from the log and may trail the write side by an attempt: the view still
    // says identityRequested while the provider's refusal is already recorded. Only a view that
    // agrees with the aggregate acts, else one refusal would be asked again until the limiter
    // answers 429; the view catches up and wakes this step again.
    if ((await d.load(remote)).status !== s.status) return;
    const intent = await intentOf(fc);
    if ('blocked' in intent) {
      await d.send(remote, { type: 'BlockPeering', data: { reason: intent.blocked, message: intent.message } }, actorOf(fc));
      return;
    }
    const pin = intent.pin ?? s.remote.authFingerprint ?? undefined;
    try {
      await obtainIdentity(d.consumer, {
        remoteClusterId: remote, remoteClusterName: s.remote.clusterName, authUrl: s.remote.authUrl, ...(pin ? { authFingerprint: pin } : {}),
      }, intent.token, { actor: actorOf(fc), correlationId: randomUUID() });
    } catch (e) {
      // A definitive refusal is in the log (AuthenticationFailed, with the provider's words): it is
      // tried again only for a new attempt (the ForeignCluster or its token Secret changed).
      if (e instanceof AuthenticationFailedError && !e.retriable) return;
      throw e;
    }
    // Authenticated: resources are asked for at once (the identity's objects come from the log).
    await decide(remote, await d.load(remote));
  }

  function watchOffers(remote: string, client: KubeClient, namespace: string): void {
    const current = offerWatches.get(remote);
    if (current?.client === client) return;
    // A new identity means a new client: the old watch would keep using the old certificate.
    if (current) void current.informer.stop().catch(() => undefined);
    const informer = client.informer<Offer>(`/apis/${GROUP_VERSION}/namespaces/${namespace}/resourceoffers`);
    const wanted = (): boolean => !stopped && offerWatches.get(remote)?.informer === informer;
    // An observation: the offer seen becomes ReceiveOffer (the decider keeps only news).
    d.watches.watch('resourceoffers', informer, (o, verb) => {
      if (verb !== 'delete') receiveOffer(remote, o).catch((e: unknown) => { log.warn('recording an offer failed; the resync tries again', { remoteClusterId: remote, error: e }); });
      // An offer gone: the provider may have ended the peering (its answer on the request says).
      else checkEnded(remote).catch((e: unknown) => { log.warn('reading the request\'s answer failed; the resync tries again', { remoteClusterId: remote, error: e }); });
    }, wanted, { remoteClusterId: remote });
    offerWatches.set(remote, { client, informer });
    d.watches.start('resourceoffers', informer as unknown as k8s.Informer<KubeObject>, wanted).catch(() => undefined);
  }

  /**
   * Whether the provider ended the peering: its answer on this cluster's request says Withdrawn
   * (incoming disabled there). Recorded as ProviderEndedPeering, which starts the teardown here.
   */
  async function checkEnded(remote: string): Promise<void> {
    const s = await d.load(remote);
    if (!('identity' in s) || !s.identity || !TAKES_OFFERS.has(s.status) || s.status === 'resourcesRequested') return;
    const client = await d.identities.client(remote, s as Peered);
    const rr = await client.get<KubeObject & { status?: { phase?: string; reason?: string; message?: string } }>(GROUP_VERSION, 'ResourceRequest', REQUEST_NAME, s.identity.tenantNamespace);
    if (rr?.status?.phase !== 'Withdrawn') return;
    const reason = (OFFER_WITHDRAWAL_REASONS as readonly string[]).includes(rr.status.reason ?? '') ? rr.status.reason as OfferWithdrawalReason : 'IncomingDisabled';
    const message = typeof rr.status.message === 'string' ? rr.status.message : 'the provider withdrew its offer';
    await d.send(remote, { type: 'RecordProviderEnded', data: { reason, message } }, { kind: 'remote-cluster', name: remote });
    log.info('the provider ended the peering', { remoteClusterId: remote, reason });
    d.wakeProcess(remote);
  }

  async function receiveOffer(remote: string, offer: Offer): Promise<void> {
    if (offer.spec?.clusterId !== remote || !offer.metadata?.name) return;
    const state = await d.load(remote);
    if (!TAKES_OFFERS.has(state.status)) return;
    await d.send(remote, { type: 'ReceiveOffer', data: { offerName: offer.metadata.name, generation: offer.metadata.generation ?? 1, resources: offer.spec.resources } }, { kind: 'remote-cluster', name: remote });
  }

  function wakeAt(remote: string, certFingerprint: string, dueAt: number): void {
    clearTimeout(renewals.get(remote)?.timer);
    const timer = setTimeout(() => d.wakeProcess(remote), Math.min(Math.max(dueAt - Date.now(), 0) + 50, MAX_TIMER_MS));
    renewals.set(remote, { certFingerprint, dueAt, timer });
  }

  /** Renews the identity once it is due; a failed renewal leaves the current one in force and is retried. */
  async function ensureRenewed(remote: string, s: Peered): Promise<void> {
    const identity = s.identity!;
    const known = renewals.get(remote);
    if (known && known.certFingerprint === identity.certFingerprint && Date.now() < known.dueAt) return;
    const pin = s.remote.authFingerprint ?? undefined;
    try {
      const outcome = await renewIdentityIfDue(d.consumer, { remoteClusterId: remote, authUrl: s.remote.authUrl, ...(pin ? { authFingerprint: pin } : {}) },
        { actor: CONTROLLER, correlationId: randomUUID() });
      wakeAt(remote, outcome.renewed ? outcome.certFingerprint : identity.certFingerprint, Date.parse(outcome.dueAt));
    } catch (e) {
      // The current certificate may still work: the peering goes on, and the renewal is tried again.
      log.warn('identity renewal did not succeed; retrying', { remoteClusterId: remote, notAfter: identity.notAfter, retryInMs: RENEWAL_RETRY_MS, error: e });
      wakeAt(remote, identity.certFingerprint, Date.now() + RENEWAL_RETRY_MS);
    }
  }

  /**
   * The decisions the process takes by itself, without calling out: each on the state its last
   * command left (the write side's, which the next command is decided against anyway), so that a
   * run of them does not wait for the log between two. Their effects still come from the log.
   */
  async function decide(remote: string, s: OutgoingState): Promise<OutgoingState> {
    for (let pass = 0; pass < 5; pass++) {
      let command: Omit<OutgoingCommand, 'metadata'> | undefined;
      if (s.status === 'authenticated') command = { type: 'RequestResources', data: {} };
      else if (s.status === 'offerReceived' && config.offerAcceptance === 'auto') command = { type: 'AcceptOffer', data: { offerName: s.offer.offerName, generation: s.offer.generation } };
      // Named after the remote's id, not the name it announces: two providers may announce one name.
      else if (s.status === 'offerAccepted') command = { type: 'CreateVirtualNode', data: { nodeName: virtualNodeNameFor(remote) } };
      if (!command || (await d.send(remote, command)).events.length === 0) return s;
      s = await d.load(remote);
    }
    return s;
  }

  /**
   * A forced unpeering's notice the provider has not had yet: posted to its endpoint, and its answer
   * recorded. While the endpoint cannot be reached it is tried again (the queue's backoff); a new
   * peering with that provider delivers it before it authenticates, since the provider would
   * otherwise refuse a second identity for this cluster.
   */
  async function deliverOwed(remote: string, s: OutgoingState): Promise<void> {
    if (!('remote' in s) || !s.remote?.pendingWithdrawal) return;
    // The view may lag the write side: a notice answered a moment ago is not posted twice.
    const now = await d.load(remote);
    const owed = 'remote' in now ? now.remote?.pendingWithdrawal : undefined;
    if (!owed || !('remote' in now) || !now.remote) return;
    s = now;
    let delivered: WithdrawalDelivery;
    try {
      delivered = await deliverWithdrawal(d.consumer, now.remote, owed);
    } catch (e) {
      throw new RetryLater(`the withdrawal notice for ${remote} is not delivered yet: ${(e as Error).message}`);
    }
    await d.send(remote, { type: 'RecordWithdrawalDelivered', data: delivered }, { kind: 'remote-cluster', name: remote });
    log.info('withdrawal notice delivered', { remoteClusterId: remote, outcome: delivered.outcome });
  }

  async function step(remote: string, view: OutgoingView | undefined): Promise<void> {
    if (!view) return;
    let s = view.state;
    switch (s.status) {
      case 'peeringRequested':
      case 'identityRequested':
        // The notice first; its answer in the log wakes this step again to authenticate.
        if (s.remote.pendingWithdrawal) return deliverOwed(remote, s);
        return authenticate(remote, s);
      case 'authenticationFailed':
        if (!isRetriableFailure(s)) return;
        // Just failed: the queue's backoff decides when to try again, not the event's arrival.
        if (Date.now() - Date.parse(view.updatedAt) < 1000) throw new RetryLater(`authentication towards ${remote} failed a moment ago`);
        return authenticate(remote, s);
      case 'authenticated':
      case 'offerReceived':
      case 'offerAccepted':
        s = await decide(remote, s);
        break;
      case 'unpeeringRequested':
      case 'virtualNodeDrained':
      case 'virtualNodeDeleted':
      case 'requestWithdrawn':
        await d.unpeering.step(remote, s);
        if ((await d.load(remote)).status === 'terminated') await afterTermination(remote);
        return;
      case 'terminated':
        await afterTermination(remote);
        return deliverOwed(remote, s);
      default:
        break;
    }
    if (!('identity' in s) || !s.identity || !TAKES_OFFERS.has(s.status)) return;
    const peered = s as Peered;
    await ensureRenewed(remote, peered);
    const client = await d.identities.client(remote, peered);
    watchOffers(remote, client, s.identity.tenantNamespace);
    // What the watch's cache holds is recorded too (a resync, or an offer seen before this state).
    for (const o of offerWatches.get(remote)?.informer.list() ?? []) await receiveOffer(remote, o);
    // No offer where one was accepted (a deletion missed while this process was away): ask why.
    const offers = offerWatches.get(remote)?.informer;
    if (offers?.listed() && offers.list().length === 0) await checkEnded(remote);
  }

  /** What the user wants once a teardown is over: the object gone, nothing, or a new peering. */
  async function afterTermination(remote: string): Promise<void> {
    await forget(remote);
    const fc = d.foreignClusterOf(remote);
    if (fc) await observe(fc);
  }

  /** Drops what this process keeps for a peering that ended: the offer watch and the renewal timer. */
  async function forget(remote: string): Promise<void> {
    clearTimeout(renewals.get(remote)?.timer);
    renewals.delete(remote);
    const w = offerWatches.get(remote);
    offerWatches.delete(remote);
    if (w) await w.informer.stop().catch(() => undefined);
  }

  async function observeVirtualNode(remote: string, node: (k8s.V1Node & KubeObject) | undefined): Promise<void> {
    if (!node) return;
    if (node.spec?.unschedulable) {
      const state = await d.load(remote);
      if (state.status === 'unpeeringRequested') { await d.unpeering.observeNode(remote, state, node); return; }
    }
    const ready = (node.status?.conditions ?? []).some((c) => c.type === CONDITION_TYPES.ready && c.status === 'True');
    if (!ready) return;
    const state = await d.load(remote);
    const pending = state.status === 'virtualNodeCreated' || (state.status === 'offerReceived' && state.accepted?.virtualNode && !state.accepted.virtualNode.ready);
    if (!pending) return;
    // Ready is recorded when the apiserver shows it, with the Lease that keeps it alive.
    const lease = await kube.get('coordination.k8s.io/v1', 'Lease', node.metadata!.name!, 'kube-node-lease');
    if (!lease) throw new RetryLater(`the Lease of ${node.metadata!.name!} is not there yet`);
    await d.send(remote, { type: 'MarkVirtualNodeReady', data: {} });
  }

  return {
    observeForeignCluster: async (name) => {
      const fc = d.foreignClusterNamed(name);
      if (fc?.spec?.clusterId) await observe(fc);
    },
    observeVirtualNode,
    step,
    forget,
    async stop() {
      stopped = true;
      for (const t of logChecks) clearTimeout(t);
      for (const r of renewals.values()) clearTimeout(r.timer);
      renewals.clear();
      for (const w of offerWatches.values()) await w.informer.stop().catch(() => undefined);
    },
  };
}
