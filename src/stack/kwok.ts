// What kwok needs to give the pods of its nodes a log: its configuration file (a ClusterLogs that
// every pod matches, pointing at the stack's default log), the Logs CRD (a test gives one pod its
// own log with a Logs object named like the pod), and the kubelet port in each node's status (kube-
// apiserver dials `status.addresses` InternalIP : `status.daemonEndpoints.kubeletEndpoint.Port`).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createKubeClient, type KubeClient, type KubeObject } from '../adapters/kubernetes/client.js';
import { installCrds } from '../adapters/kubernetes/crds.js';
import { kubeConfigFromFile } from '../adapters/kubernetes/kubeconfig.js';
import { clusterFiles, type ClusterName, type StackLayout } from './config.js';
import { kwokNodeNames } from './nodes.js';

/** The line every pod on a kwok node logs unless a Logs object gives it another file. */
export const KWOK_DEFAULT_LOG_LINE = 'kwok: this pod runs on a simulated node (no container runtime): this line is its default log';

/** The kwok kinds the stack serves from CRDs rather than from the configuration file. */
export const KWOK_CRD_KINDS = ['Logs'] as const;

/** kwok.x-k8s.io/v1alpha1 Logs (kwok v0.7.0's kustomize/crd/bases/kwok.x-k8s.io_logs.yaml; status kept open). */
export const KWOK_LOGS_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'logs.kwok.x-k8s.io' },
  spec: {
    group: 'kwok.x-k8s.io',
    names: { kind: 'Logs', listKind: 'LogsList', plural: 'logs', singular: 'logs' },
    scope: 'Namespaced',
    versions: [{
      name: 'v1alpha1', served: true, storage: true, subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          type: 'object', required: ['metadata', 'spec'],
          description: 'Logs provides logging configuration for a single pod.',
          properties: {
            apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' },
            spec: {
              type: 'object', required: ['logs'],
              properties: {
                logs: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      containers: { type: 'array', items: { type: 'string' } },
                      follow: { type: 'boolean' },
                      logsFile: { type: 'string' },
                      previousLogsFile: { type: 'string' },
                    },
                  },
                },
              },
            },
            status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    }],
  },
} as const;

/** One line in the CRI log format kwok reads (`<RFC 3339 time> <stream> F <text>`). */
export function criLogLine(text: string, at: Date, stream: 'stdout' | 'stderr' = 'stdout'): string {
  return `${at.toISOString()} ${stream} F ${text}\n`;
}

/**
 * kwok's configuration: its server's handlers (logs yes, profiling no) and the ClusterLogs that
 * every pod of every namespace matches (no selector). Logs objects come from the CRD instead.
 */
export function forgeKwokConfig(defaultLogFile: string): string {
  return [
    'apiVersion: config.kwok.x-k8s.io/v1alpha1',
    'kind: KwokConfiguration',
    'options:',
    '  enableDebuggingHandlers: true',
    '  enableProfilingHandler: false',
    '---',
    'apiVersion: kwok.x-k8s.io/v1alpha1',
    'kind: ClusterLogs',
    'metadata:',
    '  name: peerlog-stack-default',
    'spec:',
    '  logs:',
    `  - logsFile: ${JSON.stringify(defaultLogFile)}`,
    '',
  ].join('\n');
}

/**
 * Writes the default log (kept when it already holds the line, so its time stays put) and the
 * configuration; returns the configuration's path, named by a hash of its content so that a new
 * configuration changes kwok's arguments (and `stack up` restarts it).
 */
export function writeKwokFiles(layout: StackLayout, cluster: ClusterName): string {
  const f = clusterFiles(layout, cluster);
  mkdirSync(dirname(f.kwokDefaultLog), { recursive: true });
  const current = existsSync(f.kwokDefaultLog) ? readFileSync(f.kwokDefaultLog, 'utf8') : '';
  if (!current.endsWith(` F ${KWOK_DEFAULT_LOG_LINE}\n`) || current.split('\n').length !== 2) {
    writeFileSync(f.kwokDefaultLog, criLogLine(KWOK_DEFAULT_LOG_LINE, new Date()));
  }
  const path = kwokConfigPath(layout, cluster);
  const text = forgeKwokConfig(f.kwokDefaultLog);
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileSync(path, text);
  return path;
}

/** Where the configuration for today's content lives (pure: the arguments name it before it is written). */
export function kwokConfigPath(layout: StackLayout, cluster: ClusterName): string {
  const f = clusterFiles(layout, cluster);
  const hash = createHash('sha256').update(forgeKwokConfig(f.kwokDefaultLog)).digest('hex').slice(0, 12);
  return join(dirname(f.kwokDefaultLog), `kwok-${hash}.yaml`);
}

function kubeOf(layout: StackLayout, cluster: ClusterName): KubeClient {
  return createKubeClient(kubeConfigFromFile(clusterFiles(layout, cluster).kubeconfig));
}

/** The Logs CRD, established: kwok's watch of Logs objects fails to start without it. */
export async function ensureKwokCrds(layout: StackLayout, cluster: ClusterName): Promise<void> {
  await installCrds(kubeOf(layout, cluster), 30_000, [KWOK_LOGS_CRD as unknown as Record<string, unknown>]);
}

interface NodeStatusView extends KubeObject { status?: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } }

/** Names of the stack's kwok nodes whose status does not point kube-apiserver at kwok's port. */
export async function nodesWithoutKwokPort(layout: StackLayout, cluster: ClusterName): Promise<string[]> {
  const kube = kubeOf(layout, cluster);
  const port = layout.clusters[cluster].kwokPort;
  const out: string[] = [];
  for (const name of kwokNodeNames(layout, cluster)) {
    const node = await kube.get<NodeStatusView>('v1', 'Node', name);
    if (node?.status?.daemonEndpoints?.kubeletEndpoint?.Port !== port) out.push(name);
  }
  return out;
}

/**
 * Points each kwok node's status at kwok's port. kwok writes it too (--node-port), but only when it
 * initialises a node that is not Ready or at a heartbeat 10 to 20 minutes apart: nodes that were
 * Ready before kwok got its port would wait that long.
 */
export async function ensureKwokNodePorts(layout: StackLayout, cluster: ClusterName): Promise<void> {
  const kube = kubeOf(layout, cluster);
  const port = layout.clusters[cluster].kwokPort;
  for (const name of await nodesWithoutKwokPort(layout, cluster)) {
    await kube.request('PATCH', `/api/v1/nodes/${encodeURIComponent(name)}/status`,
      { status: { daemonEndpoints: { kubeletEndpoint: { Port: port } } } }, 'application/merge-patch+json');
  }
}
