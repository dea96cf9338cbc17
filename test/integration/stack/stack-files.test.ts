// The stack's files on a private state directory (no second stack is started): Kafka's storage
// format with a saved bad cluster id, and the files that name ports after the base changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadLayout } from '../../../src/stack/config.js';
import { components } from '../../../src/stack/components.js';

function privateLayout(dir: string, base: string) {
  process.env.PEERLOG_STACK_DIR = dir;
  process.env.PEERLOG_PG_DATA = join(dir, 'postgres');
  process.env.PEERLOG_STACK_PORT_BASE = base;
  return loadLayout();
}

function component(layout: ReturnType<typeof loadLayout>, name: string) {
  return components(layout).find((c) => c.name === name)!;
}

test('kafka: a saved cluster id starting with "-" (from an older version) no longer stops the storage format', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-stack-kafka-'));
  try {
    const layout = privateLayout(dir, '26000');
    mkdirSync(join(dir, 'kafka'), { recursive: true });
    writeFileSync(join(dir, 'kafka', 'cluster.id'), '-xCkYBRfQSqxWs3DAWO7zw');
    await component(layout, 'kafka').prepare();
    const meta = readFileSync(join(dir, 'kafka', 'data', 'meta.properties'), 'utf8');
    const id = /^cluster\.id=(.*)$/m.exec(meta)?.[1];
    assert.ok(id, `meta.properties has a cluster.id:\n${meta}`);
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    assert.equal(readFileSync(join(dir, 'kafka', 'cluster.id'), 'utf8').trim(), id, 'the saved id is the one formatted');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a changed PEERLOG_STACK_PORT_BASE rewrites the kubeconfigs and Kafka\'s server.properties with the new ports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-stack-ports-'));
  try {
    const serverOf = (cluster: string) => (parse(readFileSync(join(dir, 'clusters', cluster, 'admin.kubeconfig'), 'utf8')) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    let layout = privateLayout(dir, '26000');
    for (const n of ['kube-apiserver-alpha', 'kube-apiserver-beta']) await component(layout, n).prepare();
    assert.equal(serverOf('alpha'), 'https://127.0.0.1:26443');
    const caBefore = readFileSync(join(dir, 'clusters', 'alpha', 'pki', 'ca.crt'), 'utf8');
    await component(layout, 'kafka').prepare();
    layout = privateLayout(dir, '27000');
    for (const n of ['kube-apiserver-alpha', 'kube-apiserver-beta', 'kafka']) await component(layout, n).prepare();
    const props = readFileSync(join(dir, 'kafka', 'server.properties'), 'utf8');
    assert.match(props, /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:27092,CONTROLLER:\/\/127\.0\.0\.1:27093$/m);
    assert.match(props, /^controller\.quorum\.voters=1@127\.0\.0\.1:27093$/m);
    assert.equal(serverOf('alpha'), 'https://127.0.0.1:27443');
    assert.equal(serverOf('beta'), 'https://127.0.0.1:27444');
    assert.equal(readFileSync(join(dir, 'clusters', 'alpha', 'pki', 'ca.crt'), 'utf8'), caBefore, 'the PKI is kept');
    // The kubeconfig still authenticates with the kept admin certificate.
    const user = (parse(readFileSync(join(dir, 'clusters', 'alpha', 'admin.kubeconfig'), 'utf8')) as { users: { user: Record<string, string> }[] }).users[0]!.user;
    assert.equal(Buffer.from(user['client-certificate-data']!, 'base64').toString(), readFileSync(join(dir, 'clusters', 'alpha', 'pki', 'admin.crt'), 'utf8'));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
