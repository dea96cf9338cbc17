// `peerlog peer` keeps the token off the command line: PEERLOG_PEER_TOKEN, --token-file or
// `--token -` (stdin) are taken silently; a literal `--token <value>` still works but warns that
// `ps` and shell history show it. Each run stores the token it was given in the Secret the
// ForeignCluster points at (read back with kubectl), then times out: no control plane follows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openConsumer, startProvider } from '../../support/auth.js';
import { stackEnv, uniqueName } from '../../support/env.js';

const BIN = join(process.cwd(), 'bin', 'peerlog');

function run(args: readonly string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...opts.env };
    if (!opts.env?.PEERLOG_PEER_TOKEN) delete env.PEERLOG_PEER_TOKEN;
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (status) => resolve({ status, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

test('peerlog peer takes the token from PEERLOG_PEER_TOKEN, --token-file or stdin without a word, and warns about a literal --token', async (t) => {
  const env = stackEnv();
  const provider = await startProvider({ prefix: 'ptok' });
  const consumer = await openConsumer('ptokc');
  const dir = mkdtempSync(join(tmpdir(), 'peerlog-token-'));
  const names: string[] = [];
  t.after(async () => {
    for (const n of names) spawnSync(env.kubectl, ['--kubeconfig', env.clusters.alpha.kubeconfig, 'delete', 'foreigncluster', n, '--ignore-not-found', '--wait=false']);
    spawnSync(env.kubectl, ['--kubeconfig', env.clusters.alpha.kubeconfig, 'delete', 'namespace', consumer.config.systemNamespace, '--ignore-not-found', '--wait=false']);
    rmSync(dir, { recursive: true, force: true });
    await consumer.cleanup();
    await provider.cleanup();
  });
  const c = consumer.config;
  const flags = ['--auth-url', provider.cp.url, '--timeout', '1', '--stack', 'alpha', '--cluster-id', c.clusterId, '--db-schema', c.dbSchema, '--namespace', c.systemNamespace];
  const stored = (name: string) => {
    const r = spawnSync(env.kubectl, ['--kubeconfig', env.clusters.alpha.kubeconfig, '-n', c.systemNamespace, 'get', 'secret', `peerlog-token-${name}`, '-o', 'jsonpath={.data.token}'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return Buffer.from(r.stdout, 'base64').toString('utf8');
  };
  const file = join(dir, 'beta.token');
  writeFileSync(file, `${provider.token}\n`, { mode: 0o600 });
  const cases: [string, string[], { env?: Record<string, string>; input?: string }, boolean][] = [
    ['PEERLOG_PEER_TOKEN', [], { env: { PEERLOG_PEER_TOKEN: provider.token } }, false],
    ['--token-file', ['--token-file', file], {}, false],
    ['--token - (stdin)', ['--token', '-'], { input: `${provider.token}\n` }, false],
    ['--token <value>', ['--token', provider.token], {}, true],
  ];
  for (const [how, extra, opts, warns] of cases) {
    const name = uniqueName('tok');
    names.push(name);
    const r = await run(['peer', name, ...extra, ...flags], opts);
    assert.match(r.stderr, /ForeignCluster \S+ applied/, `${how}: ${r.stderr}`);
    assert.equal(stored(name), provider.token, `${how}: the token stored is the one given`);
    const warning = /warning: a token given as --token <value> is visible in `ps` and kept in shell history; prefer PEERLOG_PEER_TOKEN, --token-file or --token -/;
    if (warns) assert.match(r.stderr, warning, how); else assert.doesNotMatch(r.stderr, /warning/, how);
    assert.ok(!r.stderr.includes(provider.token), `${how}: the token is not echoed`);
  }

  // Wrong uses are refused before anything is done, and say what to do.
  writeFileSync(join(dir, 'empty.token'), '\n');
  const refusals: [string[], { env?: Record<string, string>; input?: string }, RegExp][] = [
    [[], {}, /the provider's token is required: set PEERLOG_PEER_TOKEN, or give --token-file F or --token - \(stdin\)/],
    [['--token-file', join(dir, 'missing.token')], {}, /--token-file \S+missing\.token: ENOENT/],
    [['--token-file', join(dir, 'empty.token')], {}, /--token-file \S+empty\.token is empty/],
    [['--token', '-'], { input: '' }, /--token -: nothing on stdin/],
    [['--token-file', file, '--token', 'x'], {}, /give the token once: --token-file or --token, not both/],
  ];
  for (const [extra, opts, message] of refusals) {
    const r = await run(['peer', 'never', ...extra, ...flags], opts);
    assert.notEqual(r.status, 0, extra.join(' '));
    assert.match(r.stderr, message, extra.join(' '));
    assert.doesNotMatch(r.stderr, /ForeignCluster \S+ applied/);
  }
});
