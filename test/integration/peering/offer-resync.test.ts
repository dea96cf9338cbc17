// An offer whose recording fails once (the database refuses OfferReceived while the provider writes
// its offer) is recorded later by the same control plane, with no restart: the reconciler reads the
// offer from the watch's cache, and the queue's backoff and the periodic resync try again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { eventually, stackEnv } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, startPlane } from '../../support/peering.js';

function psql(sql: string): string {
  const r = spawnSync('psql', [stackEnv().databaseUrl, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('an offer not recorded because the database refused it is recorded once it accepts again: VirtualNodeReady with no restart', async (t) => {
  // A short resync so that the test waits seconds, not the default five minutes; the provider never
  // re-offers by itself (threshold 100%), so nothing but a retry can record the offer.
  const consumer = await startPlane('alpha', 'm8c', { resyncSeconds: 3 });
  const provider = await startPlane('beta', 'm8p', { offerThresholdPercent: 100 });
  const outbox = `${consumer.config.dbSchema}.peerlog_outbox`;
  const constraint = 'test_refuse_offer_received';
  t.after(async () => {
    spawnSync('psql', [stackEnv().databaseUrl, '-c', `alter table ${outbox} drop constraint if exists ${constraint}`]);
    await cleanupPlanes([consumer, provider]);
  });

  psql(`alter table ${outbox} add constraint ${constraint} check (type <> 'OfferReceived')`);
  const applied = consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  assert.equal(applied.status, 0, applied.stderr);

  // The provider has written its offer, and the consumer has tried to record it and failed.
  await eventually('the provider\'s offer issued', async () => (psql(`select count(*) from ${provider.config.dbSchema}.peerlog_outbox where type = 'OfferIssued'`) === '1' ? true : undefined), 30_000);
  await eventually('the consumer refused by the database while recording the offer', async () => (consumer.logs.lines.some((l) => l.includes(constraint)) ? true : undefined), 20_000);
  assert.equal(psql(`select count(*) from ${outbox} where type = 'OfferReceived'`), '0');
  const failedAt = Date.now();

  psql(`alter table ${outbox} drop constraint ${constraint}`);
  const types = await eventually('VirtualNodeReady in the consumer\'s log', async () => {
    const v = psql(`select string_agg(type, ',' order by stream_version) from ${outbox} where stream_id = 'outgoing-${provider.config.clusterId}'`);
    return v.endsWith('VirtualNodeReady') ? v : undefined;
  }, 30_000);
  t.diagnostic(`recorded ${Date.now() - failedAt} ms after the first failure: ${types}`);
  // Signed through the CSR API: the second IdentityRequested is the CSR with the CN the provider named.
  assert.deepEqual(types.split(','), ['PeeringRequested', 'IdentityRequested', 'IdentityRequested', 'CertIssued', 'ResourceRequested', 'OfferReceived', 'OfferAccepted', 'VirtualNodeCreated', 'VirtualNodeReady']);
  const node = consumer.kubectl(['get', 'node', `peerlog-${provider.config.clusterId}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  assert.equal(node.stdout, 'True');
});
