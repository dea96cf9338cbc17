import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFlags, parseArgs } from '../../../src/cli/args.js';
import { peerVerb } from '../../../src/cli/peer.js';
import { replayVerb } from '../../../src/cli/replay.js';
import { loadConfig, sourceFrom } from '../../../src/config.js';

const cases: [string, number][] = [
  ['120', 120], ['120s', 120], ['90s', 90], ['2m', 120], ['1h', 3600], ['1h30m', 5400], ['500ms', 0.5], ['1.5s', 1.5],
  ['2m30s', 150], ['1.5', 1.5], ['0', 0], ['1500000us', 1.5],
];

for (const verb of [peerVerb, replayVerb]) {
  test(`peerlog ${verb.name} --timeout takes kubectl-style durations and plain seconds`, () => {
    for (const [text, seconds] of cases) {
      assert.equal(parseArgs(['beta', '--timeout', text], verb.flags).flags.timeout, seconds, text);
      assert.equal(parseArgs([`--timeout=${text}`], verb.flags).flags.timeout, seconds, `--timeout=${text}`);
    }
  });
  test(`peerlog ${verb.name} --timeout refuses a bad duration naming the flag and the accepted forms`, () => {
    for (const bad of ['2 minutes', '1d', '-5s', 's', '1h-30m', '', '10sec', '5m3']) {
      assert.throws(() => parseArgs(['--timeout', bad], verb.flags),
        (e: Error & { code?: string }) => e.code === 'Usage' && e.message.includes(`flag --timeout: ${JSON.stringify(bad)} is not a duration`)
          && e.message.includes('90s') && e.message.includes('1h30m') && e.message.includes('500ms'), bad);
    }
  });
}

test('--help shows the duration forms of --timeout', () => {
  const help = formatFlags(peerVerb.flags);
  const line = help.split('\n').find((l) => l.includes('--timeout'))!;
  assert.match(line, /<duration>/);
  assert.match(line, /default 120s/);
  assert.match(line, /90s, 2m/);
});

test('auth-failure-refill-seconds (flag and PEERLOG_AUTH_FAILURE_REFILL_SECONDS) takes durations too', () => {
  const base = { 'cluster-id': 'c1', 'kafka-brokers': '127.0.0.1:1', 'database-url': 'postgres://u@h:1/d' };
  assert.equal(loadConfig(sourceFrom({ ...base, 'auth-failure-refill-seconds': '500ms' }, {})).authFailureRefillSeconds, 0.5);
  assert.equal(loadConfig(sourceFrom({ ...base, 'auth-failure-refill-seconds': '6' }, {})).authFailureRefillSeconds, 6);
  assert.equal(loadConfig(sourceFrom(base, { PEERLOG_AUTH_FAILURE_REFILL_SECONDS: '1m' })).authFailureRefillSeconds, 60);
  assert.throws(() => loadConfig(sourceFrom(base, { PEERLOG_AUTH_FAILURE_REFILL_SECONDS: 'soon' })),
    (e: Error & { field?: string }) => /auth-failure-refill-seconds/.test(e.message) && /not a duration/.test(e.message) && /1h30m/.test(e.message));
});
