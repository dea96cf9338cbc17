// A wrong token, a provider that cannot be reached, a provider refusing incoming peerings: the
// ForeignCluster condition and the CLI say so, and nothing partial is left on the provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tenantNamespaceFor } from '../../../src/resources/names.js';
import { outboxEvents } from '../../support/core.js';
import { eventually } from '../../support/env.js';
import { cleanupPlanes, foreignClusterManifest, peerlog, planeFlags, startPlane, type Plane } from '../../support/peering.js';
import { driversOf } from '../../../src/runtime.js';

interface Cond { type: string; status: string; reason: string; message: string }

async function condition(consumer: Plane, name: string, type: string, reason: string): Promise<Cond> {
  return eventually(`${type}=${reason} on ${name}`, async () => {
    const r = consumer.kubectl(['get', 'foreigncluster', name, '-o', 'jsonpath={.status.conditions}']);
    const c = (r.stdout ? JSON.parse(r.stdout) as Cond[] : []).find((x) => x.type === type);
    return c?.reason === reason ? c : undefined;
  }, 20_000);
}

/**
 * A definitive refusal is asked once: a few seconds later the consumer's log still holds one
 * IdentityRequested and one AuthenticationFailed (no new attempt until the ForeignCluster or its
 * token Secret changes; retrying would only spend the provider's failure limiter).
 */
async function askedOnce(consumer: Plane, provider: Plane): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
  const types = (await outboxEvents(consumer.cp.runtime)).filter((e) => e.streamId === `outgoing-${provider.config.clusterId}`).map((e) => e.type);
  assert.deepEqual(types.filter((t) => t === 'IdentityRequested' || t === 'AuthenticationFailed'), ['IdentityRequested', 'AuthenticationFailed'], types.join(', '));
}

async function nothingLeftOn(provider: Plane, consumer: Plane): Promise<void> {
  assert.notEqual(provider.kubectl(['get', 'namespace', tenantNamespaceFor(consumer.config.clusterId)]).status, 0, 'no tenant namespace on the provider');
  const issued = await driversOf(provider.cp.runtime).ds.query('select count(*)::int as n from peerlog_issued_certificates') as { n: number }[];
  assert.equal(issued[0]!.n, 0, 'no certificate issued');
  assert.ok(!(await outboxEvents(provider.cp.runtime)).some((e) => e.type === 'CertIssued'));
}

test('wrong token: AuthenticationFailed with the provider\'s reason on the ForeignCluster; nothing left on the provider', async (t) => {
  const consumer = await startPlane('alpha', 'c');
  const provider = await startPlane('beta', 'p');
  t.after(() => cleanupPlanes([consumer, provider]));

  consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider, { token: 'W'.repeat(43) }));
  const auth = await condition(consumer, provider.config.clusterId, 'Authenticated', 'AuthenticationFailed');
  assert.equal(auth.status, 'False');
  assert.match(auth.message, /401 TokenRejected \(TokenMismatch\)/);
  const out = await condition(consumer, provider.config.clusterId, 'OutgoingPeering', 'AuthenticationFailed');
  assert.equal(out.status, 'False');
  assert.match(consumer.kubectl(['get', 'foreigncluster', provider.config.clusterId]).stdout, /AuthenticationFailed/);
  await askedOnce(consumer, provider);
  await nothingLeftOn(provider, consumer);
});

test('wrong token through `peerlog peer`: exit 1 naming the step and the provider\'s reason', async (t) => {
  const consumer = await startPlane('alpha', 'c');
  const provider = await startPlane('beta', 'p');
  t.after(() => cleanupPlanes([consumer, provider]));
  // The test's control plane acts only on labelled ForeignClusters: label it first, `peer` fills in the rest.
  const labels = Object.entries(consumer.fcLabel).map(([k, v]) => `    ${k}: "${v}"`).join('\n');
  consumer.kubectl(['apply', '-f', '-'], `apiVersion: peering.peerlog.dev/v1alpha1\nkind: ForeignCluster\nmetadata:\n  name: wrong\n  labels:\n${labels}\nspec:\n  clusterId: ${provider.config.clusterId}\n  outgoing: Disabled\n`);
  const r = await peerlog(['peer', 'wrong', '--auth-url', provider.cp.url, '--token', 'V'.repeat(43), '--timeout', '30', ...planeFlags(consumer)]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /AuthenticationFailed\s+authentication failed: TokenRejected \(HTTP 401\)/);
  assert.match(r.stderr, /peerlog peer: step Authentication failed: TokenRejected: .*TokenMismatch/);
  await nothingLeftOn(provider, consumer);
});

test('unreachable provider: ProviderUnreachable with the address tried, from the condition and the CLI', async (t) => {
  const consumer = await startPlane('alpha', 'c');
  const provider = await startPlane('beta', 'p');
  t.after(() => cleanupPlanes([consumer, provider]));
  const dead = 'https://127.0.0.1:9';

  consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider, { authUrl: dead }));
  const cond = await condition(consumer, provider.config.clusterId, 'Authenticated', 'ProviderUnreachable');
  assert.match(cond.message, /127\.0\.0\.1:9/);
  await nothingLeftOn(provider, consumer);

  const r = await peerlog(['peer', 'gone', '--auth-url', dead, '--token', provider.token, ...planeFlags(consumer)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /step Reach the provider failed: ProviderUnreachable: .*127\.0\.0\.1:9.*ECONNREFUSED/);
});

test('a provider with incoming Disabled refuses with a clear reason', async (t) => {
  const consumer = await startPlane('alpha', 'c');
  const provider = await startPlane('beta', 'p');
  t.after(() => cleanupPlanes([consumer, provider]));

  // The provider's own ForeignCluster for the consumer says incoming: Disabled.
  provider.kubectl(['apply', '-f', '-'], foreignClusterManifest(provider, consumer, { incoming: 'Disabled', outgoing: 'Disabled' }).split('---')[1]!);
  await eventually('the provider sees its ForeignCluster', async () => (provider.cp.operator.incomingAllowed(consumer.config.clusterId) ? undefined : true), 10_000);
  consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider));
  const cond = await condition(consumer, provider.config.clusterId, 'Authenticated', 'AuthenticationFailed');
  assert.match(cond.message, /403 PolicyRefused \(IncomingDisabled\)/);
  assert.match(cond.message, /does not accept incoming peerings/);
  await askedOnce(consumer, provider);
  await nothingLeftOn(provider, consumer);
});

test('a ForeignCluster cannot make the operator read a Secret outside its namespace, or send what is not a token', async (t) => {
  const consumer = await startPlane('alpha', 'c');
  const provider = await startPlane('beta', 'p');
  t.after(() => cleanupPlanes([consumer, provider]));

  const elsewhere = foreignClusterManifest(consumer, provider).split('---')[1]!.replace(`namespace: ${consumer.config.systemNamespace}`, 'namespace: kube-system');
  consumer.kubectl(['apply', '-f', '-'], elsewhere);
  const c1 = await condition(consumer, provider.config.clusterId, 'Authenticated', 'TokenSecretNotAllowed');
  assert.match(c1.message, /must name a Secret in/);

  consumer.kubectl(['apply', '-f', '-'], foreignClusterManifest(consumer, provider, { token: 'hunter2 is not a token' }));
  const c2 = await condition(consumer, provider.config.clusterId, 'Authenticated', 'TokenMalformed');
  assert.match(c2.message, /nothing was sent/);
  // The provider heard nothing at all.
  assert.deepEqual((await outboxEvents(provider.cp.runtime)).filter((e) => e.streamId === `incoming-${consumer.config.clusterId}`), []);
});
