// Kubernetes resource quantities: parsing, canonical numeric form (millicores for cpu, bytes for
// byte-sized resources, whole units otherwise) and the arithmetic offers need. BigInt keeps it exact:
// bytes of a large cluster exceed Number.MAX_SAFE_INTEGER and rounding must match Kubernetes (up).
import { ValidationError } from '../errors.js';
import { BYTE_RESOURCE_PATTERN, LIMITS } from './constants.js';
import type { Resources } from './catalogue.js';

export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

/** An exact rational value: numerator / denominator, denominator > 0. */
export interface ParsedQuantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
  readonly format: QuantityFormat;
}

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|(n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d{1,3}))?$/;

const BINARY_POWERS: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_EXPONENTS: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
/** Beyond this an exponent is a typo or an attack on BigInt, not a resource amount. */
const MAX_EXPONENT = 30;

export function parseQuantity(text: string): ParsedQuantity {
  const match = text.length <= LIMITS.quantity ? QUANTITY.exec(text) : null;
  if (match === null) {
    throw new ValidationError(`"${text.slice(0, LIMITS.quantity)}" is not a Kubernetes quantity`, { code: 'InvalidQuantity' });
  }
  const [, sign = '', digits = '', binary, decimal, exponent] = match;
  const [whole = '', fraction = ''] = digits.split('.');
  let numerator = BigInt(`${whole}${fraction}` || '0');
  let denominator = 10n ** BigInt(fraction.length);
  let format: QuantityFormat = 'DecimalSI';
  let power = 0;
  if (binary !== undefined) {
    format = 'BinarySI';
    numerator *= 1024n ** BigInt(BINARY_POWERS[binary] ?? 0);
  } else if (decimal !== undefined) {
    power = DECIMAL_EXPONENTS[decimal] ?? 0;
  } else if (exponent !== undefined) {
    format = 'DecimalExponent';
    power = Number(exponent);
    if (Math.abs(power) > MAX_EXPONENT) {
      throw new ValidationError(`"${text}" has an exponent beyond ±${MAX_EXPONENT}`, { code: 'InvalidQuantity' });
    }
  }
  if (power > 0) numerator *= 10n ** BigInt(power);
  if (power < 0) denominator *= 10n ** BigInt(-power);
  if (sign === '-') numerator = -numerator;
  const divisor = gcd(numerator < 0n ? -numerator : numerator, denominator);
  return { numerator: numerator / divisor, denominator: denominator / divisor, format };
}

export function isQuantity(text: string): boolean {
  try {
    parseQuantity(text);
    return true;
  } catch {
    return false;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

/** Rounds up, as Kubernetes does when it scales a quantity (1n of cpu is 1m, never 0). */
function ceilDiv(a: bigint, b: bigint): bigint {
  const quotient = a / b;
  return a % b !== 0n && a > 0n ? quotient + 1n : quotient;
}

export function toMilli(text: string): bigint {
  const q = parseQuantity(text);
  return ceilDiv(q.numerator * 1000n, q.denominator);
}

export function toUnits(text: string): bigint {
  const q = parseQuantity(text);
  return ceilDiv(q.numerator, q.denominator);
}

/** The canonical numeric form of one resource: millicores for cpu, whole units (bytes, pods, GPUs) otherwise. */
export function toCanonical(resource: string, text: string): bigint {
  return resource === 'cpu' ? toMilli(text) : toUnits(text);
}

/** Shortest exact string: "2" or "1500m" for cpu, the largest exact binary suffix for bytes, plain otherwise. */
export function fromCanonical(resource: string, value: bigint): string {
  if (resource === 'cpu') return formatMilli(value);
  if (BYTE_RESOURCE_PATTERN.test(resource)) return formatBytes(value);
  return value.toString();
}

export function formatMilli(milli: bigint): string {
  return milli % 1000n === 0n ? (milli / 1000n).toString() : `${milli}m`;
}

export function formatBytes(bytes: bigint): string {
  if (bytes === 0n) return '0';
  const suffixes = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const;
  for (const [index, suffix] of suffixes.entries()) {
    const unit = 1024n ** BigInt(suffixes.length - index);
    if (bytes % unit === 0n) return `${bytes / unit}${suffix}`;
  }
  return bytes.toString();
}

export function compareQuantities(resource: string, a: string, b: string): -1 | 0 | 1 {
  const x = toCanonical(resource, a);
  const y = toCanonical(resource, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Same resource names with equal canonical amounts ("1" cpu equals "1000m"). */
export function resourcesEqual(a: Resources, b: Resources): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((name) => {
    const other = b[name];
    return other !== undefined && toCanonical(name, a[name] as string) === toCanonical(name, other);
  });
}

function combine(a: Resources, b: Resources, op: (x: bigint, y: bigint) => bigint): Resources {
  const out: Record<string, string> = {};
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[name] === undefined ? 0n : toCanonical(name, a[name]);
    const y = b[name] === undefined ? 0n : toCanonical(name, b[name]);
    out[name] = fromCanonical(name, op(x, y));
  }
  return out as Resources;
}

export function addResources(a: Resources, b: Resources): Resources {
  return combine(a, b, (x, y) => x + y);
}

/** a − b per resource, floored at zero: an overcommitted node offers nothing, not a debt. */
export function subtractResources(a: Resources, b: Resources): Resources {
  return combine(a, b, (x, y) => (x > y ? x - y : 0n));
}

/** Percent with up to two decimals, as basis points; refuses what is not a share. */
function basisPoints(percent: number, field: string): bigint {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new ValidationError(`${field} must be a percentage in 0..100, got ${percent}`, { field });
  }
  return BigInt(Math.round(percent * 100));
}

/** Each resource × percent, rounded down so that a provider never offers more than its share. */
export function scaleResources(resources: Resources, percent: number): Resources {
  const bp = basisPoints(percent, 'percent');
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(resources)) {
    out[name] = fromCanonical(name, (toCanonical(name, text) * bp) / 10000n);
  }
  return out as Resources;
}

/**
 * Whether any resource moved by strictly more than `thresholdPercent` of its previous amount. A
 * resource that appears, disappears or leaves zero always counts as a change.
 */
export function resourcesChangedBeyond(previous: Resources, next: Resources, thresholdPercent: number): boolean {
  const bp = basisPoints(thresholdPercent, 'thresholdPercent');
  for (const name of new Set([...Object.keys(previous), ...Object.keys(next)])) {
    const before = previous[name];
    const after = next[name];
    if (before === undefined || after === undefined) return true;
    const x = toCanonical(name, before);
    const y = toCanonical(name, after);
    if (x === y) continue;
    if (x === 0n) return true;
    const delta = y > x ? y - x : x - y;
    if (delta * 10000n > bp * x) return true;
  }
  return false;
}
