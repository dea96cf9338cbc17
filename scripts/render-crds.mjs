#!/usr/bin/env node
// Writes deploy/kustomize/base/crds.yaml from the CRDs `peerlog serve` installs (src/resources/crds.ts),
// so the manifests never drift from the code; `--check` only says whether the file is current.
// Run after a build: node scripts/prepare.mjs && node scripts/render-crds.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderCrdManifest } = await import(join(root, 'dist', 'src', 'resources', 'manifest.js'));
const file = join(root, 'deploy', 'kustomize', 'base', 'crds.yaml');
const text = renderCrdManifest();
if (process.argv.includes('--check')) {
  const current = (() => { try { return readFileSync(file, 'utf8'); } catch { return ''; } })();
  if (current !== text) {
    process.stderr.write(`${file} differs from the CRDs the code installs: run node scripts/render-crds.mjs\n`);
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
}
