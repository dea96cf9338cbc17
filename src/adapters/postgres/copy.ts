// Bulk load through COPY FROM STDIN (text format) on a typeorm transaction's own connection: for a
// batch of thousands of rows it costs PostgreSQL and Node a fraction of an insert over unnest'ed
// arrays, whose array literals pg escapes element by element and PostgreSQL parses back.
import { finished } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';
import { clientOf } from './statements.js';

export type CopyValue = string | number | null;

// COPY's text format: tab between columns, newline between rows, backslash escapes, \N for null.
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function field(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return NEEDS_ESCAPE.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : v;
}

/** A table's columns to copy into, each with how to read its value from a row. */
export type CopyColumns<R> = Readonly<Record<string, (row: R) => CopyValue>>;

/**
 * Appends `rows` to `table` inside the transaction `tx` runs in. A constraint violation fails the
 * statement, and so the transaction, as an insert would.
 */
export async function copyRows<R>(tx: EntityManager, table: string, columns: CopyColumns<R>, rows: readonly R[]): Promise<void> {
  if (rows.length === 0) return;
  const client = await clientOf(tx);
  const names = Object.keys(columns);
  const values = Object.values(columns);
  let text = '';
  for (const row of rows) {
    for (let i = 0; i < values.length; i++) text += i === 0 ? field(values[i]!(row)) : `\t${field(values[i]!(row))}`;
    text += '\n';
  }
  const stream = client.query(copyFrom(`copy ${table} (${names.join(', ')}) from stdin`));
  stream.end(text, 'utf8');
  await finished(stream);
}
