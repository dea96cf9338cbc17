// A small, strict flag parser: every verb declares its flags, and an unknown flag is an error.
// A 'duration' flag takes kubectl-style durations (90s, 2m, 1h30m, 500ms) or plain seconds and
// holds seconds.
import { DURATION_FORMS, parseDurationSeconds } from '../duration.js';
import { UsageError } from '../errors.js';

export interface FlagSpec {
  readonly name: string;
  readonly type: 'string' | 'boolean' | 'number' | 'duration';
  readonly description: string;
  readonly short?: string;
  readonly default?: string | boolean | number;
}

export interface Parsed {
  readonly flags: Readonly<Record<string, string | boolean | number | undefined>>;
  readonly positionals: readonly string[];
}

export { UsageError } from '../errors.js';

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): Parsed {
  const flags: Record<string, string | boolean | number | undefined> = {};
  for (const s of specs) flags[s.name] = s.default;
  const positionals: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break; }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const [n, v] = arg.slice(2).split(/=(.*)/s, 2);
      spec = byName.get(n!);
      inline = v;
      if (!spec) throw new UsageError(`unknown flag --${n}`);
    } else if (arg.startsWith('-') && arg.length === 2) {
      spec = byShort.get(arg.slice(1));
      if (!spec) throw new UsageError(`unknown flag ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    if (spec.type === 'boolean') { flags[spec.name] = inline === undefined ? true : inline !== 'false'; continue; }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`flag --${spec.name} needs a value`);
    if (spec.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`flag --${spec.name}: ${JSON.stringify(raw)} is not a number`);
      flags[spec.name] = n;
    } else if (spec.type === 'duration') {
      flags[spec.name] = parseDurationSeconds(raw, `flag --${spec.name}`, (m) => new UsageError(m));
    } else flags[spec.name] = raw;
  }
  return { flags, positionals };
}

export function formatFlags(specs: readonly FlagSpec[]): string {
  return specs.map((s) => {
    const left = `  ${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ` <${s.type}>`}`;
    const def = s.default === undefined || s.default === false ? ''
      : s.type === 'duration' ? ` (default ${String(s.default)}s; ${DURATION_FORMS})` : ` (default ${JSON.stringify(s.default)})`;
    return `${left.padEnd(30)} ${s.description}${def}`;
  }).join('\n');
}
