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

/**
 * How a column's value is read from a row. `plain`: a value that cannot hold a tab, newline,
 * carriage return or backslash, because its format was checked where it entered (a UUID, a hash,
 * a pattern-checked id), written as it is; a wrong `plain` would let a value split a row.
 */
export type CopyColumn<R> = ((row: R) => CopyValue) | { readonly plain: (row: R) => string | number };

/** A table's columns to copy into, each with how to read its value from a row. */
export type CopyColumns<R> = Readonly<Record<string, CopyColumn<R>>>;

/** COPY text of rows added one at a time, so a row's source can be let go of once it is added. */
export interface CopyText<R> {
  add(row: R): void;
  readonly rows: number;
  /** The COPY text of the rows added so far, as UTF-8. */
  bytes(): Uint8Array;
  /**
   * Appends the rows to `table` inside the transaction `tx` runs in. A constraint violation fails
   * the statement, and so the transaction, as an insert would. May be called again (another table).
   */
  copyInto(tx: EntityManager, table: string): Promise<void>;
}

/** Rows held as text before they are written out as bytes (see copyText). */
const ROWS_PER_WRITE = 256;

export function copyText<R>(columns: CopyColumns<R>): CopyText<R> {
  const names = Object.keys(columns).join(', ');
  const values = Object.values(columns).map((c) => typeof c === 'function' ? c : c.plain);
  const plain = Object.values(columns).map((c) => typeof c !== 'function');
  // Rows are written out as bytes every ROWS_PER_WRITE: a text of a whole batch, kept as a
  // string, would keep every value it was built from alive until it is sent.
  let bytes = Buffer.allocUnsafe(64 * 1024);
  let length = 0;
  let pending = '';
  let pendingRows = 0;
  let rows = 0;
  const flush = (): void => {
    // At most 3 bytes of UTF-8 per UTF-16 unit.
    const room = length + pending.length * 3;
    if (room > bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(bytes.length * 2, room));
      bytes.copy(grown, 0, 0, length);
      bytes = grown;
    }
    length += bytes.write(pending, length, 'utf8');
    pending = '';
    pendingRows = 0;
  };
  const last = values.length - 1;
  return {
    add(row) {
      for (let i = 0; i <= last; i++) {
        const v = values[i]!(row);
        // Measured faster than collecting the pieces and joining them.
        pending += `${plain[i] ? v as string | number : field(v)}${i === last ? '\n' : '\t'}`;
      }
      rows += 1;
      if (++pendingRows === ROWS_PER_WRITE) flush();
    },
    get rows() { return rows; },
    bytes() {
      if (pendingRows > 0) flush();
      return bytes.subarray(0, length);
    },
    async copyInto(tx, table) {
      if (rows === 0) return;
      const text = this.bytes();
      const client = await clientOf(tx);
      const stream = client.query(copyFrom(`copy ${table} (${names}) from stdin`));
      stream.end(text);
      await finished(stream);
    },
  };
}

/** Appends `rows` to `table` inside the transaction `tx` runs in (see CopyText.copyInto). */
export async function copyRows<R>(tx: EntityManager, table: string, columns: CopyColumns<R>, rows: readonly R[]): Promise<void> {
  const text = copyText(columns);
  for (const row of rows) text.add(row);
  await text.copyInto(tx, table);
}
