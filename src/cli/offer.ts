// `peerlog offer [list] | accept <name> | refuse <name>`: the offers this cluster received as a
// consumer, and the user's decision on one (with --offer-acceptance manual on the control plane).
import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { createLogger } from '../adapters/log/index.js';
import { openRuntime } from '../runtime.js';
import { UsageError } from './args.js';
import { OUTPUT_FLAG, outputFormat, printData } from './output.js';
import type { Verb } from './index.js';

export const offerVerb: Verb = {
  name: 'offer',
  summary: 'list the offers received from providers, or accept or refuse one by name',
  usage: 'peerlog offer [list | accept <offer-name> | refuse <offer-name>] [-o table|json|yaml] [--stack alpha|beta | config flags]',
  flags: [...configFlags(LOG_SETTINGS), OUTPUT_FLAG],
  async run({ flags, positionals }) {
    const [action = 'list', offerName] = positionals;
    if (!['list', 'accept', 'refuse'].includes(action)) throw new UsageError(`unknown action ${action}: expected list, accept or refuse`);
    if (action !== 'list' && !offerName) throw new UsageError(`peerlog offer ${action} needs the offer's name (see peerlog offer list)`);
    const format = outputFormat(flags.output);
    const config = loadConfig(sourceFrom(flags));
    // Listing reads only: it leaves the schema as it finds it. A decision is a command, so it migrates.
    const rt = await openRuntime(config, createLogger({ level: 'error' }), { migrate: action !== 'list' });
    try {
      const offers = await rt.queries.listReceivedOffers();
      if (action === 'list') {
        printData(format, offers, () => offers.length === 0 ? 'no offers received' : offers.map((o) =>
          `${o.offerName.padEnd(30)} from ${o.remoteClusterId.padEnd(20)} gen ${String(o.generation).padEnd(4)} ${o.status.padEnd(20)} ${o.resources.cpu} CPU, ${o.resources.memory}, ${o.resources.pods} pods`).join('\n'));
        return 0;
      }
      const offer = offers.find((o) => o.offerName === offerName);
      if (!offer) { process.stderr.write(`peerlog offer: no received offer named ${offerName}\n`); return 1; }
      const metadata = { now: new Date().toISOString(), actor: { kind: 'cli' as const, name: (() => { try { return userInfo().username; } catch { return 'unknown'; } })() }, correlationId: randomUUID(), commandId: randomUUID() };
      const handled = action === 'accept'
        ? await rt.bus.outgoing(offer.remoteClusterId, { type: 'AcceptOffer', data: { offerName: offer.offerName, generation: offer.generation }, metadata })
        : await rt.bus.outgoing(offer.remoteClusterId, { type: 'RefuseOffer', data: { offerName: offer.offerName, generation: offer.generation, reason: 'UserRefused' }, metadata });
      const verb = action === 'accept' ? 'accepted' : 'refused';
      process.stdout.write(handled.events.length > 0 ? `offer ${offer.offerName} (generation ${offer.generation}) ${verb}\n` : `offer ${offer.offerName} was already ${verb}\n`);
      return 0;
    } finally {
      await rt.close();
    }
  },
};
