// `peerlog history [remote]`: the events of this cluster's peerings from the audit index, oldest first.
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { openRuntime } from '../runtime.js';
import { createLogger } from '../adapters/log/index.js';
import type { AuditChain } from '../ports.js';
import { UsageError } from './args.js';
import type { Verb } from './index.js';

export const historyVerb: Verb = {
  name: 'history',
  summary: 'print the peerings of this cluster and their events from the audit index (oldest first)',
  usage: 'peerlog history [remote-cluster-id] [--stack alpha|beta | --cluster-id ID --kafka-brokers B --database-url URL] [-o table|json]',
  flags: [
    ...configFlags(LOG_SETTINGS),
    { name: 'output', short: 'o', type: 'string', description: 'table or json', default: 'table' },
  ],
  async run({ flags, positionals }) {
    const output = String(flags.output);
    if (output !== 'table' && output !== 'json') throw new UsageError(`-o ${output}: expected table or json`);
    const config = loadConfig(sourceFrom(flags));
    const rt = await openRuntime(config, createLogger({ level: 'warn' }), { migrate: false });
    try {
      const remote = positionals[0];
      const { peerings, events } = await rt.queries.peeringHistory(remote);
      // The log is read back: its chain is verified whole, whichever peering is printed.
      const chain = await rt.queries.verifyChain();
      if (output === 'json') {
        process.stdout.write(JSON.stringify({ peerings, events, chain }, null, 2) + '\n');
        return chainVerdict(chain);
      }
      for (const p of peerings) {
        process.stdout.write(`${p.direction} ${p.remoteClusterId}${p.remoteClusterName && p.remoteClusterName !== p.remoteClusterId ? ` (${p.remoteClusterName})` : ''}: ${p.phase}, version ${p.streamVersion}\n`);
        for (const e of events.filter((x) => x.streamId === `${p.direction}-${p.remoteClusterId}`)) {
          process.stdout.write(`  ${e.occurredAt.toISOString()}  v${String(e.streamVersion).padEnd(4)} ${e.type.padEnd(24)} by ${e.actorKind}:${e.actorName}  ${e.hash.slice(0, 12)}\n`);
        }
      }
      if (peerings.length === 0) process.stderr.write(remote ? `no peering with ${remote}\n` : 'no peerings yet\n');
      return chainVerdict(chain);
    } finally {
      await rt.close();
    }
  },
};

/** Exit code 4, with the break named on stderr, when the log's hash chain does not hold. */
export function chainVerdict(chain: AuditChain): number {
  if (chain.valid) return 0;
  process.stderr.write(`peerlog: BrokenChain: ${chain.message}\n`);
  return 4;
}
