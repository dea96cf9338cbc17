// `peerlog version`: the CLI's version and the runtime it runs on.
import { readFileSync } from 'node:fs';
import type { Verb } from './index.js';

export const versionVerb: Verb = {
  name: 'version',
  summary: 'print the peerlog version',
  usage: 'peerlog version',
  flags: [],
  async run() {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`peerlog ${pkg.version} (node ${process.version})\n`);
    return 0;
  },
};
