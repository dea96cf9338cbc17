// The /metrics endpoint's settings: off unless a port is given (flag or PEERLOG_METRICS_PORT), 0 for
// any free port, on 127.0.0.1 unless told otherwise; a bad value stops the start naming the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, sourceFrom } from '../../../src/config.js';

const base = { 'cluster-id': 'c1', 'kafka-brokers': '127.0.0.1:1', 'database-url': 'postgres://u@h:1/d' };
const load = (flags: Record<string, string>, env: Record<string, string> = {}) => loadConfig(sourceFrom({ ...base, ...flags }, env));
const metrics = (c: ReturnType<typeof load>) => ({ port: c.metricsPort, host: c.metricsHost });
const refused = (setting: string, text: RegExp) => (e: Error & { field?: string }) => e.field === setting && e.message.startsWith(`setting ${setting}: `) && text.test(e.message);

test('no metrics endpoint unless a port is set; flag over variable; 0 is any free port', () => {
  assert.deepEqual(metrics(load({})), { port: undefined, host: '127.0.0.1' });
  assert.deepEqual(metrics(load({}, { PEERLOG_METRICS_PORT: '9464', PEERLOG_METRICS_HOST: '0.0.0.0' })), { port: 9464, host: '0.0.0.0' });
  assert.deepEqual(metrics(load({ 'metrics-port': '9465' }, { PEERLOG_METRICS_PORT: '9464' })), { port: 9465, host: '127.0.0.1' });
  assert.deepEqual(metrics(load({ 'metrics-port': '0' })), { port: 0, host: '127.0.0.1' });
});

test('a metrics port that is not a port, or another endpoint\'s, and a host that is not an address are refused', () => {
  assert.throws(() => load({ 'metrics-port': 'x' }), refused('metrics-port', /"x" is not a TCP port/));
  assert.throws(() => load({ 'metrics-port': '70000' }), refused('metrics-port', /"70000" is not a TCP port/));
  assert.throws(() => load({ 'metrics-port': '10250' }), refused('metrics-port', /10250 is the kubelet API's port too/));
  assert.throws(() => load({ 'metrics-port': '9000', 'auth-port': '9000' }), refused('metrics-port', /9000 is the authentication endpoint's port too/));
  assert.throws(() => load({ 'metrics-port': '9464', 'metrics-host': 'my host' }), refused('metrics-host', /"my host" is not an IP address/));
});
