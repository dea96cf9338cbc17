import { test } from 'node:test';
import assert from 'node:assert/strict';
import { criLogLine, forgeKwokConfig } from '../../../src/stack/kwok.js';
import { argsDiff } from '../../../src/stack/proc.js';

test('kwok\'s configuration: log handlers on, profiling off, and a ClusterLogs that every pod matches', () => {
  assert.equal(forgeKwokConfig('/state/clusters/beta/kwok/default.log'), [
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
    '  - logsFile: "/state/clusters/beta/kwok/default.log"',
    '',
  ].join('\n'));
});

test('a CRI log line: time, stream, F(ull) tag, text', () => {
  assert.equal(criLogLine('hello', new Date(Date.UTC(2026, 11, 2, 14, 0, 0))), '2026-12-02T14:00:00.000Z stdout F hello\n');
  assert.equal(criLogLine('oops', new Date(0), 'stderr'), '1970-01-01T00:00:00.000Z stderr F oops\n');
});

test('argsDiff names the arguments a running process lacks and those it has no more', () => {
  assert.deepEqual(argsDiff(['/bin/x', '--a=1', '--b'], ['/bin/x', '--a=1', '--b']), []);
  assert.deepEqual(argsDiff(['/bin/x', '--a=1', '--server-address='], ['/bin/x', '--a=1', '--server-address=127.0.0.1:24251', '--node-port=24251']),
    ['+--server-address=127.0.0.1:24251', '+--node-port=24251', '---server-address=']);
  assert.deepEqual(argsDiff(['/bin/x', '--b', '--a'], ['/bin/x', '--a', '--b']), ['(the same arguments in another order)']);
});
