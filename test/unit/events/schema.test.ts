import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import { array, integer, object, optional, quantities, rooted, string } from '../../../src/events/schema.js';

function refused(run: () => unknown, field: string): void {
  assert.throws(run, (e: unknown) => e instanceof ValidationError && e.field === field && e.message.startsWith(field));
}

describe('object', () => {
  const shape = object({ zeta: integer({ min: 0 }), alpha: string({ max: 5 }), mid: optional(integer()) });

  it('copies into canonical key order, whatever the input order', () => {
    const parsed = shape.parse({ alpha: 'a', zeta: 1, mid: 2 }, 'v');
    assert.deepEqual(Object.keys(parsed), ['alpha', 'mid', 'zeta']);
    assert.deepEqual(parsed, { alpha: 'a', mid: 2, zeta: 1 });
  });

  it('names the first error in the order the fields are declared', () => {
    refused(() => shape.parse({ zeta: -1, alpha: 'far too long' }, 'v'), 'v.zeta');
    refused(() => shape.parse({ alpha: 'far too long' }, 'v'), 'v.zeta');
    refused(() => shape.parse({ zeta: 1 }, 'v'), 'v.alpha');
  });

  it('refuses an unknown field before anything else, even one that holds undefined', () => {
    refused(() => shape.parse({ zeta: -1, alpha: 'a', extra: 1 }, 'v'), 'v.extra');
    refused(() => shape.parse({ zeta: 1, alpha: 'a', extra: undefined }, 'v'), 'v.extra');
  });

  it('takes an optional field that holds undefined as absent', () => {
    const parsed = shape.parse({ zeta: 1, alpha: 'a', mid: undefined }, 'v');
    assert.deepEqual(parsed, { alpha: 'a', zeta: 1 });
    assert.equal(Object.prototype.hasOwnProperty.call(parsed, 'mid'), false);
  });

  it('treats a hidden (non-enumerable) field as the declared-order check does, and never lets an unknown one through', () => {
    const hidden = { zeta: 1, extra: 2 } as Record<string, unknown>;
    Object.defineProperty(hidden, 'alpha', { value: 'a', enumerable: false });
    refused(() => shape.parse(hidden, 'v'), 'v.extra');
    const onlyHidden = { zeta: 1 } as Record<string, unknown>;
    Object.defineProperty(onlyHidden, 'alpha', { value: 'a', enumerable: false });
    assert.deepEqual(shape.parse(onlyHidden, 'v'), { alpha: 'a', zeta: 1 });
  });

  it('reads no inherited field', () => {
    const inherited = Object.create({ alpha: 'a' }) as Record<string, unknown>;
    inherited['zeta'] = 1;
    refused(() => shape.parse(inherited, 'v'), 'v');
  });

  it('names nested paths, array items and rooted children the same on every call', () => {
    const outer = object({ items: array(object({ n: integer({ min: 1 }) }), { max: 5 }), body: rooted(object({ x: integer() }), 'data') });
    for (let i = 0; i < 3; i++) {
      refused(() => outer.parse({ items: [{ n: 1 }, { n: 0 }], body: { x: 1 } }, 'envelope'), 'envelope.items[1].n');
      refused(() => outer.parse({ items: [], body: { x: 'one' } }, 'envelope'), 'data.x');
      refused(() => outer.parse({ items: [] }, 'envelope'), 'data');
    }
    refused(() => outer.parse({ items: [{ n: 0 }], body: { x: 1 } }, 'other'), 'other.items[0].n');
  });
});

describe('object with no optional field (its check compiled)', () => {
  const closed = object({ zeta: integer({ min: 0 }), alpha: string({ max: 5 }), nested: object({ b: integer(), a: integer() }) });
  const good = { nested: { a: 1, b: 2 }, zeta: 1, alpha: 'a' };

  it('copies into canonical key order at every depth, and the copy is not the input', () => {
    const parsed = closed.parse(good, 'v');
    assert.deepEqual(Object.keys(parsed), ['alpha', 'nested', 'zeta']);
    assert.deepEqual(Object.keys(parsed.nested), ['a', 'b']);
    assert.deepEqual(parsed, good);
    assert.notEqual(parsed, good);
    assert.notEqual(parsed.nested, good.nested);
  });

  it('names the first error in declared order, nested ones under their path', () => {
    refused(() => closed.parse({ ...good, zeta: -1, alpha: 'far too long' }, 'v'), 'v.zeta');
    refused(() => closed.parse({ ...good, nested: { a: 1, b: 'two' } }, 'v'), 'v.nested.b');
    refused(() => closed.parse({ nested: good.nested, alpha: 'a' }, 'v'), 'v.zeta');
    refused(() => closed.parse({ ...good, zeta: undefined }, 'v'), 'v.zeta');
  });

  it('refuses an unknown field, even one that holds undefined', () => {
    refused(() => closed.parse({ ...good, extra: 1 }, 'v'), 'v.extra');
    refused(() => closed.parse({ ...good, extra: undefined }, 'v'), 'v.extra');
  });

  it('reads a hidden field as the declared-order check does, never lets an unknown one through in its place', () => {
    const hidden = { nested: good.nested, zeta: 1, extra: 2 } as Record<string, unknown>;
    Object.defineProperty(hidden, 'alpha', { value: 'a', enumerable: false });
    refused(() => closed.parse(hidden, 'v'), 'v.extra');
    const onlyHidden = { nested: good.nested, zeta: 1 } as Record<string, unknown>;
    Object.defineProperty(onlyHidden, 'alpha', { value: 'a', enumerable: false });
    assert.deepEqual(closed.parse(onlyHidden, 'v'), good);
  });

  it('takes no field from a prototype, even one of Object.prototype', () => {
    const inherited = Object.create({ alpha: 'a' }) as Record<string, unknown>;
    Object.assign(inherited, { zeta: 1, nested: good.nested });
    refused(() => closed.parse(inherited, 'v'), 'v');
    const proto = Object.prototype as Record<string, unknown>;
    proto['alpha'] = 'a';
    try {
      refused(() => closed.parse({ zeta: 1, nested: good.nested }, 'v'), 'v.alpha');
    } finally {
      delete proto['alpha'];
    }
  });

  it('checks an empty shape and names that cannot be compiled the same way', () => {
    const empty = object({});
    assert.deepEqual(empty.parse({}, 'v'), {});
    refused(() => empty.parse({ a: 1 }, 'v'), 'v.a');
    const odd = object({ 'a-b': integer(), '10': integer() });
    assert.deepEqual(Object.entries(odd.parse({ 'a-b': 1, '10': 2 }, 'v')).sort(), [['10', 2], ['a-b', 1]]);
    refused(() => odd.parse({ 'a-b': 1, '10': 'two' }, 'v'), 'v.10');
  });
});

describe('quantities', () => {
  const q = quantities();

  it('a quantity once found good does not let a bad one through', () => {
    assert.deepEqual(q.parse({ pods: '110', cpu: '4', memory: '8Gi' }, 'r'), { cpu: '4', memory: '8Gi', pods: '110' });
    assert.deepEqual(q.parse({ pods: '110', cpu: '4', memory: '8Gi' }, 'r'), { cpu: '4', memory: '8Gi', pods: '110' });
    refused(() => q.parse({ pods: '110', cpu: '-4', memory: '8Gi' }, 'r'), 'r.cpu');
    refused(() => q.parse({ pods: 110, cpu: '4', memory: '8Gi' }, 'r'), 'r.pods');
    refused(() => q.parse({ cpu: '4', memory: '8Gi' }, 'r'), 'r.pods');
  });
});
