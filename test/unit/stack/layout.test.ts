import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLayout } from '../../../src/stack/config.js';

// Linux's default net.ipv4.ip_local_port_range and Kubernetes' NodePort range, written out here.
const LINUX = { low: 32768, high: 60999 };
const outside = (p: number, r: { low: number; high: number }) => p < r.low || p > r.high;

function layoutWith(base: string | undefined) {
  const saved = process.env.PEERLOG_STACK_PORT_BASE;
  if (base === undefined) delete process.env.PEERLOG_STACK_PORT_BASE; else process.env.PEERLOG_STACK_PORT_BASE = base;
  try { return loadLayout(); } finally {
    if (saved === undefined) delete process.env.PEERLOG_STACK_PORT_BASE; else process.env.PEERLOG_STACK_PORT_BASE = saved;
  }
}

function allPorts(l: ReturnType<typeof loadLayout>): number[] {
  return [...Object.values(l.ports), ...Object.values(l.clusters).flatMap((c) => [c.apiserverPort, c.controllerManagerPort, c.schedulerPort, c.authPort, c.kwokPort, c.kubeletPort])];
}

test('the default layout keeps every port (auth endpoints included) out of the ephemeral and NodePort ranges', () => {
  const ports = allPorts(layoutWith(undefined));
  assert.equal(ports.length, 17);
  assert.equal(new Set(ports).size, 17, 'no two components share a port');
  for (const p of ports) {
    assert.ok(outside(p, LINUX), `${p} is outside 32768-60999`);
    assert.ok(outside(p, { low: 30000, high: 32767 }), `${p} is outside the NodePort range`);
    assert.ok(p >= 1024 && p <= 65535, `${p} is an unprivileged port`);
    assert.ok(![5432, 9092, 9093, 2379, 2380, 6443, 8080, 8443, 10250, 10257, 10259].includes(p), `${p} is no well-known service port`);
  }
});

test('a PEERLOG_STACK_PORT_BASE inside the ephemeral range or past 65535 is refused, naming the setting', () => {
  assert.throws(() => layoutWith('47000'), (e: Error) => /PEERLOG_STACK_PORT_BASE=47000/.test(e.message) && /ephemeral/.test(e.message) && /47032/.test(e.message));
  assert.throws(() => layoutWith('65000'), (e: Error) => /PEERLOG_STACK_PORT_BASE=65000/.test(e.message) && /above 65535/.test(e.message));
  assert.throws(() => layoutWith('abc'), /PEERLOG_STACK_PORT_BASE=abc is not a port number/);
  const l = layoutWith('26000');
  assert.equal(l.ports.postgres, 26032);
  assert.equal(l.clusters.beta.apiserverPort, 26444);
  assert.equal(l.clusters.alpha.authPort, 26601);
  assert.equal(l.clusters.beta.authPort, 26602);
  assert.equal(l.clusters.alpha.kwokPort, 26250);
  assert.equal(l.clusters.beta.kwokPort, 26251);
  assert.equal(l.clusters.alpha.kubeletPort, 26252);
  assert.equal(l.clusters.beta.kubeletPort, 26253);
});
