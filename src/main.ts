// Entry point of the `peerlog` binary: wires the verbs and maps failures to exit codes.
import { runCli, type Verb } from './cli/index.js';
import { versionVerb } from './cli/version.js';
import { replayVerb } from './cli/replay.js';
import { historyVerb } from './cli/history.js';
import { serveVerb } from './cli/serve.js';
import { tokenVerb } from './cli/token.js';

const verbs: readonly Verb[] = [serveVerb, tokenVerb, historyVerb, replayVerb, versionVerb];

runCli(process.argv.slice(2), verbs).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    const err = e as { message?: string; code?: string };
    process.stderr.write(`peerlog: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
