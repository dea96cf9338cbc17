// The `peerlog` command line: one verb per file, each with its own flags and help.
import { formatFlags, parseArgs, UsageError, type FlagSpec, type Parsed } from './args.js';

export interface Verb {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: readonly FlagSpec[];
  run(args: Parsed): Promise<number>;
}

const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'help', short: 'h', type: 'boolean', description: 'show help for peerlog or for one verb' },
];

export function helpText(verbs: readonly Verb[]): string {
  const width = Math.max(...verbs.map((v) => v.name.length)) + 2;
  return [
    'peerlog — an event-sourced peering control plane for Kubernetes clusters',
    '',
    'Usage: peerlog <verb> [flags]',
    '',
    'Verbs:',
    ...verbs.map((v) => `  ${v.name.padEnd(width)}${v.summary}`),
    '',
    'Flags:',
    formatFlags(GLOBAL_FLAGS),
    '',
    'Run `peerlog <verb> --help` for the flags of one verb.',
  ].join('\n');
}

export function verbHelp(v: Verb): string {
  return [`Usage: ${v.usage}`, '', v.summary, '', 'Flags:', formatFlags([...v.flags, ...GLOBAL_FLAGS])].join('\n');
}

export async function runCli(argv: readonly string[], verbs: readonly Verb[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText(verbs) + '\n');
    return name === undefined ? 2 : 0;
  }
  const verb = verbs.find((v) => v.name === name);
  if (!verb) {
    process.stderr.write(`peerlog: unknown verb ${JSON.stringify(name)}\n\n${helpText(verbs)}\n`);
    return 2;
  }
  let parsed: Parsed;
  try {
    parsed = parseArgs(rest, [...verb.flags, ...GLOBAL_FLAGS]);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`peerlog ${verb.name}: ${e.message}\n\n${verbHelp(verb)}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.flags.help) { process.stdout.write(verbHelp(verb) + '\n'); return 0; }
  try {
    return await verb.run(parsed);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`peerlog ${verb.name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
