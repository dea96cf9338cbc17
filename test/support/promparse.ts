// An independent reader of the Prometheus text format: test/tools/promparse, a small Go program on
// the Prometheus project's own parser (github.com/prometheus/common/expfmt), built from Go modules
// through the module proxy like the stack's Go tools, into the cache outside the checkout.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The module version the parser is built with (one the proxy serves; see go-partial lists). */
export const PROMETHEUS_COMMON_VERSION = 'v0.74.0';

export interface ParsedBucket { readonly le: string; readonly count: number }
export interface ParsedMetric {
  readonly labels: Record<string, string>;
  readonly value?: number;
  readonly buckets?: readonly ParsedBucket[];
  readonly sum?: number;
  readonly count?: number;
}
export interface ParsedFamily { readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'; readonly help: string; readonly metrics: readonly ParsedMetric[] }
export type ParsedExposition = Readonly<Record<string, ParsedFamily>>;

function run(cmd: string, args: string[], cwd: string, what: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' }, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout || String(r.error)}`);
}

/** The built parser's path, building it once per version of its source. */
export function promParseBinary(): string {
  const source = readFileSync(join(process.cwd(), 'test', 'tools', 'promparse', 'main.go'), 'utf8');
  const tag = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const cache = process.env.PEERLOG_CACHE || join(homedir(), '.cache', 'peerlog');
  const out = join(cache, 'bin', `promparse-${PROMETHEUS_COMMON_VERSION}-${tag}`);
  if (existsSync(out)) return out;
  const work = join(cache, 'build', `promparse-${PROMETHEUS_COMMON_VERSION}-${tag}`);
  mkdirSync(work, { recursive: true });
  mkdirSync(join(cache, 'bin'), { recursive: true });
  writeFileSync(join(work, 'main.go'), source);
  writeFileSync(join(work, 'go.mod'), `module peerlog.dev/test/promparse\n\ngo 1.24\n\nrequire github.com/prometheus/common ${PROMETHEUS_COMMON_VERSION}\n`);
  run('go', ['mod', 'tidy'], work, 'go mod tidy for promparse');
  run('go', ['build', '-trimpath', '-o', `${out}.tmp`, '.'], work, 'go build of promparse');
  renameSync(`${out}.tmp`, out);
  return out;
}

/** The families of `text` as Prometheus's parser reads them; throws with its error when it refuses the text. */
export function parseExposition(text: string): ParsedExposition {
  const r = spawnSync(promParseBinary(), [], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`Prometheus's text parser refused the exposition: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ParsedExposition;
}
