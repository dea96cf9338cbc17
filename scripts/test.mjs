#!/usr/bin/env node
// Runs the test suites from the compiled tree: unit tests (no I/O) first, then integration tests
// against the local stack, which is brought up when it is not already running.
//   node scripts/test.mjs            unit + integration
//   node scripts/test.mjs --unit     unit only
//   node scripts/test.mjs --integration [name-filter]
//   node scripts/test.mjs --faults   also the fault suite (CI-sized: 10 crash trials; Kafka, PostgreSQL and
//                                    kube-apiserver outages, which stop servers of this stack), after the integration tests
//   node scripts/test.mjs --full     the fault suite's long run (50 crash trials, 60 s outages)
// The fault suite (dist/test/faults) is opt-in until it has run green enough times to gate every
// change (PEERLOG_FAULTS=ci or full selects it too).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const only = args.find((a) => a === '--unit' || a === '--integration');
const full = args.includes('--full') || process.env.PEERLOG_FAULTS === 'full';
const faults = full || args.includes('--faults') || process.env.PEERLOG_FAULTS === 'ci';
const filter = args.find((a) => !a.startsWith('--'));

function testFiles(dir) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(testFiles(p));
    else if (name.endsWith('.test.js') && (!filter || p.includes(filter))) out.push(p);
  }
  return out;
}

function run(label, files, extraEnv = {}, concurrency = undefined) {
  if (files.length === 0) { console.error(`[test] no ${label} tests found`); return 0; }
  console.error(`[test] ${label}: ${files.length} files`);
  const flags = ['--test', '--test-reporter=spec'];
  if (concurrency !== undefined) flags.push(`--test-concurrency=${concurrency}`);
  const r = spawnSync(process.execPath, [...flags, ...files], {
    stdio: 'inherit', env: { ...process.env, ...extraEnv }, cwd: root,
  });
  return r.status ?? 1;
}

let status = 0;
if (only !== '--integration') {
  // No import cycles among the sources (scripts/check-imports.mjs names any it finds).
  const imports = spawnSync(process.execPath, [join(root, 'scripts/check-imports.mjs'), join(root, 'src')], { stdio: 'inherit', cwd: root });
  if (imports.status !== 0) process.exit(imports.status ?? 1);
  status = run('unit', testFiles(join(root, 'dist/test/unit')));
  if (status !== 0) process.exit(status);
}
if (only !== '--unit') {
  const cli = join(root, 'dist/src/stack/cli.js');
  const up = spawnSync(process.execPath, [cli, 'up'], { stdio: 'inherit', cwd: root });
  if (up.status !== 0) { console.error('[test] the local stack did not come up; see the messages above'); process.exit(up.status ?? 1); }
  // The demo's control planes would act on the tests' ForeignClusters and hold the stack's auth ports.
  spawnSync(process.execPath, [cli, 'planes-down'], { stdio: 'inherit', cwd: root });
  const env = spawnSync(process.execPath, [cli, 'env', '--json'], { cwd: root, encoding: 'utf8' });
  if (env.status !== 0) { console.error(env.stderr); process.exit(1); }
  // Integration files share one stack; running them one at a time keeps the 2-core machine responsive
  // and each file isolates itself with its own topic, schema or namespace.
  const stack = JSON.parse(env.stdout);
  status = run('integration', testFiles(join(root, 'dist/test/integration')), stack, 1);
  // The fault suite kills and restarts control planes for minutes: after the integration tests, and
  // each file on its own, so that one file's trials never share the machine with another's.
  for (const file of faults ? testFiles(join(root, 'dist/test/faults')) : []) {
    const s = run(`faults (${full ? 'full' : 'CI-sized'})`, [file], { ...stack, PEERLOG_FAULTS: full ? 'full' : 'ci' }, 1);
    if (status === 0) status = s;
  }
}
process.exit(status);
