import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import {
  addResources,
  compareQuantities,
  formatBytes,
  formatMilli,
  fromCanonical,
  isQuantity,
  parseQuantity,
  resourcesChangedBeyond,
  resourcesEqual,
  scaleResources,
  subtractResources,
  toCanonical,
  toMilli,
  toUnits,
} from '../../../src/events/quantity.js';

describe('parseQuantity', () => {
  const millis: ReadonlyArray<readonly [string, bigint]> = [
    ['1', 1000n],
    ['0', 0n],
    ['100m', 100n],
    ['1500m', 1500n],
    ['0.5', 500n],
    ['.25', 250n],
    ['2.', 2000n],
    ['1k', 1_000_000n],
    ['1e3', 1_000_000n],
    ['1E-3', 1n],
    ['250u', 1n], // rounded up, as Kubernetes does
    ['1n', 1n],
    ['+3', 3000n],
    ['-1', -1000n],
  ];
  for (const [text, expected] of millis) {
    it(`${text} is ${expected} milli-units`, () => assert.equal(toMilli(text), expected));
  }

  const units: ReadonlyArray<readonly [string, bigint]> = [
    ['1Ki', 1024n],
    ['1Mi', 1_048_576n],
    ['1Gi', 1_073_741_824n],
    ['1.5Gi', 1_610_612_736n],
    ['1Ti', 1_099_511_627_776n],
    ['2Pi', 2n * 1024n ** 5n],
    ['1Ei', 1024n ** 6n],
    ['1k', 1000n],
    ['1M', 1_000_000n],
    ['8G', 8_000_000_000n],
    ['3T', 3_000_000_000_000n],
    ['2E', 2_000_000_000_000_000_000n],
    ['129e6', 129_000_000n],
    ['110', 110n],
    ['100m', 1n],
  ];
  for (const [text, expected] of units) {
    it(`${text} is ${expected} units`, () => assert.equal(toUnits(text), expected));
  }

  it('keeps the value exact as a reduced fraction, with its format', () => {
    assert.deepEqual(parseQuantity('0.5Gi'), { numerator: 536_870_912n, denominator: 1n, format: 'BinarySI' });
    assert.deepEqual(parseQuantity('1.5m'), { numerator: 3n, denominator: 2000n, format: 'DecimalSI' });
    assert.deepEqual(parseQuantity('12e-1'), { numerator: 6n, denominator: 5n, format: 'DecimalExponent' });
  });

  for (const bad of ['', 'lots', '1 Gi', '1gi', '1KiB', 'Mi', '1.2.3', '--1', '1e', '1e99', '1Gi1', '0x10', ' 1', '1'.repeat(65)]) {
    it(`refuses ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}…` : bad)}`, () => {
      assert.equal(isQuantity(bad), false);
      assert.throws(() => parseQuantity(bad), (e: unknown) => e instanceof ValidationError && e.code === 'InvalidQuantity');
    });
  }
});

describe('canonical form', () => {
  it('cpu is in millicores, bytes for byte resources, whole units otherwise', () => {
    assert.equal(toCanonical('cpu', '2'), 2000n);
    assert.equal(toCanonical('memory', '1Gi'), 1_073_741_824n);
    assert.equal(toCanonical('ephemeral-storage', '1k'), 1000n);
    assert.equal(toCanonical('pods', '110'), 110n);
    assert.equal(toCanonical('nvidia.com/gpu', '1'), 1n);
  });

  it('formats back to the shortest exact string', () => {
    assert.equal(formatMilli(2000n), '2');
    assert.equal(formatMilli(1500n), '1500m');
    assert.equal(formatMilli(0n), '0');
    assert.equal(formatBytes(0n), '0');
    assert.equal(formatBytes(1_073_741_824n), '1Gi');
    assert.equal(formatBytes(1_610_612_736n), '1536Mi');
    assert.equal(formatBytes(1000n), '1000');
    assert.equal(formatBytes(1024n ** 6n * 3n), '3Ei');
    assert.equal(fromCanonical('cpu', 250n), '250m');
    assert.equal(fromCanonical('memory', 4096n), '4Ki');
    assert.equal(fromCanonical('hugepages-2Mi', 2_097_152n), '2Mi');
    assert.equal(fromCanonical('pods', 55n), '55');
  });

  it('parse ∘ format is the identity on canonical values', () => {
    for (const value of [0n, 1n, 999n, 1000n, 1536n, 123_456_789n]) {
      assert.equal(toCanonical('cpu', fromCanonical('cpu', value)), value);
      assert.equal(toCanonical('memory', fromCanonical('memory', value * 1024n)), value * 1024n);
    }
  });

  it('compares quantities written differently', () => {
    assert.equal(compareQuantities('cpu', '1', '1000m'), 0);
    assert.equal(compareQuantities('memory', '1Gi', '1G'), 1);
    assert.equal(compareQuantities('cpu', '100m', '0.2'), -1);
  });
});

describe('resource arithmetic', () => {
  const NODE = { cpu: '8', memory: '32Gi', pods: '110' };

  it('equality is by amount, not by spelling', () => {
    assert.equal(resourcesEqual(NODE, { cpu: '8000m', memory: '32768Mi', pods: '110' }), true);
    assert.equal(resourcesEqual(NODE, { cpu: '8', memory: '32G', pods: '110' }), false);
    assert.equal(resourcesEqual(NODE, { ...NODE, 'nvidia.com/gpu': '0' }), false);
  });

  it('adds, and subtracts floored at zero', () => {
    assert.deepEqual(addResources(NODE, { cpu: '500m', memory: '1Gi', pods: '10' }), { cpu: '8500m', memory: '33Gi', pods: '120' });
    assert.deepEqual(subtractResources(NODE, { cpu: '9', memory: '2Gi', pods: '10' }), { cpu: '0', memory: '30Gi', pods: '100' });
  });

  it('scales down to a share, rounding down', () => {
    assert.deepEqual(scaleResources(NODE, 50), { cpu: '4', memory: '16Gi', pods: '55' });
    assert.deepEqual(scaleResources({ cpu: '1', memory: '3', pods: '3' }, 50), { cpu: '500m', memory: '1', pods: '1' });
    assert.throws(() => scaleResources(NODE, 101), (e: unknown) => e instanceof ValidationError && e.field === 'percent');
  });

  it('detects changes strictly beyond a threshold', () => {
    const base = { cpu: '4', memory: '8Gi', pods: '110' };
    assert.equal(resourcesChangedBeyond(base, { ...base, cpu: '4200m' }, 5), false); // exactly 5%
    assert.equal(resourcesChangedBeyond(base, { ...base, cpu: '4201m' }, 5), true);
    assert.equal(resourcesChangedBeyond(base, { ...base, cpu: '3799m' }, 5), true);
    assert.equal(resourcesChangedBeyond(base, { ...base, memory: '8.2Gi' }, 5), false);
    assert.equal(resourcesChangedBeyond(base, { ...base, pods: '100' }, 5), true);
    assert.equal(resourcesChangedBeyond(base, { ...base, cpu: '4000m' }, 0), false);
    assert.equal(resourcesChangedBeyond(base, { ...base, cpu: '4001m' }, 0), true);
    assert.equal(resourcesChangedBeyond({ ...base, cpu: '0' }, { ...base, cpu: '1m' }, 50), true);
    assert.equal(resourcesChangedBeyond(base, { ...base, 'nvidia.com/gpu': '1' }, 5), true);
    assert.equal(resourcesChangedBeyond({ ...base, 'nvidia.com/gpu': '1' }, base, 5), true);
    assert.throws(() => resourcesChangedBeyond(base, base, -1), ValidationError);
    assert.throws(() => resourcesChangedBeyond(base, base, Number.NaN), ValidationError);
  });
});
