import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyText, type CopyValue } from '../../../../src/adapters/postgres/copy.js';

/** COPY's text format, written the plain way. */
function expected(rows: readonly (readonly CopyValue[])[]): string {
  const field = (v: CopyValue): string => v === null ? '\\N' : typeof v === 'number' ? String(v)
    : v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return rows.map((r) => `${r.map(field).join('\t')}\n`).join('');
}

describe('copyText', () => {
  it('writes the COPY text of every row, escaped, across its writes and its growth', () => {
    const samples: CopyValue[] = ['plain', 'tab\there', 'new\nline', 'back\\slash', 'cr\r', null, 42, -1.5, '', 'é中', '😀 pair', 'x'.repeat(70_000)];
    const rows = Array.from({ length: 300 }, (_, i) => [i, samples[i % samples.length]!, samples[(i * 7) % samples.length]!] as const);
    const text = copyText<readonly CopyValue[]>({ a: (r) => r[0]!, b: (r) => r[1]!, c: (r) => r[2]! });
    for (const r of rows) text.add(r);
    assert.equal(text.rows, 300);
    assert.equal(Buffer.from(text.bytes()).toString('utf8'), expected(rows));
    text.add([1, 'more', null]);
    assert.equal(Buffer.from(text.bytes()).toString('utf8'), expected([...rows, [1, 'more', null]]), 'rows added after a read are kept');
  });

  it('writes a plain column as it is, and the others escaped', () => {
    const text = copyText<readonly [string, string, number]>({ id: { plain: (r) => r[0] }, note: (r) => r[1], n: { plain: (r) => r[2] } });
    text.add(['0f3c-aa', 'a\tb', 7]);
    text.add(['ff', 'plain', -2]);
    assert.equal(Buffer.from(text.bytes()).toString('utf8'), '0f3c-aa\ta\\tb\t7\nff\tplain\t-2\n');
  });

  it('is empty with no rows', () => {
    const text = copyText<number>({ n: (r) => r });
    assert.equal(text.rows, 0);
    assert.equal(text.bytes().length, 0);
  });
});
