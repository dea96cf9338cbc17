// The local stack's layout: versions, ports and directories, each overridable from the environment.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { chooseBase, LINUX_DEFAULT_EPHEMERAL, parseEphemeralRange, portsFor, type PortMap, type PortRange } from './ports.js';

export type ClusterName = 'alpha' | 'beta';
export const CLUSTERS: readonly ClusterName[] = ['alpha', 'beta'];

export interface NodeShape {
  readonly count: number;
  readonly cpu: string;
  readonly memory: string;
  readonly pods: string;
}

export interface ClusterLayout {
  readonly name: ClusterName;
  /** Stable id used by peerlog for this cluster (DNS-1123, deterministic for the local stack). */
  readonly clusterId: string;
  readonly apiserverPort: number;
  readonly controllerManagerPort: number;
  readonly schedulerPort: number;
  /** Port of this cluster's peerlog authentication endpoint (`peerlog serve --stack <name>`). */
  readonly authPort: number;
  /** Port of kwok's server: the kubelet API (`/containerLogs/...`) of this cluster's kwok nodes. */
  readonly kwokPort: number;
  /** Port of the kubelet API of this cluster's virtual nodes (`peerlog serve --stack <name>`). */
  readonly kubeletPort: number;
  /** Port of this cluster's peerlog Prometheus `/metrics` endpoint (`peerlog serve --stack <name>`). */
  readonly metricsPort: number;
  readonly nodeCidr: string;
  readonly nodes: NodeShape;
}

export interface StackLayout {
  readonly cacheDir: string;
  readonly stateDir: string;
  readonly binDir: string;
  readonly logDir: string;
  readonly runDir: string;
  readonly pgDataDir: string;
  readonly versions: { readonly kubernetes: string; readonly etcd: string; readonly kwok: string; readonly kafka: string };
  readonly ports: { readonly postgres: number; readonly kafka: number; readonly kafkaController: number; readonly etcdClient: number; readonly etcdPeer: number };
  readonly clusters: Readonly<Record<ClusterName, ClusterLayout>>;
  /** Every port of the layout by name (what `stack up` records to notice a changed base). */
  readonly portMap: PortMap;
}

/** The machine's ephemeral port range (Linux), or Linux's default where it cannot be read. */
export function ephemeralRange(): PortRange {
  try { return parseEphemeralRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')); } catch { return LINUX_DEFAULT_EPHEMERAL; }
}

export function loadLayout(): StackLayout {
  const cacheDir = process.env.PEERLOG_CACHE || join(homedir(), '.cache', 'peerlog');
  const stateDir = process.env.PEERLOG_STACK_DIR || join(cacheDir, 'stack');
  // PostgreSQL refuses to run as root, and the postgres user cannot enter root's home: as root the
  // data directory goes under the postgres user's own home instead.
  const pgDataDir = process.env.PEERLOG_PG_DATA
    || (process.getuid?.() === 0 ? '/var/lib/postgresql/peerlog-stack' : join(stateDir, 'postgres'));
  const p = portsFor(chooseBase(process.env.PEERLOG_STACK_PORT_BASE, ephemeralRange()));
  const layout: StackLayout = {
    cacheDir,
    stateDir,
    binDir: join(cacheDir, 'bin'),
    logDir: join(stateDir, 'logs'),
    runDir: join(stateDir, 'run'),
    pgDataDir,
    versions: {
      kubernetes: process.env.PEERLOG_K8S_VERSION || 'v1.35.4',
      etcd: process.env.PEERLOG_ETCD_VERSION || 'v3.6.5',
      kwok: process.env.PEERLOG_KWOK_VERSION || 'v0.7.0',
      kafka: process.env.PEERLOG_KAFKA_VERSION || '3.9.1',
    },
    ports: {
      postgres: p.postgres,
      kafka: p.kafka,
      kafkaController: p.kafkaController,
      etcdClient: p.etcdClient,
      etcdPeer: p.etcdPeer,
    },
    clusters: {
      alpha: {
        name: 'alpha', clusterId: 'alpha', apiserverPort: p.apiserverAlpha, controllerManagerPort: p.controllerManagerAlpha,
        schedulerPort: p.schedulerAlpha, authPort: p.authAlpha, kwokPort: p.kwokAlpha, kubeletPort: p.kubeletAlpha, metricsPort: p.metricsAlpha, nodeCidr: '10.244.0.0/16',
        nodes: { count: 2, cpu: '4', memory: '8Gi', pods: '110' },
      },
      beta: {
        name: 'beta', clusterId: 'beta', apiserverPort: p.apiserverBeta, controllerManagerPort: p.controllerManagerBeta,
        schedulerPort: p.schedulerBeta, authPort: p.authBeta, kwokPort: p.kwokBeta, kubeletPort: p.kubeletBeta, metricsPort: p.metricsBeta, nodeCidr: '10.245.0.0/16',
        nodes: { count: 3, cpu: '8', memory: '32Gi', pods: '110' },
      },
    },
    portMap: p,
  };
  return Object.freeze(layout);
}

export function clusterDir(layout: StackLayout, cluster: ClusterName): string {
  return join(layout.stateDir, 'clusters', cluster);
}

export function clusterFiles(layout: StackLayout, cluster: ClusterName) {
  const dir = clusterDir(layout, cluster);
  return {
    dir,
    kubeconfig: join(dir, 'admin.kubeconfig'),
    caCert: join(dir, 'pki', 'ca.crt'),
    caKey: join(dir, 'pki', 'ca.key'),
    clientCaCert: join(dir, 'pki', 'client-ca.crt'),
    clientCaKey: join(dir, 'pki', 'client-ca.key'),
    servingCert: join(dir, 'pki', 'apiserver.crt'),
    servingKey: join(dir, 'pki', 'apiserver.key'),
    adminCert: join(dir, 'pki', 'admin.crt'),
    adminKey: join(dir, 'pki', 'admin.key'),
    /** The client certificate kube-apiserver presents to kubelets (kwok's server, virtual kubelets). */
    kubeletClientCert: join(dir, 'pki', 'apiserver-kubelet-client.crt'),
    kubeletClientKey: join(dir, 'pki', 'apiserver-kubelet-client.key'),
    /** The log every pod on a kwok node shows by default; kwok's configuration goes next to it. */
    kwokDefaultLog: join(dir, 'kwok', 'default.log'),
    saKey: join(dir, 'pki', 'sa.key'),
    saPub: join(dir, 'pki', 'sa.pub'),
  };
}

export function binary(layout: StackLayout, name: string, version: string): string {
  return join(layout.binDir, `${name}-${version}`);
}

export function databaseUrl(layout: StackLayout): string {
  return `postgres://postgres@127.0.0.1:${layout.ports.postgres}/peerlog`;
}

export function kafkaBrokers(layout: StackLayout): string {
  return `127.0.0.1:${layout.ports.kafka}`;
}

/** The settings the stack exports (`npm run stack:env`), as a flat map of variable names. */
export function stackEnv(layout: StackLayout): Record<string, string> {
  const env: Record<string, string> = {
    PEERLOG_STACK_DIR: layout.stateDir,
    PEERLOG_CACHE: layout.cacheDir,
    KAFKA_BROKERS: kafkaBrokers(layout),
    DATABASE_URL: databaseUrl(layout),
    KUBECTL: binary(layout, 'kubectl', layout.versions.kubernetes),
  };
  for (const cl of CLUSTERS) {
    const f = clusterFiles(layout, cl);
    const P = cl.toUpperCase();
    env[`${P}_KUBECONFIG`] = f.kubeconfig;
    env[`${P}_CA_CERT`] = f.clientCaCert;
    env[`${P}_CA_KEY`] = f.clientCaKey;
    env[`${P}_CLUSTER_ID`] = layout.clusters[cl].clusterId;
    env[`${P}_AUTH_PORT`] = String(layout.clusters[cl].authPort);
    env[`${P}_KUBELET_PORT`] = String(layout.clusters[cl].kubeletPort);
    env[`${P}_METRICS_PORT`] = String(layout.clusters[cl].metricsPort);
  }
  return env;
}
