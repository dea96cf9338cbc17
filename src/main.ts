// Entry point of the `peerlog` binary: wires the verbs and maps failures to exit codes.
import { runCli, type Verb } from './cli/index.js';
import { versionVerb } from './cli/version.js';
import { replayVerb } from './cli/replay.js';
import { historyVerb } from './cli/history.js';
import { serveVerb } from './cli/serve.js';
import { tokenVerb } from './cli/token.js';
import { peerVerb } from './cli/peer.js';
import { unpeerVerb } from './cli/unpeer.js';
import { statusVerb } from './cli/status.js';
import { offerVerb } from './cli/offer.js';
import { auditVerb } from './cli/audit.js';

// Process warnings become JSON log lines like everything else on stderr. kafkajs 2.2.4 asks for a
// negative timeout when a broker response carries no throttle time, which Node 24 reports as a
// TimeoutNegativeWarning (and clamps to 1 ms, the intended behaviour): that one says nothing to users.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name === 'TimeoutNegativeWarning') return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'node warning', name: w.name, warning: w.message })}\n`);
});

const verbs: readonly Verb[] = [serveVerb, tokenVerb, peerVerb, unpeerVerb, statusVerb, offerVerb, historyVerb, replayVerb, auditVerb, versionVerb];

// A verb that has returned is done: whatever a client library left running (a retry timer, a
// socket) must not keep the process alive, but stdout gets a moment to drain into a pipe.
const exitSoon = () => { setTimeout(() => process.exit(), 3000).unref(); };

runCli(process.argv.slice(2), verbs).then(
  (code) => { process.exitCode = code; exitSoon(); },
  (e: unknown) => {
    const err = e as { message?: string; code?: string };
    process.stderr.write(`peerlog: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    process.exitCode = 1;
    exitSoon();
  },
);
