#!/usr/bin/env node
// Fails on any import cycle among the TypeScript sources under a directory (default: src/).
//   node scripts/check-imports.mjs [dir]
// The graph is read from the sources with the TypeScript parser: every relative `import`, `export
// … from` and `import()` is an edge. A cycle fails the check unless each of its edges is type-only
// (`import type`, `export type`, or named imports that are all `type`), which the compiler erases;
// those cycles are reported and do not fail. Exit codes: 0 no failing cycle, 1 a cycle, 2 usage.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'node_modules') out = out.concat(sourceFiles(p)); }
    else if (/\.(c|m)?tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The file a relative specifier names: `./x.js` is `./x.ts` in the sources, `./dir` its index. */
function resolveSpecifier(from, spec, known) {
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(c|m)?jsx?$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`, join(base, 'index.ts'), join(base, 'index.tsx')];
  return candidates.find((c) => known.has(c)) ?? null;
}

function isTypeOnlyImport(node) {
  const clause = node.importClause;
  if (!clause) return false; // a side-effect import runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  if (!bindings || ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

function isTypeOnlyExport(node) {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return !!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
}

/** Edges of one file: { to, typeOnly } for each relative import that resolves to a known source. */
function edgesOf(file, known) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found = [];
  const add = (spec, typeOnly) => {
    if (!spec.startsWith('./') && !spec.startsWith('../')) return;
    const to = resolveSpecifier(file, spec, known);
    if (to) found.push({ to, typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) add(node.moduleSpecifier.text, isTypeOnlyImport(node));
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) add(node.moduleSpecifier.text, isTypeOnlyExport(node));
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      add(node.moduleReference.expression.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The import graph: file → Map(target → typeOnly), an edge being type-only only if every import along it is. */
export function importGraph(dir) {
  const files = sourceFiles(dir);
  const known = new Set(files);
  const graph = new Map();
  for (const f of files) {
    const out = new Map();
    for (const { to, typeOnly } of edgesOf(f, known)) out.set(to, (out.get(to) ?? true) && typeOnly);
    graph.set(f, out);
  }
  return graph;
}

/** Strongly connected components with a cycle (more than one file, or a file importing itself). Tarjan. */
function cyclicComponents(nodes, next) {
  let index = 0;
  const idx = new Map(); const low = new Map(); const onStack = new Set(); const stack = []; const out = [];
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || next(v).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) strong(v);
  return out;
}

/** One shortest cycle through the first file of a component, as a list of files ending where it starts. */
function cycleIn(component, next) {
  const inside = new Set(component);
  const start = component[0];
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of next(v)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
    }
  }
  return [start, start];
}

/** The cycles of the graph: `failing` ones hold a runtime import, `typeOnly` ones are erased by the compiler. */
export function findCycles(graph) {
  const nodes = [...graph.keys()].sort();
  const all = (v) => [...(graph.get(v)?.keys() ?? [])].sort();
  const runtime = (v) => [...(graph.get(v)?.entries() ?? [])].filter(([, t]) => !t).map(([w]) => w).sort();
  const runtimeComponents = cyclicComponents(nodes, runtime);
  const failing = runtimeComponents.map((c) => cycleIn(c, runtime));
  const inRuntimeCycle = new Set(runtimeComponents.flat());
  const typeOnly = cyclicComponents(nodes, all).filter((c) => !c.some((f) => inRuntimeCycle.has(f))).map((c) => cycleIn(c, all));
  return { failing, typeOnly };
}

/**
 * The same graph between folders: a file's folder is its top-level directory under `dir`, except
 * under adapters/, where each technology (adapters/kafka, adapters/postgres, …) is its own; a file
 * at the top level stands for itself. Imports within one folder are dropped.
 */
export function folderGraph(graph, dir) {
  const folderOf = (f) => {
    const parts = relative(dir, f).split(/[\\/]/);
    if (parts.length === 1) return parts[0];
    if (parts[0] === 'adapters' && parts.length > 2) return `${parts[0]}/${parts[1]}`;
    return parts[0];
  };
  const out = new Map();
  for (const [from, targets] of graph) {
    const a = join(dir, folderOf(from));
    if (!out.has(a)) out.set(a, new Map());
    for (const [to, typeOnly] of targets) {
      const b = join(dir, folderOf(to));
      if (a === b) continue;
      const m = out.get(a);
      m.set(b, (m.get(b) ?? true) && typeOnly);
      if (!out.has(b)) out.set(b, new Map());
    }
  }
  return out;
}

/** For each edge between two folders, one file import that makes it (a runtime one if any), to name in a report. */
function witnesses(graph, dir) {
  const out = new Map();
  for (const [from, targets] of graph) {
    for (const [to, typeOnly] of targets) {
      for (const [a, m] of folderGraph(new Map([[from, new Map([[to, typeOnly]])]]), dir)) {
        for (const b of m.keys()) {
          const key = `${a}\0${b}`;
          if (!out.has(key) || (out.get(key).typeOnly && !typeOnly)) out.set(key, { from, to, typeOnly });
        }
      }
    }
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? join(root, 'src'));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    process.stderr.write(`check-imports: ${dir} is not a directory\n`);
    process.exit(2);
  }
  const graph = importGraph(dir);
  const { failing, typeOnly } = findCycles(graph);
  const name = (f) => relative(dir, f);
  for (const c of typeOnly) process.stderr.write(`check-imports: type-only import cycle (allowed): ${c.map(name).join(' -> ')}\n`);
  for (const c of failing) process.stderr.write(`check-imports: import cycle: ${c.map(name).join(' -> ')}\n`);
  const folders = folderGraph(graph, dir);
  const byFolder = findCycles(folders);
  const via = witnesses(graph, dir);
  const explain = (c) => c.slice(1).map((b, i) => { const w = via.get(`${c[i]}\0${b}`); return w ? ` [${name(w.from)} imports ${name(w.to)}]` : ''; }).join('');
  for (const c of byFolder.typeOnly) process.stderr.write(`check-imports: type-only folder cycle (allowed): ${c.map(name).join(' -> ')}${explain(c)}\n`);
  for (const c of byFolder.failing) process.stderr.write(`check-imports: folder cycle: ${c.map(name).join(' -> ')}${explain(c)}\n`);
  const edges = [...graph.values()].reduce((n, m) => n + m.size, 0);
  const cycles = failing.length + byFolder.failing.length;
  process.stderr.write(`check-imports: ${graph.size} files, ${edges} imports; ${failing.length} file cycle(s), ${byFolder.failing.length} folder cycle(s); ${typeOnly.length + byFolder.typeOnly.length} type-only\n`);
  process.exit(cycles > 0 ? 1 : 0);
}
