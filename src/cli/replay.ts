// `peerlog replay`: rebuilds this cluster's read models from offset 0 of its Kafka log.
import { configFlags, loadConfig, LOG_SETTINGS, sourceFrom } from '../config.js';
import { openRuntime } from '../runtime.js';
import { createLogger } from '../adapters/log/index.js';
import { acquireProjectionLock } from '../projections/runner.js';
import { createReadModelProjection } from '../projections/read-models/index.js';
import { streamFolder } from '../projections/read-models/folder.js';
import { chainVerdict } from './history.js';
import type { Verb } from './index.js';

export const replayVerb: Verb = {
  name: 'replay',
  summary: 'rebuild the read models (peerings, audit index, aggregate states) from offset 0 of the log',
  usage: 'peerlog replay [--stack alpha|beta | --cluster-id ID --kafka-brokers B --database-url URL] [--timeout DURATION]',
  flags: [
    ...configFlags(LOG_SETTINGS),
    { name: 'timeout', type: 'duration', description: 'give up after this long', default: 600 },
  ],
  async run({ flags }) {
    const config = loadConfig(sourceFrom(flags));
    const logger = createLogger({ level: 'warn' });
    const rt = await openRuntime(config, logger);
    const started = Date.now();
    try {
      const projection = createReadModelProjection(streamFolder);
      const lock = await acquireProjectionLock(config.databaseUrl, config.dbSchema, projection.name);
      const generation = await rt.resetProjection(projection);
      process.stderr.write(`replaying ${config.clusterId}'s log into schema ${config.dbSchema} (generation ${generation})\n`);
      const runner = rt.projection(projection, { heldLock: lock });
      await runner.start();
      try {
        await runner.caughtUp(Number(flags.timeout) * 1000);
      } finally {
        await runner.stop();
      }
      const seconds = (Date.now() - started) / 1000;
      const s = runner.stats;
      process.stdout.write(`replayed ${s.applied} events (${s.duplicates} duplicates skipped, ${s.deadLetters} dead letters) in ${seconds.toFixed(1)} s\n`);
      const broken = chainVerdict(await rt.queries.verifyChain());
      return broken !== 0 ? broken : s.deadLetters > 0 ? 3 : 0;
    } finally {
      await rt.close();
    }
  },
};
