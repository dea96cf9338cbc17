// `peerlog serve`: runs this cluster's control plane until SIGINT or SIGTERM.
import { ALL_SETTINGS, configFlags, loadConfig, sourceFrom } from '../config.js';
import { createLogger, type Level } from '../adapters/log/index.js';
import { startControlPlane } from '../control-plane.js';
import { UsageError } from './args.js';
import type { Verb } from './index.js';

const LEVELS = ['debug', 'info', 'warn', 'error'];
const STOP_GRACE_MS = 15_000;

export const serveVerb: Verb = {
  name: 'serve',
  summary: 'run this cluster\'s control plane: log relay, projections, CRDs, and the HTTPS authentication endpoint',
  usage: 'peerlog serve [--stack alpha|beta | --cluster-id ID --kubeconfig F --kafka-brokers B --database-url URL --auth-port P --ca-cert F [--ca-key F] ...]',
  flags: [
    ...configFlags(ALL_SETTINGS),
    { name: 'log-level', type: 'string', description: 'debug, info, warn or error (env PEERLOG_LOG_LEVEL)', default: process.env.PEERLOG_LOG_LEVEL ?? 'info' },
  ],
  async run({ flags }) {
    const level = String(flags['log-level']);
    if (!LEVELS.includes(level)) throw new UsageError(`--log-level ${level}: expected ${LEVELS.join(', ')}`);
    const config = loadConfig(sourceFrom(flags), { kubernetes: true, ca: true });
    const logger = createLogger({ level: level as Level, fields: { clusterId: config.clusterId } });
    const cp = await startControlPlane(config, logger);
    await new Promise<void>((resolve) => {
      const done = (signal: string) => {
        logger.info('stopping', { signal });
        // A second signal means now.
        process.once(signal as NodeJS.Signals, () => { logger.warn('stopping at once', { signal }); process.exit(130); });
        resolve();
      };
      process.once('SIGINT', () => done('SIGINT'));
      process.once('SIGTERM', () => done('SIGTERM'));
    });
    // Stopping waits for in-flight work; a dependency that vanished must not make it hang.
    const stopped = await Promise.race([cp.stop().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), STOP_GRACE_MS).unref())]);
    if (!stopped) logger.warn('stop did not finish in time; exiting anyway', { graceMs: STOP_GRACE_MS });
    logger.info('stopped');
    return 0;
  },
};
