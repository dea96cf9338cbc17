import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../src/commands/errors.js';
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
