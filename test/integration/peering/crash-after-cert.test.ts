// Issue 12: a consumer's control plane killed with SIGKILL right after CertIssued completes the
// peering when it is started again. alpha's control plane runs as `peerlog serve` in a child process;
// the test polls its outbox and kills it the moment the outgoing stream holds CertIssued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { clusterConfig, dropLog } from '../../support/auth.js';
import { eventually, stackEnv } from '../../support/env.js';
import { logClient, outboxRows } from '../../support/log.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../../support/peering.js';
import { startServe, type ServeChild } from '../../support/serve.js';
import { tenantNamespaceFor } from '../../../src/resources/names.js';

interface Cond { type: string; status: string; reason: string }

test('alpha\'s control plane killed with SIGKILL right after CertIssued: restarted, it completes the peering without asking for a second identity', async (t) => {
  const env = stackEnv();
  const provider = await startPlane('beta', 'ccprov');
  const config = clusterConfig('alpha', 'cccons');
  const consumer = { config, fcLabel: { 'peerlog.dev/test': config.clusterId } };
  const kubectl = (args: readonly string[], input?: string) => spawnSync(env.kubectl, ['--kubeconfig', env.clusters.alpha.kubeconfig, ...args], { input, encoding: 'utf8' });
  const fcName = provider.config.clusterId;
  const nodeName = `peerlog-${provider.config.clusterId}`;
  const stream = `outgoing-${provider.config.clusterId}`;
  const db = await logClient(config);
  let serve: ServeChild | undefined;
  t.after(async () => {
    await serve?.stop();
    await db.end();
    kubectl(['patch', 'foreigncluster', fcName, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    kubectl(['delete', 'foreigncluster', fcName, '--wait=false', '--ignore-not-found']);
    kubectl(['delete', 'node', nodeName, '--wait=false', '--ignore-not-found']);
    for (const ns of [config.systemNamespace, tenantNamespaceFor(provider.config.clusterId)]) kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    for (const name of provider.kubectl(['get', 'foreignclusters', '-l', `peerlog.dev/remote-cluster-id=${config.clusterId}`, '-o', 'name']).stdout.split('\n').filter(Boolean)) {
      provider.kubectl(['patch', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      provider.kubectl(['delete', name, '--wait=false', '--ignore-not-found']);
    }
    provider.kubectl(['delete', 'namespace', tenantNamespaceFor(config.clusterId), '--wait=false', '--ignore-not-found']);
    // The consumer's schema and topic, dropped through the provider's Kafka client (same brokers).
    await dropLog(config, provider.cp.runtime);
    await cleanupPlanes([provider]);
  });
  const conditions = (): Cond[] => {
    const r = kubectl(['get', 'foreigncluster', fcName, '-o', 'json']);
    return r.status === 0 ? ((JSON.parse(r.stdout) as { status?: { conditions?: Cond[] } }).status?.conditions ?? []) : [];
  };

  // 1. alpha's control plane as a process of its own; the ForeignCluster applied once it is ready.
  serve = startServe(config);
  await eventually('alpha\'s control plane ready', async () => (serve!.lines.some((l) => l.includes('"control plane ready"')) ? true : undefined), 60_000);
  const applied = kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  assert.equal(applied.status, 0, applied.stderr);

  // 2. Killed the moment CertIssued is in the outgoing stream's outbox.
  const atKill = await eventually('CertIssued in alpha\'s outbox', async () => {
    const rows = await outboxRows(db, stream);
    if (!rows.some((r) => r.type === 'CertIssued')) return undefined;
    serve!.child.kill('SIGKILL');
    return rows;
  }, 60_000);
  assert.equal(await serve.exited, 'SIGKILL');
  const afterKill = (await outboxRows(db, stream)).map((r) => r.type);
  t.diagnostic(`at the kill the stream held ${atKill.map((r) => r.type).join(', ')}; once dead: ${afterKill.join(', ')}`);

  // 3. Started again on the same log: the peering completes.
  serve = startServe(config);
  const ready = await eventually('VirtualNodeReady True on alpha\'s ForeignCluster', async () => {
    const c = conditions().find((x) => x.type === 'VirtualNodeReady');
    return c?.status === 'True' ? c : undefined;
  }, 120_000);
  assert.equal(ready.reason, 'NodeReady');
  await eventually('the virtual node Ready', async () => {
    const r = kubectl(['get', 'node', nodeName, '-o', 'json']);
    if (r.status !== 0) return undefined;
    return ((JSON.parse(r.stdout) as { status?: { conditions?: Cond[] } }).status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
  }, 30_000);

  // 4. The outgoing stream: versions 1..n with no gap, and one peering told once. What a retry after
  //    the kill may legitimately add: more offer pairs (an offer read again, or updated), and
  //    ProviderHealthChanged records. What it may not: a second PeeringRequested, another pair of
  //    IdentityRequested (one authentication through the CSR API asks twice: the plain CSR, answered
  //    409 SubjectRequired, then the one with the lifetime's CN) or a second CertIssued (the identity
  //    is in the log and its Secret was written before CertIssued), an
  //    AuthenticationFailed, a second ResourceRequested, VirtualNodeCreated or VirtualNodeReady.
  const rows = await outboxRows(db, stream);
  assert.deepEqual(rows.map((r) => r.streamVersion), rows.map((_, i) => i + 1), 'contiguous versions');
  const told = rows.map((r) => r.type).filter((x) => x !== 'ProviderHealthChanged').join(' ');
  assert.match(told, /^PeeringRequested IdentityRequested IdentityRequested CertIssued ResourceRequested (OfferReceived OfferAccepted )+VirtualNodeCreated (OfferReceived OfferAccepted )*VirtualNodeReady( OfferReceived OfferAccepted)*$/, told);
  // The provider issued one identity: the restart asked for none.
  const providerDb = await logClient(provider.config);
  try {
    const incoming = (await outboxRows(providerDb, `incoming-${config.clusterId}`)).map((r) => r.type);
    assert.deepEqual(incoming.slice(0, 2), ['TokenValidated', 'CertIssued']);
    assert.equal(incoming.filter((x) => x === 'CertIssued').length, 1, incoming.join(' '));
    assert.equal(incoming.filter((x) => x === 'TokenValidated').length, 1, incoming.join(' '));
  } finally { await providerDb.end(); }
});
