// One cluster's control plane (`peerlog serve`): the log's relay and projections, peerlog's CRDs,
// the token, the virtual nodes' kubelet API, and the HTTPS authentication endpoint with its probes.
// Started in numbered steps and stopped in reverse.
import { readFileSync } from 'node:fs';
import type { PeerlogConfig } from './config.js';
import { StartError } from './errors.js';
import type { Logger } from './adapters/log/index.js';
import { driversOf, openRuntime, type Runtime } from './runtime.js';
import { createKubeClient, type KubeClient } from './adapters/kubernetes/client.js';
import { loadKubeConfig } from './adapters/kubernetes/kubeconfig.js';
import { installCrds } from './adapters/kubernetes/crds.js';
import { createTokenStore, ensureNamespace, loadOrStoreServingCert } from './adapters/kubernetes/secrets.js';
import { certificateFingerprint, createSelfSignedServerCert, inspectCertificate } from './adapters/x509/index.js';
import { createAuthServer, type AuthServer, type Readiness } from './adapters/http/auth-server.js';
import { startKubeletServer, type KubeletServer } from './adapters/http/kubelet.js';
import { APISERVER_KUBELET_CLIENT_CN } from './resources/constants.js';
import { createFailureLimiter } from './auth/rate-limit.js';
import { generateToken } from './auth/token.js';
import { acceptWithdrawal, issueIdentity } from './auth/provider.js';
import { consumerPorts, providerPorts } from './wiring/auth.js';
import { startOperator, type Operator } from './operator/index.js';
import { DEFAULT_CSR_POLICY, type CsrPolicy } from './auth/policy.js';
import type { Relay } from './adapters/kafka/relay.js';
import { loadCheckpointKey } from './adapters/crypto/checkpoint-key.js';
import { createCheckpointer } from './adapters/postgres/checkpoints.js';
import type { ProjectionRunner } from './adapters/kafka/projection-runner.js';
import { isKafkaError } from './adapters/kafka/client.js';
import { createMetricsEndpoint } from './wiring/metrics.js';

export interface ControlPlane {
  readonly config: PeerlogConfig;
  readonly runtime: Runtime;
  readonly kube: KubeClient;
  readonly server: AuthServer;
  /** The URL the endpoint listens on (the port resolved when 0 was asked). */
  readonly url: string;
  /** SHA-256 fingerprint of the endpoint's certificate, for consumers to pin. */
  readonly fingerprint: string;
  readonly operator: Operator;
  /** The virtual nodes' kubelet API (`kubectl logs` of offloaded pods). */
  readonly kubelet: KubeletServer;
  /** The URL of the Prometheus /metrics endpoint, when --metrics-port is set. */
  readonly metricsUrl: string | undefined;
  /** What /readyz answers: each check's state (the relay, the projections, the database, the cluster). */
  readiness(): Promise<Readiness>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  readonly policy?: CsrPolicy;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** Runs one start-up step, naming it and what it reached for when it fails. */
async function step<T>(name: string, target: string, work: () => Promise<T>): Promise<T> {
  try { return await work(); } catch (e) { throw new StartError(name, target, e); }
}

function redactUrl(url: string): string {
  try { const u = new URL(url); if (u.password) u.password = '***'; return u.toString(); } catch { return 'the database URL'; }
}

/**
 * Retries `start` with backoff in the background until it succeeds or is cancelled. Cancelling
 * waits for an attempt in flight, so the caller's stop() never races a start still under way.
 */
function keepStarting(what: string, start: () => Promise<void>, log: Logger): { started(): boolean; cancel(): Promise<void> } {
  let done = false;
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const pause = (ms: number) => new Promise<void>((resolve) => { wake = resolve; timer = setTimeout(resolve, ms); });
  const running = (async () => {
    for (let delay = 500; !cancelled; delay = Math.min(delay * 2, 5000)) {
      try {
        await start();
        done = true;
        return;
      } catch (e) {
        if (cancelled) return;
        log.warn(`${what} cannot start yet; retrying`, { error: e, retryInMs: delay });
        await pause(delay);
      }
    }
  })();
  return {
    started: () => done,
    cancel: async () => { cancelled = true; clearTimeout(timer); wake?.(); await running; },
  };
}

export async function startControlPlane(config: PeerlogConfig, logger: Logger, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = logger.child({ component: 'control-plane', clusterId: config.clusterId });
  const undo: (() => Promise<void>)[] = [];
  const stop = async () => { for (const u of undo.reverse()) await u().catch((e: unknown) => log.error('stop step failed', { error: e })); };
  try {
    // 1. The log: database migrated, relay publishing the outbox, read models projected.
    const runtime = await step('database', `PostgreSQL at ${redactUrl(config.databaseUrl)}`, () => openRuntime(config, logger));
    undo.push(() => runtime.close());
    // The event topic, checked (or created) once now when Kafka answers: one that would lose or
    // misplace events refuses the start. With Kafka away the relay and projections check it later.
    await runtime.checkTopic().then((report) => {
      log.info(report.created ? 'event topic created' : 'event topic checked', { partitions: report.partitions, replicationFactor: report.replicationFactor, minInsyncReplicas: report.minInsyncReplicas });
    }, (e: unknown) => {
      if (!isKafkaError(e)) throw new StartError('kafka', `the event topic on ${config.kafkaBrokers.join(',')}`, e);
      log.warn('Kafka is unreachable at start: commands wait in the outbox, projections start once it answers', { brokers: config.kafkaBrokers, error: e });
    });
    const relay: Relay = runtime.relay();
    await relay.start();
    undo.push(() => relay.stop());
    // The log's signed checkpoints (issue: audit), with a key of this control plane's own.
    const auditKey = config.auditKey ? loadCheckpointKey(config.auditKey, { create: true }) : undefined;
    if (auditKey) {
      const checkpointer = createCheckpointer({ ds: driversOf(runtime).ds, ports: runtime.ports, clusterId: config.clusterId, key: auditKey, logger, intervalMs: config.checkpointSeconds * 1000 });
      checkpointer.start();
      undo.push(() => checkpointer.stop());
    } else log.warn('no --audit-key: the log\'s chain head is not signed, so a rewrite that recomputes every hash would not be caught');
    // Kafka may be away at start: commands still land in the outbox, and the projections start
    // (and catch up) as soon as it is back, so this one is not awaited.
    const readModels: ProjectionRunner = runtime.readModels();
    const projections = keepStarting('read-models projection', () => readModels.start(), log);
    undo.push(async () => { await projections.cancel(); await readModels.stop(); });

    // 2. The cluster: CRDs installed (idempotent), the system namespace, the token created once.
    const kube = createKubeClient(loadKubeConfig(config.kubeconfig));
    const crds = await step('kubernetes', `the kube-apiserver of ${config.kubeconfig ?? 'the in-cluster ServiceAccount'}`, () => installCrds(kube));
    log.info('CRDs installed', { crds });
    await ensureNamespace(kube, config.systemNamespace);
    const { created } = await createTokenStore(kube, config.systemNamespace).ensure(generateToken);
    if (created) log.info('peering token created; `peerlog token` prints it', { namespace: config.systemNamespace });

    // 3. The endpoint's serving certificate, kept across restarts so that pins stay valid.
    const host = config.authUrl ? new URL(config.authUrl).hostname.replace(/^\[|\]$/g, '') : config.authHost;
    const isIp = /^[\d.]+$|:/.test(host);
    const tls = await loadOrStoreServingCert(kube, config.systemNamespace,
      (pair) => inspectCertificate(pair.certPem).notAfter.getTime() - Date.now() > RENEW_BEFORE_MS,
      () => createSelfSignedServerCert({
        commonName: `peerlog-auth-${config.clusterId}`, dnsNames: ['localhost', ...(isIp ? [] : [host])],
        ipAddresses: ['127.0.0.1', ...(isIp && host !== '127.0.0.1' ? [host] : [])],
        notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + YEAR_MS),
      }));

    // 4. The operator: watches that send commands, and the projections of the log that make every
    //    effect, each a consumer group of its own (started, and caught up, once Kafka answers).
    const operator = await step('operator', 'the watches of the local cluster', () => startOperator({
      config, rt: runtime, kube, views: runtime.views, consumer: consumerPorts(config, runtime, kube, logger), logger,
    }));
    undo.push(() => operator.stop());
    const effectRunners = operator.projections.map((p) => {
      const runner = runtime.projection(p.projection);
      // Started, then everything applied once: what drifted while this process was away is fixed.
      const starting = keepStarting(`${p.name} projection`, async () => { await runner.start(); await p.resync(); }, log);
      undo.push(async () => { await starting.cancel(); await runner.stop(); });
      return { name: p.name, runner };
    });

    // 5. The virtual nodes' kubelet API, where kube-apiserver asks for offloaded pods' logs. The
    //    cluster's client CA signs kube-apiserver's kubelet client certificate and peer identities
    //    alike: only the apiserver's user is served.
    if (!config.caCert) throw new StartError('kubelet', 'the kubelet API', new Error('setting ca-cert: the cluster\'s client CA is needed to know kube-apiserver\'s calls'));
    const clientCaPem = readFileSync(config.caCert, 'utf8');
    const kubelet = await step('kubelet', `the kubelet API on ${config.kubeletHost}:${config.kubeletPort}`, () => startKubeletServer({
      host: config.kubeletHost, port: config.kubeletPort, clientCaPem, logger,
      authorize: (caller) => caller.commonName === APISERVER_KUBELET_CLIENT_CN,
      logs: (req, signal) => operator.podLogs(req, signal),
    }));
    undo.push(() => kubelet.close());

    // 6. Metrics, when a port is set: the projection that times each step from the log, run like
    //    the others, and /metrics on its own port (listening once the endpoint below is up).
    const metrics = config.metricsPort === undefined ? undefined : createMetricsEndpoint(config, runtime, logger);
    if (metrics) {
      const runner = runtime.projection(metrics.projection);
      const starting = keepStarting('metrics projection', () => runner.start(), log);
      undo.push(async () => { await starting.cancel(); await runner.stop(); await metrics.close(); });
      effectRunners.push({ name: metrics.projection.name, runner });
    }

    // 7. The authentication endpoint and probes.
    const ports = await providerPorts(config, runtime, kube, logger, opts.policy ?? DEFAULT_CSR_POLICY, (id) => operator.incomingAllowed(id));
    const runners: readonly ProjectionRunner[] = [readModels, ...effectRunners.map((r) => r.runner)];
    const names: readonly string[] = ['read-models', ...effectRunners.map((r) => r.name)];
    const readiness = async (): Promise<Readiness> => {
      // Unauthenticated callers see each check's name and a short state; the why goes to the log, not to them.
      const checks: Record<string, string> = {};
      await runtime.queries.ping().then(() => { checks.database = 'ok'; }, (e: Error) => { checks.database = 'failing'; log.warn('readiness: database failing', { error: e }); });
      await kube.get('v1', 'Namespace', config.systemNamespace).then(() => { checks.kubernetes = 'ok'; }, (e: Error) => { checks.kubernetes = 'failing'; log.warn('readiness: kube-apiserver failing', { error: e }); });
      checks.relay = relay.state();
      const waiting = runners.map((r, i) => [names[i], r.state()] as const).filter(([, state]) => state !== 'ok');
      checks.projections = waiting.length === 0 ? 'ok' : waiting.map(([n, state]) => `${n}: ${state}`).join('; ');
      // Kafka being away does not make the endpoint unready: commands are kept in the outbox.
      return { ready: checks.database === 'ok' && checks.kubernetes === 'ok', checks };
    };
    const server = createAuthServer({
      host: config.authHost, port: config.authPort, tls, ids: ports.ids, readiness, logger, proxyProtocol: config.authProxyProtocol,
      issueIdentity: (req) => issueIdentity(ports, req),
      acceptWithdrawal: (req) => acceptWithdrawal(ports, req),
      limiter: createFailureLimiter({ burst: config.authFailureBurst, refillSeconds: config.authFailureRefillSeconds }),
      auditKey,
      ...(metrics ? { onIdentityOutcome: metrics.onIdentityOutcome } : {}),
    });
    const addr = await step('listen', `${config.authHost}:${config.authPort}`, () => server.listen());
    undo.push(() => server.close());
    const url = config.authUrl ?? `https://${config.authHost.includes(':') ? `[${config.authHost}]` : config.authHost}:${addr.port}`;
    const fingerprint = certificateFingerprint(tls.certPem);
    const metricsUrl = metrics && await step('metrics', `${config.metricsHost}:${config.metricsPort}`, () => metrics.listen({ relay, runners: [{ name: 'read-models', runner: readModels }, ...effectRunners] }));
    log.info('control plane ready', { authUrl: url, fingerprint, dbSchema: config.dbSchema, ...(metricsUrl ? { metricsUrl } : {}) });
    return { config, runtime, kube, server, url, fingerprint, operator, kubelet, metricsUrl, readiness, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
