// scripts/check-imports.mjs on fixture trees written here: a runtime cycle fails and is named, a
// cycle of type-only imports is reported and passes, an acyclic tree passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '../../../../scripts/check-imports.mjs');

function check(files: Record<string, string>): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'check-imports-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a cycle of runtime imports fails, naming its files', () => {
  const r = check({ 'a/x.ts': "import { y } from './y.js';\nexport const x = y;\n", 'a/y.ts': "import { x } from './x.js';\nexport const y = () => x;\n" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /import cycle: a\/x\.ts -> a\/y\.ts -> a\/x\.ts/);
});

test('a cycle between folders fails, naming the imports that make it', () => {
  const r = check({ 'p/a.ts': "import { b } from '../q/b.js';\nexport const a = b;\n", 'q/b.ts': "export const b = 1;\n", 'q/c.ts': "import { a } from '../p/a.js';\nexport const c = a;\n" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /folder cycle: p -> q -> p/);
});

test('a cycle made only of type-only imports is reported and passes', () => {
  const r = check({ 'x.ts': "import type { Y } from './y.js';\nexport interface X { y?: Y }\n", 'y.ts': "import { type X } from './x.js';\nexport interface Y { x?: X }\n" });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /type-only import cycle \(allowed\): x\.ts -> y\.ts -> x\.ts/);
});

test('an acyclic tree passes', () => {
  const r = check({ 'x.ts': "import { y } from './y.js';\nexport const x = y;\n", 'y.ts': "export const y = 1;\n" });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /0 file cycle\(s\), 0 folder cycle\(s\)/);
});
