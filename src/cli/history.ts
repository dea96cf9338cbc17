// `peerlog history <name>`: the timeline of one peering folded from the log — each event with its
// step, actor, outcome and reason, the phases of each peer/unpeer cycle and their durations — and,
// with --as-of, the peering as `peerlog status` showed it then. Without a name: every peering of
// this cluster and its events from the audit index. The log's hash chain is verified each time.
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { openRuntime } from '../runtime.js';
import { createLogger } from '../adapters/log/index.js';
import { createKubeClient } from '../adapters/kubernetes/client.js';
import { kubeConfigFromFile } from '../adapters/kubernetes/kubeconfig.js';
import type { AuditChain, ReadModelQueries } from '../ports.js';
import { GROUP_VERSION } from '../resources/constants.js';
import type { EventEnvelope } from '../events/envelope.js';
import {
  AS_OF_FORMS, buildTimeline, eventsAsOf, formatDuration, parseAsOf, peeringStatus, PHASE_LABELS, renderHistoryHtml,
  type Direction, type PeeringStatus, type Timeline,
} from '../projections/history/index.js';
import { UsageError } from './args.js';
import { outputFormat, printData } from './output.js';
import type { Verb } from './index.js';

export interface PeeringHistoryView {
  readonly name: string;
  readonly clusterId: string;
  /** The instant asked for; null for the whole log. */
  readonly asOf: string | null;
  /** The peering as `peerlog status -o json` showed it at `asOf` (or shows it now). */
  readonly status: PeeringStatus;
  readonly cycles: Timeline['cycles'];
  readonly events: Timeline['events'];
}

/**
 * The history of the peering with `clusterId` from its events in the log, up to `asOf` when given,
 * limited to one direction when given; undefined when the log has no event of it (by then).
 */
export async function peeringHistoryOf(queries: Pick<ReadModelQueries, 'peeringEvents'>, name: string, clusterId: string, opts: { asOf?: string; direction?: Direction } = {}): Promise<PeeringHistoryView | undefined> {
  const all = await queries.peeringEvents([clusterId]);
  return historyFrom(name, clusterId, all, opts);
}

/** The pure half of peeringHistoryOf. */
export function historyFrom(name: string, clusterId: string, all: readonly EventEnvelope[], opts: { asOf?: string; direction?: Direction } = {}): PeeringHistoryView | undefined {
  const events = opts.asOf === undefined ? all : eventsAsOf(all, opts.asOf);
  if (events.length === 0) return undefined;
  const timeline = buildTimeline(events);
  const d = opts.direction;
  return {
    name, clusterId, asOf: opts.asOf ?? null, status: peeringStatus(name, clusterId, events),
    cycles: d ? timeline.cycles.filter((c) => c.direction === d) : timeline.cycles,
    events: d ? timeline.events.filter((e) => e.direction === d) : timeline.events,
  };
}

const DIRECTIONS: readonly Direction[] = ['outgoing', 'incoming'];

export const historyVerb: Verb = {
  name: 'history',
  summary: 'the timeline of a peering from the log: steps, actors, outcomes, phase durations per cycle; --as-of: its status at an instant; -o html: a page',
  usage: 'peerlog history [name] [--as-of TIME] [--direction outgoing|incoming] [-o table|json|yaml|html] [--stack alpha|beta | --cluster-id ID --kafka-brokers B --database-url URL [--kubeconfig F]]',
  flags: [
    ...configFlags([...LOG_SETTINGS, 'kubeconfig', 'namespace']),
    { name: 'as-of', type: 'string', description: `the peering as of this instant: ${AS_OF_FORMS}; the status then equals what \`peerlog status -o json\` printed at that instant` },
    { name: 'direction', type: 'string', description: 'only this side of the peering: outgoing (this cluster consumes) or incoming (it provides)' },
    { name: 'output', short: 'o', type: 'string', description: 'table, json, yaml, or html (one self-contained page drawing the phases; redirect it to a file)', default: 'table' },
  ],
  async run({ flags, positionals }) {
    const html = flags.output === 'html';
    const format = html ? 'json' : outputFormat(flags.output);
    const direction = flags.direction === undefined ? undefined : String(flags.direction);
    if (direction !== undefined && !(DIRECTIONS as readonly string[]).includes(direction)) throw new UsageError(`--direction ${direction}: expected outgoing or incoming`);
    const now = new Date();
    const asOf = flags['as-of'] === undefined ? undefined : parseAsOf(String(flags['as-of']), now, (m) => new UsageError(m));
    const config = loadConfig(sourceFrom(flags));
    const name = positionals[0];
    if (name === undefined && (asOf !== undefined || direction !== undefined || html)) throw new UsageError('--as-of, --direction and -o html need the name of a peering');
    const rt = await openRuntime(config, createLogger({ level: 'warn' }), { migrate: false });
    try {
      if (name === undefined) return await listAll(rt.queries, format);
      // 1. Which remote cluster the name is: its ForeignCluster's when the cluster is at hand (a
      //    ForeignCluster deleted after unpeering is gone, its log is not), else the name is the id.
      let clusterId = name;
      if (config.kubeconfig) {
        const fc = await createKubeClient(kubeConfigFromFile(config.kubeconfig)).get<{ spec?: { clusterId?: string } } & Record<string, unknown>>(GROUP_VERSION, 'ForeignCluster', name).catch(() => undefined);
        if (fc?.spec?.clusterId) clusterId = fc.spec.clusterId;
      }
      // 2. The peering from its events; 3. the chain of the whole log, whichever peering is printed.
      const view = await peeringHistoryOf(rt.queries, name, clusterId, { ...(asOf ? { asOf } : {}), ...(direction ? { direction: direction as Direction } : {}) });
      const chain = await rt.queries.verifyChain();
      if (!view) {
        process.stderr.write(`peerlog history: the log has no event of a peering with ${clusterId}${asOf ? ` as of ${asOf}` : ''}\n`);
        return chainVerdict(chain) || 1;
      }
      if (html) {
        process.stdout.write(renderHistoryHtml({ name, clusterId, until: asOf ?? now.toISOString(), timeline: { cycles: view.cycles, events: view.events } }));
        return chainVerdict(chain);
      }
      printData(format, { ...view, chain }, () => historyTable(view, asOf ?? now.toISOString()));
      return chainVerdict(chain);
    } finally {
      await rt.close();
    }
  },
};

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The human form: where the peering stands, its phases per cycle, then its events. */
export function historyTable(v: PeeringHistoryView, until: string): string {
  const s = v.status;
  const head = `${v.name} (${v.clusterId})${v.asOf ? ` as of ${v.asOf}` : ''}: outgoing ${s.outgoing.phase ?? '-'}, incoming ${s.incoming.phase ?? '-'}${s.outgoing.virtualNode ? `, virtual node ${s.outgoing.virtualNode}` : ''}`;
  const phases = table(['CYCLE', 'PHASE', 'START', 'DURATION', 'OUTCOME'], v.cycles.flatMap((c) => c.phases.map((p) => [
    `${c.direction} #${c.number}`, PHASE_LABELS[p.name], p.start,
    p.durationMs === null ? `${formatDuration(Date.parse(until) - Date.parse(p.start))} so far` : formatDuration(p.durationMs), p.outcome,
  ])));
  const events = table(['TIME', 'DIRECTION', 'PHASE', 'STEP', 'ACTOR', 'OUTCOME', 'REASON'], v.events.map((e) => [
    e.time, e.direction, e.cycle === null ? '-' : `#${e.cycle} ${e.phase === null ? '' : PHASE_LABELS[e.phase]}`, e.type, `${e.actor.kind}:${e.actor.name}`, e.outcome, e.reason ?? '',
  ]));
  return [head, '', phases, '', events].join('\n');
}

/** Every peering of this cluster and its events, from the audit index (the listing without a name). */
async function listAll(queries: ReadModelQueries, format: 'table' | 'json' | 'yaml'): Promise<number> {
  const { peerings, events } = await queries.peeringHistory();
  const chain = await queries.verifyChain();
  printData(format, { peerings, events, chain }, () => {
    if (peerings.length === 0) return 'no peerings yet';
    return peerings.map((p) => [
      `${p.direction} ${p.remoteClusterId}${p.remoteClusterName && p.remoteClusterName !== p.remoteClusterId ? ` (${p.remoteClusterName})` : ''}: ${p.phase}, version ${p.streamVersion}`,
      ...events.filter((x) => x.streamId === `${p.direction}-${p.remoteClusterId}`)
        .map((e) => `  ${e.occurredAt.toISOString()}  v${String(e.streamVersion).padEnd(4)} ${e.type.padEnd(24)} by ${e.actorKind}:${e.actorName}  ${e.hash.slice(0, 12)}`),
    ].join('\n')).join('\n');
  });
  return chainVerdict(chain);
}

/** Exit code 4, with the break named on stderr, when the log's hash chain does not hold. */
export function chainVerdict(chain: AuditChain): number {
  if (chain.valid) return 0;
  process.stderr.write(`peerlog: BrokenChain: ${chain.message}\n`);
  return 4;
}
