// Data on stdout in the format asked (-o table|json|yaml); progress and logs go to stderr.
import { stringify } from 'yaml';
import { UsageError } from './args.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

export const OUTPUT_FLAG = { name: 'output', short: 'o', type: 'string', description: 'table, json or yaml', default: 'table' } as const;

export function outputFormat(value: unknown): OutputFormat {
  const v = String(value ?? 'table');
  if (v === 'table' || v === 'json' || v === 'yaml') return v;
  throw new UsageError(`-o ${v}: expected table, json or yaml`);
}

/** Writes `data` as JSON or YAML, or calls `table` for the human form. */
export function printData(format: OutputFormat, data: unknown, table: () => string): void {
  const text = format === 'json' ? JSON.stringify(data, null, 2) : format === 'yaml' ? stringify(data).trimEnd() : table();
  process.stdout.write(text + '\n');
}
