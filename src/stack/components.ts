// The stack's components in start order: how each is installed, prepared, started and checked.
import { existsSync, mkdirSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { binary, clusterFiles, type ClusterName, type StackLayout, CLUSTERS } from './config.js';
import { ensurePki } from './pki.js';
import { newKafkaClusterId, usableKafkaClusterId } from './kafka-id.js';
import { ensureKwokNodes, kwokNodesReady } from './nodes.js';
import { ensureKwokCrds, ensureKwokNodePorts, KWOK_CRD_KINDS, kwokConfigPath, nodesWithoutKwokPort, writeKwokFiles } from './kwok.js';
import { pidFileFor, runStep, type SpawnSpec } from './proc.js';

export interface Component {
  readonly name: string;
  readonly port?: number;
  /** Other ports it listens on (checked free before it starts). */
  readonly extraPorts?: readonly number[];
  /** A fragment of the command line that tells our process from another one with a reused pid. */
  readonly processMatch: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly startTimeoutMs: number;
  readonly stopSignal: NodeJS.Signals;
  prepare(): Promise<void>;
  spec(): SpawnSpec;
  healthy(): Promise<boolean>;
  /** Work to do once the component is healthy (create a database, register nodes...). */
  afterStart?(): Promise<void>;
  /**
   * Its configuration is all in its arguments: a running process whose command line differs from
   * spec() was started by another version of the stack, and `up` restarts it.
   */
  readonly restartOnNewArgs?: boolean;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** GET over http or https (by the URL's scheme) returning status and body; https may present a client certificate. */
function httpGet(url: string, opts: { ca?: string; cert?: string; key?: string; insecure?: boolean } = {}): Promise<{ status: number; body: string }> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: !opts.insecure, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function postgres(layout: StackLayout): Component {
  const port = layout.ports.postgres;
  const data = layout.pgDataDir;
  const user = () => postgresUser();
  return {
    name: 'postgres', port, processMatch: `${PG_BIN}/postgres`,
    pidFile: pidFileFor(layout.runDir, 'postgres'), logFile: join(layout.logDir, 'postgres.log'),
    startTimeoutMs: 60_000, stopSignal: 'SIGINT', // SIGINT is PostgreSQL's "fast" shutdown
    async prepare() {
      if (existsSync(join(data, 'PG_VERSION'))) return;
      const u = user();
      mkdirSync(data, { recursive: true, mode: 0o700 });
      if (u) chownSync(data, u.uid, u.gid);
      const args = ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'];
      if (u) runStep('postgres initdb', 'setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', `${PG_BIN}/initdb`, ...args], { ...process.env, HOME: '/var/lib/postgresql' }, join(layout.logDir, 'postgres-initdb.log'));
      else runStep('postgres initdb', `${PG_BIN}/initdb`, args, undefined, join(layout.logDir, 'postgres-initdb.log'));
    },
    spec() {
      const u = user();
      return {
        name: 'postgres', command: `${PG_BIN}/postgres`,
        args: ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
          '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
        logFile: this.logFile, pidFile: this.pidFile, uid: u?.uid, gid: u?.gid,
        env: { ...process.env, HOME: u ? '/var/lib/postgresql' : process.env.HOME },
      };
    },
    async healthy() {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
      try { await c.connect(); await c.query('select 1'); return true; } finally { await c.end().catch(() => undefined); }
    },
    async afterStart() {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      await c.connect();
      try {
        const r = await c.query("select 1 from pg_database where datname = 'peerlog'");
        if (r.rowCount === 0) await c.query('create database peerlog');
      } finally { await c.end(); }
    },
  };
}

function kafka(layout: StackLayout): Component {
  const dir = join(layout.stateDir, 'kafka');
  const libs = join(layout.cacheDir, `kafka-${layout.versions.kafka}`, 'libs');
  const { kafka: port, kafkaController: ctrl } = layout.ports;
  return {
    name: 'kafka', port, extraPorts: [ctrl], processMatch: 'kafka.Kafka',
    pidFile: pidFileFor(layout.runDir, 'kafka'), logFile: join(layout.logDir, 'kafka.log'),
    startTimeoutMs: 120_000, stopSignal: 'SIGTERM',
    async prepare() {
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(join(dir, 'server.properties'), [
        'process.roles=broker,controller', 'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${ctrl}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctrl}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        'controller.listener.names=CONTROLLER', 'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${join(dir, 'data')}`, 'num.partitions=1', 'auto.create.topics.enable=false',
        'offsets.topic.replication.factor=1', 'offsets.topic.num.partitions=5',
        'transaction.state.log.replication.factor=1', 'transaction.state.log.min.isr=1', 'transaction.state.log.num.partitions=5',
        'group.initial.rebalance.delay.ms=0', 'log.flush.interval.messages=9223372036854775807',
        'delete.topic.enable=true', '',
      ].join('\n'));
      writeFileSync(join(dir, 'log4j.properties'), [
        'log4j.rootLogger=INFO, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka=WARN', 'log4j.logger.org.apache.kafka=WARN', 'log4j.logger.state.change.logger=WARN', '',
      ].join('\n'));
      if (existsSync(join(dir, 'data', 'meta.properties'))) return;
      // Not formatted yet, so nothing was stored under a saved id: one that cannot be used (an older
      // version could save ids starting with '-') is replaced.
      let clusterId = existsSync(join(dir, 'cluster.id')) ? readFileSync(join(dir, 'cluster.id'), 'utf8').trim() : '';
      if (!usableKafkaClusterId(clusterId)) {
        if (clusterId) process.stderr.write(`[stack] kafka: replacing the saved cluster id ${JSON.stringify(clusterId)} (unusable) before formatting\n`);
        clusterId = newKafkaClusterId();
        writeFileSync(join(dir, 'cluster.id'), clusterId);
      }
      // `--cluster-id=<id>` in one argument: no id can be read as an option.
      runStep('kafka storage format', 'java', ['-cp', `${libs}/*`, `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
        'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', join(dir, 'server.properties'), '--ignore-formatted'],
      undefined, join(layout.logDir, 'kafka-format.log'));
    },
    spec() {
      return {
        name: 'kafka', command: 'java',
        args: ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-Djava.awt.headless=true',
          `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, '-cp', `${libs}/*`, 'kafka.Kafka', join(dir, 'server.properties')],
        logFile: this.logFile, pidFile: this.pidFile,
      };
    },
    async healthy() {
      const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 2000 }).admin();
      try { await admin.connect(); const d = await admin.describeCluster(); return d.brokers.length > 0 && d.controller !== null; } finally { await admin.disconnect().catch(() => undefined); }
    },
  };
}

function etcd(layout: StackLayout): Component {
  const { etcdClient: port, etcdPeer: peer } = layout.ports;
  const bin = binary(layout, 'etcd', layout.versions.etcd);
  return {
    name: 'etcd', port, extraPorts: [peer], processMatch: bin,
    pidFile: pidFileFor(layout.runDir, 'etcd'), logFile: join(layout.logDir, 'etcd.log'),
    startTimeoutMs: 60_000, stopSignal: 'SIGTERM',
    async prepare() { mkdirSync(join(layout.stateDir, 'etcd'), { recursive: true }); },
    spec() {
      return {
        name: 'etcd', command: bin,
        args: ['--name=peerlog', `--data-dir=${join(layout.stateDir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${port}`, `--advertise-client-urls=http://127.0.0.1:${port}`,
          `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-cluster=peerlog=http://127.0.0.1:${peer}`, '--unsafe-no-fsync=true', '--log-level=warn',
          '--quota-backend-bytes=4294967296'],
        logFile: this.logFile, pidFile: this.pidFile,
      };
    },
    async healthy() { const r = await httpGet(`http://127.0.0.1:${port}/health`); return r.status === 200 && r.body.includes('"true"'); },
  };
}

function apiserver(layout: StackLayout, cluster: ClusterName): Component {
  const c = layout.clusters[cluster];
  const f = clusterFiles(layout, cluster);
  const bin = binary(layout, 'kube-apiserver', layout.versions.kubernetes);
  const name = `kube-apiserver-${cluster}`;
  return {
    name, port: c.apiserverPort, processMatch: bin,
    pidFile: pidFileFor(layout.runDir, name), logFile: join(layout.logDir, `${name}.log`),
    startTimeoutMs: 120_000, stopSignal: 'SIGTERM', restartOnNewArgs: true,
    async prepare() { await ensurePki(layout, cluster); },
    spec() {
      return {
        name, command: bin,
        args: [`--etcd-servers=http://127.0.0.1:${layout.ports.etcdClient}`, `--etcd-prefix=/peerlog-${cluster}`,
          '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${c.apiserverPort}`,
          `--tls-cert-file=${f.servingCert}`, `--tls-private-key-file=${f.servingKey}`, `--client-ca-file=${f.clientCaCert}`,
          '--authorization-mode=Node,RBAC', '--anonymous-auth=false',
          '--service-account-issuer=https://kubernetes.default.svc', `--service-account-key-file=${f.saPub}`,
          `--service-account-signing-key-file=${f.saKey}`, '--service-cluster-ip-range=10.0.0.0/24',
          '--disable-admission-plugins=ServiceAccount', '--allow-privileged=true', '--profiling=false',
          // How it reaches a pod's node for `kubectl logs`: kwok's server, or a virtual kubelet
          // that serves only callers with a certificate of the client CA. InternalIP first: a
          // Hostname address (a node's name) does not resolve here. The kubelets' serving
          // certificates are not verified (no --kubelet-certificate-authority): kwok's is made up
          // at its start.
          `--kubelet-client-certificate=${f.kubeletClientCert}`, `--kubelet-client-key=${f.kubeletClientKey}`,
          '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
          `--cert-dir=${join(f.dir, 'apiserver-certs')}`, '--v=0'],
        logFile: this.logFile, pidFile: this.pidFile,
      };
    },
    async healthy() {
      const r = await httpGet(`https://127.0.0.1:${c.apiserverPort}/readyz`, {
        ca: readFileSync(f.caCert, 'utf8'), cert: readFileSync(f.adminCert, 'utf8'), key: readFileSync(f.adminKey, 'utf8'),
      });
      return r.status === 200;
    },
  };
}

function controlComponent(layout: StackLayout, cluster: ClusterName, kind: 'kube-controller-manager' | 'kube-scheduler'): Component {
  const c = layout.clusters[cluster];
  const f = clusterFiles(layout, cluster);
  const bin = binary(layout, kind, layout.versions.kubernetes);
  const name = `${kind}-${cluster}`;
  const port = kind === 'kube-scheduler' ? c.schedulerPort : c.controllerManagerPort;
  const common = [`--kubeconfig=${f.kubeconfig}`, `--authentication-kubeconfig=${f.kubeconfig}`, `--authorization-kubeconfig=${f.kubeconfig}`,
    '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${port}`, `--cert-dir=${join(f.dir, `${kind}-certs`)}`];
  const extra = kind === 'kube-controller-manager'
    ? [`--service-account-private-key-file=${f.saKey}`, `--root-ca-file=${f.caCert}`,
      `--cluster-signing-cert-file=${f.clientCaCert}`, `--cluster-signing-key-file=${f.clientCaKey}`,
      '--use-service-account-credentials=false', '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller']
    : [];
  return {
    name, port, processMatch: bin,
    pidFile: pidFileFor(layout.runDir, name), logFile: join(layout.logDir, `${name}.log`),
    startTimeoutMs: 90_000, stopSignal: 'SIGTERM', restartOnNewArgs: true,
    async prepare() { mkdirSync(join(f.dir, `${kind}-certs`), { recursive: true }); },
    spec() { return { name, command: bin, args: [...common, ...extra, '--v=0'], logFile: this.logFile, pidFile: this.pidFile }; },
    async healthy() { const r = await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true }); return r.status === 200; },
  };
}

function kwok(layout: StackLayout, cluster: ClusterName): Component {
  const c = layout.clusters[cluster];
  const f = clusterFiles(layout, cluster);
  const bin = binary(layout, 'kwok', layout.versions.kwok);
  const name = `kwok-${cluster}`;
  const port = c.kwokPort;
  return {
    name, port, processMatch: bin,
    pidFile: pidFileFor(layout.runDir, name), logFile: join(layout.logDir, `${name}.log`),
    startTimeoutMs: 90_000, stopSignal: 'SIGTERM', restartOnNewArgs: true,
    async prepare() {
      // kwok simulates only the Node objects it is told about: register them before it starts.
      await ensureKwokNodes(layout, cluster);
      await ensureKwokNodePorts(layout, cluster);
      // Its watch of Logs objects (--enable-crds) needs the CRD, and its ClusterLogs the files.
      await ensureKwokCrds(layout, cluster);
      writeKwokFiles(layout, cluster);
    },
    spec() {
      return {
        name, command: bin,
        args: [`--kubeconfig=${f.kubeconfig}`, '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake', `--cidr=${c.nodeCidr}`, '--node-ip=127.0.0.1',
          '--node-lease-duration-seconds=40',
          // Its server is the kubelet API of its nodes (kube-apiserver dials node-ip:node-port for
          // `kubectl logs`); plain HTTP and TLS (a self-signed certificate) on the same port.
          `--server-address=127.0.0.1:${port}`, `--node-port=${port}`,
          `--config=${kwokConfigPath(layout, cluster)}`, `--enable-crds=${KWOK_CRD_KINDS.join(',')}`],
        logFile: this.logFile, pidFile: this.pidFile,
      };
    },
    async healthy() {
      if (!(await kwokNodesReady(layout, cluster))) return false;
      if ((await nodesWithoutKwokPort(layout, cluster)).length > 0) return false;
      const r = await httpGet(`http://127.0.0.1:${port}/healthz`);
      return r.status === 200;
    },
  };
}

/** Every component in start order (stop runs in reverse). */
export function components(layout: StackLayout): readonly Component[] {
  const list: Component[] = [postgres(layout), kafka(layout), etcd(layout)];
  for (const cl of CLUSTERS) list.push(apiserver(layout, cl));
  for (const cl of CLUSTERS) list.push(controlComponent(layout, cl, 'kube-controller-manager'), controlComponent(layout, cl, 'kube-scheduler'));
  for (const cl of CLUSTERS) list.push(kwok(layout, cl));
  return list;
}

/** The repository's `peerlog` binary, next to this compiled file (dist/src/stack → bin/peerlog). */
function peerlogBin(): string {
  return join(new URL('../../../bin/peerlog', import.meta.url).pathname);
}

/**
 * Each cluster's peerlog control plane (`peerlog serve --stack <cluster>`), run by the demo rather
 * than by `up`: tests start control planes of their own. `down` stops them before the stack.
 */
export function controlPlanes(layout: StackLayout): readonly Component[] {
  return CLUSTERS.map((cluster): Component => {
    const name = `peerlog-${cluster}`;
    const bin = peerlogBin();
    return {
      name, port: layout.clusters[cluster].authPort, processMatch: `serve\0--stack\0${cluster}`,
      pidFile: pidFileFor(layout.runDir, name), logFile: join(layout.logDir, `${name}.log`),
      startTimeoutMs: 60_000, stopSignal: 'SIGTERM',
      async prepare() { /* the control plane prepares its own schema, topic and CRDs */ },
      spec() {
        // Integration tests label their ForeignClusters (peerlog.dev/test=<their id>) for their own
        // control planes; the stack's planes, which may run beside them (the demo's test), leave those alone.
        return { name, command: process.execPath, args: [bin, 'serve', '--stack', cluster, '--foreign-cluster-selector', '!peerlog.dev/test'], logFile: this.logFile, pidFile: this.pidFile };
      },
      async healthy() {
        const r = await httpGet(`https://127.0.0.1:${layout.clusters[cluster].authPort}/readyz`, { insecure: true }).catch(() => ({ status: 0 }));
        return r.status === 200;
      },
    };
  });
}
