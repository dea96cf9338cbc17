import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBase, parseEphemeralRange, portAdditions, portChanges, portsFor } from '../../../src/stack/ports.js';

// Linux's default net.ipv4.ip_local_port_range, written out here.
const LINUX = { low: 32768, high: 60999 };

test('the base is checked against the range this machine reports, not a fixed one', () => {
  assert.deepEqual(parseEphemeralRange('32768\t60999\n'), LINUX);
  assert.deepEqual(parseEphemeralRange('10000 20000'), { low: 10000, high: 20000 });
  assert.deepEqual(parseEphemeralRange('garbage'), LINUX);
  assert.equal(chooseBase(undefined, LINUX), 24000);
  // A machine whose ephemeral range covers the first default gets the next one.
  assert.equal(chooseBase(undefined, { low: 20000, high: 32000 }), 62000);
  assert.throws(() => chooseBase('24000', { low: 20000, high: 32000 }), /PEERLOG_STACK_PORT_BASE=24000 .*ephemeral port range 20000-32000/);
  assert.throws(() => chooseBase(undefined, { low: 1024, high: 65535 }), /set PEERLOG_STACK_PORT_BASE/);
  assert.equal(chooseBase('61000', LINUX), 61000);
  // A base whose ports straddle the range's low end: only the auth ports (32901, 32902) are inside it.
  assert.throws(() => chooseBase('32300', LINUX), (e: Error) => /authAlpha 32901, authBeta 32902 inside/.test(e.message) && !/32332/.test(e.message));
});

test('portChanges lists each port that moved, and nothing when the base is the same', () => {
  assert.deepEqual(portChanges(portsFor(24000), portsFor(24000)), []);
  const moved = portChanges(portsFor(47000), portsFor(24000));
  assert.equal(moved.length, 19);
  assert.ok(moved.includes('postgres 47032 → 24032'));
  assert.ok(moved.includes('authBeta 47602 → 24602'));
  assert.ok(moved.includes('kwokBeta 47251 → 24251'));
  assert.ok(moved.includes('kubeletBeta 47253 → 24253'));
});

test('a port the record does not name is an addition, not a move: nothing holds it', () => {
  // A record made before kwok had a server: the same base, without the kwok ports.
  const { kwokAlpha: _a, kwokBeta: _b, ...older } = portsFor(24000);
  assert.deepEqual(portChanges(older, portsFor(24000)), []);
  assert.deepEqual(portAdditions(older, portsFor(24000)), ['kwokAlpha 24250', 'kwokBeta 24251']);
  assert.deepEqual(portAdditions(portsFor(24000), portsFor(24000)), []);
  // A record made before the virtual nodes' kubelet API had stack ports: only recorded, nothing restarts.
  const { kubeletAlpha: _ka, kubeletBeta: _kb, ...beforeKubelet } = portsFor(24000);
  assert.deepEqual(portChanges(beforeKubelet, portsFor(24000)), []);
  assert.deepEqual(portAdditions(beforeKubelet, portsFor(24000)), ['kubeletAlpha 24252', 'kubeletBeta 24253']);
  // Moved and added at once: the moves are listed, the additions apart.
  assert.equal(portChanges(portsFor(26000), portsFor(24000)).length, 19);
  assert.equal(portChanges({ ...older, postgres: 26032 }, portsFor(24000)).length, 1);
});
