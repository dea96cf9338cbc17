// The leader election settings: client-go's defaults, kubectl-style durations from flags or
// PEERLOG_* variables, and timings that could let two replicas lead at once refused naming the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, sourceFrom } from '../../../src/config.js';

const base = { 'cluster-id': 'c1', 'kafka-brokers': '127.0.0.1:1', 'database-url': 'postgres://u@h:1/d' };
const load = (flags: Record<string, string>, env: Record<string, string> = {}) => loadConfig(sourceFrom({ ...base, ...flags }, env));

test('lease duration 15s, renew deadline 10s, retry period 2s by default', () => {
  assert.deepEqual(load({}).leaderElection, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
});

test('durations as kubectl writes them, from flags or PEERLOG_LEADER_ELECT_* variables', () => {
  assert.deepEqual(load({ 'leader-elect-lease-duration': '1m', 'leader-elect-renew-deadline': '40s', 'leader-elect-retry-period': '500ms' }).leaderElection,
    { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 500 });
  assert.deepEqual(load({}, { PEERLOG_LEADER_ELECT_LEASE_DURATION: '6s', PEERLOG_LEADER_ELECT_RENEW_DEADLINE: '4s', PEERLOG_LEADER_ELECT_RETRY_PERIOD: '1s' }).leaderElection,
    { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 });
});

test('a renew deadline not shorter than the lease duration, or a retry period with no room, is refused naming the setting', () => {
  assert.throws(() => load({ 'leader-elect-renew-deadline': '15s' }), (e: Error & { field?: string }) => e.field === 'leader-elect-lease-duration' && /more than the renew deadline/.test(e.message));
  assert.throws(() => load({ 'leader-elect-retry-period': '9s' }), (e: Error & { field?: string }) => e.field === 'leader-elect-renew-deadline');
  assert.throws(() => load({ 'leader-elect-lease-duration': 'soon' }), (e: Error & { field?: string }) => e.field === 'leader-elect-lease-duration' && /is not a duration/.test(e.message));
});
