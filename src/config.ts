// Control-plane settings: parsed once from flags, PEERLOG_* variables or the local stack
// (`--stack alpha|beta`), validated, frozen; a bad value fails fast naming the setting.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { ValidationError } from './errors.js';
import { join } from 'node:path';
import { clusterDir, loadLayout, stackEnv, CLUSTERS, type ClusterName } from './stack/config.js';
import { DEFAULT_SYSTEM_NAMESPACE, KUBE_APISERVER_CLIENT_SIGNER } from './resources/constants.js';
import { parseDurationSeconds } from './duration.js';
import { DNS_LABEL_PATTERN as DNS_LABEL } from './events/constants.js';

export interface PeerlogConfig {
  readonly clusterId: string;
  readonly clusterName: string;
  /** Undefined: the in-cluster ServiceAccount (`peerlog serve` in a pod). */
  readonly kubeconfig: string | undefined;
  readonly kafkaBrokers: readonly string[];
  readonly databaseUrl: string;
  /** PostgreSQL schema of this cluster's tables: several control planes can share one database. */
  readonly dbSchema: string;
  readonly authPort: number;
  readonly authHost: string;
  readonly caCert: string | undefined;
  readonly caKey: string | undefined;
  /**
   * How identities are signed: with --ca-key, by peerlog with that key (`ca-key`); without one,
   * through the Kubernetes CSR API (`csr-api`), so that no peerlog process holds a CA key.
   */
  readonly signer: 'ca-key' | 'csr-api';
  /** The CSR API's signer (default kubernetes.io/kube-apiserver-client, whose certificates kube-apiserver accepts). */
  readonly csrSignerName: string;
  /** How long the CSR API's signer has to sign an approved request. */
  readonly csrSigningTimeoutSeconds: number;
  /** Namespace of this control plane's own objects (token, serving certificate). */
  readonly systemNamespace: string;
  /** The authentication URL peers are told to use (default https://<auth-host>:<auth-port>). */
  readonly authUrl: string | undefined;
  /** Failed identity requests a source may make in a row before it gets 429. */
  readonly authFailureBurst: number;
  /** Seconds after which a rate-limited source earns one more attempt. */
  readonly authFailureRefillSeconds: number;
  /**
   * Whether every connection to the authentication endpoint starts with a PROXY protocol header
   * (v1 or v2) from a load balancer, whose client address then counts for rate limiting.
   */
  readonly authProxyProtocol: boolean;
  /** Share of the free resources offered to each consumer, in percent (DESIGN §7). */
  readonly sharingPercent: number;
  /** An offer is re-issued when a resource moves by more than this percentage. */
  readonly offerThresholdPercent: number;
  /** Whether offers received as a consumer are accepted at once or wait for `peerlog offer accept`. */
  readonly offerAcceptance: 'auto' | 'manual';
  /** Label selector of the ForeignClusters this control plane acts on (empty: all). */
  readonly foreignClusterSelector: string;
  /** Replication factor of a new event topic (undefined: min(3, brokers in the cluster)). */
  readonly kafkaReplicationFactor: number | undefined;
  /** min.insync.replicas of a new event topic (undefined: 2 from RF 3 up, else 1). */
  readonly kafkaMinInsyncReplicas: number | undefined;
  /** Every this many seconds the operator reconciles every peering again (what failed for good is retried). */
  readonly resyncSeconds: number;
  /**
   * The virtual nodes' kubelet API (what `kubectl logs` reaches through kube-apiserver): the port it
   * listens on, and the address it listens on. Both are written into every virtual node's status.
   */
  readonly kubeletPort: number;
  readonly kubeletHost: string;
  /** The InternalIP the virtual nodes announce: where kube-apiserver dials their kubelet API. */
  readonly kubeletAddress: string;
  /** The control plane's checkpoint signing key (Ed25519 PKCS#8 PEM); unset: no checkpoints are signed. */
  readonly auditKey: string | undefined;
  /** TLS to the Kafka brokers (files read at start); undefined: plaintext. */
  readonly kafkaTls: KafkaTlsSettings | undefined;
  /** SASL authentication to the Kafka brokers; undefined: none. */
  readonly kafkaSasl: KafkaSaslSettings | undefined;
  /** Every this many seconds the chain head is signed, when events were sealed since the last checkpoint. */
  readonly checkpointSeconds: number;
  /** The port of the Prometheus `/metrics` endpoint (0: any free port); undefined: no endpoint. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
}

export interface KafkaTlsSettings {
  /** CA bundle file that verifies the brokers (undefined: the system's trusted CAs). */
  readonly ca: string | undefined;
  /** Client certificate and key files (mutual TLS), both or neither. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export interface KafkaSaslSettings {
  readonly mechanism: (typeof KAFKA_SASL_MECHANISMS)[number];
  readonly username: string;
  /** The password as given in PEERLOG_KAFKA_SASL_PASSWORD, or the file that holds it (read at start). */
  readonly password: { readonly value: string } | { readonly file: string };
}

/** The sslmode values peerlog's PostgreSQL driver honours (it cannot fall back, so no prefer or allow). */
export const DATABASE_SSLMODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

export interface ConfigSource {
  readonly stack?: string;
  readonly clusterId?: string;
  readonly clusterName?: string;
  readonly kubeconfig?: string;
  readonly kafkaBrokers?: string;
  readonly databaseUrl?: string;
  readonly dbSchema?: string;
  readonly authPort?: number;
  readonly authHost?: string;
  readonly caCert?: string;
  readonly caKey?: string;
  readonly csrSignerName?: string;
  readonly csrSigningTimeoutSeconds?: number;
  readonly namespace?: string;
  readonly authUrl?: string;
  readonly authFailureBurst?: number;
  readonly authFailureRefillSeconds?: number;
  readonly authProxyProtocol?: boolean | string;
  readonly sharingPercent?: number;
  readonly offerThresholdPercent?: number;
  readonly offerAcceptance?: string;
  readonly foreignClusterSelector?: string;
  readonly auditKey?: string;
  readonly checkpointSeconds?: number;
  readonly kafkaReplicationFactor?: number;
  readonly kafkaMinInsyncReplicas?: number;
  readonly resyncSeconds?: number;
  /** As given (a flag's or variable's text is checked here, so a bad one is named as typed). */
  readonly kubeletPort?: number | string;
  readonly kubeletHost?: string;
  readonly kubeletAddress?: string;
  readonly kafkaTls?: boolean | string;
  readonly kafkaCa?: string;
  readonly kafkaCert?: string;
  readonly kafkaKey?: string;
  readonly kafkaSaslMechanism?: string;
  readonly kafkaSaslUsername?: string;
  /** Only from the environment (PEERLOG_KAFKA_SASL_PASSWORD): a flag would show it in `ps`. */
  readonly kafkaSaslPassword?: string;
  readonly kafkaSaslPasswordFile?: string;
  readonly databaseSslmode?: string;
  readonly databaseCa?: string;
  readonly metricsPort?: number | string;
  readonly metricsHost?: string;
}

function fail(setting: string, why: string): never {
  throw new ValidationError(`setting ${setting}: ${why}`, { field: setting, code: 'InvalidSetting' });
}

/** The kubelet's own port: the one a cluster's tooling expects of a node. */
export const DEFAULT_KUBELET_PORT = 10250;

/** Flag names (as typed on the command line) for each setting, and their variables. */
export const CONFIG_FLAGS = [
  { name: 'stack', env: 'PEERLOG_STACK', description: 'take every setting from the local stack cluster alpha or beta' },
  { name: 'cluster-id', env: 'PEERLOG_CLUSTER_ID', description: 'this cluster\'s id (DNS label)' },
  { name: 'cluster-name', env: 'PEERLOG_CLUSTER_NAME', description: 'this cluster\'s name, a DNS label (default: the id)' },
  { name: 'kubeconfig', env: 'PEERLOG_KUBECONFIG', description: 'kubeconfig of this cluster' },
  { name: 'kafka-brokers', env: 'PEERLOG_KAFKA_BROKERS', description: 'Kafka brokers, host:port[,host:port]' },
  { name: 'database-url', env: 'PEERLOG_DATABASE_URL', description: 'PostgreSQL URL, postgres://user@host:port/db' },
  { name: 'db-schema', env: 'PEERLOG_DB_SCHEMA', description: 'PostgreSQL schema for this cluster (default peerlog_<cluster-id>)' },
  { name: 'auth-port', env: 'PEERLOG_AUTH_PORT', description: 'port of the authentication endpoint' },
  { name: 'auth-host', env: 'PEERLOG_AUTH_HOST', description: 'address the authentication endpoint listens on (default 127.0.0.1)' },
  { name: 'ca-cert', env: 'PEERLOG_CA_CERT', description: 'client CA certificate that the cluster\'s kube-apiserver trusts' },
  { name: 'ca-key', env: 'PEERLOG_CA_KEY', description: 'key of that client CA: peerlog then signs identities itself (without it, and with --stack, they are signed through the Kubernetes CSR API and no CA key is read)' },
  { name: 'csr-signer-name', env: 'PEERLOG_CSR_SIGNER_NAME', description: 'signerName of the CertificateSigningRequests identities are signed through when there is no --ca-key (default kubernetes.io/kube-apiserver-client)' },
  { name: 'csr-signing-timeout', env: 'PEERLOG_CSR_SIGNING_TIMEOUT', description: 'how long the CSR API\'s signer has to sign an approved request: seconds or a duration like 500ms, 10s (default 10s; the endpoint answers within 15 s)' },
  { name: 'namespace', env: 'PEERLOG_NAMESPACE', description: 'namespace of peerlog\'s own objects (default peerlog-system)' },
  { name: 'auth-url', env: 'PEERLOG_AUTH_URL', description: 'authentication URL announced to peers (default https://<auth-host>:<auth-port>)' },
  { name: 'auth-failure-burst', env: 'PEERLOG_AUTH_FAILURE_BURST', description: 'failed identity requests per source before 429 (default 10)' },
  { name: 'auth-failure-refill-seconds', env: 'PEERLOG_AUTH_FAILURE_REFILL_SECONDS', description: 'time per extra attempt once rate-limited: seconds or a duration like 500ms, 6s, 1m (default 6)' },
  { name: 'auth-proxy-protocol', env: 'PEERLOG_AUTH_PROXY_PROTOCOL', type: 'boolean', description: 'connections to the authentication endpoint start with a PROXY protocol v1/v2 header (from a TCP load balancer); its client address is rate-limited' },
  { name: 'sharing-percent', env: 'PEERLOG_SHARING_PERCENT', description: 'percentage of the free resources offered to each consumer (default 50)' },
  { name: 'offer-threshold-percent', env: 'PEERLOG_OFFER_THRESHOLD_PERCENT', description: 'change of a resource, in percent, that updates an offer (default 5)' },
  { name: 'offer-acceptance', env: 'PEERLOG_OFFER_ACCEPTANCE', description: 'auto (default) or manual: offers wait for `peerlog offer accept`' },
  { name: 'foreign-cluster-selector', env: 'PEERLOG_FOREIGN_CLUSTER_SELECTOR', description: 'label selector of the ForeignClusters to act on (default all)' },
  { name: 'kafka-replication-factor', env: 'PEERLOG_KAFKA_REPLICATION_FACTOR', description: 'replication factor of the event topic when peerlog creates it (default min(3, brokers))' },
  { name: 'kafka-min-insync-replicas', env: 'PEERLOG_KAFKA_MIN_INSYNC_REPLICAS', description: 'min.insync.replicas of the event topic when peerlog creates it (default 2, or 1 when the replication factor is below 3)' },
  { name: 'resync-seconds', env: 'PEERLOG_RESYNC_SECONDS', description: 'time between two reconciles of every peering, which retry what failed: seconds or a duration like 90s, 5m (default 5m)' },
  { name: 'kubelet-port', env: 'PEERLOG_KUBELET_PORT', description: `port of the virtual nodes' kubelet API, which kube-apiserver calls for \`kubectl logs\` (default ${DEFAULT_KUBELET_PORT})` },
  { name: 'kubelet-host', env: 'PEERLOG_KUBELET_HOST', description: 'address the kubelet API listens on (default 127.0.0.1)' },
  { name: 'audit-key', env: 'PEERLOG_AUDIT_KEY', description: 'Ed25519 private key (PKCS#8 PEM) that signs the log\'s checkpoints, made there when missing (default with --stack: the cluster\'s audit/checkpoint.key in the stack dir; otherwise none is signed)' },
  { name: 'checkpoint-seconds', env: 'PEERLOG_CHECKPOINT_SECONDS', description: 'time between two signed checkpoints of the log\'s head: seconds or a duration like 30s, 5m (default 30s)' },
  { name: 'kubelet-address', env: 'PEERLOG_KUBELET_ADDRESS', description: 'IP address the virtual nodes announce as their InternalIP, where kube-apiserver reaches the kubelet API (default the kubelet host)' },
  { name: 'kafka-tls', env: 'PEERLOG_KAFKA_TLS', type: 'boolean', description: 'connect to the Kafka brokers over TLS (implied by --kafka-ca, --kafka-cert, --kafka-key)' },
  { name: 'kafka-ca', env: 'PEERLOG_KAFKA_CA', description: 'CA bundle (PEM file) that verifies the Kafka brokers (default the system\'s trusted CAs)' },
  { name: 'kafka-cert', env: 'PEERLOG_KAFKA_CERT', description: 'client certificate (PEM file) for mutual TLS to Kafka, with --kafka-key' },
  { name: 'kafka-key', env: 'PEERLOG_KAFKA_KEY', description: 'key (PEM file) of the Kafka client certificate' },
  { name: 'kafka-sasl-mechanism', env: 'PEERLOG_KAFKA_SASL_MECHANISM', description: 'SASL to Kafka: plain (over TLS only), scram-sha-256 or scram-sha-512' },
  { name: 'kafka-sasl-username', env: 'PEERLOG_KAFKA_SASL_USERNAME', description: 'SASL username' },
  { name: 'kafka-sasl-password-file', env: 'PEERLOG_KAFKA_SASL_PASSWORD_FILE', description: 'file holding the SASL password (or set PEERLOG_KAFKA_SASL_PASSWORD; there is no flag for the password itself)' },
  { name: 'database-sslmode', env: 'PEERLOG_DATABASE_SSLMODE', description: 'TLS to PostgreSQL: disable, require, verify-ca or verify-full, as libpq means them (default the URL\'s sslmode, else verify-full with --database-ca, else disable)' },
  { name: 'database-ca', env: 'PEERLOG_DATABASE_CA', description: 'CA bundle (PEM file) that verifies PostgreSQL\'s server certificate (the URL\'s sslrootcert does the same)' },
  { name: 'metrics-port', env: 'PEERLOG_METRICS_PORT', description: 'port of the Prometheus /metrics endpoint (plain HTTP), 0 for any free port (default: none; with --stack the cluster\'s metrics port)' },
  { name: 'metrics-host', env: 'PEERLOG_METRICS_HOST', description: 'address the /metrics endpoint listens on (default 127.0.0.1)' },
] as const;

export function sourceFrom(flags: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv = process.env): ConfigSource {
  const pick = (flag: string, variable: string): string | undefined => {
    const v = flags[flag];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number') return String(v);
    return env[variable] || undefined;
  };
  const get = (n: (typeof CONFIG_FLAGS)[number]['name']) => pick(n, CONFIG_FLAGS.find((f) => f.name === n)!.env);
  const port = get('auth-port');
  const kubeletPort = get('kubelet-port');
  const num = (n: 'auth-failure-burst' | 'sharing-percent' | 'offer-threshold-percent' | 'kafka-replication-factor' | 'kafka-min-insync-replicas') => { const v = get(n); return v === undefined ? undefined : Number(v); };
  const duration = (n: 'auth-failure-refill-seconds' | 'resync-seconds' | 'checkpoint-seconds' | 'csr-signing-timeout') => {
    const v = get(n);
    return v === undefined ? undefined : parseDurationSeconds(v, `setting ${n}`, (m) => new ValidationError(m, { field: n, code: 'InvalidSetting' }));
  };
  return {
    namespace: get('namespace'), authUrl: get('auth-url'),
    authFailureBurst: num('auth-failure-burst'), authFailureRefillSeconds: duration('auth-failure-refill-seconds'),
    sharingPercent: num('sharing-percent'), offerThresholdPercent: num('offer-threshold-percent'),
    authProxyProtocol: typeof flags['auth-proxy-protocol'] === 'boolean' ? flags['auth-proxy-protocol'] : env.PEERLOG_AUTH_PROXY_PROTOCOL || undefined,
    offerAcceptance: get('offer-acceptance'), foreignClusterSelector: get('foreign-cluster-selector'), resyncSeconds: duration('resync-seconds'),
    kafkaReplicationFactor: num('kafka-replication-factor'), kafkaMinInsyncReplicas: num('kafka-min-insync-replicas'),
    stack: get('stack'), clusterId: get('cluster-id'), clusterName: get('cluster-name'), kubeconfig: get('kubeconfig'),
    kafkaBrokers: get('kafka-brokers'), databaseUrl: get('database-url'), dbSchema: get('db-schema'),
    authPort: port === undefined ? undefined : Number(port), authHost: get('auth-host'), caCert: get('ca-cert'), caKey: get('ca-key'),
    csrSignerName: get('csr-signer-name'), csrSigningTimeoutSeconds: duration('csr-signing-timeout'),
    kubeletPort, kubeletHost: get('kubelet-host'), kubeletAddress: get('kubelet-address'),
    auditKey: get('audit-key'), checkpointSeconds: duration('checkpoint-seconds'),
    kafkaTls: typeof flags['kafka-tls'] === 'boolean' ? flags['kafka-tls'] : env.PEERLOG_KAFKA_TLS || undefined,
    kafkaCa: get('kafka-ca'), kafkaCert: get('kafka-cert'), kafkaKey: get('kafka-key'),
    kafkaSaslMechanism: get('kafka-sasl-mechanism'), kafkaSaslUsername: get('kafka-sasl-username'),
    kafkaSaslPassword: env.PEERLOG_KAFKA_SASL_PASSWORD || undefined, kafkaSaslPasswordFile: get('kafka-sasl-password-file'),
    databaseSslmode: get('database-sslmode'), databaseCa: get('database-ca'),
    metricsPort: get('metrics-port'), metricsHost: get('metrics-host'),
  };
}

function flag(setting: string, v: boolean | string | undefined): boolean {
  if (v === undefined || v === false || v === 'false' || v === '0') return false;
  if (v === true || v === 'true' || v === '1') return true;
  return fail(setting, `${JSON.stringify(v)} is neither true nor false`);
}

/** TLS and SASL to Kafka, refusing combinations that would not connect or would send a password in clear. */
function kafkaSecurity(s: ConfigSource): { kafkaTls: KafkaTlsSettings | undefined; kafkaSasl: KafkaSaslSettings | undefined } {
  if ((s.kafkaCert === undefined) !== (s.kafkaKey === undefined)) {
    fail(s.kafkaCert === undefined ? 'kafka-cert' : 'kafka-key', 'the Kafka client certificate and its key go together: give both --kafka-cert and --kafka-key, or neither');
  }
  const files = s.kafkaCa !== undefined || s.kafkaCert !== undefined;
  const asked = s.kafkaTls === undefined ? undefined : flag('kafka-tls', s.kafkaTls);
  if (asked === false && files) fail('kafka-tls', 'false, but --kafka-ca or --kafka-cert is given: those are TLS settings');
  const kafkaTls = asked === true || files ? Object.freeze({ ca: s.kafkaCa, cert: s.kafkaCert, key: s.kafkaKey }) : undefined;
  const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password, kafkaSaslPasswordFile: passwordFile } = s;
  if (mechanism === undefined) {
    if (username !== undefined || password !== undefined || passwordFile !== undefined) fail('kafka-sasl-mechanism', 'missing: a SASL username or password is given, but no mechanism (plain, scram-sha-256 or scram-sha-512)');
    return { kafkaTls, kafkaSasl: undefined };
  }
  const m = mechanism.toLowerCase();
  if (!(KAFKA_SASL_MECHANISMS as readonly string[]).includes(m)) fail('kafka-sasl-mechanism', `${JSON.stringify(mechanism)} is not one of ${KAFKA_SASL_MECHANISMS.join(', ')}`);
  if (!username) fail('kafka-sasl-username', `missing: SASL ${m} needs a username`);
  if (password !== undefined && passwordFile !== undefined) fail('kafka-sasl-password-file', 'given together with PEERLOG_KAFKA_SASL_PASSWORD: keep one');
  if (password === undefined && passwordFile === undefined) fail('kafka-sasl-password-file', `missing: SASL ${m} needs a password (PEERLOG_KAFKA_SASL_PASSWORD or --kafka-sasl-password-file)`);
  // PLAIN sends the password itself; SCRAM never does, so only PLAIN is refused without TLS.
  if (m === 'plain' && !kafkaTls) fail('kafka-sasl-mechanism', 'plain sends the password as is: it needs TLS (--kafka-tls, or --kafka-ca), or use scram-sha-256 / scram-sha-512');
  const kafkaSasl: KafkaSaslSettings = Object.freeze({
    mechanism: m as KafkaSaslSettings['mechanism'], username: username!,
    password: Object.freeze(password !== undefined ? { value: password } : { file: passwordFile! }),
  });
  return { kafkaTls, kafkaSasl };
}

/**
 * The database URL with its TLS settings in its query (sslmode, sslrootcert), where the PostgreSQL
 * adapter reads them: --database-sslmode and --database-ca add to a URL such as the one
 * CloudNativePG publishes (which has neither), and must not contradict what the URL says.
 */
function databaseTls(url: URL, s: ConfigSource): string {
  const q = url.searchParams;
  for (const key of ['sslcert', 'sslkey']) if (q.has(key)) fail('database-url', `${key}: client certificates to PostgreSQL are not supported; authenticate with a password`);
  if (q.has('ssl')) fail('database-url', 'ssl=: say sslmode=disable, require, verify-ca or verify-full instead');
  const urlMode = q.get('sslmode') ?? undefined;
  const urlCa = q.get('sslrootcert') ?? undefined;
  if (s.databaseSslmode !== undefined && urlMode !== undefined && s.databaseSslmode !== urlMode) {
    fail('database-sslmode', `${JSON.stringify(s.databaseSslmode)} contradicts the URL's sslmode=${urlMode}`);
  }
  if (s.databaseCa !== undefined && urlCa !== undefined && s.databaseCa !== urlCa) fail('database-ca', `${s.databaseCa} contradicts the URL's sslrootcert=${urlCa}`);
  const ca = s.databaseCa ?? urlCa;
  const mode = s.databaseSslmode ?? urlMode ?? (ca !== undefined ? 'verify-full' : undefined);
  const setting = s.databaseSslmode !== undefined ? 'database-sslmode' : 'database-url';
  if (mode === undefined) return s.databaseUrl!;
  if (!(DATABASE_SSLMODES as readonly string[]).includes(mode)) {
    fail(setting, `sslmode ${JSON.stringify(mode)} is not one of ${DATABASE_SSLMODES.join(', ')} (the driver cannot fall back between TLS and plaintext, so prefer and allow are refused)`);
  }
  if (mode === 'disable' && ca !== undefined) fail(setting, 'sslmode disable, but a CA to verify the server is given (--database-ca or sslrootcert)');
  if (mode === 'verify-ca' && ca === undefined) fail('database-ca', 'missing: sslmode verify-ca checks the server against a CA, give it with --database-ca (or verify-full to use the system\'s trusted CAs)');
  q.set('sslmode', mode);
  if (ca !== undefined) q.set('sslrootcert', ca);
  return url.toString();
}

/**
 * Validates the settings. `needs.log: false` is for verbs that touch only the cluster (`peerlog
 * token`): Kafka and PostgreSQL may then be left unset.
 */
export function loadConfig(src: ConfigSource, needs: { kubernetes?: boolean; ca?: boolean; log?: boolean } = {}, inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST)): PeerlogConfig {
  let base: ConfigSource = {};
  if (src.stack !== undefined) {
    if (!(CLUSTERS as readonly string[]).includes(src.stack)) fail('stack', `${JSON.stringify(src.stack)} is not a local stack cluster (alpha or beta)`);
    const layout = loadLayout();
    const env = stackEnv(layout);
    const P = src.stack.toUpperCase();
    base = {
      clusterId: env[`${P}_CLUSTER_ID`], clusterName: src.stack, kubeconfig: env[`${P}_KUBECONFIG`],
      kafkaBrokers: env.KAFKA_BROKERS, databaseUrl: env.DATABASE_URL, authPort: Number(env[`${P}_AUTH_PORT`]),
      // The client CA's certificate (the kubelet API verifies kube-apiserver with it), never its key:
      // the stack's kube-controller-manager signs identities through the CSR API. --ca-key opts in.
      caCert: env[`${P}_CA_CERT`], kubeletPort: Number(env[`${P}_KUBELET_PORT`]),
      auditKey: join(clusterDir(layout, src.stack as ClusterName), 'audit', 'checkpoint.key'),
      ...(env[`${P}_METRICS_PORT`] ? { metricsPort: Number(env[`${P}_METRICS_PORT`]) } : {}),
    };
  }
  const s: ConfigSource = { ...base, ...Object.fromEntries(Object.entries(src).filter(([, v]) => v !== undefined)) };

  const clusterId = s.clusterId ?? fail('cluster-id', 'missing (use --cluster-id, PEERLOG_CLUSTER_ID or --stack)');
  if (!DNS_LABEL.test(clusterId)) fail('cluster-id', `${JSON.stringify(clusterId)} is not a DNS label (lowercase letters, digits, '-', at most 63)`);
  const clusterName = s.clusterName ?? clusterId;
  // Peers record it in their log, which holds names to this rule: refused here, not by every peer.
  if (!DNS_LABEL.test(clusterName)) fail('cluster-name', `${JSON.stringify(clusterName)} is not a DNS label (lowercase letters, digits, '-', at most 63)`);
  const needsLog = needs.log ?? true;
  const kafkaBrokers = (s.kafkaBrokers ?? (needsLog ? fail('kafka-brokers', 'missing') : '')).split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of kafkaBrokers) if (!/^[^:\s]+:\d{1,5}$/.test(b)) fail('kafka-brokers', `${JSON.stringify(b)} is not host:port`);
  const givenUrl = s.databaseUrl ?? (needsLog ? fail('database-url', 'missing') : 'postgres://unset/unset');
  let parsedUrl: URL | undefined;
  try { parsedUrl = new URL(givenUrl); } catch { fail('database-url', 'not a URL'); }
  if (parsedUrl.protocol !== 'postgres:' && parsedUrl.protocol !== 'postgresql:') fail('database-url', `scheme must be postgres://, got ${parsedUrl.protocol}`);
  const databaseUrl = databaseTls(parsedUrl, { ...s, databaseUrl: givenUrl });
  const { kafkaTls, kafkaSasl } = kafkaSecurity(s);
  const dbSchema = s.dbSchema ?? `peerlog_${clusterId.replace(/-/g, '_')}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(dbSchema)) fail('db-schema', `${JSON.stringify(dbSchema)} is not a plain lowercase identifier`);
  const authPort = s.authPort ?? 0;
  if (!Number.isInteger(authPort) || authPort < 0 || authPort > 65535) fail('auth-port', `${String(s.authPort)} is not a TCP port`);
  if (needs.kubernetes) {
    // With no kubeconfig, a control plane in a pod uses its ServiceAccount (the in-cluster config).
    if (!s.kubeconfig && !inCluster) fail('kubeconfig', 'missing (and not in a pod: KUBERNETES_SERVICE_HOST is unset, so there is no in-cluster ServiceAccount to use)');
    if (s.kubeconfig && !existsSync(s.kubeconfig)) fail('kubeconfig', `${s.kubeconfig} does not exist`);
  }
  // The client CA's certificate is needed (the kubelet API knows kube-apiserver by it); its key only
  // to sign identities in-process (--ca-key), otherwise they are signed through the CSR API.
  if (needs.ca) {
    if (!s.caCert) fail('ca-cert', 'missing');
    if (!existsSync(s.caCert)) fail('ca-cert', `${s.caCert} does not exist`);
  }
  if (s.caKey !== undefined && !existsSync(s.caKey)) fail('ca-key', `${s.caKey} does not exist`);
  const csrSignerName = s.csrSignerName ?? KUBE_APISERVER_CLIENT_SIGNER;
  // A signerName is a domain-qualified path: <DNS subdomain>/<path>.
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9][-A-Za-z0-9_.\/]*$/.test(csrSignerName) || csrSignerName.length > 571) {
    fail('csr-signer-name', `${JSON.stringify(csrSignerName)} is not a signerName (<domain>/<path>, e.g. kubernetes.io/kube-apiserver-client)`);
  }
  const csrSigningTimeoutSeconds = s.csrSigningTimeoutSeconds ?? 10;
  if (!Number.isFinite(csrSigningTimeoutSeconds) || csrSigningTimeoutSeconds <= 0 || csrSigningTimeoutSeconds > 14) {
    fail('csr-signing-timeout', `${String(s.csrSigningTimeoutSeconds)} is not between 0 and 14 seconds (the endpoint answers a request within 15 s)`);
  }
  const systemNamespace = s.namespace ?? DEFAULT_SYSTEM_NAMESPACE;
  if (!DNS_LABEL.test(systemNamespace)) fail('namespace', `${JSON.stringify(systemNamespace)} is not a namespace name (DNS label)`);
  const authHost = s.authHost ?? '127.0.0.1';
  let authUrl = s.authUrl;
  if (authUrl !== undefined) {
    let u: URL | undefined;
    try { u = new URL(authUrl); } catch { fail('auth-url', `${JSON.stringify(authUrl)} is not a URL`); }
    if (u.protocol !== 'https:') fail('auth-url', `must be https://, got ${u.protocol}`);
  } else if (authPort !== 0) {
    authUrl = `https://${authHost.includes(':') ? `[${authHost}]` : authHost}:${authPort}`;
  }
  const positive = (setting: string, v: number | undefined, fallback: number) => {
    const n = v ?? fallback;
    if (!Number.isFinite(n) || n <= 0) fail(setting, `${String(v)} is not a positive number`);
    return n;
  };
  const percent = (setting: string, v: number | undefined, fallback: number) => {
    const n = v ?? fallback;
    if (!Number.isFinite(n) || n < 0 || n > 100) fail(setting, `${String(v)} is not a percentage (0 to 100)`);
    return n;
  };
  const replicas = (setting: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 32767)) fail(setting, `${String(v)} is not a whole number of replicas (1 or more)`);
    return v;
  };
  const kafkaReplicationFactor = replicas('kafka-replication-factor', s.kafkaReplicationFactor);
  const kafkaMinInsyncReplicas = replicas('kafka-min-insync-replicas', s.kafkaMinInsyncReplicas);
  if (kafkaReplicationFactor !== undefined && kafkaMinInsyncReplicas !== undefined && kafkaMinInsyncReplicas > kafkaReplicationFactor) {
    fail('kafka-min-insync-replicas', `${kafkaMinInsyncReplicas} is more than the replication factor ${kafkaReplicationFactor}: no append could succeed`);
  }
  const proxy = s.authProxyProtocol ?? false;
  const authProxyProtocol = proxy === true || proxy === 'true' || proxy === '1';
  if (!authProxyProtocol && proxy !== false && proxy !== 'false' && proxy !== '0') fail('auth-proxy-protocol', `${JSON.stringify(proxy)} is neither true nor false`);
  // kube-apiserver reads the port and address from the virtual node's status, which is forged from
  // the log and these settings alone: an ephemeral port would leave the node naming a dead one.
  const rawKubeletPort = s.kubeletPort ?? DEFAULT_KUBELET_PORT;
  const kubeletPort = typeof rawKubeletPort === 'number' ? rawKubeletPort : /^\d{1,5}$/.test(rawKubeletPort) ? Number(rawKubeletPort) : NaN;
  if (!Number.isInteger(kubeletPort) || kubeletPort < 1 || kubeletPort > 65535) {
    fail('kubelet-port', `${JSON.stringify(rawKubeletPort)} is not a fixed TCP port (1 to 65535; virtual nodes announce it in their status)`);
  }
  const kubeletHost = s.kubeletHost ?? '127.0.0.1';
  const wildcard = kubeletHost === '0.0.0.0' || kubeletHost === '::';
  const kubeletAddress = s.kubeletAddress ?? (wildcard ? fail('kubelet-address', `missing: the kubelet API listens on ${kubeletHost}, and virtual nodes must announce one IP address of this host`) : kubeletHost);
  if (isIP(kubeletAddress) === 0) fail(s.kubeletAddress === undefined ? 'kubelet-host' : 'kubelet-address', `${JSON.stringify(kubeletAddress)} is not an IP address (virtual nodes announce it as their InternalIP)`);
  if (kubeletPort === authPort && (kubeletHost === authHost || wildcard || authHost === '0.0.0.0' || authHost === '::')) {
    fail('kubelet-port', `${kubeletPort} is the authentication endpoint's port too`);
  }
  // Metrics: off unless a port is given; the text of a flag or variable is checked as typed.
  const rawMetricsPort = s.metricsPort;
  const metricsPort = rawMetricsPort === undefined ? undefined : typeof rawMetricsPort === 'number' ? rawMetricsPort : /^\d{1,5}$/.test(rawMetricsPort) ? Number(rawMetricsPort) : NaN;
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) fail('metrics-port', `${JSON.stringify(rawMetricsPort)} is not a TCP port (0 to 65535)`);
  const metricsHost = s.metricsHost ?? '127.0.0.1';
  if (isIP(metricsHost) === 0 && metricsHost !== 'localhost') fail('metrics-host', `${JSON.stringify(metricsHost)} is not an IP address`);
  if (metricsPort !== undefined && metricsPort !== 0 && (metricsPort === authPort || metricsPort === kubeletPort)) {
    fail('metrics-port', `${metricsPort} is the ${metricsPort === authPort ? 'authentication endpoint' : 'kubelet API'}'s port too`);
  }
  const offerAcceptance = s.offerAcceptance ?? 'auto';
  if (offerAcceptance !== 'auto' && offerAcceptance !== 'manual') fail('offer-acceptance', `${JSON.stringify(offerAcceptance)} is neither auto nor manual`);
  return Object.freeze({
    clusterId, clusterName, kubeconfig: s.kubeconfig, kafkaBrokers: Object.freeze(kafkaBrokers),
    databaseUrl, dbSchema, authPort, authHost, caCert: s.caCert, caKey: s.caKey, systemNamespace, authUrl,
    signer: s.caKey === undefined ? 'csr-api' : 'ca-key', csrSignerName, csrSigningTimeoutSeconds,
    authFailureBurst: Math.floor(positive('auth-failure-burst', s.authFailureBurst, 10)),
    authFailureRefillSeconds: positive('auth-failure-refill-seconds', s.authFailureRefillSeconds, 6),
    authProxyProtocol,
    sharingPercent: percent('sharing-percent', s.sharingPercent, 50),
    offerThresholdPercent: percent('offer-threshold-percent', s.offerThresholdPercent, 5),
    offerAcceptance,
    foreignClusterSelector: s.foreignClusterSelector ?? '',
    kafkaReplicationFactor, kafkaMinInsyncReplicas,
    resyncSeconds: positive('resync-seconds', s.resyncSeconds, 300),
    kubeletPort, kubeletHost, kubeletAddress,
    auditKey: s.auditKey,
    checkpointSeconds: positive('checkpoint-seconds', s.checkpointSeconds, 30),
    kafkaTls, kafkaSasl,
    metricsPort, metricsHost,
  });
}

/** Command-line flags for the given settings, with their environment variables in the help. */
export function configFlags(names: readonly (typeof CONFIG_FLAGS)[number]['name'][]): { name: string; type: 'string' | 'boolean'; description: string }[] {
  return CONFIG_FLAGS.filter((f) => names.includes(f.name)).map((f) => ({ name: f.name, type: 'type' in f ? f.type : 'string' as const, description: `${f.description} (env ${f.env})` }));
}

/** The settings every verb that reads or writes a cluster's log needs. */
export const LOG_SETTINGS = ['stack', 'cluster-id', 'kafka-brokers', 'database-url', 'db-schema'] as const;

/** Every setting of a control plane (`peerlog serve`). */
export const ALL_SETTINGS = CONFIG_FLAGS.map((f) => f.name);
